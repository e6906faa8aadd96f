/*
 * test_daemon_policies.c: named policies through a real suitd
 * (--policy-dir): two clinics on one daemon, an unknown policy, the
 * `ruleset` method's list, the decision log, a reload that changes one
 * policy while requests for another run, and bad policies refused at start
 * and on reload.
 *
 * The daemon tests' ruleset: isotretinoin-washout-days 180, so a patient
 * who stopped 100 days ago is deferred 80 days by default; clinic-a (90
 * days) finds her suitable, clinic-b (365 days) defers 265.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static struct daemon d;

static void teardown(void)
{
    daemon_cleanup(&d);
}

/* The policy folder DIR/policies with clinic-a and clinic-b. */
static void policy_dir(char *dir, size_t n)
{
    daemon_prepare(&d);
    snprintf(dir, n, "%s/policies", d.dir);
    char path[700];
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(path), 0);
    snprintf(path, sizeof path, "%s/clinic-a.ini", dir);
    write_file(path, "[policy]\nisotretinoin-washout-days = 90\n");
    snprintf(path, sizeof path, "%s/clinic-b.ini", dir);
    write_file(path, "[policy]\nisotretinoin-washout-days = 365\n");
    snprintf(path, sizeof path, "%s/clinic.ini.example", dir);
    write_file(path, "; not read: it does not end in .ini\n[policy]\nno-such = 1\n");
}

/* [patient, {policy: arg}]: isotretinoin stopped 100 days ago. */
static void pack_with_policy(msgpack_packer *pk, void *arg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer tmp;
    msgpack_packer_init(&tmp, &sb, msgpack_sbuffer_write);
    pack_isotretinoin(&tmp, NULL);
    /* pack_isotretinoin packs [patient]: copy the patient, add options */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    msgpack_pack_array(pk, 2);
    msgpack_pack_object(pk, up.data.via.array.ptr[0]);
    msgpack_pack_map(pk, 1);
    proto_pack_str(pk, "policy");
    proto_pack_str(pk, arg);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

/* The verdict and defer days (-1: nil) for the patient under policy, and
 * the policy the result names; asserts success. */
static int64_t verdict_days(struct rpc_client *c, const char *policy, char *verdict, size_t vn,
                            char *sha, size_t sn)
{
    msgpack_object res;
    if (policy)
        call_ok(c, "assess", pack_with_policy, (void *)policy, &res);
    else
        call_ok(c, "assess", pack_isotretinoin, NULL, &res);
    const msgpack_object *v = obj_get(&res, "verdict");
    snprintf(verdict, vn, "%.*s", (int)v->via.str.size, v->via.str.ptr);
    const msgpack_object *pol = obj_get(&res, "policy");
    ck_assert(obj_is_str(obj_get(pol, "name"), policy ? policy : "default"));
    const msgpack_object *h = obj_get(pol, "sha256");
    ck_assert_int_eq(h->type, MSGPACK_OBJECT_STR);
    ck_assert_uint_eq(h->via.str.size, 64);
    if (sha)
        snprintf(sha, sn, "%.*s", (int)h->via.str.size, h->via.str.ptr);
    const msgpack_object *dd = obj_get(&res, "defer_days");
    return dd->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)dd->via.u64 : -1;
}

