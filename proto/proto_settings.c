/*
 * proto_settings.c: see proto_settings.h.
 *
 * The file is read first and the flags applied after it, which is how
 * flags win.  A load keeps, per row, whether the file or a flag has set it
 * (a list's first line or flag replaces what came before; a computed
 * default is filled only for a setting nobody gave).
 */
#include "proto_settings.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto_term.h"
#include "proto_text.h"

#define MIB (1024u * 1024u)

enum source { FROM_DEFAULT, FROM_FILE, FROM_FLAG };

struct load_state {
    const struct proto_settings *t;
    void *conf;
    enum source from;
    bool by_file[PROTO_SETTINGS_MAX_ROWS], by_flag[PROTO_SETTINGS_MAX_ROWS];
    char *err;
    size_t errlen;
};

/* name with '_' made '-' (the flag's spelling), cut to n - 1 bytes. */
static void dashed(const char *name, char *out, size_t n)
{
    size_t k = 0;
    for (; name[k] && k + 1 < n; k++)
        out[k] = name[k] == '_' ? '-' : name[k];
    out[k] = '\0';
}

static int vfail(char *err, size_t errlen, bool in_file, const char *name, const char *fmt,
                 va_list ap)
{
    char what[512], flag[PROTO_SETTINGS_MAX_NAME + 1];
    vsnprintf(what, sizeof what, fmt, ap);
    if (in_file) {
        snprintf(err, errlen, "%s: %s", name, what);
        return -1;
    }
    dashed(name, flag, sizeof flag);
    snprintf(err, errlen, "--%s: %s", flag, what);
    return -1;
}

int proto_settings_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, errlen, false, name, fmt, ap);
    va_end(ap);
    return -1;
}

/* The first message wins: inih goes on after a bad line and reports the
 * first bad line's number. */
__attribute__((format(printf, 3, 4)))
static int fail(struct load_state *st, const char *name, const char *fmt, ...)
{
    if (st->err[0])
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vfail(st->err, st->errlen, st->from == FROM_FILE, name, fmt, ap);
    va_end(ap);
    return -1;
}

const struct proto_setting *proto_settings_find(const struct proto_settings *t,
                                                const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].name, name))
            return &t->rows[i];
    return NULL;
}

/* The row nearest to `word` (either spelling), for "did you mean"; only
 * the rows a file may set when in_file.  NULL when none is near. */
static const struct proto_setting *nearest(const struct proto_settings *t, const char *word,
                                           bool in_file)
{
    char names[PROTO_SETTINGS_MAX_ROWS][PROTO_SETTINGS_MAX_NAME + 1];
    char w[PROTO_SETTINGS_MAX_NAME + 1];
    const char *cands[PROTO_SETTINGS_MAX_ROWS] = {NULL};
    const struct proto_setting *rows[PROTO_SETTINGS_MAX_ROWS];
    size_t n = 0;
    for (size_t i = 0; i < t->n && n < PROTO_SETTINGS_MAX_ROWS; i++) {
        const struct proto_setting *s = &t->rows[i];
        if (in_file && (s->type == PROTO_SETTINGS_CONFIG || s->type == PROTO_SETTINGS_ACTION))
            continue;
        /* Compared with dashes, so that proto_term's whole-word rule sees
         * the words of max_connections. */
        dashed(s->name, names[n], sizeof names[n]);
        cands[n] = names[n];
        rows[n++] = s;
    }
    dashed(word, w, sizeof w);
    const char *near = proto_term_closest(w, cands, n);
    for (size_t k = 0; near && k < n; k++)
        if (cands[k] == near)
            return rows[k];
    return NULL;
}

static void *field(const struct load_state *st, const struct proto_setting *s)
{
    return (char *)st->conf + s->offset;
}

static bool is_bare(const struct proto_setting *s)
{
    return s->type == PROTO_SETTINGS_BOOL || s->type == PROTO_SETTINGS_TRISTATE ||
           s->type == PROTO_SETTINGS_ACTION;
}

static bool is_str(enum proto_settings_type type)
{
    return type == PROTO_SETTINGS_STR || type == PROTO_SETTINGS_NONEMPTY ||
           type == PROTO_SETTINGS_OPT_STR || type == PROTO_SETTINGS_OPT_NONE ||
           type == PROTO_SETTINGS_CONFIG;
}

/* ---- --help ----------------------------------------------------------- */

