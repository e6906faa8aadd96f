/*
 * test_tools.c: suitd check / test / assess, run in-process through their
 * main functions, with real files on stdin and stdout.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tools.h"
#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

/* Runs fn with stdin from `input` and returns what it printed on stdout. */
static char *run_tool(int (*fn)(int, char **), int argc, char **argv, const char *input,
                      int *status)
{
    char in_path[] = "/tmp/suitd-tools-in-XXXXXX", out_path[] = "/tmp/suitd-tools-out-XXXXXX";
    int in = mkstemp(in_path), out = mkstemp(out_path);
    ck_assert(in >= 0 && out >= 0);
    if (input)
        ck_assert_int_eq(write(in, input, strlen(input)), (ssize_t)strlen(input));
    close(in);
    ck_assert_ptr_nonnull(freopen(in_path, "r", stdin));
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(out, STDOUT_FILENO);
    *status = fn(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(out);
    char *buf = testutil_slurp(out_path);
    ck_assert_ptr_nonnull(buf);
    unlink(in_path);
    unlink(out_path);
    fprintf(stderr, "%s", buf);
    return buf;
}

/* A copy of the basic ruleset with one more, failing, case. */
static void failing_copy(char *dir)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    testutil_copy_tree(RS("basic"), dir);
    char path[512];
    snprintf(path, sizeof path, "%s/tests/wrong.json", dir);
    testutil_write_file(path, "w",
                        "[{\"name\": \"pregnancy is fine (wrong on purpose)\",\n"
                        "  \"patient\": {\"age\": 30, \"pregnant\": true, \"breastfeeding\": false,\n"
                        "   \"fitzpatrick\": 2, \"area\": \"face\", \"indication\": \"fine-lines\"},\n"
                        "  \"expect\": {\"verdict\": \"suitable\"}}]\n");
}

START_TEST(test_check_tool)
{
    int st;
    char *argv1[] = {RS("basic")};
    char *out = run_tool(tools_check_main, 1, argv1, NULL, &st);
    ck_assert_int_eq(st, 0);
    /* the same decision as the daemon's: the cases ran too */
    ck_assert(strstr(out, RS("basic") ": ok (7 cases passed)\n"));
    free(out);
    char *argv2[] = {RS("lintbad")};
    out = run_tool(tools_check_main, 1, argv2, NULL, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "lintbad.clp:5: forbidden function or construct 'system'"));
    free(out);
    char *argv3[] = {"--help"};
    out = run_tool(tools_check_main, 1, argv3, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "usage: suitd check"));
    free(out);
    char *argv4[] = {"--bogus"};
    out = run_tool(tools_check_main, 1, argv4, NULL, &st);
    ck_assert_int_eq(st, 2);
    free(out);

    /* a ruleset whose own case fails may not serve */
    char dir[] = "/tmp/suitd-tools-rs-XXXXXX";
    failing_copy(dir);
    char *argv5[] = {dir};
    out = run_tool(tools_check_main, 1, argv5, NULL, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "case failed: pregnancy is fine (wrong on purpose)\n"));
    ck_assert(strstr(out, ": 1 test case failed"));
    free(out);
    testutil_remove_tree(dir);
}
END_TEST

/* suitd check --policy FILE: the clinic's file checked on its own merits,
 * the cases still under the ruleset's defaults. */
