/*
 * test_lint_evidence.c: `suitd check` holds findings to the domain
 * reference's rule on weak evidence: a finding that cites clinic or vendor
 * pages (sources with `weak yes`) says "weak evidence" in its detail.
 * Ruleset: tests/engine/rulesets/weakevidence (three offenders, three fine).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

static char *lint_output(const char *dir, int *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    *n = engine_lint(dir, out);
    fclose(out);
    fprintf(stderr, "%s", buf);
    return buf;
}

START_TEST(test_weak_sources_must_say_so)
{
    int n;
    char *out = lint_output(RS("weakevidence"), &n);
    ck_assert_int_eq(n, 3);
    ck_assert(strstr(out, "weak.clp:8: rule clinic-only-silent: finding cites only weak "
                          "sources (\"clinic\"): its detail must say \"weak evidence\"\n"));
    ck_assert(strstr(out, "weak.clp:14: rule weak-only-no-detail: finding cites only weak "
                          "sources (\"clinic, vendor\"): its detail must say \"weak evidence\"\n"));
    ck_assert(strstr(out, "weak.clp:22: rule mixed-silent: finding cites weak sources among "
                          "others (\"SP, clinic\"): its detail must say so (e.g. \"partly weak "
                          "evidence\")\n"));
    ck_assert_ptr_null(strstr(out, "clinic-only-says-so"));
    ck_assert_ptr_null(strstr(out, "mixed-says-so"));
    ck_assert_ptr_null(strstr(out, "strong-or-input"));
    free(out);
}
END_TEST

/* The bundled ruleset keeps the rule (the rules_check test also runs
 * `suitd check rules`; this names the check that would fail). */
START_TEST(test_bundled_rules_say_so)
{
    const char *rules = getenv("SUITD_RULES");
    ck_assert_ptr_nonnull(rules);
    int n;
    char *out = lint_output(rules, &n);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_null(strstr(out, "weak"));
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine_lint_evidence");
    TCase *t = tcase_create("weak evidence");
    tcase_add_test(t, test_weak_sources_must_say_so);
    tcase_add_test(t, test_bundled_rules_say_so);
    suite_add_tcase(s, t);
    return testutil_run(s);
}
