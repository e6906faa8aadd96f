/*
 * proto_termmap.c: see proto_termmap.h.
 */
#include "proto_termmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const proto_term_kind_names[PROTO_TERM_KIND_COUNT] = {
    "area",      "indication",  "condition", "medication",    "procedure",
    "allergy",   "fitzpatrick", "pregnancy", "breastfeeding", "order",
};

const char *proto_term_kind_name(enum proto_term_kind k)
{
    return (unsigned)k < PROTO_TERM_KIND_COUNT ? proto_term_kind_names[k] : "?";
}

int proto_term_kind_parse(const char *name)
{
    for (int k = 0; k < PROTO_TERM_KIND_COUNT; k++)
        if (!strcmp(proto_term_kind_names[k], name))
            return k;
    return -1;
}

void proto_termmap_init(struct proto_termmap *t)
{
    memset(t, 0, sizeof *t);
}

void proto_termmap_close(struct proto_termmap *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].system);
        free(t->rows[i].code);
        free(t->rows[i].term);
        free(t->rows[i].source);
    }
    free(t->rows);
    proto_termmap_init(t);
}

const char *proto_termmap_lookup(const struct proto_termmap *t, enum proto_term_kind kind, const char *system,
                             const char *code)
{
    if (!system || !code)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].kind == kind && !strcmp(t->rows[i].code, code) &&
            !strcmp(t->rows[i].system, system))
            return t->rows[i].term;
    return NULL;
}

/* A KEY or a term: lowercase letters, digits and '-' (terms as
 * vocabulary.clp writes them), or upper case too for source keys. */
static bool proto_termmap_word(const char *s, bool upper)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              (upper && *s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* A code: printable ASCII without white space (FHIR's code type allows
 * inner single spaces, which no system here uses). */
static bool proto_termmap_code(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f)
            return false;
    return true;
}

static bool proto_termmap_value_ok(enum proto_term_kind k, const char *term)
{
    switch (k) {
    case PROTO_TERM_KIND_FITZPATRICK:
        return term[0] >= '1' && term[0] <= '6' && !term[1];
    case PROTO_TERM_KIND_PREGNANCY:
    case PROTO_TERM_KIND_BREASTFEEDING:
        return !strcmp(term, "true") || !strcmp(term, "false") || !strcmp(term, "unknown");
    case PROTO_TERM_KIND_ORDER:
        return !strcmp(term, "microneedling");
    default:
        return proto_termmap_word(term, false);
    }
}

#define PROTO_TERMMAP_MAX_FIELDS 7

/* Splits line at TABs into at most PROTO_TERMMAP_MAX_FIELDS fields (the last
 * keeps any further TABs).  Returns the count. */
static size_t proto_termmap_split(char *line, char **f)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < PROTO_TERMMAP_MAX_FIELDS; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

struct proto_termmap_sources {
    char keys[64][32];
    size_t n;
};

