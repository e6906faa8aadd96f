/*
 * test_lint.c: what `suitd check` must catch (issue 12) and the forbidden
 * functions (issue 13 item 11), on small broken rulesets in
 * tests/engine/rulesets/lint*, through ruleset_check: the one decision
 * daemon start-up, reload and `suitd check` share.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clips/clips.h>

#include "engine.h"
#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

/* ruleset_check on dir: its return code, the report and the error. */
static int check_dir(const char *dir, struct ruleset_report *rep, struct proto_error *err)
{
    struct ruleset_check_opts o;
    ruleset_check_opts_init(&o, dir, NULL);
    ruleset_report_init(rep);
    proto_error_init(err);
    struct ruleset *rs = NULL;
    int rc = ruleset_check(&o, &rs, rep, err);
    for (size_t i = 0; i < rep->lint.n_problems; i++) {
        char line[1200];
        engine_problem_format(&rep->lint.problems[i], line, sizeof line);
        fprintf(stderr, "  problem: %s\n", line);
    }
    for (size_t i = 0; i < rep->lint.n_warnings; i++)
        fprintf(stderr, "  warning: %s:%ld: %s\n", rep->lint.warnings[i].file,
                rep->lint.warnings[i].line, rep->lint.warnings[i].message);
    if (rc)
        for (size_t i = 0; i < err->n_details; i++)
            fprintf(stderr, "  detail: %s\n", err->details[i]);
    ruleset_unref(rs);
    return rc;
}

static bool has(const struct engine_problem *v, size_t n, const char *file, long line,
                const char *message)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].file, file) && v[i].line == line && !strcmp(v[i].message, message))
            return true;
    return false;
}

#define HAS_PROBLEM(rep, file, line, msg)                                                    \
    ck_assert_msg(has((rep)->lint.problems, (rep)->lint.n_problems, file, line, msg),       \
                  "no problem %s:%ld: %s", file, (long)(line), msg)
#define HAS_WARNING(rep, file, line, msg)                                                    \
    ck_assert_msg(has((rep)->lint.warnings, (rep)->lint.n_warnings, file, line, msg),       \
                  "no warning %s:%ld: %s", file, (long)(line), msg)

/* ---- issue 13 item 11: the function tables ------------------------------ */

/* Every function a fresh CLIPS 6.30 environment has is either allowed or
 * forbidden: a function the tables forget (a new CLIPS, a package built
 * with other options) fails here instead of passing the lint. */
START_TEST(test_function_tables_complete)
{
    void *env = CreateEnvironment();
    ck_assert_ptr_nonnull(env);
    DATA_OBJECT r;
    ck_assert(EnvEval(env, "(get-function-list)", &r));
    ck_assert_int_eq(GetType(r), MULTIFIELD);
    void *mf = GetValue(r);
    size_t n = 0;
    for (long i = GetDOBegin(r); i <= GetDOEnd(r); i++) {
        const char *name = ValueToString(GetMFValue(mf, i));
        if (name[0] == '(')
            continue;          /* internal: "(expansion-call)" cannot be written */
        ck_assert_msg(engine_lint_function(name) != ENGINE_FN_UNKNOWN,
                      "CLIPS function '%s' is neither allowed nor forbidden", name);
        n++;
    }
    ck_assert_uint_ge(n, 390);
    /* and no forbidden name is made up (defglobal is a construct) */
    for (size_t i = 0; engine_lint_forbidden(i); i++) {
        const char *f = engine_lint_forbidden(i);
        if (!strcmp(f, "defglobal"))
            continue;
        char expr[200];
        snprintf(expr, sizeof expr, "(member$ %s (get-function-list))", f);
        DATA_OBJECT m;
        ck_assert(EnvEval(env, expr, &m));
        ck_assert_msg(GetType(m) == INTEGER, "'%s' is not a CLIPS function", f);
    }
    DestroyEnvironment(env);
    /* the ones issue 13 found passing, and the contract's own */
    static const char *const must[] = {"save-instances", "bsave-instances", "load-instances",
                                       "restore-instances", "bload-instances", "fetch",
                                       "print-region", "get-region", "system", "eval",
                                       "sort", "time", "string-to-field", NULL};
    for (const char *const *m = must; *m; m++)
        ck_assert_msg(engine_lint_function(*m) == ENGINE_FN_FORBIDDEN, "%s", *m);
    static const char *const ok[] = {"assert", "str-cat", "modify", "retract", "if", "bind",
                                     "integer", "printout", "<", "eq", NULL};
    for (const char *const *m = ok; *m; m++)
        ck_assert_msg(engine_lint_function(*m) == ENGINE_FN_ALLOWED, "%s", *m);
    ck_assert_int_eq(engine_lint_function("patient"), ENGINE_FN_UNKNOWN);
}
END_TEST

