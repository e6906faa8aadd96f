/*
 * test_policies.c: named policies (a policy folder, --policy-dir): how they
 * load and are refused, how a request chooses one, what a result says
 * about the policy that decided, and the environments an engine keeps per
 * policy.  The basic test ruleset: isotretinoin-washout-days 180,
 * nsaid-hold-days 3, home-roller-max-depth-mm 0.5.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

/* A policy folder with the given NAME.ini files (name, text pairs, NULL
 * terminated); the caller removes it. */
static char *policy_dir(const char *first, ...)
{
    char *dir = strdup("/tmp/suitd-policies-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name; name = va_arg(ap, const char *)) {
        const char *text = va_arg(ap, const char *);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        testutil_write_file(path, "w", text);
    }
    va_end(ap);
    return dir;
}

static int load(const char *pdir, const char *pfile, struct ruleset **rs,
                struct proto_error *err)
{
    struct ruleset_source src = {.dir = RS("basic"), .policy_file = pfile, .policy_dir = pdir};
    proto_error_init(err);
    return ruleset_load_source(&src, rs, err);
}

static struct ruleset *load_ok(const char *pdir)
{
    struct proto_error err;
    struct ruleset *rs = NULL;
    int rc = load(pdir, NULL, &rs, &err);
    for (size_t i = 0; rc && i < err.n_details; i++)
        fprintf(stderr, "  %s\n", err.details[i]);
    ck_assert_msg(rc == 0, "load: %s", err.message);
    proto_error_close(&err);
    return rs;
}

static struct engine *engine_ok(struct ruleset *rs, unsigned max_environments)
{
    struct engine_limits lim;
    engine_limits_default(&lim);
    lim.max_environments = max_environments;
    struct proto_error err;
    proto_error_init(&err);
    struct engine *e = NULL;
    ck_assert_int_eq(engine_create(rs, &lim, &e, &err), 0);
    proto_error_close(&err);
    return e;
}

/* A complete patient who stopped isotretinoin `days` ago, under `policy`
 * (NULL: none given). */
static void patient(struct suit_patient *p, int days, const char *policy)
{
    suit_patient_init(p);
    p->age = 30;
    p->pregnant = SUIT_NO;
    p->breastfeeding = SUIT_NO;
    p->fitzpatrick = 2;
    p->area = strdup("face");
    p->indication = strdup("fine-lines");
    p->medications.items = calloc(1, sizeof *p->medications.items);
    p->medications.items[0].name = strdup("isotretinoin");
    p->medications.items[0].days = days;
    p->medications.len = 1;
    p->policy = policy ? strdup(policy) : NULL;
}

static int assess(struct engine *e, int days, const char *policy, struct suit_result *r,
                  struct proto_error *err)
{
    struct suit_patient p;
    patient(&p, days, policy);
    suit_result_init(r);
    proto_error_init(err);
    int rc = engine_assess(e, &p, r, err);
    suit_patient_close(&p);
    return rc;
}

/* The verdict and defer days under policy, asserting success and that the
 * result names the policy. */
static int64_t defer_days(struct engine *e, int days, const char *policy)
{
    struct suit_result r;
    struct proto_error err;
    int rc = assess(e, days, policy, &r, &err);
    ck_assert_msg(rc == 0, "%s: %s", policy ? policy : "(none)", err.message);
    ck_assert_str_eq(r.policy.name, policy ? policy : "default");
    ck_assert_uint_eq(strlen(r.policy.sha256), 64);
    int64_t d = r.verdict == SUIT_VERDICT_DEFER ? r.defer_days
                                                 : (r.verdict == SUIT_VERDICT_SUITABLE ? -1 : -2);
    suit_result_close(&r);
    proto_error_close(&err);
    return d;
}

static size_t policy_index(const struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < ruleset_policy_count(rs); i++)
        if (!strcmp(ruleset_policy_name(rs, i), name))
            return i;
    ck_abort_msg("no policy %s", name);
    return 0;
}

