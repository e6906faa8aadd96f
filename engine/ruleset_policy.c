/*
 * ruleset_policy.c: a ruleset's policy parameters, the named policies that
 * set values for them (`default`, and one per NAME.ini of a policy folder,
 * `--policy-dir DIR`), and the values a case ("policy": {...}) sets.
 *
 * Every named policy holds a value for every parameter: the ruleset's
 * default unless its file sets one.  `default` is the ruleset's own values,
 * overridden by a `--policy FILE` or by DIR/default.ini (never both: the
 * load refuses a default set twice).  Each policy is identified by its
 * name and the sha256 of its values (eng_policy_hash), which every result
 * carries.
 *
 * policy.clp declares each parameter with its default and, optionally, the
 * range a value must lie in (`min`, `max`).  A value is checked the same
 * way wherever it comes from: the name must be one the ruleset declares;
 * a parameter whose default is a whole number (every day count and age)
 * takes only whole numbers (a 90.5-day washout is a typo, and a rule that
 * computes a deferral from it would hand a fraction to the INTEGER slot
 * defer-days); and the value lies in the declared range, or is not
 * negative when none is declared.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "engine_internal.h"

static int policy_cmp(const void *a, const void *b)
{
    const struct rs_policy *x = a, *y = b;
    return strcmp(x->name, y->name);
}

void eng_policy_sort(struct ruleset *rs)
{
    if (rs->n_policy > 1)
        qsort(rs->policy, rs->n_policy, sizeof *rs->policy, policy_cmp);
}

static void number_text(const struct rs_number *n, char *buf, size_t len)
{
    if (n->is_int)
        snprintf(buf, len, "%lld", n->ivalue);
    else
        snprintf(buf, len, "%g", n->value);
}

const struct rs_policy *eng_policy_find(const struct ruleset *rs, const char *name)
{
    struct rs_policy key = {.name = (char *)name};
    return rs->n_policy ? bsearch(&key, rs->policy, rs->n_policy, sizeof key, policy_cmp) : NULL;
}

const struct rs_policy *eng_policy_check(const struct ruleset *rs, const char *name,
                                         struct rs_number *v, char *why, size_t whylen)
{
    const struct rs_policy *p = eng_policy_find(rs, name);
    if (!p) {
        /* The list of known names is long (24 in the bundled ruleset) but
         * it is what the author of a misspelt file needs. */
        int off = snprintf(why, whylen, "unknown policy '%.64s' (known:", name);
        for (size_t k = 0; k < rs->n_policy && off > 0 && (size_t)off < whylen; k++)
            off += snprintf(why + off, whylen - (size_t)off, "%s %s", k ? "," : "",
                            rs->policy[k].name);
        if (off > 0 && (size_t)off < whylen)
            snprintf(why + off, whylen - (size_t)off, "%s)", rs->n_policy ? "" : " none");
        return NULL;
    }
    if (p->dflt.is_int && !v->is_int) {
        char d[32];
        number_text(&p->dflt, d, sizeof d);
        snprintf(why, whylen, "%s: must be a whole number (its default is %s)", name, d);
        return NULL;
    }
    if (!p->dflt.is_int && v->is_int) {
        /* a real-valued parameter keeps its type: 1 becomes 1.0 */
        v->is_int = false;
        v->value = (double)v->ivalue;
    }
    double x = v->is_int ? (double)v->ivalue : v->value;
    if ((p->has_min && x < p->min.value) || (p->has_max && x > p->max.value)) {
        char lo[32] = "", hi[32] = "";
        if (p->has_min)
            number_text(&p->min, lo, sizeof lo);
        if (p->has_max)
            number_text(&p->max, hi, sizeof hi);
        if (p->has_min && p->has_max)
            snprintf(why, whylen, "%s: must be between %s and %s", name, lo, hi);
        else if (p->has_min)
            snprintf(why, whylen, "%s: must be at least %s", name, lo);
        else
            snprintf(why, whylen, "%s: must be at most %s", name, hi);
        return NULL;
    }
    if (!p->has_min && x < 0) {
        snprintf(why, whylen, "%s: must not be negative", name);
        return NULL;
    }
    return p;
}

int eng_policy_served(const struct ruleset *rs, struct eng_pvalue **v, size_t *n)
{
    if (!rs->dflt) {
        *v = NULL;
        *n = 0;
        return 0;
    }
    return eng_named_overrides(rs, rs->dflt, v, n);
}

int eng_number_parse(const char *s, struct rs_number *n)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long long ll = strtoll(s, &end, 10);
    if (!*end && !errno) {
        n->is_int = true;
        n->ivalue = ll;
        n->value = (double)ll;
        return 0;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return -1;
    n->is_int = false;
    n->ivalue = 0;
    n->value = v;
    return 0;
}

/* ---- the policy file -------------------------------------------------------- */

