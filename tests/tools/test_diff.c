/*
 * test_diff.c: `suitd diff` ($SUITD_BIN) on small rulesets with known
 * changes, and on the bundled ruleset with the README's example
 * (isotretinoin-washout-days from 180 to 90).
 *
 * The basic test ruleset: nsaid-hold-days 3 (a caution for an NSAID taken
 * fewer days ago), isotretinoin-washout-days 180 (a deferral of 180 - d
 * days), active acne and cold sores defer without an end.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

/* Runs `suitd diff ARGS` and returns its stdout; *status is its exit
 * status. */
static char *diff_run(const char *args, int *status)
{
    const char *bin = getenv("SUITD_BIN");
    ck_assert_msg(bin && *bin, "SUITD_BIN is not set");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' diff %s 2>/dev/null", bin, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    for (size_t got; (got = fread(out + n, 1, cap - n - 1, p)) > 0;) {
        n += got;
        if (cap - n < 4096) {
            cap *= 2;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
    }
    out[n] = '\0';
    int st = pclose(p);
    ck_assert(WIFEXITED(st));
    *status = WEXITSTATUS(st);
    return out;
}

static json_t *diff_json(const char *args, int *status)
{
    char all[4096];
    snprintf(all, sizeof all, "--format json %s", args);
    char *out = diff_run(all, status);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "not JSON (%s): %.300s", jerr.text, out);
    free(out);
    return j;
}

/* A copy of the basic ruleset with one text replaced in data.clp. */
static char *edited_copy(const char *from, const char *to)
{
    char *dir = strdup("/tmp/suitd-diff-rs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    testutil_copy_tree(RS("basic"), dir);
    char path[512];
    snprintf(path, sizeof path, "%s/data.clp", dir);
    char *text = testutil_slurp(path);
    ck_assert_ptr_nonnull(text);
    char *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    size_t n = strlen(text) + strlen(to) + 1;
    char *edited = malloc(n);
    snprintf(edited, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    testutil_write_file(path, "w", edited);
    free(edited);
    free(text);
    return dir;
}

/* Every changed patient of a JSON diff as "kind|signature|patient", one
 * per line, sorted. */
static char *changed_lines(const json_t *j)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = calloc(1, cap);
    size_t i, k;
    json_t *g, *p;
    json_array_foreach(json_object_get(j, "changes"), i, g) {
        json_array_foreach(json_object_get(g, "patients"), k, p) {
            char *pj = json_dumps(json_object_get(p, "patient"), JSON_COMPACT | JSON_SORT_KEYS);
            n += (size_t)snprintf(buf + n, cap - n, "%s|%s|%s\n",
                                  json_string_value(json_object_get(g, "kind")),
                                  json_string_value(json_object_get(g, "signature")), pj);
            free(pj);
            ck_assert_uint_lt(n, cap);
        }
    }
    return buf;
}

#define BASE "\"age\":35,\"area\":\"face\",\"breastfeeding\":false,\"fitzpatrick\":2," \
             "\"indication\":\"acne-scars\""

/* A tightened hold (nsaid 3 -> 5 days) shows exactly the boundary
 * patients: an NSAID taken 3 and 4 days ago, suitable before, a caution
 * now. */
START_TEST(test_tightened_hold)
{
    char *dir = edited_copy("(name nsaid-hold-days) (value 3)", "(name nsaid-hold-days) (value 5)");
    char args[1024];
    snprintf(args, sizeof args, "%s %s", RS("basic"), dir);
    int st;
    json_t *j = diff_json(args, &st);
    ck_assert_int_eq(st, 1);
    char *lines = changed_lines(j);
    const char *want =
        "verdict|verdict suitable -> suitable-with-precautions; findings +nsaid-hold; rules "
        "+nsaid-hold|{" BASE ",\"medications\":[{\"days_since_last_dose\":3,\"name\":\"ibuprofen\"}]"
        ",\"pregnant\":false}\n"
        "verdict|verdict suitable -> suitable-with-precautions; findings +nsaid-hold; rules "
        "+nsaid-hold|{" BASE ",\"medications\":[{\"days_since_last_dose\":4,\"name\":\"ibuprofen\"}]"
        ",\"pregnant\":false}\n";
    ck_assert_str_eq(lines, want);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "changed")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "kinds"), "verdict")),
                     2);
    /* the population: the cases of both sides and the generated patients */
    const json_t *pop = json_object_get(j, "population");
    ck_assert_int_gt(json_integer_value(json_object_get(pop, "cases")), 0);
    ck_assert_int_gt(json_integer_value(json_object_get(pop, "generated")), 100);
    ck_assert_int_eq(json_integer_value(json_object_get(pop, "total")),
                     json_integer_value(json_object_get(pop, "cases")) +
                         json_integer_value(json_object_get(pop, "generated")));
    free(lines);
    json_decref(j);

    /* the text report: the summary first, then the group with its
     * shortest patient */
    char *out = diff_run(args, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "2 patients changed: 2 verdict\n"));
    ck_assert(strstr(out, "\n== verdict (2)\n  verdict suitable -> suitable-with-precautions; "
                          "findings +nsaid-hold; rules +nsaid-hold: 2 patients\n"));
    ck_assert(strstr(out, "      OLD suitable, NEW suitable-with-precautions\n"));
    ck_assert(strstr(out, "      findings added: nsaid-hold\n"));
    ck_assert(strstr(out, "      rules fired only in NEW: nsaid-hold\n"));
    free(out);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* The same ruleset on both sides: nothing, exit 0, and the population is
 * the same size every time (deterministic). */