/* Each forbidden function, called in a rule, is refused by ruleset_check
 * (suitd check, start-up and reload) before CLIPS sees the text: the
 * (system ...) below would otherwise create its mark file. */
START_TEST(test_every_forbidden_function_refused)
{
    char dir[] = "/tmp/suitd-lint-fn-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    testutil_copy_tree(RS("basic"), dir);
    char path[600];
    snprintf(path, sizeof path, "%s/rules.clp", dir);
    char *clean = testutil_slurp(path);
    ck_assert_ptr_nonnull(clean);
    long first = 1;
    for (const char *p = clean; *p; p++)
        first += *p == '\n';
    size_t n = 0;
    for (size_t i = 0; engine_lint_forbidden(i); i++) {
        const char *f = engine_lint_forbidden(i);
        char *text = malloc(strlen(clean) + 400);
        ck_assert_ptr_nonnull(text);
        sprintf(text, "%s(defrule calls-it (patient (age ?a))\n =>\n  (%s \"/tmp/suitd-lint-"
                "never\" ?a))\n", clean, f);
        testutil_write_file(path, "w", text);
        free(text);
        struct ruleset_report rep;
        struct proto_error err;
        ck_assert_int_eq(check_dir(dir, &rep, &err), PROTO_E_RULESET);
        char want[300];
        snprintf(want, sizeof want, "forbidden function or construct '%s'", f);
        HAS_PROBLEM(&rep, "rules.clp", first + 2, want);
        char detail[400];
        snprintf(detail, sizeof detail, "rules.clp:%ld: %s", first + 2, want);
        ck_assert_msg(testutil_has_detail(&err, detail), "%s", detail);
        /* refused before CLIPS built any environment */
        ck_assert_uint_eq(rep.environments, 0);
        ruleset_report_close(&rep);
        proto_error_close(&err);
        n++;
    }
    ck_assert_uint_ge(n, 260);
    FILE *mark = fopen("/tmp/suitd-lint-never", "r");
    ck_assert_ptr_null(mark);
    free(clean);
    testutil_remove_tree(dir);
}
END_TEST

/* A slot may carry a function's name (class, type): a pattern's or fact's
 * slot names are not calls; their values still are. */
START_TEST(test_slot_names_are_not_calls)
{
    struct ruleset_report rep;
    struct proto_error err;
    /* basic matches (medication (class nsaid)) and asserts (term ... (class ...)) */
    ck_assert_int_eq(check_dir(RS("basic"), &rep, &err), 0);
    ck_assert_uint_eq(rep.lint.n_problems, 0);
    ruleset_report_close(&rep);
    proto_error_close(&err);

    char dir[] = "/tmp/suitd-lint-slot-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    testutil_copy_tree(RS("basic"), dir);
    char path[600];
    snprintf(path, sizeof path, "%s/rules.clp", dir);
    testutil_write_file(path, "a", "(defrule value-calls\n  (medication (class ?c&:(eval \"(+ 1 1)"
                        "\")))\n  =>\n  (assert (finding (id v) (category medication) (severity "
                        "info) (summary (system \"true\")) (source \"SP\"))))\n");
    ck_assert_int_eq(check_dir(dir, &rep, &err), PROTO_E_RULESET);
    ck_assert_uint_eq(rep.lint.n_problems, 2);
    ck_assert_str_eq(rep.lint.problems[0].message, "forbidden function or construct 'eval'");
    ck_assert_str_eq(rep.lint.problems[1].message, "forbidden function or construct 'system'");
    ruleset_report_close(&rep);
    proto_error_close(&err);

    /* a deffunction with a template's name would make slots calls */
    testutil_copy_tree(RS("basic"), dir);
    testutil_write_file(path, "a", "(deffunction allergy (?x) ?x)\n");
    ck_assert_int_eq(check_dir(dir, &rep, &err), PROTO_E_RULESET);
    ck_assert_uint_eq(rep.lint.n_problems, 1);
    ck_assert(strstr(rep.lint.problems[0].message, "deffunction allergy has the name of the "
                                                   "deftemplate at templates.clp:"));
    ruleset_report_close(&rep);
    proto_error_close(&err);
    testutil_remove_tree(dir);
}
END_TEST