struct override {
    char *name;
    struct rs_number v;
    int line;
};

struct overrides {
    struct eng_ini_src src;
    const char *file;
    struct override *v;
    size_t n;
    struct proto_error *err;
    int problems;
};

static int override_handler(void *user, const char *section, const char *name,
                            const char *value)
{
    struct overrides *o = user;
    if (strcmp(section, "policy") != 0) {
        proto_error_add_detail(o->err, "%s:%d: unknown section [%s] (expected [policy])",
                               o->file, o->src.line, section);
        o->problems++;
        return 1;
    }
    struct override ov = {.line = o->src.line};
    if (eng_number_parse(value, &ov.v) < 0) {
        proto_error_add_detail(o->err, "%s:%d: %s: '%s' is not a number", o->file,
                               o->src.line, name, value);
        o->problems++;
        return 1;
    }
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->v[i].name, name)) {
            proto_error_add_detail(o->err, "%s:%d: %s: set twice (first on line %d)", o->file,
                                   o->src.line, name, o->v[i].line);
            o->problems++;
            return 1;
        }
    struct override *nv = realloc(o->v, (o->n + 1) * sizeof *nv);
    if (!nv)
        return 0;
    o->v = nv;
    ov.name = eng_strdup(name);
    if (!ov.name)
        return 0;
    o->v[o->n++] = ov;
    return 1;
}

/* Parses one policy file's text into np's values; returns the number of
 * problems (each a "file:line: ..." detail), or -1 out of memory. */
static int parse_into(const struct ruleset *rs, const char *file, const char *text,
                      struct rs_named *np, struct proto_error *err)
{
    struct overrides o = {.src = {.p = text}, .file = file, .err = err};
    int rc = ini_parse_stream(eng_ini_read, &o.src, override_handler, &o);
    int oom = rc == -2;
    if (rc > 0 && !o.problems) {
        proto_error_add_detail(err, "%s:%d: syntax error", file, rc);
        o.problems++;
    } else if (rc < 0) {
        /* inih's only negative result from a stream is out of memory */
        proto_error_add_detail(err, "%s: cannot parse (%d)", file, rc);
        o.problems++;
    }
    if (o.src.too_long) {
        proto_error_add_detail(err, "%s:%d: line too long", file, o.src.too_long);
        o.problems++;
    }
    for (size_t i = 0; i < o.n; i++) {
        struct override *ov = &o.v[i];
        char why[1024];
        const struct rs_policy *p = eng_policy_check(rs, ov->name, &ov->v, why, sizeof why);
        if (!p) {
            proto_error_add_detail(err, "%s:%d: %s", file, ov->line, why);
            o.problems++;
            continue;
        }
        size_t k = (size_t)(p - rs->policy);
        np->values[k] = ov->v;
        if (!np->set[k])
            np->n_set++;
        np->set[k] = true;
    }
    for (size_t i = 0; i < o.n; i++)
        free(o.v[i].name);
    free(o.v);
    return oom ? -1 : o.problems;
}

static int named_cmp(const void *a, const void *b)
{
    const struct rs_named *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* The shortest decimal text that reads back as the same double ("0.5",
 * "1.5"), so the hash does not depend on how a file spelt the number. */
static void number_canon(const struct rs_number *n, char *buf, size_t len)
{
    if (n->is_int) {
        snprintf(buf, len, "%lld", n->ivalue);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, n->value);
        if (strtod(buf, NULL) == n->value)
            return;
    }
}

void eng_policy_hash(const struct ruleset *rs, const struct rs_number *values, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    for (size_t i = 0; i < rs->n_policy; i++) {
        char line[400], num[64];
        number_canon(&values[i], num, sizeof num);
        int n = snprintf(line, sizeof line, "%s=%s\n", rs->policy[i].name, num);
        if (n > 0)
            sha256_update(&ctx, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1,
                          (const uint8_t *)line);
    }
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

void eng_policies_free(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n_named; i++) {
        free(rs->named[i].name);
        free(rs->named[i].file);
        free(rs->named[i].values);
        free(rs->named[i].set);
    }
    free(rs->named);
    rs->named = NULL;
    rs->n_named = 0;
    rs->dflt = NULL;
}

/* A policy holding the ruleset's defaults; -1 out of memory. */
static int named_init(const struct ruleset *rs, struct rs_named *np, const char *name,
                      size_t name_len, const char *file)
{
    memset(np, 0, sizeof *np);
    np->name = eng_strndup(name, name_len);
    np->file = file ? eng_strdup(file) : NULL;
    np->values = calloc(rs->n_policy + 1, sizeof *np->values);
    np->set = calloc(rs->n_policy + 1, sizeof *np->set);
    if (!np->name || (file && !np->file) || !np->values || !np->set)
        return -1;
    for (size_t i = 0; i < rs->n_policy; i++)
        np->values[i] = rs->policy[i].dflt;
    return 0;
}