int proto_settings_default_text(const struct proto_setting *s, char *buf, size_t n)
{
    if (s->default_text)
        return snprintf(buf, n, "%s", s->default_text);
    if (s->default_text_fn)
        return snprintf(buf, n, "%s", s->default_text_fn());
    if (s->def_str)
        return snprintf(buf, n, "%s", s->def_str);
    switch (s->type) {
    case PROTO_SETTINGS_UINT:
    case PROTO_SETTINGS_U32:
    case PROTO_SETTINGS_U64:
        return snprintf(buf, n, "%llu", (unsigned long long)s->def);
    case PROTO_SETTINGS_SIZE:
        if (s->def >= MIB && s->def % MIB == 0)
            return snprintf(buf, n, "%llu MiB", (unsigned long long)(s->def / MIB));
        return snprintf(buf, n, "%llu", (unsigned long long)s->def);
    case PROTO_SETTINGS_BOOL:
        return snprintf(buf, n, "%s", s->def ? "true" : "false");
    default:
        if (n)
            buf[0] = '\0';
        return 0;
    }
}

void proto_settings_usage(const struct proto_settings *t, FILE *out)
{
    int indent = t->usage_indent;
    for (size_t i = 0; i < t->n; i++) {
        const struct proto_setting *s = &t->rows[i];
        char flag[PROTO_SETTINGS_MAX_NAME + 1], dflt[256], text[1024];
        dashed(s->name, flag, sizeof flag);
        int col = fprintf(out, "  --%s%s%s", flag, s->arg ? " " : "", s->arg ? s->arg : "");
        proto_settings_default_text(s, dflt, sizeof dflt);
        if (dflt[0] && s->type != PROTO_SETTINGS_BOOL)
            snprintf(text, sizeof text, "%s (default %s)", s->help, dflt);
        else
            snprintf(text, sizeof text, "%s", s->help);
        /* The text starts at the indent, on the next line after a flag
         * too long to leave a space before it. */
        if (col < indent)
            fprintf(out, "%*s", indent - col, "");
        else
            fprintf(out, "\n%*s", indent, "");
        proto_text_wrap(out, text, indent, indent, PROTO_SETTINGS_USAGE_WIDTH);
    }
}

/* ---- values ----------------------------------------------------------- */

static int set_str(char **slot, const char *val)
{
    char *s = strdup(val);
    if (!s)
        return -1;
    free(*slot);
    *slot = s;
    return 0;
}

static void clear_str(char **slot)
{
    free(*slot);
    *slot = NULL;
}

static void clear_list(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

/* Adds the len bytes at val, white space around them cut; nothing when
 * that leaves nothing. */
static int list_add(char ***list, size_t *n, const char *val, size_t len)
{
    while (len && isspace((unsigned char)*val))
        val++, len--;
    while (len && isspace((unsigned char)val[len - 1]))
        len--;
    if (!len)
        return 0;
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown[*n] = strndup(val, len)))
        return -1;
    (*n)++;
    return 0;
}

static int set_list(struct load_state *st, const struct proto_setting *s, const char *val)
{
    char ***list = field(st, s);
    size_t *n = (size_t *)((char *)st->conf + s->count_offset);
    size_t i = (size_t)(s - st->t->rows);
    /* The file's first line replaces the default, the first flag what
     * the file said; later lines and flags add to the list. */
    if ((st->from == FROM_FILE && !st->by_file[i]) || (st->from == FROM_FLAG && !st->by_flag[i]))
        clear_list(list, n);
    for (const char *p = val;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 4 && !strncmp(p, "none", 4))
            clear_list(list, n);
        else if (list_add(list, n, p, len) < 0)
            return fail(st, s->name, "out of memory");
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int parse_number(struct load_state *st, const struct proto_setting *s, const char *val,
                        uint64_t *out)
{
    /* strtoull would take " 5", "+5" and "-5" (as a huge number). */
    if (!*val || *val == '-' || *val == '+' || isspace((unsigned char)*val))
        return fail(st, s->name, "expected a non-negative integer, got '%s'", val);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || *end)
        return fail(st, s->name, "expected a non-negative integer, got '%s'", val);
    if (v < s->min || v > s->max)
        return fail(st, s->name, "'%s' is out of range (%llu to %llu)", val,
                    (unsigned long long)s->min, (unsigned long long)s->max);
    *out = v;
    return 0;
}

