/*
 * engine_cases.c: runs a ruleset's case files (rules/CONTRACT.md, "Case
 * files") and reports per-case results with a readable diff.
 *
 * Each patient goes JSON -> MessagePack -> the request pipeline
 * (engine_request_assess: proto_patient_from_params, engine_assess, the
 * packed reply), the path a real request takes, so a case also checks
 * what the protocol layer accepts.
 *
 * Cases are the ruleset's specification: they run under its own policy
 * defaults, never a clinic's override file, and a case that depends on a
 * policy value states it ("policy": {"isotretinoin-washout-days": 90}),
 * which applies to that case only.
 */
#include <fcntl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <clips/clips.h>
#include <jansson.h>

#include "engine_internal.h"

struct case_stats {
    int passed, failed, skipped;
    struct eng_fired covered;   /* rule names fired by some case (unsorted) */
    FILE *out;                  /* text report, or NULL */
    json_t *jcases;             /* JSON report: one object per case, or NULL */
    const regex_t *run;         /* only cases whose name matches, or NULL */
    /* Record the rules each case fires (the engine watches the rules
     * for it): for coverage, and for a report someone reads (a case that
     * did not settle names the rule to blame from what it saw fire).  A
     * reload's check (no coverage, no report) only counts passes and
     * failures, which do not depend on it, and skips the watch. */
    bool track_fired;
};

/* One case's outcome: "PASS name" / "FAIL name" and the diff's lines
 * ("    ...\n" each) in text, an object {file, name, pass, diff} in JSON. */
static void report_case(struct case_stats *st, const char *file, const char *name, bool pass,
                        const char *diff)
{
    if (st->jcases) {
        json_t *lines = json_array();
        for (const char *p = diff; p && *p;) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, "\n");
            if (n)
                json_array_append_new(lines, json_stringn(p, n));
            p += n;
            if (*p)
                p++;
        }
        json_array_append_new(st->jcases, json_pack("{s:s, s:s, s:b, s:o}", "file", file,
                                                    "name", name, "pass", pass, "diff", lines));
    } else if (st->out) {
        fprintf(st->out, "%s %s\n", pass ? "PASS" : "FAIL", name);
        if (diff)
            fputs(diff, st->out);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int add_name(struct eng_fired *f, const char *name)
{
    if (f->len == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 64;
        char **nn = realloc(f->names, nc * sizeof *nn);
        if (!nn)
            return -1;
        f->names = nn;
        f->cap = nc;
    }
    f->names[f->len] = eng_strdup(name);
    if (!f->names[f->len])
        return -1;
    f->len++;
    return 0;
}

static bool has_finding(const struct suit_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (!strcmp(r->findings[i].id, id))
            return true;
    return false;
}

static bool has_effect(const struct suit_result *r, const char *effect)
{
    for (size_t i = 0; i < r->n_side_effects; i++)
        if (!strcmp(r->side_effects[i].effect, effect))
            return true;
    return false;
}

/* The first of the expected aftercare texts (each part of one item, in
 * the order given) that the result lacks, or NULL when all are there. */
static const char *missing_aftercare(const struct suit_result *r, const json_t *want)
{
    size_t at = 0, i;
    json_t *x;
    json_array_foreach(want, i, x) {
        const char *text = json_string_value(x);
        while (at < r->n_aftercare && !strstr(r->aftercare[at], text))
            at++;
        if (at == r->n_aftercare)
            return text;
        at++;
    }
    return NULL;
}

static void days_text(char *buf, size_t n, int64_t d)
{
    if (d < 0)
        snprintf(buf, n, "nil");
    else
        snprintf(buf, n, "%lld", (long long)d);
}

/* Packs the case's patient (and optional options) as assess params. */
static int case_params(const json_t *patient, const json_t *options, msgpack_sbuffer *sb,
                       struct proto_error *perr)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, options ? 2 : 1);
    int rc = proto_json_to_msgpack(patient, &pk, perr);
    if (!rc && options)
        rc = proto_json_to_msgpack(options, &pk, perr);
    return rc;
}

