/*
 * ruleset_check.c: the one decision whether a ruleset may serve (engine.h,
 * ruleset_check), shared by daemon start-up, reload and `suitd check`, so
 * that a restart can never serve a ruleset a reload would refuse.
 *
 * It reads the folder once and builds one CLIPS environment: the load's
 * environment, after the contract and data checks, becomes the probe
 * engine on which the cases run.  Before, a reload read every file twice
 * and built five environments (the load, the lint's own load and its
 * second environment, the probe engine, the case runner's engine).
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

/* Details copied into the refusal: enough to act on, not a flood. */
#define CHECK_MAX_DETAILS 50

void ruleset_check_opts_init(struct ruleset_check_opts *o, const char *dir,
                             const char *policy_file)
{
    memset(o, 0, sizeof *o);
    o->src.dir = dir;
    o->src.policy_file = policy_file;
    engine_limits_default(&o->limits);
}

void ruleset_report_init(struct ruleset_report *r)
{
    memset(r, 0, sizeof *r);
    engine_lint_init(&r->lint);
}

void ruleset_report_close(struct ruleset_report *r)
{
    engine_lint_close(&r->lint);
    for (size_t i = 0; i < r->n_failed_cases; i++)
        free(r->failed_cases[i]);
    free(r->failed_cases);
    ruleset_report_init(r);
}

/* The lint problems from index `from` on, as the refusal's details. */
static int refuse_lint(const struct engine_lint *lint, size_t from, struct proto_error *err)
{
    size_t n = lint->n_problems - from;
    for (size_t i = from; i < lint->n_problems; i++) {
        if (i - from == CHECK_MAX_DETAILS) {
            proto_error_add_detail(err, "... and %zu more (see suitd check)",
                                   n - CHECK_MAX_DETAILS);
            break;
        }
        char line[1200];
        engine_problem_format(&lint->problems[i], line, sizeof line);
        proto_error_add_detail(err, "%s", line);
    }
    return proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %zu lint problem%s (see "
                           "suitd check)", n, n == 1 ? "" : "s");
}

/* Runs the ruleset's own cases on the probe; failed names go to rep. */
static int run_cases(struct engine *probe, const struct ruleset_check_opts *o,
                     struct ruleset_report *rep, struct proto_error *err)
{
    struct proto_error cerr;
    proto_error_init(&cerr);
    struct engine_cases_opts co = {.limits = &o->limits};
    int failed = eng_run_cases(probe, &co, &rep->cases_passed, &cerr);
    if (failed < 0) {
        proto_error_set(err, cerr.code ? cerr.code : PROTO_E_INTERNAL,
                        "cannot run the ruleset's cases: %s", cerr.message);
        proto_error_close(&cerr);
        return err->code;
    }
    rep->cases_failed = failed;
    int rc = 0;
    if (failed && cerr.n_details &&
        !(rep->failed_cases = calloc(cerr.n_details, sizeof *rep->failed_cases)))
        rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    for (size_t i = 0; !rc && i < cerr.n_details; i++) {
        if (!(rep->failed_cases[i] = eng_strdup(cerr.details[i])))
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        else
            rep->n_failed_cases++;
    }
    if (!rc && failed && !(o->flags & RULESET_CHECK_FAILING_CASES_OK)) {
        for (size_t i = 0; i < rep->n_failed_cases; i++) {
            if (i == CHECK_MAX_DETAILS) {
                proto_error_add_detail(err, "... and %zu more (see suitd test)",
                                       rep->n_failed_cases - CHECK_MAX_DETAILS);
                break;
            }
            proto_error_add_detail(err, "%s", rep->failed_cases[i]);
        }
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %d test case%s failed "
                             "(see suitd test)", failed, failed == 1 ? "" : "s");
    }
    proto_error_close(&cerr);
    return rc;
}

int ruleset_check(const struct ruleset_check_opts *o, struct ruleset **out,
                  struct ruleset_report *rep, struct proto_error *err)
{
    *out = NULL;
    struct ruleset_report local;
    if (!rep) {
        ruleset_report_init(&local);
        rep = &local;
    }
    /* 1-3: read once, pre-check the text, load into one environment. */
    struct eng_env env = {0};
    struct eng_load l = {.src = &o->src, .precheck = &rep->lint, .keep = &env,
                         .previous = o->src.no_image ? NULL : o->previous};
    struct ruleset *rs = NULL;
    int rc = eng_ruleset_load(&l, &rs, err);
    rep->files_read = l.files_read;
    rep->environments = l.environments;
    rep->parses = l.parses;

    /* 4: the lint of the loaded ruleset. */
    if (!rc) {
        size_t from = rep->lint.n_problems;
        int n = eng_lint_loaded(rs, &rep->lint);
        if (n < 0)
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        else if (n > 0)
            rc = refuse_lint(&rep->lint, from, err);
    }

    /* 5: the probe, on which the cases run under the ruleset's own
     * defaults: built from the ruleset's binary image when it has one, as
     * every serving engine will be, so that the cases test what serves
     * (7.6 million instructions more than keeping the load's
     * environment, 4% of a check: BENCHMARKS.md 9.5).  If the image
     * cannot be loaded, the ruleset drops it (every engine will parse)
     * and the load's environment becomes the probe, as without one. */
    struct engine *probe = NULL;
    if (!rc && ruleset_has_image(rs) && !env.imaged) {
        struct proto_error ierr;
        proto_error_init(&ierr);
        if (eng_engine_create(rs, &o->limits, NULL, false, &probe, &ierr) == 0 &&
            eng_engine_from_image(probe)) {
            rep->environments++;
            eng_env_destroy(env.env, env.cap);
            env.env = NULL;
            env.cap = NULL;
        } else {
            engine_free(probe);
            probe = NULL;
            eng_image_close(rs->image_fd);
            rs->image_fd = -1;
        }
        proto_error_close(&ierr);
    }
    if (!rc && !probe)
        rc = eng_engine_create(rs, &o->limits, &env, false, &probe, err);
    else
        eng_env_destroy(env.env, env.cap);
    if (!rc && rs->has_tests)
        rc = run_cases(probe, o, rep, err);

    /* 6: and it must also reset under every policy the workers may use,
     * ending under `default`, the policy in force. */
    for (size_t i = 0; !rc && i < rs->n_named; i++)
        if (eng_engine_use_policy(probe, i) < 0 || eng_engine_reset(probe) < 0)
            rc = proto_error_set(err, PROTO_E_RULESET, "ruleset refused: an engine cannot be "
                                 "reset with the policy '%s'", rs->named[i].name);
    if (!rc && (eng_engine_serve_policy(probe) < 0 || eng_engine_reset(probe) < 0))
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset refused: an engine cannot be "
                             "reset with the policy in force");
    engine_free(probe);
    if (rc) {
        ruleset_unref(rs);
        if (!err->code)
            proto_error_set(err, rc, "ruleset refused");
    } else {
        *out = rs;
    }
    if (rep == &local)
        ruleset_report_close(&local);
    return rc;
}