START_TEST(test_check_policy)
{
    char good[] = "/tmp/suitd-tools-pol-XXXXXX", bad[] = "/tmp/suitd-tools-pol-XXXXXX";
    int fd = mkstemp(good);
    ck_assert_int_ge(fd, 0);
    close(fd);
    /* 5 days: the cases' NSAID deferral at 0 days passes either way, and
     * none of them is run under it */
    testutil_write_file(good, "w", "[policy]\nnsaid-hold-days = 5\nisotretinoin-washout-days = 90\n");
    fd = mkstemp(bad);
    ck_assert_int_ge(fd, 0);
    close(fd);
    testutil_write_file(bad, "w", "[policy]\nnsaid-hold-days = 31\nisotretinoin-washout-days = 90.5\n");
    int st;
    char *argv1[] = {"--policy", good, RS("basic")};
    char *out = run_tool(tools_check_main, 3, argv1, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, ": ok (7 cases passed)"));
    free(out);
    char *argv2[] = {"--policy", bad, RS("basic")};
    out = run_tool(tools_check_main, 3, argv2, NULL, &st);
    ck_assert_int_eq(st, 1);
    char want[200];
    snprintf(want, sizeof want, "%s:2: nsaid-hold-days: must be between 0 and 30\n", bad);
    ck_assert_msg(strstr(out, want), "want %s", want);
    snprintf(want, sizeof want, "%s:3: isotretinoin-washout-days: must be a whole number", bad);
    ck_assert_msg(strstr(out, want), "want %s", want);
    free(out);
    unlink(good);
    unlink(bad);
}
END_TEST

/* suitd check holds the terminology map (DIR/terminology.tsv, for
 * suit-httpd's CDS Hooks service) to the ruleset: well formed, every term
 * canonical in its vocabulary; the shipped map passes against the shipped
 * ruleset. */
START_TEST(test_check_termmap)
{
    char dir[] = "/tmp/suitd-tools-map-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    testutil_copy_tree(RS("basic"), dir);
    char path[600];
    snprintf(path, sizeof path, "%s/terminology.tsv", dir);
    testutil_write_file(path, "w",
                        "# a map\nsource\tT\ta test\n"
                        "code\tarea\thttp://snomed.info/sct\t73897004\tface\tT\tSkin of face\n"
                        "code\tfitzpatrick\thttp://x\tI\t1\tT\tType I\n");
    int st;
    char *argv[] = {dir};
    char *out = run_tool(tools_check_main, 1, argv, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, ": ok (7 cases passed)"));
    free(out);
    /* a term the vocabulary does not have */
    testutil_write_file(path, "a", "code\tarea\thttp://snomed.info/sct\t43081002\tnecks\tT\tSkin of neck\n");
    out = run_tool(tools_check_main, 1, argv, NULL, &st);
    ck_assert_int_eq(st, 1);
    char want[800];
    snprintf(want, sizeof want, "%s: area http://snomed.info/sct|43081002: 'necks' is not a "
             "canonical term of the areas vocabulary\n", path);
    ck_assert_msg(strstr(out, want), "want %s", want);
    ck_assert(strstr(out, "the terminology map has 1 problem\n"));
    free(out);
    /* a malformed line: file:line */
    testutil_write_file(path, "w", "source\tT\ta test\ncode\tarea\thttp://x\t1\tface\n");
    out = run_tool(tools_check_main, 1, argv, NULL, &st);
    ck_assert_int_eq(st, 1);
    snprintf(want, sizeof want, "%s:2: expected code<TAB>KIND", path);
    ck_assert_msg(strstr(out, want), "want %s", want);
    free(out);
    testutil_remove_tree(dir);
    /* the shipped ruleset and its map */
    char rules[600];
    snprintf(rules, sizeof rules, "%s/rules", getenv("SUITD_SOURCE_DIR"));
    char *argv2[] = {rules};
    out = run_tool(tools_check_main, 1, argv2, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(!strstr(out, "terminology"));
    free(out);
}
END_TEST

START_TEST(test_test_tool)
{
    int st;
    char *argv1[] = {"--coverage"};     /* default dir: the basic ruleset */
    char *out = run_tool(tools_test_main, 1, argv1, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "7 passed, 0 failed\n"));
    free(out);
    char *argv2[] = {RS("badload")};
    out = run_tool(tools_test_main, 1, argv2, NULL, &st);
    ck_assert_int_eq(st, 1);
    free(out);
}
END_TEST