/* Two clinics, one ruleset: the same patient, three verdicts. */
START_TEST(test_named_policies_choose_per_request)
{
    char *dir = policy_dir("clinic-a.ini", "; short washout\n[policy]\nisotretinoin-washout-days = 90\n",
                           "clinic-b.ini", "[policy]\nisotretinoin-washout-days = 365\n",
                           "README", "not a policy",
                           "clinic-c.ini.example", "[policy]\nno-such = 1\n",
                           ".clinic-d.ini", "[policy]\nno-such = 1\n", NULL);
    struct ruleset *rs = load_ok(dir);
    ck_assert_uint_eq(ruleset_policy_count(rs), 3);     /* README, example, hidden: ignored */
    ck_assert_str_eq(ruleset_policy_name(rs, 0), "clinic-a");
    ck_assert_str_eq(ruleset_policy_name(rs, 1), "clinic-b");
    ck_assert_str_eq(ruleset_policy_name(rs, 2), "default");
    struct engine *e = engine_ok(rs, 0);
    ck_assert_int_eq(defer_days(e, 100, NULL), 80);          /* the ruleset's 180 */
    ck_assert_int_eq(defer_days(e, 100, "default"), 80);
    ck_assert_int_eq(defer_days(e, 100, "clinic-a"), -1);    /* past 90: suitable */
    ck_assert_int_eq(defer_days(e, 100, "clinic-b"), 265);
    ck_assert_int_eq(defer_days(e, 89, "clinic-a"), 1);
    ck_assert_int_eq(defer_days(e, 100, NULL), 80);          /* default untouched */
    struct engine_counters c;
    engine_counters(e, &c);
    ck_assert_uint_eq(c.environments, 3);
    ck_assert_uint_eq(c.policy_resets, 0);

    /* The hash is of the values: a file that sets a default's own value
     * is the same policy as default, by its hash. */
    struct suit_result r;
    struct proto_error err;
    ck_assert_int_eq(assess(e, 100, "clinic-a", &r, &err), 0);
    ck_assert_str_eq(r.policy.sha256, ruleset_policy_sha256(rs, policy_index(rs, "clinic-a")));
    ck_assert_str_ne(r.policy.sha256, ruleset_policy_sha256(rs, policy_index(rs, "default")));
    suit_result_close(&r);
    engine_free(e);
    ruleset_unref(rs);
    testutil_remove_tree(dir);
    free(dir);

    dir = policy_dir("same.ini", "[policy]\nisotretinoin-washout-days = 180\nnsaid-hold-days = 3\n",
                     NULL);
    rs = load_ok(dir);
    ck_assert_str_eq(ruleset_policy_sha256(rs, policy_index(rs, "same")),
                     ruleset_policy_sha256(rs, policy_index(rs, "default")));
    ruleset_unref(rs);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* An unknown name is invalid params naming the field, with the known names
 * in the details. */
START_TEST(test_unknown_policy_lists_the_known)
{
    char *dir = policy_dir("clinic-a.ini", "[policy]\nnsaid-hold-days = 5\n", NULL);
    struct ruleset *rs = load_ok(dir);
    struct engine *e = engine_ok(rs, 0);
    struct suit_result r;
    struct proto_error err;
    ck_assert_int_eq(assess(e, 100, "clinic-z", &r, &err), PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(err.field, "options.policy");
    ck_assert_str_eq(err.message, "options.policy: unknown policy 'clinic-z'; known: clinic-a, "
                                  "default");
    ck_assert_uint_eq(err.n_details, 2);
    ck_assert_str_eq(err.details[0], "clinic-a");
    ck_assert_str_eq(err.details[1], "default");
    ck_assert_uint_eq(r.n_findings, 0);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Bad names and values refuse the whole load, each with file:line. */
START_TEST(test_bad_policies_refused)
{
    struct {
        const char *file, *text, *detail;
    } bad[] = {
        {"Clinic.ini", "[policy]\n", "/Clinic.ini:1: 'Clinic' is not a policy name"},
        {"clinic_a.ini", "[policy]\n", "/clinic_a.ini:1: 'clinic_a' is not a policy name"},
        {"-a.ini", "[policy]\n", "/-a.ini:1: '-a' is not a policy name"},
        {"clinic-a.ini", "[policy]\nnsaid-hold-days = 5\nwashout = 3\n",
         "/clinic-a.ini:3: unknown policy 'washout' (known: home-roller-max-depth-mm, "
         "isotretinoin-washout-days, nsaid-hold-days)"},
        {"clinic-a.ini", "[policy]\nnsaid-hold-days = 2.5\n",
         "/clinic-a.ini:2: nsaid-hold-days: must be a whole number (its default is 3)"},
        {"clinic-a.ini", "[policy]\nnsaid-hold-days = -1\n",
         "/clinic-a.ini:2: nsaid-hold-days: must be between 0 and 30"},
        {"clinic-a.ini", "[policy]\nnsaid-hold-days = lots\n",
         "/clinic-a.ini:2: nsaid-hold-days: 'lots' is not a number"},
        {"clinic-a.ini", "[clinic]\nnsaid-hold-days = 1\n",
         "/clinic-a.ini:2: unknown section [clinic] (expected [policy])"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *dir = policy_dir("good.ini", "[policy]\nnsaid-hold-days = 5\n", bad[i].file,
                               bad[i].text, NULL);
        struct ruleset *rs = NULL;
        struct proto_error err;
        ck_assert_int_eq(load(dir, NULL, &rs, &err), PROTO_E_RULESET);
        ck_assert_ptr_null(rs);
        char want[600];
        snprintf(want, sizeof want, "%s%s", dir, bad[i].detail);
        ck_assert_msg(testutil_has_detail(&err, want), "case %zu: no detail '%s' in '%s'", i,
                      want, err.n_details ? err.details[0] : err.message);
        proto_error_close(&err);
        testutil_remove_tree(dir);
        free(dir);
    }

    /* A folder that is not there. */
    struct ruleset *rs = NULL;
    struct proto_error err;
    ck_assert_int_eq(load("/nonexistent/policies", NULL, &rs, &err), PROTO_E_RULESET);
    ck_assert(strstr(err.message, "cannot read the policy folder /nonexistent/policies"));
    proto_error_close(&err);
}
END_TEST

/* default.ini overrides the ruleset's values; with a --policy file too,
 * the default would be set twice: refused. */
START_TEST(test_default_ini_and_policy_file)
{
    char *dir = policy_dir("default.ini", "[policy]\nisotretinoin-washout-days = 120\n",
                           "clinic-a.ini", "[policy]\nnsaid-hold-days = 5\n", NULL);
    struct ruleset *rs = load_ok(dir);
    ck_assert_uint_eq(ruleset_policy_count(rs), 2);
    struct engine *e = engine_ok(rs, 0);
    ck_assert_int_eq(defer_days(e, 100, NULL), 20);
    ck_assert_int_eq(defer_days(e, 100, "default"), 20);
    /* a named policy is over the ruleset's defaults, not over default.ini */
    ck_assert_int_eq(defer_days(e, 100, "clinic-a"), 80);
    engine_free(e);
    ruleset_unref(rs);

    char file[600];
    snprintf(file, sizeof file, "%s/../suitd-policy-file-%d.ini", dir, (int)getpid());
    testutil_write_file(file, "w", "[policy]\nnsaid-hold-days = 4\n");
    struct proto_error err;
    rs = NULL;
    ck_assert_int_eq(load(dir, file, &rs, &err), PROTO_E_RULESET);
    char want[1400];
    snprintf(want, sizeof want, "%s/default.ini:1: the default policy is set twice, by this "
             "file and by the policy file %s: keep one", dir, file);
    ck_assert_msg(testutil_has_detail(&err, want), "%s", err.n_details ? err.details[0] : "");
    proto_error_close(&err);

    /* without default.ini, the --policy file is the default */
    char default_ini[600];
    snprintf(default_ini, sizeof default_ini, "%s/default.ini", dir);
    unlink(default_ini);
    ck_assert_int_eq(load(dir, file, &rs, &err), 0);
    e = engine_ok(rs, 0);
    ck_assert_int_eq(defer_days(e, 100, NULL), 80);
    engine_free(e);
    ruleset_unref(rs);
    proto_error_close(&err);
    unlink(file);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Packs the result of one assessment (its reply's result) for comparing. */
static void packed(struct engine *e, int days, const char *policy, msgpack_sbuffer *out)
{
    struct suit_result r;
    struct proto_error err;
    ck_assert_int_eq(assess(e, days, policy, &r, &err), 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    proto_pack_assess_result(&pk, &r);
    suit_result_close(&r);
    proto_error_close(&err);
}

/* Over the cap, the least recently used environment is reset to the
 * policy asked for; results never depend on what an environment served
 * before (each is reset under its own values, never patched). */
START_TEST(test_environment_cap_and_determinism)
{
    char *dir = policy_dir("p1.ini", "[policy]\nisotretinoin-washout-days = 90\n",
                           "p2.ini", "[policy]\nisotretinoin-washout-days = 120\n",
                           "p3.ini", "[policy]\nisotretinoin-washout-days = 150\n",
                           "p4.ini", "[policy]\nisotretinoin-washout-days = 200\n", NULL);
    struct ruleset *rs = load_ok(dir);
    static const char *const names[] = {"default", "p1", "p2", "p3", "p4"};
    static const int64_t want[] = {110, 20, 50, 80, 130};      /* 70 days ago */
    /* one fresh engine per policy: the reference bytes */
    msgpack_sbuffer ref[5];
    for (size_t i = 0; i < 5; i++) {
        struct engine *fresh = engine_ok(rs, 0);
        msgpack_sbuffer_init(&ref[i]);
        packed(fresh, 70, names[i], &ref[i]);
        ck_assert_int_eq(defer_days(fresh, 70, names[i]), want[i]);
        engine_free(fresh);
    }
    struct engine *e = engine_ok(rs, 2);
    for (int round = 0; round < 40; round++) {
        size_t i = (size_t)(round * 7 + round / 5) % 5;
        msgpack_sbuffer got;
        msgpack_sbuffer_init(&got);
        packed(e, 70, names[i], &got);
        ck_assert_msg(got.size == ref[i].size && !memcmp(got.data, ref[i].data, got.size),
                      "round %d, policy %s: the result differs from a fresh engine's", round,
                      names[i]);
        msgpack_sbuffer_destroy(&got);
    }
    struct engine_counters c;
    engine_counters(e, &c);
    ck_assert_uint_eq(c.environments, 2);
    ck_assert_uint_gt(c.policy_resets, 10);
    engine_free(e);
    for (size_t i = 0; i < 5; i++)
        msgpack_sbuffer_destroy(&ref[i]);
    ruleset_unref(rs);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* The ruleset's description lists every policy with all its values and
 * those its file sets. */
START_TEST(test_describe_lists_policies)
{
    char *dir = policy_dir("clinic-a.ini", "[policy]\nhome-roller-max-depth-mm = 0.25\n", NULL);
    struct ruleset *rs = load_ok(dir);
    struct proto_ruleset_info info;
    ck_assert_int_eq(ruleset_describe(rs, &info), 0);
    ck_assert_uint_eq(info.n_policies, 2);
    const struct proto_named_policy *a = &info.policies[0];
    ck_assert_str_eq(a->name, "clinic-a");
    ck_assert_uint_eq(strlen(a->sha256), 64);
    size_t n_set = 0;
    for (size_t i = 0; i < info.n_policy; i++) {
        n_set += a->set[i];
        if (!strcmp(info.policy[i].name, "home-roller-max-depth-mm")) {
            ck_assert(a->set[i] && !a->values[i].is_int && a->values[i].d == 0.25);
            /* the policy in force (default) keeps the ruleset's value */
            ck_assert(info.policy[i].value.d == 0.5);
        } else if (!strcmp(info.policy[i].name, "nsaid-hold-days")) {
            ck_assert(a->values[i].is_int && a->values[i].i == 3);
        }
    }
    ck_assert_uint_eq(n_set, 1);
    ck_assert_str_eq(info.policies[1].name, "default");
    proto_ruleset_info_close(&info);
    ruleset_unref(rs);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* ruleset_check reads each policy file once with the rules and refuses a
 * bad one like a bad rule; the cases still run under the defaults. */
START_TEST(test_check_reads_policies_with_the_rules)
{
    char *dir = policy_dir("clinic-a.ini", "[policy]\nisotretinoin-washout-days = 1\n",
                           "clinic-b.ini", "[policy]\nnsaid-hold-days = 0\n", NULL);
    struct ruleset_check_opts o;
    ruleset_check_opts_init(&o, RS("basic"), NULL);
    o.src.policy_dir = dir;
    struct ruleset_report rep;
    ruleset_report_init(&rep);
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_check(&o, &rs, &rep, &err), 0);
    ck_assert_uint_eq(rep.files_read, 8);     /* the 6 of test_engine's count, 2 policies */
    ck_assert_uint_eq(rep.parses, 1);
    ck_assert_uint_eq(rep.environments, 2);   /* the probe from the image */
    ck_assert_int_eq(rep.cases_failed, 0);
    ck_assert_uint_eq(ruleset_policy_count(rs), 3);
    ruleset_unref(rs);
    ruleset_report_close(&rep);
    proto_error_close(&err);

    char bad[600];
    snprintf(bad, sizeof bad, "%s/clinic-c.ini", dir);
    testutil_write_file(bad, "w", "[policy]\nnsaid-hold-days = 1.5\n");
    ruleset_report_init(&rep);
    proto_error_init(&err);
    ck_assert_int_eq(ruleset_check(&o, &rs, &rep, &err), PROTO_E_RULESET);
    ck_assert_ptr_null(rs);
    char want[700];
    snprintf(want, sizeof want, "%s:2: nsaid-hold-days: must be a whole number", bad);
    ck_assert(testutil_has_detail(&err, want));
    ruleset_report_close(&rep);
    proto_error_close(&err);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"choose_per_request", test_named_policies_choose_per_request},
        {"unknown_policy", test_unknown_policy_lists_the_known},
        {"bad_policies_refused", test_bad_policies_refused},
        {"default_ini_and_policy_file", test_default_ini_and_policy_file},
        {"environment_cap", test_environment_cap_and_determinism},
        {"describe", test_describe_lists_policies},
        {"check", test_check_reads_policies_with_the_rules},
    };
    return testutil_run(testutil_suite("policies", cases, sizeof cases / sizeof cases[0], 60,
                                       NULL));
}