/* The policy values a case runs under: the base (none, or the policy in
 * force) with the case's own "policy" on top.  Returns 0, or -1 with the
 * reason in why. */
struct case_policy {
    const struct eng_pvalue *base;
    size_t n_base;
    struct eng_pvalue *v;
    size_t n;
};

static int case_policy_build(const struct ruleset *rs, const json_t *pol, struct case_policy *cp,
                             char *why, size_t whylen)
{
    cp->v = calloc(cp->n_base + json_object_size(pol) + 1, sizeof *cp->v);
    if (!cp->v) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (cp->n_base)
        memcpy(cp->v, cp->base, cp->n_base * sizeof *cp->v);
    cp->n = cp->n_base;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)pol, key, val) {
        struct rs_number num = {0};
        if (json_is_integer(val)) {
            num.is_int = true;
            num.ivalue = json_integer_value(val);
            num.value = (double)num.ivalue;
        } else if (json_is_real(val)) {
            num.value = json_real_value(val);
        } else {
            snprintf(why, whylen, "policy.%.64s: expected a number", key);
            return -1;
        }
        char reason[1024];
        const struct rs_policy *p = eng_policy_check(rs, key, &num, reason, sizeof reason);
        if (!p) {
            snprintf(why, whylen, "policy: %s", reason);
            return -1;
        }
        size_t k = 0;
        while (k < cp->n && cp->v[k].p != p)
            k++;
        cp->v[k].p = p;
        cp->v[k].v = num;
        if (k == cp->n)
            cp->n++;
    }
    return 0;
}

static const char *const expect_keys[] = {"verdict", "defer_days", "findings", "absent",
                                          "side_effects", "aftercare", "error", NULL};