/* ---- issue 12: names the data does not define --------------------------- */

START_TEST(test_undefined_names)
{
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(RS("lintnames"), &rep, &err), PROTO_E_RULESET);
    ck_assert_uint_eq(rep.lint.n_problems, 7);
    HAS_PROBLEM(&rep, "names.clp", 5, "rule typo-policy: no policy is called "
                "'isotretinoin-washout-dayz' (expected a policy name the ruleset defines; did "
                "you mean isotretinoin-washout-days?)");
    HAS_PROBLEM(&rep, "names.clp", 10, "rule typo-condition: condition 'cold-soer' is not in "
                "the vocabulary (expected a public condition term; did you mean cold-sore?)");
    HAS_PROBLEM(&rep, "names.clp", 15, "rule synonym-condition: condition 'acne' is a synonym "
                "of active-acne: facts carry the canonical name (expected active-acne)");
    HAS_PROBLEM(&rep, "names.clp", 20, "rule typo-class: no medication has the class 'nsiad' "
                "(expected a class of the vocabulary; did you mean nsaid?)");
    HAS_PROBLEM(&rep, "names.clp", 25, "rule typo-area-and-name-in-or: area 'fcae' is not in "
                "the vocabulary (expected a public area term; did you mean face?)");
    HAS_PROBLEM(&rep, "names.clp", 26, "rule typo-area-and-name-in-or: medication "
                "'isotretinion' is not in the vocabulary (expected a public medication term; "
                "did you mean isotretinoin?)");
    HAS_PROBLEM(&rep, "names.clp", 27, "rule typo-area-and-name-in-or: condition 'sunbrn' is "
                "not in the vocabulary (expected a public condition term; did you mean "
                "sunburn?)");
    /* the rule naming only what exists (unknown area, class none) passes */
    for (size_t i = 0; i < rep.lint.n_problems; i++)
        ck_assert_ptr_null(strstr(rep.lint.problems[i].message, "all-known"));
    ck_assert_uint_eq(rep.lint.n_warnings, 0);
    ruleset_report_close(&rep);
    proto_error_close(&err);
}
END_TEST

/* ---- issue 12: slot values, severity and category ------------------------ */

START_TEST(test_slot_values)
{
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(RS("lintvalues"), &rep, &err), PROTO_E_RULESET);
    /* refused before CLIPS, which would have said "CSTRNCHK1" at the end
     * of each rule, without the allowed values */
    ck_assert_uint_eq(rep.environments, 0);
    ck_assert_uint_eq(rep.lint.n_problems, 7);
    HAS_PROBLEM(&rep, "templates.clp", 32, "deftemplate finding: slot severity allows 'urgent', "
                "which the contract does not define (expected only info, caution, incomplete, "
                "defer, refer, contraindicated)");
    HAS_PROBLEM(&rep, "values.clp", 6, "rule pattern-outside-allowed: patient setting "
                "'home-rolller' is not an allowed value (expected one of clinic, home-roller; "
                "did you mean home-roller?)");
    HAS_PROBLEM(&rep, "values.clp", 7, "rule pattern-outside-allowed: flag level 'hihg' is not "
                "an allowed value (expected one of low, high; did you mean high?)");
    HAS_PROBLEM(&rep, "values.clp", 14, "rule finding-outside-contract: finding category "
                "'inptu' is not an allowed value (expected one of candidacy, medication, "
                "procedure, side-effect, home-use, input; did you mean input?)");
    HAS_PROBLEM(&rep, "values.clp", 14, "rule finding-outside-contract: finding severity "
                "'infoo' is not an allowed value (expected one of info, caution, incomplete, "
                "defer, refer, contraindicated; did you mean info?)");
    HAS_PROBLEM(&rep, "values.clp", 19, "rule side-effect-outside-contract: side-effect kind "
                "'seriuos' is not an allowed value (expected one of expected, serious; did you "
                "mean serious?)");
    HAS_PROBLEM(&rep, "values.clp", 19, "rule side-effect-outside-contract: side-effect "
                "likelihood 'comon' is not an allowed value (expected one of common, uncommon, "
                "rare; did you mean common?)");
    ruleset_report_close(&rep);
    proto_error_close(&err);
}
END_TEST