START_TEST(two_clinics_one_daemon)
{
    char dir[400], dlog[400];
    policy_dir(dir, sizeof dir);
    snprintf(dlog, sizeof dlog, "%s/decisions.jsonl", d.dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--policy-dir", dir, "--decision-log",
                                  dlog, "--workers", "2", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    char v[64], sha_a[80], sha_b[80], sha_d[80];
    ck_assert_int_eq(verdict_days(c, NULL, v, sizeof v, sha_d, sizeof sha_d), 80);
    ck_assert_str_eq(v, "defer");
    ck_assert_int_eq(verdict_days(c, "clinic-a", v, sizeof v, sha_a, sizeof sha_a), -1);
    ck_assert_str_eq(v, "suitable");
    ck_assert_int_eq(verdict_days(c, "clinic-b", v, sizeof v, sha_b, sizeof sha_b), 265);
    ck_assert_str_eq(v, "defer");
    ck_assert_int_eq(verdict_days(c, "default", v, sizeof v, NULL, 0), 80);
    ck_assert_str_ne(sha_a, sha_b);
    ck_assert_str_ne(sha_a, sha_d);
    /* many alternating requests over TCP too: each gets its own policy */
    struct rpc_client *t = client_open(d.tcp_addr);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(verdict_days(t, i % 2 ? "clinic-b" : "clinic-a", v, sizeof v, NULL, 0),
                         i % 2 ? 265 : -1);
    }
    rpc_client_free(t);

    /* the ruleset method lists the policies and their values */
    msgpack_object res;
    call_ok(c, "ruleset", pack_no_params, NULL, &res);
    const msgpack_object *pols = obj_get(&res, "policies");
    ck_assert_uint_eq(pols->via.map.size, 3);     /* the example file is not read */
    ck_assert_int_eq(obj_int_at(pols, "clinic-a.values.isotretinoin-washout-days"), 90);
    ck_assert_int_eq(obj_int_at(pols, "clinic-a.set.isotretinoin-washout-days"), 90);
    ck_assert_int_eq(obj_int_at(pols, "clinic-a.values.nsaid-hold-days"), 3);
    ck_assert_int_eq(obj_int_at(pols, "clinic-b.values.isotretinoin-washout-days"), 365);
    ck_assert_int_eq(obj_int_at(pols, "default.values.isotretinoin-washout-days"), 180);
    ck_assert_uint_eq(obj_get(obj_get(pols, "default"), "set")->via.map.size, 0);
    ck_assert(obj_is_str(obj_get(obj_get(pols, "clinic-a"), "sha256"), sha_a));
    rpc_client_free(c);
    /* three policies fit the default 16 environments per worker */
    ck_assert_int_eq(stats_int(&d, "policy_resets"), 0);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);

    /* the decision log names the policy of every decision */
    char *log = testutil_slurp(dlog);
    ck_assert_ptr_nonnull(log);
    char want[200];
    snprintf(want, sizeof want, "\"policy\":\"clinic-a\",\"policy_sha256\":\"%s\"", sha_a);
    ck_assert(strstr(log, want));
    ck_assert(strstr(log, "\"policy\":\"clinic-b\""));
    ck_assert(strstr(log, "\"policy\":\"default\""));
    free(log);
}
END_TEST

START_TEST(unknown_policy_is_invalid_params)
{
    char dir[400];
    policy_dir(dir, sizeof dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--policy-dir", dir, NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    ck_assert_int_eq(rpc_client_call(c, "assess", pack_with_policy, "clinic-z", &res, &err),
                     PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(err.message, "options.policy: unknown policy 'clinic-z'; known: clinic-a, "
                                  "clinic-b, default");
    ck_assert_str_eq(err.field, "options.policy");
    ck_assert_uint_eq(err.n_details, 3);
    ck_assert_str_eq(err.details[0], "clinic-a");
    ck_assert_str_eq(err.details[2], "default");
    proto_error_close(&err);
    /* not a policy name at all: refused before the engine */
    ck_assert_int_eq(rpc_client_call(c, "assess", pack_with_policy, "../clinic-a", &res, &err),
                     PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(err.field, "options.policy");
    proto_error_close(&err);
    /* the connection and the daemon carry on */
    char v[64];
    ck_assert_int_eq(verdict_days(c, "clinic-b", v, sizeof v, NULL, 0), 265);
    rpc_client_free(c);
    ck_assert_int_eq(stats_int(&d, "errors.invalid_params"), 2);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

/* ---- a reload under load --------------------------------------------- */

struct load {
    const char *addr;
    atomic_bool stop;
    atomic_long ok, wrong;
};

/* clinic-b requests, which no reload here changes: always defer 265. */
static void *load_main(void *p)
{
    struct load *l = p;
    struct rpc_client *c = NULL;
    struct proto_error err;
    proto_error_init(&err);
    if (rpc_client_connect(l->addr, 20000, &c, &err) < 0) {
        atomic_fetch_add(&l->wrong, 1);
        proto_error_close(&err);
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        msgpack_object res;
        int rc = rpc_client_call(c, "assess", pack_with_policy, "clinic-b", &res, &err);
        if (rc == 0 && obj_is_str(obj_get(&res, "verdict"), "defer") &&
            obj_int_at(&res, "defer_days") == 265 &&
            obj_is_str(obj_get(obj_get(&res, "policy"), "name"), "clinic-b"))
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->wrong, 1);
        proto_error_close(&err);
    }
    rpc_client_free(c);
    return NULL;
}

static int reload_now(struct proto_error *err)
{
    struct rpc_client *c = client_open(d.unix_addr);
    msgpack_object res;
    int rc = rpc_client_call(c, "reload", pack_no_params, NULL, &res, err);
    rpc_client_free(c);
    return rc;
}

/* Writes path atomically (a new file renamed over it), as an operator
 * deploys a policy. */
static void deploy(const char *path, const char *text)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_file(tmp, text);
    ck_assert_int_eq(rename(tmp, path), 0);
}

START_TEST(reload_changes_one_policy_while_another_runs)
{
    char dir[400], a[500];
    policy_dir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/clinic-a.ini", dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--policy-dir", dir, "--workers", "2",
                                  NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    char v[64], sha_b0[80], sha_b1[80], sha_a0[80], sha_a1[80];
    ck_assert_int_eq(verdict_days(c, "clinic-a", v, sizeof v, sha_a0, sizeof sha_a0), -1);
    ck_assert_int_eq(verdict_days(c, "clinic-b", v, sizeof v, sha_b0, sizeof sha_b0), 265);

    struct load l[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&l[i], 0, sizeof l[i]);
        l[i].addr = i % 2 ? d.tcp_addr : d.unix_addr;
        ck_assert_int_eq(pthread_create(&th[i], NULL, load_main, &l[i]), 0);
    }
    sleep_ms(200);
    /* clinic-a moves to 120 days: 100 days ago is now a deferral of 20 */
    deploy(a, "[policy]\nisotretinoin-washout-days = 120\n");
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_msg(reload_now(&err) == 0, "reload: %s", err.message);
    proto_error_close(&err);
    ck_assert_int_eq(verdict_days(c, "clinic-a", v, sizeof v, sha_a1, sizeof sha_a1), 20);
    ck_assert_str_ne(sha_a0, sha_a1);
    sleep_ms(200);

    /* a bad clinic-a: refused, both policies keep serving as they were */
    deploy(a, "[policy]\nisotretinoin-washout-days = 12.5\n");
    proto_error_init(&err);
    ck_assert_int_eq(reload_now(&err), PROTO_E_RULESET);
    char want[600];
    snprintf(want, sizeof want, "%s:2: isotretinoin-washout-days: must be a whole number", a);
    bool found = false;
    for (size_t i = 0; i < err.n_details; i++)
        found |= strstr(err.details[i], want) != NULL;
    ck_assert_msg(found, "no detail '%s'", want);
    proto_error_close(&err);
    ck_assert_int_eq(verdict_days(c, "clinic-a", v, sizeof v, NULL, 0), 20);
    sleep_ms(200);

    long ok = 0, wrong = 0;
    for (int i = 0; i < 3; i++)
        atomic_store(&l[i].stop, true);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ok += atomic_load(&l[i].ok);
        wrong += atomic_load(&l[i].wrong);
    }
    ck_assert_int_gt(ok, 0);
    ck_assert_int_eq(wrong, 0);
    ck_assert_int_eq(verdict_days(c, "clinic-b", v, sizeof v, sha_b1, sizeof sha_b1), 265);
    ck_assert_str_eq(sha_b0, sha_b1);
    rpc_client_free(c);
    ck_assert_int_eq(stats_int(&d, "reloads.ok"), 1);
    ck_assert_int_eq(stats_int(&d, "reloads.failed"), 1);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