/* Checks the shape of one case; writes the reason to why. */
static int case_shape(const json_t *c, char *why, size_t n)
{
    if (!json_is_object(c)) {
        snprintf(why, n, "a case must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)c, key, v) {
        if (strcmp(key, "name") && strcmp(key, "patient") && strcmp(key, "expect") &&
            strcmp(key, "options") && strcmp(key, "policy") && strcmp(key, "comment")) {
            snprintf(why, n, "unknown key '%s' (allowed: name, patient, expect, options, "
                     "policy, comment)", key);
            return -1;
        }
    }
    const json_t *pol = json_object_get(c, "policy");
    if (pol && (!json_is_object(pol) || json_object_size(pol) == 0)) {
        snprintf(why, n, "\"policy\" must be a non-empty object of policy names and numbers");
        return -1;
    }
    const json_t *expect = json_object_get(c, "expect");
    if (!json_is_string(json_object_get(c, "name"))) {
        snprintf(why, n, "\"name\" must be a string");
        return -1;
    }
    if (!json_is_object(json_object_get(c, "patient"))) {
        snprintf(why, n, "\"patient\" must be an object");
        return -1;
    }
    if (!json_is_object(expect) || json_object_size(expect) == 0) {
        snprintf(why, n, "\"expect\" must be a non-empty object");
        return -1;
    }
    json_object_foreach((json_t *)expect, key, v) {
        bool known = false;
        for (const char *const *k = expect_keys; *k; k++)
            known |= !strcmp(key, *k);
        if (!known) {
            snprintf(why, n, "unknown expect key '%s' (allowed: verdict, defer_days, findings, "
                     "absent, side_effects, aftercare, error)", key);
            return -1;
        }
        if ((!strcmp(key, "findings") || !strcmp(key, "absent") ||
             !strcmp(key, "side_effects") || !strcmp(key, "aftercare"))) {
            size_t i;
            json_t *x;
            if (!json_is_array(v)) {
                snprintf(why, n, "expect.%s must be an array of strings", key);
                return -1;
            }
            json_array_foreach(v, i, x) if (!json_is_string(x)) {
                snprintf(why, n, "expect.%s must be an array of strings", key);
                return -1;
            }
        }
    }
    const json_t *verdict = json_object_get(expect, "verdict");
    if (verdict && (!json_is_string(verdict) || suit_verdict_parse(json_string_value(verdict)) < 0)) {
        snprintf(why, n, "expect.verdict must be one of suitable, suitable-with-precautions, "
                 "incomplete, defer, refer, contraindicated");
        return -1;
    }
    const json_t *dd = json_object_get(expect, "defer_days");
    if (dd && !json_is_null(dd) && !json_is_integer(dd)) {
        snprintf(why, n, "expect.defer_days must be an integer or null");
        return -1;
    }
    const json_t *er = json_object_get(expect, "error");
    if (er && !json_is_integer(er)) {
        snprintf(why, n, "expect.error must be an integer error code");
        return -1;
    }
    return 0;
}

/* Runs one case; prints PASS/FAIL and the diff.  Returns 1 pass, 0 fail,
 * <0 internal error. */
static int run_case(struct engine *e, const struct case_policy *base, const char *file,
                    size_t idx, const json_t *c, struct case_stats *st, struct proto_error *err)
{
    char why[1200];
    const char *name = json_is_object(c) && json_is_string(json_object_get(c, "name"))
                           ? json_string_value(json_object_get(c, "name"))
                           : NULL;
    char fallback[300];
    if (!name) {
        snprintf(fallback, sizeof fallback, "%s[%zu]", file, idx);
        name = fallback;
    }
    if (st->run && regexec(st->run, name, 0, NULL, 0) != 0)
        return 2;               /* not asked for (--run) */
    char line0[1400];
    if (case_shape(c, why, sizeof why) < 0) {
        snprintf(line0, sizeof line0, "    %s: case %zu: %s\n", file, idx, why);
        report_case(st, file, name, false, line0);
        proto_error_add_detail(err, "%s", name);
        return 0;
    }
    const json_t *expect = json_object_get(c, "expect");
    const json_t *pol = json_object_get(c, "policy");
    if (pol) {
        struct case_policy cp = *base;
        int prc = case_policy_build(engine_ruleset(e), pol, &cp, why, sizeof why);
        if (!prc && eng_engine_set_policy(e, cp.v, cp.n) < 0)
            prc = -1;
        free(cp.v);
        if (prc) {
            snprintf(line0, sizeof line0, "    %s: case %zu: %s\n", file, idx, why);
            report_case(st, file, name, false, line0);
            proto_error_add_detail(err, "%s", name);
            return 0;
        }
    }

    struct suit_result r;
    suit_result_init(&r);
    struct proto_error aerr;
    proto_error_init(&aerr);
    struct eng_fired fired = {0};
    msgpack_sbuffer params, reply;
    msgpack_sbuffer_init(&params);
    msgpack_sbuffer_init(&reply);
    int rc = case_params(json_object_get(c, "patient"), json_object_get(c, "options"), &params,
                         &aerr);
    if (!rc) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        if (msgpack_unpack_next(&up, params.data, params.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
            rc = proto_error_set(&aerr, PROTO_E_INTERNAL, "cannot re-read the packed patient");
        } else {
            msgpack_packer pk;
            msgpack_packer_init(&pk, &reply, msgpack_sbuffer_write);
            struct engine_request q = {.msgid = (uint32_t)idx, .params = &up.data, .result = &r};
            rc = eng_request_assess(e, &q, &pk, st->track_fired ? &fired : NULL, &aerr);
        }
        msgpack_unpacked_destroy(&up);
    }
    msgpack_sbuffer_destroy(&params);
    msgpack_sbuffer_destroy(&reply);
    if (pol && eng_engine_set_policy(e, base->base, base->n_base) < 0 && !rc)
        rc = proto_error_set(&aerr, PROTO_E_INTERNAL, "out of memory");
    if (rc == PROTO_E_INTERNAL && !json_object_get(expect, "error")) {
        proto_error_set(err, PROTO_E_INTERNAL, "%s: %s", name, aerr.message);
        suit_result_close(&r);
        proto_error_close(&aerr);
        eng_fired_free(&fired);
        return -1;
    }
    for (size_t i = 0; i < fired.len; i++)
        if (add_name(&st->covered, fired.names[i]) < 0) {
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            break;
        }
    eng_fired_free(&fired);

    struct eng_buf diff = {0};
    char line[1024];
#define DIFF(...) do { snprintf(line, sizeof line, __VA_ARGS__); \
                       (void)eng_buf_append(&diff, line, strlen(line)); } while (0)
    const json_t *want_err = json_object_get(expect, "error");
    if (want_err) {
        if (!rc)
            DIFF("    error: expected %lld, got verdict %s\n",
                 (long long)json_integer_value(want_err), suit_verdict_name(r.verdict));
        else if (rc != json_integer_value(want_err))
            DIFF("    error: expected %lld, got %d (%s)\n",
                 (long long)json_integer_value(want_err), rc, aerr.message);
    } else if (rc) {
        DIFF("    error: expected a result, got %d (%s)%s%s\n", rc, aerr.message,
             aerr.field ? " field " : "", aerr.field ? aerr.field : "");
    } else {
        const json_t *v = json_object_get(expect, "verdict");
        if (v && suit_verdict_parse(json_string_value(v)) != (int)r.verdict)
            DIFF("    verdict: expected %s, got %s\n", json_string_value(v),
                 suit_verdict_name(r.verdict));
        const json_t *dd = json_object_get(expect, "defer_days");
        if (dd) {
            int64_t want = json_is_null(dd) ? -1 : json_integer_value(dd);
            if (want < 0)
                want = -1;
            if (want != r.defer_days) {
                char a[32], b[32];
                days_text(a, sizeof a, want);
                days_text(b, sizeof b, r.defer_days);
                DIFF("    defer_days: expected %s, got %s\n", a, b);
            }
        }
        size_t i;
        json_t *x;
        struct eng_buf miss = {0}, extra = {0}, fx = {0};
        json_array_foreach(json_object_get(expect, "findings"), i, x)
            if (!has_finding(&r, json_string_value(x))) {
                (void)eng_buf_append(&miss, miss.len ? ", " : "", miss.len ? 2 : 0);
                (void)eng_buf_append(&miss, json_string_value(x), strlen(json_string_value(x)));
            }
        json_array_foreach(json_object_get(expect, "absent"), i, x)
            if (has_finding(&r, json_string_value(x))) {
                (void)eng_buf_append(&extra, extra.len ? ", " : "", extra.len ? 2 : 0);
                (void)eng_buf_append(&extra, json_string_value(x), strlen(json_string_value(x)));
            }
        json_array_foreach(json_object_get(expect, "side_effects"), i, x)
            if (!has_effect(&r, json_string_value(x))) {
                (void)eng_buf_append(&fx, fx.len ? ", " : "", fx.len ? 2 : 0);
                (void)eng_buf_append(&fx, json_string_value(x), strlen(json_string_value(x)));
            }
        if (miss.len)
            DIFF("    missing findings: %s\n", miss.data);
        if (extra.len)
            DIFF("    unexpected findings: %s\n", extra.data);
        if (fx.len)
            DIFF("    missing side effects: %s\n", fx.data);
        /* what the lint cannot see in a (str-cat ...) with variables */
        for (size_t k = 0; k < r.n_findings; k++) {
            size_t chars = 0;
            for (const char *p = r.findings[k].summary ? r.findings[k].summary : ""; *p; p++)
                chars += ((unsigned char)*p & 0xC0) != 0x80;
            if (chars > ENGINE_MAX_SUMMARY_CHARS)
                DIFF("    finding %s: summary is %zu characters (expected at most %d, the CDS "
                     "Hooks card's limit)\n", r.findings[k].id, chars, ENGINE_MAX_SUMMARY_CHARS);
        }
        const char *ac = missing_aftercare(&r, json_object_get(expect, "aftercare"));
        if (ac)
            DIFF("    aftercare: expected an item containing \"%.200s\" (in the order given); "
                 "got %zu item%s\n", ac, r.n_aftercare, r.n_aftercare == 1 ? "" : "s");
        eng_buf_free(&miss);
        eng_buf_free(&extra);
        eng_buf_free(&fx);
        if (diff.len) {
            struct eng_buf got = {0};
            for (size_t k = 0; k < r.n_findings; k++) {
                char one[300];
                if (r.findings[k].severity == SUIT_SEV_DEFER && r.findings[k].defer_days >= 0)
                    snprintf(one, sizeof one, "%s%s (defer %lld)", k ? ", " : "",
                             r.findings[k].id, (long long)r.findings[k].defer_days);
                else
                    snprintf(one, sizeof one, "%s%s (%s)", k ? ", " : "", r.findings[k].id,
                             suit_severity_name(r.findings[k].severity));
                (void)eng_buf_append(&got, one, strlen(one));
            }
            char dd2[32];
            days_text(dd2, sizeof dd2, r.defer_days);
            DIFF("    got: verdict %s, defer_days %s\n", suit_verdict_name(r.verdict), dd2);
            (void)eng_buf_append(&diff, "    findings produced: ", 23);
            if (got.len)
                (void)eng_buf_append(&diff, got.data, got.len);
            else
                (void)eng_buf_append(&diff, "none", 4);
            (void)eng_buf_append(&diff, "\n", 1);
            if (r.n_missing) {
                (void)eng_buf_append(&diff, "    missing facts:", 18);
                for (size_t k = 0; k < r.n_missing; k++) {
                    (void)eng_buf_append(&diff, " ", 1);
                    (void)eng_buf_append(&diff, r.missing[k], strlen(r.missing[k]));
                }
                (void)eng_buf_append(&diff, "\n", 1);
            }
            eng_buf_free(&got);
        }
    }
#undef DIFF
    int pass = diff.len == 0;
    report_case(st, file, name, pass, pass ? NULL : diff.data);
    if (!pass)
        proto_error_add_detail(err, "%s", name);
    eng_buf_free(&diff);
    suit_result_close(&r);
    proto_error_close(&aerr);
    return pass;
}