/* ---- issue 12: summaries ------------------------------------------------- */

START_TEST(test_summary_length)
{
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(RS("lintsummary"), &rep, &err), PROTO_E_RULESET);
    ck_assert_uint_eq(rep.lint.n_problems, 2);
    HAS_PROBLEM(&rep, "summary.clp", 6, "rule literal-too-long: finding summary is 145 "
                "characters (expected at most 140, the CDS Hooks card's limit: move the rest to "
                "the detail)");
    HAS_PROBLEM(&rep, "summary.clp", 12, "rule built-too-long: finding summary is at least 154 "
                "characters (expected at most 140, the CDS Hooks card's limit: move the rest to "
                "the detail)");
    /* exactly-140 (with a two-byte character) passes */
    ruleset_report_close(&rep);
    proto_error_close(&err);
}
END_TEST

/* ---- issue 12: warnings -------------------------------------------------- */

START_TEST(test_warnings_do_not_refuse)
{
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(RS("lintwarn"), &rep, &err), 0);
    ck_assert_uint_eq(rep.lint.n_problems, 0);
    ck_assert_uint_eq(rep.lint.n_warnings, 2);
    HAS_WARNING(&rep, "warn.clp", 16, "rule ages-the-patient modifies ?p, a fact its own "
                "left-hand side matches: the modified fact matches again and the rule can fire "
                "until the firing cap (expected a pattern that excludes the new value, or a "
                "separate fact to mark the work done)");
    HAS_WARNING(&rep, "data.clp", 27, "policy home-roller-max-depth-mm is defined but no rule "
                "reads it (expected a (policy (name home-roller-max-depth-mm) ...) pattern, or "
                "remove it)");
    ruleset_report_close(&rep);
    proto_error_close(&err);
}
END_TEST

/* The bundled ruleset: no problem and no warning (suitd check --strict). */
START_TEST(test_bundled_ruleset_clean)
{
    const char *rules = getenv("SUITD_RULES");
    ck_assert_ptr_nonnull(rules);
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(rules, &rep, &err), 0);
    ck_assert_uint_eq(rep.lint.n_problems, 0);
    ck_assert_uint_eq(rep.lint.n_warnings, 0);
    ruleset_report_close(&rep);
    proto_error_close(&err);
}
END_TEST

/* ---- issue 12 / issue 13 item 4: nesting --------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The two shapes that made CLIPS 6.30's loader spin for ever: a 45-deep
 * (progn ...) and a 41-branch (if ... else (if ...)) chain.  Both are
 * refused before CLIPS parses them, with file:line, in well under a second
 * (the tcase's timeout stops the test if the loader ever sees them). */