/* true/yes/1/on or false/no/0/off, any case.  Returns 0 or -1. */
static int bool_word(const char *val, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1", "on"},
                             *const no[] = {"false", "no", "0", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcasecmp(val, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(val, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Applies one value to its row.  val is NULL only for a bare flag
 * (is_bare). */
static int set_value(struct load_state *st, const struct proto_setting *s, const char *val)
{
    void *f = field(st, s);
    bool b;
    uint64_t v = 0;
    int l;
    if (!val && (s->type == PROTO_SETTINGS_BOOL || s->type == PROTO_SETTINGS_TRISTATE))
        val = "true";
    if (!val)
        return fail(st, s->name, "needs a value");
    switch (s->type) {
    case PROTO_SETTINGS_NONEMPTY:
        if (!*val)
            return fail(st, s->name, "needs a value");
        /* fall through */
    case PROTO_SETTINGS_STR:
    case PROTO_SETTINGS_CONFIG:
        return set_str(f, val) < 0 ? fail(st, s->name, "out of memory") : 0;
    case PROTO_SETTINGS_OPT_NONE:
        if (!strcmp(val, "none"))
            val = "";
        /* fall through */
    case PROTO_SETTINGS_OPT_STR:
        if (!*val) {
            clear_str(f);
            return 0;
        }
        return set_str(f, val) < 0 ? fail(st, s->name, "out of memory") : 0;
    case PROTO_SETTINGS_LIST:
        return set_list(st, s, val);
    case PROTO_SETTINGS_UINT:
    case PROTO_SETTINGS_SIZE:
    case PROTO_SETTINGS_U64:
    case PROTO_SETTINGS_U32:
        if (parse_number(st, s, val, &v) < 0)
            return -1;
        /* max keeps every value within its field's type. */
        if (s->type == PROTO_SETTINGS_UINT)
            *(unsigned *)f = (unsigned)v;
        else if (s->type == PROTO_SETTINGS_SIZE)
            *(size_t *)f = (size_t)v;
        else if (s->type == PROTO_SETTINGS_U64)
            *(uint64_t *)f = v;
        else
            *(uint32_t *)f = (uint32_t)v;
        return 0;
    case PROTO_SETTINGS_BOOL:
        if (bool_word(val, f) < 0)
            return fail(st, s->name, "expected true or false, got '%s'", val);
        return 0;
    case PROTO_SETTINGS_TRISTATE:
        if (!strcasecmp(val, "auto"))
            *(int *)f = PROTO_SETTINGS_AUTO;
        else if (bool_word(val, &b) == 0)
            *(int *)f = b;
        else
            return fail(st, s->name, "expected true, false or auto, got '%s'", val);
        return 0;
    case PROTO_SETTINGS_ENUM:
        if ((l = s->parse(val)) < 0)
            return fail(st, s->name, "expected %s, got '%s'", s->expected, val);
        *(int *)f = l;
        return 0;
    case PROTO_SETTINGS_ACTION:
        break;
    }
    return fail(st, s->name, "cannot be set here");
}

/* ---- sources ---------------------------------------------------------- */

/* Every row's built-in default; the computed ones (fill_default) come
 * after parsing, for the settings nobody gave. */
static int defaults(struct load_state *st)
{
    memset(st->conf, 0, st->t->size);
    for (size_t i = 0; i < st->t->n; i++) {
        const struct proto_setting *s = &st->t->rows[i];
        void *f = field(st, s);
        if (s->fill_default)
            continue;
        if (s->def_str && set_value(st, s, s->def_str) < 0)
            return -1;
        if (s->type == PROTO_SETTINGS_UINT)
            *(unsigned *)f = (unsigned)s->def;
        else if (s->type == PROTO_SETTINGS_SIZE)
            *(size_t *)f = (size_t)s->def;
        else if (s->type == PROTO_SETTINGS_U64)
            *(uint64_t *)f = s->def;
        else if (s->type == PROTO_SETTINGS_U32)
            *(uint32_t *)f = (uint32_t)s->def;
        else if (s->type == PROTO_SETTINGS_BOOL)
            *(bool *)f = s->def != 0;
    }
    return 0;
}

static int ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    if (strcmp(section, st->t->section)) {
        if (!st->err[0])
            snprintf(st->err, st->errlen, "unknown section [%s] (settings go in [%s])", section,
                     st->t->section);
        return 0;
    }
    const struct proto_setting *s = proto_settings_find(st->t, name);
    if (!s) {
        const struct proto_setting *near = nearest(st->t, name, true);
        if (near)
            fail(st, name, "unknown setting; did you mean '%s'?", near->name);
        else
            fail(st, name, "unknown setting");
        return 0;
    }
    if (s->type == PROTO_SETTINGS_CONFIG || s->type == PROTO_SETTINGS_ACTION) {
        fail(st, name, "cannot be set in a config file");
        return 0;
    }
    if (set_value(st, s, value) < 0)
        return 0;
    st->by_file[s - st->t->rows] = true;
    return 1;
}

static int read_file(struct load_state *st, const char *path)
{
    st->from = FROM_FILE;
    int rc = ini_parse(path, ini_line, st);
    st->from = FROM_FLAG;
    if (rc < 0) {
        snprintf(st->err, st->errlen, "%s: cannot open config file: %s", path, strerror(errno));
        return -1;
    }
    if (rc > 0 || st->err[0]) {
        char what[600];
        snprintf(what, sizeof what, "%s", st->err[0] ? st->err : "syntax error");
        snprintf(st->err, st->errlen, "%s:%d: %s", path, rc, what);
        return -1;
    }
    return 0;
}

/* Splits "--name=value" / "--name value"; returns the number of argv slots
 * used (1 or 2), or -1. */
static int split_flag(struct load_state *st, int argc, char **argv, int i,
                      const struct proto_setting **sp, const char **val)
{
    const char *a = argv[i];
    if (strncmp(a, "--", 2) || !a[2]) {
        snprintf(st->err, st->errlen, "unexpected argument '%s' (see --help)", a);
        return -1;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    char key[PROTO_SETTINGS_MAX_NAME + 1];
    const struct proto_setting *s = NULL;
    if (n < sizeof key) {
        for (size_t k = 0; k < n; k++)
            key[k] = a[k] == '-' ? '_' : a[k];
        key[n] = '\0';
        s = proto_settings_find(st->t, key);
    }
    if (!s) {
        const struct proto_setting *near = n < sizeof key ? nearest(st->t, key, false) : NULL;
        char flag[PROTO_SETTINGS_MAX_NAME + 1];
        if (near) {
            dashed(near->name, flag, sizeof flag);
            snprintf(st->err, st->errlen,
                     "unknown option '%.*s'; did you mean '--%s'? (see --help)",
                     (int)n + 2, argv[i], flag);
        } else {
            snprintf(st->err, st->errlen, "unknown option '%.*s' (see --help)",
                     (int)(n < 60 ? n + 2 : 62), argv[i]);
        }
        return -1;
    }
    *sp = s;
    if (eq) {
        *val = eq + 1;
        return 1;
    }
    if (is_bare(s)) {
        *val = NULL;
        return 1;
    }
    if (i + 1 >= argc) {
        snprintf(st->err, st->errlen, "option '%s' needs a value", argv[i]);
        return -1;
    }
    *val = argv[i + 1];
    return 2;
}

int proto_settings_load(const struct proto_settings *t, void *conf, int argc, char **argv,
                        const struct proto_setting **action, char *err, size_t errlen)
{
    struct load_state st = {.t = t, .conf = conf, .from = FROM_DEFAULT, .err = err,
                            .errlen = errlen};
    const struct proto_setting *s, *file = NULL;
    const char *val;
    err[0] = '\0';
    *action = NULL;
    /* The table's own limits, so that no row is unreachable. */
    if (t->n > PROTO_SETTINGS_MAX_ROWS) {
        memset(conf, 0, t->size);
        snprintf(err, errlen, "%zu settings: more than PROTO_SETTINGS_MAX_ROWS", t->n);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->rows[i].name) > PROTO_SETTINGS_MAX_NAME) {
            memset(conf, 0, t->size);
            snprintf(err, errlen, "setting %.40s...: longer than PROTO_SETTINGS_MAX_NAME",
                     t->rows[i].name);
            return -1;
        }
    if (defaults(&st) < 0)
        goto fail;
    st.from = FROM_FLAG;

    /* Pass 1: the actions and --config, so the file can be read before
     * the flags that override it. */
    for (int i = 0; i < argc;) {
        int used = split_flag(&st, argc, argv, i, &s, &val);
        if (used < 0)
            goto fail;
        i += used;
        if (s->type == PROTO_SETTINGS_ACTION) {
            proto_settings_close(t, conf);
            *action = s;
            return 1;
        }
        if (s->type == PROTO_SETTINGS_CONFIG) {
            if (set_value(&st, s, val) < 0)
                goto fail;
            file = s;
        }
    }
    if (file && read_file(&st, *(char **)field(&st, file)) < 0)
        goto fail;
    for (int i = 0; i < argc;) {
        int used = split_flag(&st, argc, argv, i, &s, &val);
        if (used < 0)
            goto fail;
        i += used;
        if (s->type == PROTO_SETTINGS_CONFIG)
            continue;
        if (set_value(&st, s, val) < 0)
            goto fail;
        st.by_flag[s - t->rows] = true;
    }

    for (size_t i = 0; i < t->n; i++) {
        s = &t->rows[i];
        if (s->fill_default && !st.by_file[i] && !st.by_flag[i] && s->fill_default(conf) < 0) {
            fail(&st, s->name, "cannot work out the default");
            goto fail;
        }
    }
    return 0;
fail:
    proto_settings_close(t, conf);
    return -1;
}

void proto_settings_close(const struct proto_settings *t, void *conf)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct proto_setting *s = &t->rows[i];
        char *f = (char *)conf + s->offset;
        if (is_str(s->type))
            clear_str((char **)f);
        else if (s->type == PROTO_SETTINGS_LIST)
            clear_list((char ***)f, (size_t *)((char *)conf + s->count_offset));
    }
    memset(conf, 0, t->size);
}