START_TEST(test_unchanged)
{
    int st;
    char args[1024];
    snprintf(args, sizeof args, "%s %s", RS("basic"), RS("basic"));
    char *out = diff_run(args, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "\nno decision changes\n"));
    char *again = diff_run(args, &st);
    ck_assert_str_eq(out, again);
    free(again);
    free(out);
}
END_TEST

/* A policy-only change (one folder, two policies), given as a file or as a
 * name of a policy folder: the same diff. */
START_TEST(test_policy_only)
{
    char *pdir = strdup("/tmp/suitd-diff-pol-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(pdir));
    char file[600];
    snprintf(file, sizeof file, "%s/washout-90.ini", pdir);
    testutil_write_file(file, "w", "[policy]\nisotretinoin-washout-days = 90\n");
    int st;
    char args[2048];
    snprintf(args, sizeof args, "%s %s --policy-b %s", RS("basic"), RS("basic"), file);
    json_t *by_file = diff_json(args, &st);
    ck_assert_int_eq(st, 1);
    const json_t *kinds = json_object_get(by_file, "kinds");
    /* isotretinoin and accutane at the boundaries 90, 91 and 179 days,
     * and the Accutane case at 100 days: defer before, suitable now */
    ck_assert_int_eq(json_integer_value(json_object_get(kinds, "verdict")), 7);
    ck_assert_int_gt(json_integer_value(json_object_get(kinds, "defer_days")), 10);
    /* with active acne or a cold sore the verdict stays an open deferral,
     * only the washout finding's days change */
    ck_assert_int_ge(json_integer_value(json_object_get(kinds, "findings")), 2);
    char *lines = changed_lines(by_file);
    ck_assert(strstr(lines, "verdict|verdict defer -> suitable; findings -isotretinoin-washout; "
                            "rules -isotretinoin-washout|{" BASE ",\"medications\":[{"
                            "\"days_since_last_dose\":90,\"name\":\"isotretinoin\"}],"
                            "\"pregnant\":false}\n"));
    ck_assert(strstr(lines, "\"days_since_last_dose\":179,\"name\":\"accutane\""));
    ck_assert(!strstr(lines, "\"days_since_last_dose\":180,"));
    ck_assert(!strstr(lines, "\"days_since_last_dose\":181,"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
                         json_object_get(by_file, "new"), "policy"), "file")), file);

    /* the same policy as a name of a policy folder */
    char named[600];
    snprintf(named, sizeof named, "%s/clinic-a.ini", pdir);
    testutil_write_file(named, "w", "[policy]\nisotretinoin-washout-days = 90\n");
    unlink(file);
    snprintf(args, sizeof args, "%s %s --policy-dir %s --policy-b clinic-a", RS("basic"),
             RS("basic"), pdir);
    json_t *by_name = diff_json(args, &st);
    ck_assert_int_eq(st, 1);
    char *lines2 = changed_lines(by_name);
    ck_assert_str_eq(lines, lines2);
    free(lines2);

    /* an unknown name, and a name without a policy folder */
    snprintf(args, sizeof args, "%s %s --policy-dir %s --policy-b clinic-z", RS("basic"),
             RS("basic"), pdir);
    free(diff_run(args, &st));
    ck_assert_int_eq(st, 2);
    snprintf(args, sizeof args, "%s %s --policy-b clinic-a", RS("basic"), RS("basic"));
    free(diff_run(args, &st));
    ck_assert_int_eq(st, 2);
    free(lines);
    json_decref(by_file);
    json_decref(by_name);
    testutil_remove_tree(pdir);
    free(pdir);
}
END_TEST