/* Rules no case fired; finding-producing ones count as failures, and so
 * does coverage below o->threshold (percent of all rules fired; -1: none).
 * Reads the rules from the engine's own environment.  Returns the number
 * of failures (unfired finding rules, plus one below the threshold). */
static int report_coverage(struct engine *e, struct case_stats *st, int threshold,
                           json_t *jcov, struct proto_error *err)
{
    const struct ruleset *rs = engine_ruleset(e);
    void *env = eng_engine_env(e);
    FILE *out = st->jcases ? NULL : st->out;
    json_t *unfired = jcov ? json_array() : NULL;
    qsort(st->covered.names, st->covered.len, sizeof *st->covered.names, str_cmp);
    int uncovered_findings = 0, uncovered = 0;
    long total = 0, total_findings = 0;
    for (void *rule = EnvGetNextDefrule(env, NULL); rule; rule = EnvGetNextDefrule(env, rule)) {
        const char *name = EnvGetDefruleName(env, rule);
        const char *pp = EnvGetDefrulePPForm(env, rule);
        const char *rhs = pp ? strstr(pp, "=>") : NULL;
        bool makes_finding = rhs && strstr(rhs, "(finding ");
        total++;
        total_findings += makes_finding;
        const char *key = name;
        if (st->covered.len &&
            bsearch(&key, st->covered.names, st->covered.len, sizeof key, str_cmp))
            continue;
        const char *file = "?";
        long line = 0;
        for (size_t i = 0; i < rs->n_files && !line; i++) {
            line = eng_construct_line(rs->files[i].text, "defrule", name);
            if (line)
                file = rs->files[i].name;
        }
        uncovered++;
        if (makes_finding) {
            uncovered_findings++;
            proto_error_add_detail(err, "not fired by any case: %s (%s:%ld)", name, file, line);
        }
        if (out)
            fprintf(out, "not fired by any case: %s (%s:%ld)%s\n", name, file, line,
                    makes_finding ? "" : " [no finding; not counted]");
        if (unfired)
            json_array_append_new(unfired, json_pack("{s:s, s:s, s:I, s:b}", "rule", name,
                                                     "file", file, "line", (json_int_t)line,
                                                     "makes_finding", makes_finding));
    }
    /* whole percentages, rounded down: 99.5% is not 100% */
    long percent = total ? (total - uncovered) * 100 / total : 100;
    if (out)
        fprintf(out, "coverage: %ld of %ld rules fired; %ld of %ld finding rules fired\n",
                total - uncovered, total, total_findings - uncovered_findings, total_findings);
    bool below = threshold >= 0 && percent < threshold;
    if (below) {
        proto_error_add_detail(err, "coverage %ld%% is below the threshold %d%%", percent,
                               threshold);
        if (out)
            fprintf(out, "coverage %ld%% is below the threshold %d%%\n", percent, threshold);
    }
    if (jcov) {
        json_object_set_new(jcov, "rules", json_integer(total));
        json_object_set_new(jcov, "rules_fired", json_integer(total - uncovered));
        json_object_set_new(jcov, "finding_rules", json_integer(total_findings));
        json_object_set_new(jcov, "finding_rules_fired",
                            json_integer(total_findings - uncovered_findings));
        json_object_set_new(jcov, "percent", json_integer(percent));
        if (threshold > 0)
            json_object_set_new(jcov, "threshold", json_integer(threshold));
        json_object_set_new(jcov, "not_fired", unfired);
    }
    return uncovered_findings + below;
}