int eng_policies_build(struct ruleset *rs, const char *default_file, const char *default_text,
                       const struct rs_file *dir_files, size_t n_dir_files,
                       struct proto_error *err)
{
    const char *dir = rs->policy_dir ? rs->policy_dir : ".";
    const struct rs_file *dflt_file = NULL;
    for (size_t i = 0; i < n_dir_files; i++)
        if (!strcmp(dir_files[i].name, SUIT_DEFAULT_POLICY ".ini"))
            dflt_file = &dir_files[i];
    int problems = 0;
    if (dflt_file && default_text) {
        proto_error_add_detail(err, "%s/%s:1: the default policy is set twice, by this file "
                               "and by the policy file %s: keep one", dir, dflt_file->name,
                               default_file);
        problems++;
    }
    size_t n = n_dir_files + (dflt_file ? 0 : 1);
    if (!(rs->named = calloc(n, sizeof *rs->named)))
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    char shown[4200];
    /* default first: from the --policy file, else none (default.ini is
     * read with the folder's other files below) */
    int rc = 0;
    if (!dflt_file) {
        struct rs_named *np = &rs->named[rs->n_named++];
        if (named_init(rs, np, SUIT_DEFAULT_POLICY, strlen(SUIT_DEFAULT_POLICY),
                       default_text ? default_file : NULL) < 0)
            rc = -1;
        else if (default_text)
            rc = parse_into(rs, default_file, default_text, np, err);
        if (rc > 0)
            problems += rc;
    }
    for (size_t i = 0; rc >= 0 && i < n_dir_files; i++) {
        const struct rs_file *f = &dir_files[i];
        snprintf(shown, sizeof shown, "%s/%s", dir, f->name);
        struct rs_named *np = &rs->named[rs->n_named++];
        /* the reader checked the name: NAME.ini */
        rc = named_init(rs, np, f->name, strlen(f->name) - 4, shown);
        if (!rc)
            rc = parse_into(rs, shown, f->text, np, err);
        if (rc > 0)
            problems += rc;
    }
    if (rc < 0)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    if (rs->n_named > 1)
        qsort(rs->named, rs->n_named, sizeof *rs->named, named_cmp);
    for (size_t i = 0; i < rs->n_named; i++)
        eng_policy_hash(rs, rs->named[i].values, rs->named[i].sha256);
    rs->dflt = eng_named_find(rs, SUIT_DEFAULT_POLICY, strlen(SUIT_DEFAULT_POLICY));
    if (problems)
        return proto_error_set(err, PROTO_E_RULESET, "policy refused: %d problem%s", problems,
                               problems == 1 ? "" : "s");
    /* The values in force (the `ruleset` method's `policy`) are the
     * default policy's. */
    for (size_t i = 0; i < rs->n_policy; i++) {
        struct rs_policy *w = &rs->policy[i];
        const struct rs_number *v = &rs->dflt->values[i];
        w->value = v->value;
        w->is_int = v->is_int;
        w->ivalue = v->ivalue;
        w->overridden = rs->dflt->set[i];
    }
    return 0;
}

const struct rs_named *eng_named_find(const struct ruleset *rs, const char *name, size_t len)
{
    char key_name[SUIT_MAX_POLICY_NAME + 1];
    if (len > SUIT_MAX_POLICY_NAME)
        return NULL;
    memcpy(key_name, name, len);
    key_name[len] = '\0';
    struct rs_named key = {.name = key_name};
    return rs->n_named ? bsearch(&key, rs->named, rs->n_named, sizeof key, named_cmp) : NULL;
}

int eng_named_overrides(const struct ruleset *rs, const struct rs_named *np,
                        struct eng_pvalue **v, size_t *n)
{
    *v = NULL;
    *n = 0;
    if (!np->n_set)
        return 0;
    if (!(*v = calloc(np->n_set, sizeof **v)))
        return -1;
    for (size_t i = 0; i < rs->n_policy; i++)
        if (np->set[i]) {
            (*v)[*n].p = &rs->policy[i];
            (*v)[*n].v = np->values[i];
            (*n)++;
        }
    return 0;
}

int ruleset_policy_text_check(const struct ruleset *rs, const char *file, const char *text,
                              struct proto_error *err)
{
    struct rs_named np;
    int rc = named_init(rs, &np, "check", 5, file);
    if (!rc)
        rc = parse_into(rs, file, text, &np, err);
    free(np.name);
    free(np.file);
    free(np.values);
    free(np.set);
    if (rc < 0)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    if (rc > 0)
        return proto_error_set(err, PROTO_E_RULESET, "policy refused: %d problem%s", rc,
                               rc == 1 ? "" : "s");
    return 0;
}