START_TEST(test_assess_tool)
{
    int st;
    char *argv1[] = {"--explain", RS("basic")};
    char *out = run_tool(tools_assess_main, 2, argv1,
                         "{\"age\": 30, \"pregnant\": false, \"breastfeeding\": false,"
                         " \"fitzpatrick\": 2, \"area\": \"face\", \"indication\": \"acne-scars\","
                         " \"medications\": [{\"name\": \"accutane\", \"days_since_last_dose\": 179}]}",
                         &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "\"verdict\": \"defer\""));
    ck_assert(strstr(out, "\"defer_days\": 1"));
    ck_assert(strstr(out, "isotretinoin-washout"));
    ck_assert(strstr(out, "plan-acne-scars"));          /* the trace */
    free(out);
    char *argv2[] = {RS("basic")};
    out = run_tool(tools_assess_main, 1, argv2, "{\"area\": \"elbow\"}", &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "-32602"));
    ck_assert(strstr(out, "allowed: face, forehead, scalp"));
    free(out);
    out = run_tool(tools_assess_main, 1, argv2, "{\"age\": \"old\"}", &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "-32602"));
    free(out);
}
END_TEST

/* Issue 12: warnings print and serve; --strict fails on them.  The
 * bundled ruleset has none. */
START_TEST(test_check_strict)
{
    int st;
    char *argv1[] = {RS("lintwarn")};
    char *out = run_tool(tools_check_main, 1, argv1, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "warn.clp:16: warning: rule ages-the-patient modifies ?p, a fact its "
                          "own left-hand side matches"));
    ck_assert(strstr(out, "data.clp:27: warning: policy home-roller-max-depth-mm is defined but "
                          "no rule reads it"));
    ck_assert(strstr(out, RS("lintwarn") ": ok (0 cases passed)\n"));
    free(out);
    char *argv2[] = {"--strict", RS("lintwarn")};
    out = run_tool(tools_check_main, 2, argv2, NULL, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, RS("lintwarn") ": 2 warnings (--strict)\n"));
    ck_assert_ptr_null(strstr(out, ": ok"));
    free(out);
    char rules[4096];
    snprintf(rules, sizeof rules, "%s/rules", getenv("SUITD_SOURCE_DIR"));
    char *argv3[] = {"--strict", rules};
    out = run_tool(tools_check_main, 2, argv3, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_null(strstr(out, "warning"));
    free(out);
    /* a problem is printed with its line and what was expected */
    char *argv4[] = {RS("lintnames")};
    out = run_tool(tools_check_main, 1, argv4, NULL, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "names.clp:5: rule typo-policy: no policy is called "
                          "'isotretinoin-washout-dayz' (expected a policy name the ruleset "
                          "defines; did you mean isotretinoin-washout-days?)\n"));
    ck_assert(strstr(out, ": 7 problems\n"));
    free(out);
}
END_TEST

/* Issue 13 item 11: the functions issue 13 found passing, through the tool. */
START_TEST(test_check_forbidden_file_functions)
{
    static const char *const fns[] = {"save-instances", "bsave-instances", "load-instances",
                                      "restore-instances", "bload-instances", "fetch",
                                      "print-region", "get-region", NULL};
    for (const char *const *f = fns; *f; f++) {
        char dir[] = "/tmp/suitd-tools-fn-XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(dir));
        testutil_copy_tree(RS("basic"), dir);
        char path[512], text[300];
        snprintf(path, sizeof path, "%s/rules.clp", dir);
        snprintf(text, sizeof text, "(defrule file-io (patient (age ?a)) => (%s \"/etc/passwd\"))\n",
                 *f);
        testutil_write_file(path, "a", text);
        int st;
        char *argv[] = {dir};
        char *out = run_tool(tools_check_main, 1, argv, NULL, &st);
        ck_assert_int_eq(st, 1);
        char want[200];
        snprintf(want, sizeof want, "rules.clp:45: forbidden function or construct '%s'\n", *f);
        ck_assert_msg(strstr(out, want), "want %s", want);
        free(out);
        testutil_remove_tree(dir);
    }
}
END_TEST