/* A folder of case files other than the ruleset's own (suitd test DIR
 * with cases elsewhere; tests), read the way the ruleset's are. */
static int read_case_dir(const char *dir, struct rs_file **files, size_t *n,
                         struct proto_error *err)
{
    struct eng_reader rd;
    int rc = eng_reader_open(&rd, dir, NULL, err);
    if (!rc)
        rc = eng_reader_read_cases(&rd, ".", 4096, files, n, err);
    eng_reader_close(&rd);
    if (rc && rc != PROTO_E_INTERNAL)
        proto_error_set(err, PROTO_E_RULESET, "cannot read case directory %s", dir);
    return rc;
}

int eng_run_cases(struct engine *e, const struct engine_cases_opts *o, int *passed,
                  struct proto_error *err)
{
    if (passed)
        *passed = 0;
    const struct ruleset *rs = engine_ruleset(e);
    const struct rs_file *files = rs->cases;
    size_t nfiles = rs->n_cases;
    struct rs_file *own = NULL;          /* read here, from o->dir */
    size_t n_own = 0;
    struct rs_file one = {.name = (char *)o->text_name, .text = (char *)o->text,
                          .len = o->text_len};
    if (o->text) {
        files = &one;
        nfiles = 1;
    } else if (o->dir) {
        int rrc = read_case_dir(o->dir, &own, &n_own, err);
        if (rrc)
            return rrc;
        files = own;
        nfiles = n_own;
    } else if (!rs->has_tests) {
        return proto_error_set(err, PROTO_E_RULESET, "cannot read case directory %s/%s",
                               rs->dir, rs->tests);
    }
    /* Coverage tells finding rules by their text form, which an engine
     * built from the binary image does not have: refused rather than
     * reporting every rule as one that makes no finding. */
    if (o->coverage && eng_engine_from_image(e))
        return proto_error_set(err, PROTO_E_INTERNAL, "coverage needs an engine built from "
                               "the rule text (engine_run_cases builds one)");
    /* Every case starts from the defaults, or from the policy in force. */
    struct eng_pvalue *basev = NULL;
    size_t n_base = 0;
    if (o->served_policy && eng_policy_served(rs, &basev, &n_base) < 0) {
        eng_files_free(own, n_own);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    struct case_policy base = {.base = basev, .n_base = n_base};
    int rc = eng_engine_set_policy(e, basev, n_base) < 0
                 ? proto_error_set(err, PROTO_E_INTERNAL, "out of memory")
                 : 0;
    FILE *out = o->out;
    regex_t run;
    if (!rc && o->run && regcomp(&run, o->run, REG_EXTENDED | REG_NOSUB) != 0) {
        free(basev);
        eng_files_free(own, n_own);
        return proto_error_set(err, PROTO_E_INVALID_PARAMS, "--run: '%.200s' is not an "
                               "extended regular expression", o->run);
    }
    struct case_stats st = {.out = out, .run = o->run ? &run : NULL,
                            .track_fired = o->coverage || out || o->json};
    json_t *jroot = NULL;
    if (o->json && !(jroot = json_object())) {
        rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    } else if (o->json) {
        st.jcases = json_array();
        json_object_set_new(jroot, "cases", st.jcases);
    }
    for (size_t i = 0; !rc && i < nfiles; i++) {
        const struct rs_file *f = &files[i];
        json_error_t jerr;
        json_t *root = json_loadb(f->text, f->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root || !json_is_array(root)) {
            char why[400];
            snprintf(why, sizeof why, "    %s:%d: %s\n", f->name, root ? 1 : jerr.line,
                     root ? "a case file must hold a JSON array" : jerr.text);
            report_case(&st, f->name, f->name, false, why);
            proto_error_add_detail(err, "%s", f->name);
            st.failed++;
        } else {
            size_t k;
            json_t *c;
            json_array_foreach(root, k, c) {
                int res = run_case(e, &base, f->name, k, c, &st, err);
                if (res < 0) {
                    rc = res;
                    break;
                }
                if (res == 2)
                    st.skipped++;
                else if (res)
                    st.passed++;
                else
                    st.failed++;
            }
        }
        json_decref(root);
    }
    if (!rc && out && !jroot) {
        if (st.skipped)
            fprintf(out, "%d passed, %d failed (%d not matching --run)\n", st.passed, st.failed,
                     st.skipped);
        else
            fprintf(out, "%d passed, %d failed\n", st.passed, st.failed);
    }
    int uncovered = 0;
    if (!rc && o->coverage) {
        json_t *jcov = jroot ? json_object() : NULL;
        uncovered = report_coverage(e, &st, o->threshold, jcov, err);
        if (jcov)
            json_object_set_new(jroot, "coverage", jcov);
    }
    if (!rc && jroot) {
        json_object_set_new(jroot, "passed", json_integer(st.passed));
        json_object_set_new(jroot, "failed", json_integer(st.failed));
        json_object_set_new(jroot, "skipped", json_integer(st.skipped));
        if (out)
            json_dumpf(jroot, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (out)
            fputc('\n', out);
    }
    json_decref(jroot);
    if (st.run)
        regfree(&run);
    free(basev);
    eng_files_free(own, n_own);
    eng_fired_free(&st.covered);
    if (rc)
        return rc < 0 ? rc : PROTO_E_INTERNAL;
    if (passed)
        *passed = st.passed;
    if (st.failed || uncovered)
        proto_error_set(err, PROTO_E_RULESET, "%d case%s failed%s", st.failed,
                        st.failed == 1 ? "" : "s",
                        uncovered ? "; coverage is short (unfired finding rules, or below "
                                    "the threshold)" : "");
    return st.failed + uncovered;
}

int engine_run_cases(struct ruleset *rs, const struct engine_cases_opts *o, int *passed,
                     struct proto_error *err)
{
    if (passed)
        *passed = 0;
    struct engine *e = NULL;
    /* coverage reads the rules' text forms, which only a parse keeps */
    int rc = o->coverage ? eng_engine_create_parsed(rs, o->limits, &e, err)
                         : eng_engine_create(rs, o->limits, NULL, false, &e, err);
    if (rc)
        return rc < 0 ? rc : PROTO_E_INTERNAL;
    rc = eng_run_cases(e, o, passed, err);
    engine_free(e);
    return rc;
}

int engine_run_cases_on(struct engine *e, const struct engine_cases_opts *o, int *passed,
                        struct proto_error *err)
{
    return eng_run_cases(e, o, passed, err);
}