/* --expect: the recorded diff passes; any other change fails, and so does
 * a recorded change that is gone. */
START_TEST(test_expect)
{
    char *dir = edited_copy("(name nsaid-hold-days) (value 3)", "(name nsaid-hold-days) (value 5)");
    char rec[600];
    snprintf(rec, sizeof rec, "%s.expect.json", dir);
    char args[2048];
    snprintf(args, sizeof args, "--format json %s %s > %s", RS("basic"), dir, rec);
    int st;
    free(diff_run(args, &st));
    ck_assert_int_eq(st, 1);
    snprintf(args, sizeof args, "%s %s --expect %s", RS("basic"), dir, rec);
    char *out = diff_run(args, &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "the diff is the recorded one (2 changed patients)"));
    free(out);

    /* one day more: day 5 changes too, unexpected */
    testutil_remove_tree(dir);
    free(dir);
    dir = edited_copy("(name nsaid-hold-days) (value 3)", "(name nsaid-hold-days) (value 6)");
    snprintf(args, sizeof args, "%s %s --expect %s", RS("basic"), dir, rec);
    out = diff_run(args, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "unexpected change: verdict suitable -> suitable-with-precautions; "
                          "findings +nsaid-hold; rules +nsaid-hold\t{"));
    ck_assert(strstr(out, "\"days_since_last_dose\":5,"));
    free(out);

    /* nothing changes any more: the recorded changes are not seen */
    snprintf(args, sizeof args, "%s %s --expect %s", RS("basic"), RS("basic"), rec);
    out = diff_run(args, &st);
    ck_assert_int_eq(st, 1);
    ck_assert(strstr(out, "0 unexpected changes, 2 expected changes not seen"));
    free(out);
    unlink(rec);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* --cases adds JSON lines; a bad line is refused with file:line. */
START_TEST(test_cases_file)
{
    char path[] = "/tmp/suitd-diff-cases-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    testutil_write_file(path, "w",
                        "{\"age\": 44, \"pregnant\": false, \"breastfeeding\": false, "
                        "\"fitzpatrick\": 3, \"area\": \"scalp\", \"indication\": \"fine-lines\", "
                        "\"medications\": [{\"name\": \"isotretinoin\", \"days_since_last_dose\": 150}]}\n"
                        "\n"
                        "{\"patient\": {\"age\": 50}}\n");
    char pol[] = "/tmp/suitd-diff-pol-XXXXXX.ini";
    fd = mkstemps(pol, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
    testutil_write_file(pol, "w", "[policy]\nisotretinoin-washout-days = 90\n");
    char args[2048];
    snprintf(args, sizeof args, "%s %s --policy-b %s --cases %s", RS("basic"), RS("basic"), pol,
             path);
    int st;
    json_t *j = diff_json(args, &st);
    ck_assert_int_eq(st, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "population"),
                                                        "file")), 2);
    char *lines = changed_lines(j);
    ck_assert(strstr(lines, "\"area\":\"scalp\""));
    free(lines);
    json_decref(j);

    testutil_write_file(path, "a", "{\"age\": 50,\n");
    char *out = diff_run(args, &st);
    ck_assert_int_eq(st, 2);
    free(out);
    unlink(path);
    unlink(pol);
}
END_TEST

