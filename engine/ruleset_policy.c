/*
 * ruleset_policy.c: a ruleset's policy parameters, and the values a clinic
 * (a policy file, `--policy FILE`) or a case ("policy": {...}) sets for
 * them.
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

const struct rs_policy *eng_policy_check(const struct ruleset *rs, const char *name,
                                         struct rs_number *v, char *why, size_t whylen)
{
    struct rs_policy key = {.name = (char *)name};
    const struct rs_policy *p = rs->n_policy ? bsearch(&key, rs->policy, rs->n_policy,
                                                       sizeof key, policy_cmp)
                                             : NULL;
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
    *v = NULL;
    *n = 0;
    size_t k = 0;
    for (size_t i = 0; i < rs->n_policy; i++)
        k += rs->policy[i].overridden;
    if (!k)
        return 0;
    if (!(*v = calloc(k, sizeof **v)))
        return -1;
    for (size_t i = 0; i < rs->n_policy; i++) {
        const struct rs_policy *p = &rs->policy[i];
        if (!p->overridden)
            continue;
        (*v)[*n].p = p;
        (*v)[*n].v = (struct rs_number){.value = p->value, .is_int = p->is_int,
                                        .ivalue = p->ivalue};
        (*n)++;
    }
    return 0;
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

int eng_policy_file_apply(struct ruleset *rs, const char *file, const char *text,
                          struct proto_error *err)
{
    struct overrides o = {.src = {.p = text}, .file = file, .err = err};
    int rc = ini_parse_stream(eng_ini_read, &o.src, override_handler, &o);
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
        struct rs_policy *w = &rs->policy[p - rs->policy];
        w->value = ov->v.value;
        w->is_int = ov->v.is_int;
        w->ivalue = ov->v.ivalue;
        w->overridden = true;
    }
    for (size_t i = 0; i < o.n; i++)
        free(o.v[i].name);
    free(o.v);
    if (o.problems)
        return proto_error_set(err, PROTO_E_RULESET, "policy file %s refused: %d problem%s",
                               file, o.problems, o.problems == 1 ? "" : "s");
    return 0;
}