/* Issue 12: suitd test --run, --format json, --coverage --threshold. */
START_TEST(test_test_options)
{
    int st;
    char *argv1[] = {"--run", "^pregnan", RS("basic")};
    char *out = run_tool(tools_test_main, 3, argv1, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "PASS pregnancy contraindicates\n"));
    ck_assert(strstr(out, "1 passed, 0 failed (6 not matching --run)\n"));
    free(out);

    char *argv2[] = {"--format", "json", "--coverage", RS("basic")};
    out = run_tool(tools_test_main, 4, argv2, NULL, &st);
    ck_assert_int_eq(st, 0);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "not JSON: %s", jerr.text);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "passed")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "failed")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "cases")), 7);
    json_t *c0 = json_array_get(json_object_get(j, "cases"), 0);
    ck_assert(json_is_true(json_object_get(c0, "pass")));
    ck_assert_str_eq(json_string_value(json_object_get(c0, "file")), "cases.json");
    json_t *cov = json_object_get(j, "coverage");
    ck_assert_int_eq(json_integer_value(json_object_get(cov, "percent")), 100);
    json_decref(j);
    free(out);

    /* a failing case in JSON: its diff lines */
    char dir[] = "/tmp/suitd-tools-rs-XXXXXX";
    failing_copy(dir);
    char *argv3[] = {"--format=json", "--run", "wrong on purpose", dir};
    out = run_tool(tools_test_main, 4, argv3, NULL, &st);
    ck_assert_int_eq(st, 1);
    j = json_loads(out, 0, &jerr);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "failed")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "skipped")), 7);
    c0 = json_array_get(json_object_get(j, "cases"), 0);
    ck_assert(json_is_false(json_object_get(c0, "pass")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c0, "diff"), 0)),
                     "verdict: expected suitable, got contraindicated");
    json_decref(j);
    free(out);
    testutil_remove_tree(dir);

    /* coverage under a threshold: one case fires 2 of basic's rules */
    char *argv4[] = {"--run", "^pregnan", "--coverage", "--threshold", "20", RS("basic")};
    out = run_tool(tools_test_main, 6, argv4, NULL, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "is below the threshold 20%\n"));
    free(out);
    char *argv5[] = {"--coverage", "--threshold", "100", RS("basic")};
    out = run_tool(tools_test_main, 4, argv5, NULL, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_null(strstr(out, "below the threshold"));
    free(out);
    /* usage errors */
    char *bad1[] = {"--threshold", "50", RS("basic")};
    out = run_tool(tools_test_main, 3, bad1, NULL, &st);
    ck_assert_int_eq(st, 2);
    free(out);
    char *bad2[] = {"--coverage", "--threshold", "101", RS("basic")};
    out = run_tool(tools_test_main, 4, bad2, NULL, &st);
    ck_assert_int_eq(st, 2);
    free(out);
    char *bad3[] = {"--format", "xml", RS("basic")};
    out = run_tool(tools_test_main, 3, bad3, NULL, &st);
    ck_assert_int_eq(st, 2);
    free(out);
    char *bad4[] = {"--run", "(", RS("basic")};
    out = run_tool(tools_test_main, 3, bad4, NULL, &st);
    ck_assert_int_eq(st, 2);
    free(out);
}
END_TEST

int main(void)
{
    /* The default rules folder (proto_default_rules_dir) comes from here. */
    setenv("SUITD_RULES", RS("basic"), 1);
    Suite *s = suite_create("engine_tools");
    TCase *t = tcase_create("tools");
    tcase_add_test(t, test_check_tool);
    tcase_add_test(t, test_check_policy);
    tcase_add_test(t, test_check_termmap);
    tcase_add_test(t, test_test_tool);
    tcase_add_test(t, test_assess_tool);
    tcase_add_test(t, test_check_strict);
    tcase_add_test(t, test_check_forbidden_file_functions);
    tcase_add_test(t, test_test_options);
    suite_add_tcase(s, t);
    return testutil_run(s);
}