START_TEST(test_nesting_refused_quickly)
{
    char dir[] = "/tmp/suitd-lint-deep-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/rules.clp", dir);
    for (int shape = 0; shape < 2; shape++) {
        testutil_copy_tree(RS("basic"), dir);
        char *clean = testutil_slurp(path);
        long first = 1;
        for (const char *p = clean; *p; p++)
            first += *p == '\n';
        char text[16384];
        size_t n = (size_t)snprintf(text, sizeof text, "%s(defrule deep (patient (age ?a))\n =>\n",
                                    clean);
        free(clean);
        int opens = shape == 0 ? 45 : 41;
        for (int i = 0; i < opens; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, shape == 0 ? "(progn\n" :
                                  "(if (= ?a %d) then (bind ?x %d) else\n", i, i);
        n += (size_t)snprintf(text + n, sizeof text - n, "(bind ?x 0)");
        for (int i = 0; i <= opens; i++)
            text[n++] = ')';
        text[n++] = '\n';
        text[n] = '\0';
        testutil_write_file(path, "w", text);
        double t0 = now_s();
        struct ruleset_report rep;
        struct proto_error err;
        ck_assert_int_eq(check_dir(dir, &rep, &err), PROTO_E_RULESET);
        double took = now_s() - t0;
        ck_assert_msg(took < 2.0, "took %.3f s", took);
        /* the defrule is level 1: the 32nd open below it is level 33, on
         * line first + 2 + 31 (progn), or the 31st if's test (if chain) */
        char want[200];
        snprintf(want, sizeof want, "rules.clp:%ld: nested deeper than 32 levels",
                 shape == 0 ? first + 2 + 31 : first + 2 + 30);
        ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
        ck_assert_uint_eq(rep.environments, 0);
        ruleset_report_close(&rep);
        proto_error_close(&err);
    }
    testutil_remove_tree(dir);
}
END_TEST

/* Conditional elements hang the loader sooner (25 levels of (not (and
 * ...)), inside the paren limit): refused past 16, and 16 still loads. */
START_TEST(test_ce_nesting)
{
    char dir[] = "/tmp/suitd-lint-ce-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/rules.clp", dir);
    for (int levels = 16; levels <= 25; levels += 9) {
        testutil_copy_tree(RS("basic"), dir);
        char *clean = testutil_slurp(path);
        long first = 1;
        for (const char *p = clean; *p; p++)
            first += *p == '\n';
        char text[16384];
        size_t n = (size_t)snprintf(text, sizeof text, "%s(defrule deep-lhs\n", clean);
        free(clean);
        for (int i = 0; i < levels; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", i % 2 ? "(and" : "(not");
        n += (size_t)snprintf(text + n, sizeof text - n, "(condition (name cold-sore))");
        for (int i = 0; i < levels; i++)
            text[n++] = ')';
        n += (size_t)snprintf(text + n, sizeof text - n, "\n =>\n  (assert (finding (id deep) "
                              "(category candidacy) (severity info) (summary \"deep\") (source "
                              "\"SP\"))))\n");
        testutil_write_file(path, "w", text);
        double t0 = now_s();
        struct ruleset_report rep;
        struct proto_error err;
        int rc = check_dir(dir, &rep, &err);
        ck_assert_msg(now_s() - t0 < 5.0, "took %.3f s", now_s() - t0);
        if (levels == 16) {
            /* loads; its one case set still passes (the rule is unfired) */
            ck_assert_int_eq(rc, 0);
        } else {
            ck_assert_int_eq(rc, PROTO_E_RULESET);
            char want[200];
            snprintf(want, sizeof want, "rules.clp:%ld: conditional elements nested deeper than "
                     "16 levels", first + 17);
            ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
            ck_assert_uint_eq(rep.environments, 0);
        }
        ruleset_report_close(&rep);
        proto_error_close(&err);
    }
    /* an (or ...) in a (test ...) is a call, not a conditional element */
    testutil_copy_tree(RS("basic"), dir);
    char text[4096] = "(defrule deep-test (patient (age ?a))\n  (test ";
    for (int i = 0; i < 20; i++)
        strcat(text, "(or (= ?a 1) ");
    strcat(text, "(= ?a 2)");
    for (int i = 0; i < 20; i++)
        strcat(text, ")");
    strcat(text, ")\n =>\n  (assert (finding (id deep) (category candidacy) (severity info) "
                 "(summary \"deep\") (source \"SP\"))))\n");
    testutil_write_file(path, "a", text);
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(dir, &rep, &err), 0);
    ruleset_report_close(&rep);
    proto_error_close(&err);
    testutil_remove_tree(dir);
}
END_TEST

/* ---- issue 12: a rule that loops ----------------------------------------- */

static int assess_lintloop(const char *condition, uint32_t deadline_ms, struct proto_error *err)
{
    struct proto_error lerr;
    proto_error_init(&lerr);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(RS("lintloop"), NULL, &rs, &lerr), 0);
    proto_error_close(&lerr);
    struct engine_limits lim;
    engine_limits_default(&lim);
    lim.deadline_ms = deadline_ms;
    struct engine *e = NULL;
    ck_assert_int_eq(engine_create(rs, &lim, &e, err), 0);
    struct suit_patient p;
    suit_patient_init(&p);
    p.age = 30;
    p.pregnant = SUIT_NO;
    p.breastfeeding = SUIT_NO;
    p.fitzpatrick = 2;
    p.area = strdup("face");
    p.indication = strdup("fine-lines");
    p.conditions.items = calloc(1, sizeof *p.conditions.items);
    p.conditions.items[0].name = strdup(condition);
    p.conditions.items[0].days = -1;
    p.conditions.len = 1;
    struct suit_result r;
    suit_result_init(&r);
    int rc = engine_assess(e, &p, &r, err);
    suit_result_close(&r);
    suit_patient_close(&p);
    engine_free(e);
    ruleset_unref(rs);
    return rc;
}