/* The README's example on the bundled ruleset: isotretinoin-washout-days
 * from 180 to 90 defers fewer patients, at exactly the days between. */
START_TEST(test_bundled_washout_90)
{
    char pol[] = "/tmp/suitd-diff-washout-XXXXXX.ini";
    int fd = mkstemps(pol, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
    testutil_write_file(pol, "w", "[policy]\nisotretinoin-washout-days = 90\n");
    const char *rules = getenv("SUITD_RULES");
    ck_assert_ptr_nonnull(rules);
    char args[2048];
    snprintf(args, sizeof args, "%s %s --policy-b %s", rules, rules, pol);
    int st;
    json_t *j = diff_json(args, &st);
    ck_assert_int_eq(st, 1);
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(j, "population"),
                                                        "total")), 4000);
    size_t i, k;
    json_t *g, *p;
    size_t verdicts = 0;
    json_array_foreach(json_object_get(j, "changes"), i, g) {
        const char *kind = json_string_value(json_object_get(g, "kind"));
        /* only deferrals change: their length, or to suitable */
        ck_assert_msg(!strcmp(kind, "verdict") || !strcmp(kind, "defer_days") ||
                      !strcmp(kind, "findings"), "kind %s", kind);
        json_array_foreach(json_object_get(g, "patients"), k, p) {
            const json_t *old = json_object_get(p, "old"), *new = json_object_get(p, "new");
            ck_assert_str_eq(json_string_value(json_object_get(old, "verdict")), "defer");
            if (strcmp(kind, "verdict"))
                continue;
            verdicts++;
            /* defer -> suitable only between 90 and 179 days */
            const json_t *med = json_array_get(json_object_get(json_object_get(p, "patient"),
                                                               "medications"), 0);
            json_int_t d = json_integer_value(json_object_get(med, "days_since_last_dose"));
            ck_assert_msg(d >= 90 && d < 180, "changed at %lld days", (long long)d);
            ck_assert(!strcmp(json_string_value(json_object_get(new, "verdict")), "suitable") ||
                      !strcmp(json_string_value(json_object_get(new, "verdict")),
                              "suitable-with-precautions"));
        }
    }
    ck_assert_uint_gt(verdicts, 5);
    json_decref(j);
    unlink(pol);
}
END_TEST

START_TEST(test_usage)
{
    int st;
    free(diff_run("", &st));
    ck_assert_int_eq(st, 2);
    free(diff_run("a b c", &st));
    ck_assert_int_eq(st, 2);
    free(diff_run("--format yaml a b", &st));
    ck_assert_int_eq(st, 2);
    free(diff_run("/nonexistent/a /nonexistent/b", &st));
    ck_assert_int_eq(st, 2);
    char *out = diff_run("--help", &st);
    ck_assert_int_eq(st, 0);
    ck_assert(strstr(out, "usage: suitd diff OLD NEW"));
    free(out);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"tightened_hold", test_tightened_hold},
        {"unchanged", test_unchanged},
        {"policy_only", test_policy_only},
        {"expect", test_expect},
        {"cases_file", test_cases_file},
        {"bundled_washout_90", test_bundled_washout_90},
        {"usage", test_usage},
    };
    return testutil_run(testutil_suite("diff", cases, sizeof cases / sizeof cases[0], 120,
                                       NULL));
}