static int proto_termmap_line(struct proto_termmap *t, struct proto_termmap_sources *src, char *line,
                          char *why, size_t whylen)
{
    char *f[PROTO_TERMMAP_MAX_FIELDS];
    size_t n = proto_termmap_split(line, f);
    if (!strcmp(f[0], "source")) {
        if (n != 3 || !proto_termmap_word(f[1], true) || strlen(f[1]) >= sizeof src->keys[0] ||
            !*f[2]) {
            snprintf(why, whylen, "expected source<TAB>KEY<TAB>CITATION");
            return -1;
        }
        for (size_t i = 0; i < src->n; i++)
            if (!strcmp(src->keys[i], f[1])) {
                snprintf(why, whylen, "source %s given twice", f[1]);
                return -1;
            }
        if (src->n == sizeof src->keys / sizeof src->keys[0]) {
            snprintf(why, whylen, "more than %zu sources in one file",
                     sizeof src->keys / sizeof src->keys[0]);
            return -1;
        }
        snprintf(src->keys[src->n++], sizeof src->keys[0], "%s", f[1]);
        return 0;
    }
    if (strcmp(f[0], "code")) {
        snprintf(why, whylen, "expected a source or code line, not '%.40s'", f[0]);
        return -1;
    }
    if (n != 7) {
        snprintf(why, whylen,
                 "expected code<TAB>KIND<TAB>SYSTEM<TAB>CODE<TAB>TERM<TAB>SOURCE<TAB>DISPLAY "
                 "(%zu fields)", n);
        return -1;
    }
    int kind = proto_term_kind_parse(f[1]);
    if (kind < 0) {
        snprintf(why, whylen, "unknown kind '%.40s'", f[1]);
        return -1;
    }
    if (!strchr(f[2], ':') || !proto_termmap_code(f[2])) {
        snprintf(why, whylen, "system '%.80s' is not a URI", f[2]);
        return -1;
    }
    if (!proto_termmap_code(f[3])) {
        snprintf(why, whylen, "code '%.80s' is empty or has white space", f[3]);
        return -1;
    }
    if (!proto_termmap_value_ok(kind, f[4])) {
        snprintf(why, whylen, "term '%.80s' is not valid for kind %s", f[4], f[1]);
        return -1;
    }
    bool known = false;
    for (size_t i = 0; i < src->n && !known; i++)
        known = !strcmp(src->keys[i], f[5]);
    if (!known) {
        snprintf(why, whylen, "source '%.40s' is not given by a source line of this file", f[5]);
        return -1;
    }
    const char *had = proto_termmap_lookup(t, kind, f[2], f[3]);
    if (had) {
        if (strcmp(had, f[4])) {
            snprintf(why, whylen, "%s %s|%s maps to %s and to %s", f[1], f[2], f[3], had, f[4]);
            return -1;
        }
        return 0;
    }
    if (t->n == PROTO_TERMMAP_MAX_ROWS) {
        snprintf(why, whylen, "more than %d rows", PROTO_TERMMAP_MAX_ROWS);
        return -1;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct proto_termmap_row *r = realloc(t->rows, cap * sizeof *r);
        if (!r) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        t->rows = r;
        t->cap = cap;
    }
    struct proto_termmap_row *r = &t->rows[t->n];
    r->kind = kind;
    r->system = strdup(f[2]);
    r->code = strdup(f[3]);
    r->term = strdup(f[4]);
    r->source = strdup(f[5]);
    if (!r->system || !r->code || !r->term || !r->source) {
        free(r->system);
        free(r->code);
        free(r->term);
        free(r->source);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    t->n++;
    return 0;
}

int proto_termmap_load_text(struct proto_termmap *t, const char *name, const char *text, size_t len,
                        char *err, size_t errlen)
{
    struct proto_termmap_sources src = {.n = 0};
    char line[PROTO_TERMMAP_MAX_LINE + 2];
    size_t lineno = 0, pos = 0;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (n > PROTO_TERMMAP_MAX_LINE) {
            snprintf(err, errlen, "%s:%zu: line longer than %d bytes", name, lineno,
                     PROTO_TERMMAP_MAX_LINE);
            return -1;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (memchr(line, '\0', n)) {
            snprintf(err, errlen, "%s:%zu: NUL byte", name, lineno);
            return -1;
        }
        if (!n || line[0] == '#')
            continue;
        char why[400];
        if (proto_termmap_line(t, &src, line, why, sizeof why)) {
            snprintf(err, errlen, "%s:%zu: %s", name, lineno, why);
            return -1;
        }
    }
    return 0;
}

int proto_termmap_load(struct proto_termmap *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* Bounded: PROTO_TERMMAP_MAX_ROWS lines of PROTO_TERMMAP_MAX_LINE bytes. */
    size_t cap = (size_t)PROTO_TERMMAP_MAX_ROWS * 128, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0)
        len += got;
    bool failed = ferror(f), too_big = len == cap;
    fclose(f);
    int rc = -1;
    if (failed)
        snprintf(err, errlen, "%s: read error", path);
    else if (too_big)
        snprintf(err, errlen, "%s: larger than %zu bytes", path, cap - 1);
    else
        rc = proto_termmap_load_text(t, path, buf, len, err, errlen);
    free(buf);
    return rc;
}
