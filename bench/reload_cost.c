/*
 * reload_cost.c: what a reload costs, part by part (BENCHMARKS.md 9.5).
 *
 *   suit-reload-cost [--rules DIR] [--policy-dir DIR] [-n REPS] [--engines N]
 *                    [--only check|previous]
 *
 * Each repetition does what the daemon's reload does, one part at a time,
 * through engine.h only: ruleset_check (read, pre-check, load, lint, the
 * ruleset's cases, a reset under every policy), then N engine_create for
 * the serving threads, then engine_free of them; then ruleset_check again
 * with .previous set to the ruleset just checked (a reload of unchanged
 * rule files, as bench/run.sh does).  Besides it times the
 * parts separately: ruleset_load_source (read and parse, no pre-check),
 * engine_lint on that ruleset, engine_run_cases_on a kept engine, and one
 * engine_create + engine_free.  Prints the median and the minimum of each
 * in microseconds.  Under callgrind the same run gives the instructions
 * per part (inclusive count of the function / REPS); --only check runs
 * nothing but ruleset_check (previous: and each with .previous set to the
 * last), so that callgrind's tree splits one kind of check into its parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

enum { P_CHECK, P_CHECK_PREV, P_CREATE_N, P_LOAD, P_LINT, P_CASES, P_CREATE, P_FREE, P_COUNT };
static const char *const part_names[P_COUNT] = {
    "reload: ruleset_check (read, pre-check, load, lint, cases, resets)",
    "reload, same rule files: ruleset_check with .previous",
    "reload: engine_create x N (one per serving thread)",
    "ruleset_load_source (read + parse, no pre-check)",
    "engine_lint (text + loaded)",
    "engine_run_cases_on (the ruleset's cases, engine kept)",
    "engine_create (one, on a loaded ruleset)",
    "engine_free (one)",
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fail(const char *what, const struct proto_error *err)
{
    fprintf(stderr, "suit-reload-cost: %s: %s\n", what, err->message);
    for (size_t i = 0; i < err->n_details; i++)
        fprintf(stderr, "  %s\n", err->details[i]);
    exit(1);
}

int main(int argc, char **argv)
{
    const char *dir = "rules", *policy_dir = NULL;
    int reps = 20, engines = 2;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--policy-dir") && i + 1 < argc)
            policy_dir = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--engines") && i + 1 < argc)
            engines = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "check") || !strcmp(argv[i + 1], "previous")))
            only = argv[++i];
        else {
            fprintf(stderr, "usage: suit-reload-cost [--rules DIR] [--policy-dir DIR] [-n REPS] "
                            "[--engines N] [--only check|previous]\n");
            return 2;
        }
    }
    if (reps < 1 || engines < 1 || engines > 64) {
        fprintf(stderr, "suit-reload-cost: -n and --engines must be positive (engines <= 64)\n");
        return 2;
    }
    double *t[P_COUNT];
    for (int p = 0; p < P_COUNT; p++)
        if (!(t[p] = calloc((size_t)reps, sizeof *t[p])))
            return 1;
    struct engine_limits lim;
    engine_limits_default(&lim);
    if (only) {
        struct ruleset *last = NULL;
        for (int r = 0; r <= reps; r++) {
            struct proto_error err;
            proto_error_init(&err);
            struct ruleset_check_opts co;
            ruleset_check_opts_init(&co, dir, NULL);
            co.src.policy_dir = policy_dir;
            co.previous = !strcmp(only, "previous") ? last : NULL;
            struct ruleset *rs = NULL;
            if (ruleset_check(&co, &rs, NULL, &err))
                fail("ruleset_check", &err);
            if (last)
                ruleset_unref(last);
            last = rs;
            proto_error_close(&err);
        }
        ruleset_unref(last);
        printf("%s: %d checks (--only %s) after the first\n", dir, reps, only);
        return 0;
    }
    for (int r = 0; r < reps; r++) {
        struct proto_error err;
        proto_error_init(&err);
        struct ruleset_check_opts co;
        ruleset_check_opts_init(&co, dir, NULL);
        co.src.policy_dir = policy_dir;
        struct ruleset *rs = NULL;
        double t0 = now_us();
        if (ruleset_check(&co, &rs, NULL, &err))
            fail("ruleset_check", &err);
        double t1 = now_us();
        struct engine *e[64];
        for (int k = 0; k < engines; k++)
            if (engine_create(rs, &lim, &e[k], &err))
                fail("engine_create", &err);
        double t2 = now_us();
        for (int k = 0; k < engines; k++)
            engine_free(e[k]);
        t[P_CHECK][r] = t1 - t0;
        t[P_CREATE_N][r] = t2 - t1;
        co.previous = rs;
        struct ruleset *rs2 = NULL;
        t0 = now_us();
        if (ruleset_check(&co, &rs2, NULL, &err))
            fail("ruleset_check with previous", &err);
        t1 = now_us();
        t[P_CHECK_PREV][r] = t1 - t0;
        ruleset_unref(rs2);

        struct ruleset_source src = {.dir = dir, .policy_dir = policy_dir};
        struct ruleset *plain = NULL;
        t0 = now_us();
        if (ruleset_load_source(&src, &plain, &err))
            fail("ruleset_load_source", &err);
        t1 = now_us();
        struct engine_lint lint;
        engine_lint_init(&lint);
        if (engine_lint(plain, &lint) < 0)
            fail("engine_lint", &err);
        t2 = now_us();
        engine_lint_close(&lint);
        t[P_LOAD][r] = t1 - t0;
        t[P_LINT][r] = t2 - t1;

        struct engine *one;
        t0 = now_us();
        if (engine_create(rs, &lim, &one, &err))
            fail("engine_create", &err);
        t1 = now_us();
        struct engine_cases_opts o = {0};
        int passed = 0;
        if (engine_run_cases_on(one, &o, &passed, &err) != 0)
            fail("engine_run_cases_on", &err);
        t2 = now_us();
        engine_free(one);
        double t3 = now_us();
        t[P_CREATE][r] = t1 - t0;
        t[P_CASES][r] = t2 - t1;
        t[P_FREE][r] = t3 - t2;
        ruleset_unref(plain);
        ruleset_unref(rs);
        proto_error_close(&err);
    }
    printf("%s: %d repetitions, %d engines per reload (us: median, min)\n", dir, reps, engines);
    for (int p = 0; p < P_COUNT; p++) {
        qsort(t[p], (size_t)reps, sizeof *t[p], dbl_cmp);
        printf("  %-68s %9.0f %9.0f\n", part_names[p], t[p][reps / 2], t[p][0]);
        free(t[p]);
    }
    return 0;
}