START_TEST(test_loop_names_the_rule)
{
    struct proto_error err;
    proto_error_init(&err);
    /* the firing cap: the rule that fired most, in the message and the
     * error data's details, with its file:line */
    ck_assert_int_eq(assess_lintloop("cold-sore", 5000, &err), PROTO_E_RULESET);
    ck_assert_str_eq(err.message, "ruleset did not settle: firing cap of 10000 rule firings "
                     "reached; rule tick-again fired 1000 of the next 1000 firings");
    ck_assert(testutil_has_detail(&err, "rule tick-again (loop.clp:9) fired 1000 of the next "
                                        "1000 firings"));
    proto_error_close(&err);
    /* the deadline: the rule that was running */
    ck_assert_int_eq(assess_lintloop("sunburn", 200, &err), PROTO_E_RULESET);
    ck_assert(strstr(err.message, "; rule spin-in-place was running when the deadline passed"));
    ck_assert(testutil_has_detail(&err, "rule spin-in-place (loop.clp:15) was running when the "
                                        "deadline passed"));
    proto_error_close(&err);

    /* and suitd test's output names it (the runner watches the whole run) */
    struct proto_error lerr;
    proto_error_init(&lerr);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(RS("lintloop"), NULL, &rs, &lerr), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct engine_limits lim;
    engine_limits_default(&lim);
    /* long enough for 10000 watched firings on a loaded machine under the
     * sanitizers: the cold sore must reach the cap, not the deadline */
    lim.deadline_ms = 3000;
    struct engine_cases_opts o = {.out = out, .limits = &lim};
    ck_assert_int_eq(engine_run_cases(rs, &o, NULL, &lerr), 2);
    fclose(out);
    fprintf(stderr, "%s", buf);
    ck_assert(strstr(buf, "FAIL a cold sore never settles\n    error: expected a result, got "
                          "-32004 (ruleset did not settle: firing cap of 10000 rule firings "
                          "reached; rule tick-again fired 9999 of the 10000 firings)\n"));
    ck_assert(strstr(buf, "rule spin-in-place was running when the deadline passed)\n"));
    free(buf);
    proto_error_close(&lerr);
    ruleset_unref(rs);
}
END_TEST

static Suite *lint_suite(void)
{
    Suite *s = suite_create("lint");
    TCase *t = tcase_create("functions");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_function_tables_complete);
    tcase_add_test(t, test_every_forbidden_function_refused);
    tcase_add_test(t, test_slot_names_are_not_calls);
    suite_add_tcase(s, t);

    t = tcase_create("checks");
    tcase_add_test(t, test_undefined_names);
    tcase_add_test(t, test_slot_values);
    tcase_add_test(t, test_summary_length);
    tcase_add_test(t, test_warnings_do_not_refuse);
    tcase_add_test(t, test_bundled_ruleset_clean);
    suite_add_tcase(s, t);

    /* these hung for ever before the pre-parse check */
    t = tcase_create("nesting");
    tcase_set_timeout(t, 20);
    tcase_add_test(t, test_nesting_refused_quickly);
    tcase_add_test(t, test_ce_nesting);
    suite_add_tcase(s, t);

    t = tcase_create("loops");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_loop_names_the_rule);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(lint_suite());
}