/* One environment per worker for two policies: every request that
 * changes the policy resets it (counted), and every answer is still right. */
START_TEST(environment_cap_counted)
{
    char dir[400];
    policy_dir(dir, sizeof dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--policy-dir", dir, "--workers", "1",
                                  "--policy-environments", "1", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    char v[64];
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(verdict_days(c, i % 2 ? "clinic-b" : "clinic-a", v, sizeof v, NULL, 0),
                         i % 2 ? 265 : -1);
    ck_assert_int_eq(verdict_days(c, NULL, v, sizeof v, NULL, 0), 80);
    rpc_client_free(c);
    /* the one environment is reset on every change of policy: to
     * clinic-a, then ten changes, then back to default */
    ck_assert_int_eq(stats_int(&d, "policy_resets"), 11);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

/* A bad policy stops the daemon from starting, with file:line; so does a
 * default set twice. */
START_TEST(bad_policy_refuses_start)
{
    char dir[400], path[500];
    policy_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/Clinic-C.ini", dir);
    write_file(path, "[policy]\n");
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--policy-dir", dir, NULL), -1);
    ck_assert_int_eq(d.status, 1);
    ck_assert(daemon_log_contains(&d, "/Clinic-C.ini:1: 'Clinic-C' is not a policy name"));
    unlink(path);

    char pfile[500];
    snprintf(pfile, sizeof pfile, "%s/policy.ini", d.dir);
    write_file(pfile, "[policy]\nnsaid-hold-days = 5\n");
    snprintf(path, sizeof path, "%s/default.ini", dir);
    write_file(path, "[policy]\nnsaid-hold-days = 4\n");
    d.pid = 0;
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--policy-dir", dir, "--policy", pfile,
                                  NULL), -1);
    ck_assert(daemon_log_contains(&d, "the default policy is set twice"));
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"two_clinics", two_clinics_one_daemon},
        {"unknown_policy", unknown_policy_is_invalid_params},
        {"reload_one_policy", reload_changes_one_policy_while_another_runs},
        {"bad_policy_start", bad_policy_refuses_start},
        {"environment_cap", environment_cap_counted},
    };
    return testutil_run(testutil_suite("daemon_policies", cases, sizeof cases / sizeof cases[0],
                                       180, teardown));
}
