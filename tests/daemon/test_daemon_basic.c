/*
 * test_daemon_basic.c: round trips against a real suitd: ping, assess,
 * ruleset, stats over Unix and TCP; errors; pipelining; notifications;
 * half-close; auth tokens; decision log; config file.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static struct daemon d;

static void teardown(void)
{
    daemon_cleanup(&d);
}

static void check_assess_defer(struct rpc_client *c)
{
    msgpack_object res;
    call_ok(c, "assess", pack_isotretinoin, NULL, &res);
    ck_assert(obj_is_str(obj_get(&res, "verdict"), "defer"));
    ck_assert_int_eq(obj_int_at(&res, "defer_days"), 80);
}

START_TEST(round_trips_unix_and_tcp)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    ck_assert_int_gt(d.port, 0);
    struct stat sb;
    ck_assert_int_eq(stat(d.sock, &sb), 0);
    ck_assert(S_ISSOCK(sb.st_mode));
    ck_assert_uint_eq(sb.st_mode & 0777, 0660);
    const char *addrs[] = {d.unix_addr, d.tcp_addr};
    for (int i = 0; i < 2; i++) {
        struct rpc_client *c = client_open(addrs[i]);
        msgpack_object res;
        call_ok(c, "ping", pack_no_params, NULL, &res);
        ck_assert(obj_get(&res, "version") != NULL);
        ck_assert(obj_is_str(obj_get(obj_get(&res, "ruleset"), "name"), "daemon-test"));
        ck_assert(obj_is_str(obj_get(obj_get(&res, "ruleset"), "version"), "1.0.0"));
        const msgpack_object *sha = obj_get(obj_get(&res, "ruleset"), "sha256");
        ck_assert(sha && sha->type == MSGPACK_OBJECT_STR && sha->via.str.size == 64);

        check_assess_defer(c);

        call_ok(c, "ruleset", pack_no_params, NULL, &res);
        ck_assert(obj_is_str(obj_get(&res, "name"), "daemon-test"));

        call_ok(c, "stats", pack_no_params, NULL, &res);
        ck_assert_int_ge(obj_int_at(&res, "requests.assess"), i + 1);
        ck_assert_int_ge(obj_int_at(&res, "connections.current"), 1);
        ck_assert(obj_get(obj_get(&res, "latency_ms"), "p99_9") != NULL);
        rpc_client_free(c);
    }
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(errors_are_answered)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    ck_assert_int_eq(rpc_client_call(c, "no-such-method", pack_no_params, NULL, &res, &err),
                     PROTO_E_METHOD_NOT_FOUND);
    proto_error_close(&err);

    /* An area outside the vocabulary: invalid params from the engine. */
    ck_assert_int_eq(rpc_client_call(c, "assess", pack_no_params, NULL, &res, &err),
                     PROTO_E_INVALID_PARAMS);
    proto_error_close(&err);

    /* A well-formed MessagePack array that is not an RPC frame, but
     * carries a msgid: answered with that msgid, connection kept. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_uint32(&pk, 4242);
    msgpack_pack_int(&pk, 5);           /* method must be a string */
    msgpack_pack_array(&pk, 0);
    ck_assert_int_eq(rpc_client_send_raw(c, sb.data, sb.size, &err), 0);
    msgpack_sbuffer_destroy(&sb);
    struct proto_message m;
    ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
    ck_assert_uint_eq(m.msgid, 4242);
    ck_assert_int_eq(error_code_of(&m.error), PROTO_E_INVALID_REQUEST);
    check_assess_defer(c);

    /* Valid MessagePack that is no frame at all: answered under msgid 0,
     * and the stream stays usable. */
    const unsigned char seven = 0x07;
    ck_assert_int_eq(rpc_client_send_raw(c, &seven, 1, &err), 0);
    ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
    ck_assert_uint_eq(m.msgid, 0);
    ck_assert_int_eq(error_code_of(&m.error), PROTO_E_INVALID_REQUEST);
    check_assess_defer(c);
    rpc_client_free(c);

    ck_assert_int_ge(stats_int(&d, "errors.method_not_found"), 1);
    ck_assert_int_ge(stats_int(&d, "errors.invalid_request"), 2);
    ck_assert_int_ge(stats_int(&d, "requests.unknown"), 1);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

static void pack_notify(msgpack_packer *pk, const char *method)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, 2);
    proto_pack_str(pk, method);
    msgpack_pack_array(pk, 0);
}

START_TEST(notifications_are_never_answered)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_notify(&pk, "hello");
    pack_notify(&pk, "ping");
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(rpc_client_send_raw(c, sb.data, sb.size, &err), 0);
    msgpack_sbuffer_destroy(&sb);
    uint32_t id;
    ck_assert_int_eq(rpc_client_send(c, "ping", pack_no_params, NULL, &id, &err), 0);
    struct proto_message m;
    ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
    /* The first answer on the wire is the ping's: nothing for the two
     * notifications. */
    ck_assert_uint_eq(m.msgid, id);
    ck_assert_int_eq(error_code_of(&m.error), 0);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(pipelined_requests_out_of_order)
{
    /* Generous deadlines: the slow rule must finish, not time out, on a
     * loaded machine under the sanitizers too (seen once at 5 s). */
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "2", "--rule-deadline",
                                  "20000", "--request-timeout", "60000", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    enum { N = 40 };
    uint32_t ids[N];
    int kind[N];
    /* A slow assessment first, then fast ones and pings behind it. */
    for (int i = 0; i < N; i++) {
        kind[i] = i == 0 ? 2 : i % 3;
        int rc;
        if (kind[i] == 2)
            rc = rpc_client_send(c, "assess", pack_patient, "slow:400", &ids[i], &err);
        else if (kind[i] == 1)
            rc = rpc_client_send(c, "assess", pack_isotretinoin, NULL, &ids[i], &err);
        else
            rc = rpc_client_send(c, "ping", pack_no_params, NULL, &ids[i], &err);
        ck_assert_int_eq(rc, 0);
    }
    bool seen[N] = {false};
    int slow_pos = -1;
    for (int n = 0; n < N; n++) {
        struct proto_message m;
        ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
        int idx = -1;
        for (int i = 0; i < N; i++)
            if (ids[i] == m.msgid)
                idx = i;
        ck_assert_msg(idx >= 0, "unknown msgid %u", m.msgid);
        ck_assert_msg(!seen[idx], "msgid %u answered twice", m.msgid);
        seen[idx] = true;
        ck_assert_int_eq(error_code_of(&m.error), 0);
        if (kind[idx] == 1)
            ck_assert(obj_is_str(obj_get(&m.result, "verdict"), "defer"));
        if (kind[idx] == 2) {
            ck_assert(obj_is_str(obj_get(&m.result, "verdict"), "suitable"));
            slow_pos = n;
        }
        if (kind[idx] == 0)
            ck_assert(obj_get(&m.result, "ruleset") != NULL);
    }
    /* The slow request was sent first; pings answered on the loop and
     * fast assessments on the other worker overtook it. */
    ck_assert_int_gt(slow_pos, 0);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(half_close_still_answered)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    const char *addrs[] = {d.unix_addr, d.tcp_addr};
    for (int i = 0; i < 2; i++) {
        struct rpc_client *c = client_open(addrs[i]);
        struct proto_error err;
        proto_error_init(&err);
        uint32_t a, b;
        ck_assert_int_eq(rpc_client_send(c, "assess", pack_isotretinoin, NULL, &a, &err), 0);
        ck_assert_int_eq(rpc_client_send(c, "ping", pack_no_params, NULL, &b, &err), 0);
        ck_assert_int_eq(shutdown(rpc_client_fd(c), SHUT_WR), 0);
        bool got_a = false, got_b = false;
        for (int n = 0; n < 2; n++) {
            struct proto_message m;
            ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
            ck_assert_int_eq(error_code_of(&m.error), 0);
            got_a |= m.msgid == a;
            got_b |= m.msgid == b;
        }
        ck_assert(got_a && got_b);
        /* Then the daemon closes its side. */
        struct proto_message m;
        ck_assert_int_lt(rpc_client_recv(c, &m, &err), 0);
        proto_error_close(&err);
        rpc_client_free(c);
    }
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

static void pack_token(msgpack_packer *pk, void *arg)
{
    msgpack_pack_array(pk, 1);
    proto_pack_str(pk, arg);
}

START_TEST(token_on_non_loopback_tcp)
{
    daemon_prepare(&d);
    /* Without a token, a non-loopback address is refused at start. */
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--listen", "0.0.0.0:0", NULL), -1);
    ck_assert_int_ne(d.status, 0);
    ck_assert(daemon_log_contains(&d, "--token-file"));

    char tok[400];
    snprintf(tok, sizeof tok, "%s/token", d.dir);
    write_file(tok, "s3cret-token\n");
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--listen", "0.0.0.0:0", "--token-file",
                                  tok, NULL), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", d.port);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;

    /* Before auth every method but auth is refused, unknown ones too (the
     * method table's flags, checked in one place), and each is counted.
     * One connection per method: after three refused requests before auth
     * a connection is closed (below). */
    static const char *const before_auth[] = {"ping", "assess", "ruleset", "stats", "reload",
                                              "no-such-method"};
    for (size_t i = 0; i < sizeof before_auth / sizeof before_auth[0]; i++) {
        struct rpc_client *one = client_open(addr);
        ck_assert_int_eq(rpc_client_call(one, before_auth[i], pack_no_params, NULL, &res, &err),
                         PROTO_E_NOT_PERMITTED);
        ck_assert_msg(strstr(err.message, "not authenticated"), "%s: %s", before_auth[i],
                      err.message);
        proto_error_close(&err);
        rpc_client_free(one);
    }
    ck_assert_int_eq(stats_int(&d, "requests.reload"), 1);
    ck_assert_int_eq(stats_int(&d, "requests.unknown"), 1);
    ck_assert_int_eq(stats_int(&d, "errors.not_permitted"), 6);

    /* Two refused requests leave the connection open; the third is answered,
     * then the connection is closed (dropped.unauthenticated). */
    struct rpc_client *c = client_open(addr);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(rpc_client_call(c, "ping", pack_no_params, NULL, &res, &err),
                         PROTO_E_NOT_PERMITTED);
        proto_error_close(&err);
    }
    struct proto_message m;
    ck_assert_int_lt(rpc_client_recv(c, &m, &err), 0);
    proto_error_close(&err);
    rpc_client_free(c);
    ck_assert_int_eq(stats_int(&d, "dropped.unauthenticated"), 1);

    c = client_open(addr);
    ck_assert_int_eq(rpc_client_call(c, "ping", pack_no_params, NULL, &res, &err),
                     PROTO_E_NOT_PERMITTED);
    proto_error_close(&err);
    call_ok(c, "auth", pack_token, "s3cret-token", &res);
    ck_assert(res.type == MSGPACK_OBJECT_BOOLEAN && res.via.boolean);
    call_ok(c, "ping", pack_no_params, NULL, &res);
    check_assess_defer(c);
    rpc_client_free(c);

    /* A wrong token is refused and the connection closed. */
    c = client_open(addr);
    ck_assert_int_eq(rpc_client_call(c, "auth", pack_token, "s3cret-tokeN", &res, &err),
                     PROTO_E_NOT_PERMITTED);
    proto_error_close(&err);
    ck_assert_int_lt(rpc_client_recv(c, &m, &err), 0);
    proto_error_close(&err);
    rpc_client_free(c);
    ck_assert_int_eq(stats_int(&d, "dropped.auth"), 1);

    /* The Unix socket needs no token. */
    c = client_open(d.unix_addr);
    call_ok(c, "ping", pack_no_params, NULL, &res);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);

    /* With a token, loopback TCP needs it too (any local user reaches
     * loopback; the Unix socket has its file mode). */
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--listen", "0.0.0.0:0", "--listen",
                                  "127.0.0.1:0", "--token-file", tok, NULL), 0);
    ck_assert(daemon_log_contains(&d, "listening on tcp:0.0.0.0:"));
    FILE *lf = fopen(d.log, "r");
    char line[512];
    int loport = 0;
    while (lf && fgets(line, sizeof line, lf))
        if (sscanf(line, "suitd: listening on tcp:127.0.0.1:%d", &loport) == 1)
            break;
    if (lf)
        fclose(lf);
    ck_assert_int_gt(loport, 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", loport);
    c = client_open(addr);
    ck_assert_int_eq(rpc_client_call(c, "ping", pack_no_params, NULL, &res, &err),
                     PROTO_E_NOT_PERMITTED);
    proto_error_close(&err);
    call_ok(c, "auth", pack_token, "s3cret-token", &res);
    call_ok(c, "ping", pack_no_params, NULL, &res);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(decision_log_has_no_patient_facts)
{
    daemon_prepare(&d);
    char path[400];
    snprintf(path, sizeof path, "%s/decisions.jsonl", d.dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--decision-log", path, NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    check_assess_defer(c);
    check_assess_defer(c);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);

    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        ck_assert_ptr_nonnull(strstr(line, "\"verdict\":\"defer\""));
        ck_assert_ptr_nonnull(strstr(line, "\"findings\":[\"isotretinoin-washout\"]"));
        ck_assert_ptr_nonnull(strstr(line, "\"msgid\":"));
        ck_assert_ptr_nonnull(strstr(line, "\"latency_ms\":"));
        ck_assert_ptr_nonnull(strstr(line, "\"ruleset\":\""));
        /* Patient facts stay out. */
        ck_assert_ptr_null(strstr(line, "age"));
        ck_assert_ptr_null(strstr(line, "face"));
        ck_assert_ptr_null(strstr(line, "\"medications\""));
    }
    fclose(f);
    ck_assert_int_eq(lines, 2);
}
END_TEST

START_TEST(config_file_and_flags)
{
    daemon_prepare(&d);
    char conf[400], text[1024];
    snprintf(conf, sizeof conf, "%s/suitd.conf", d.dir);
    snprintf(text, sizeof text,
             "[suitd]\n"
             "socket = %s\n"
             "listen = 127.0.0.1:0\n"
             "workers = 3\n"
             "max_connections = 7\n"
             "log_level = debug\n", d.sock);
    write_file(conf, text);
    /* The flag wins over the file's workers = 3. */
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--config", conf, "--workers", "1", NULL), 0);
    ck_assert(daemon_log_contains(&d, ", 1 workers)"));
    ck_assert_int_eq(stats_int(&d, "workers"), 1);
    ck_assert(daemon_log_contains(&d, "suitd: debug: "));
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);

    /* A bad setting names the file and line. */
    write_file(conf, "[suitd]\nworkers = 2\nmax_queue = lots\n");
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--config", conf, NULL), -1);
    ck_assert_int_eq(d.status, 2);
    ck_assert(daemon_log_contains(&d, "suitd.conf:3: max_queue"));
}
END_TEST

START_TEST(help_and_bad_flags)
{
    daemon_prepare(&d);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--bogus", NULL), -1);
    ck_assert_int_eq(d.status, 2);
    ck_assert(daemon_log_contains(&d, "unknown option '--bogus'"));
}
END_TEST

static void pack_odd_area(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 2);
    proto_pack_str(pk, "age");
    msgpack_pack_int(pk, 41);
    proto_pack_str(pk, "area");
    proto_pack_str(pk, "elbow-zqx");
}

/* Even at debug level the log holds no patient facts, unless asked. */
START_TEST(logs_hold_no_patient_facts)
{
    for (int facts = 0; facts < 2; facts++) {
        if (facts)
            ck_assert_int_eq(daemon_start(&d, harness_rules(), "--log-level", "debug",
                                          "--log-facts", NULL), 0);
        else
            ck_assert_int_eq(daemon_start(&d, harness_rules(), "--log-level", "debug", NULL), 0);
        struct rpc_client *c = client_open(d.unix_addr);
        struct proto_error err;
        proto_error_init(&err);
        msgpack_object res;
        ck_assert_int_eq(rpc_client_call(c, "assess", pack_odd_area, NULL, &res, &err),
                         PROTO_E_INVALID_PARAMS);
        proto_error_close(&err);
        check_assess_defer(c);
        rpc_client_free(c);
        ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
        ck_assert(daemon_log_contains(&d, "suitd: debug: "));
        ck_assert(!daemon_log_contains(&d, "isotretinoin"));
        if (facts)
            ck_assert(daemon_log_contains(&d, "elbow-zqx"));
        else
            ck_assert(!daemon_log_contains(&d, "elbow-zqx"));
    }
}
END_TEST

static Suite *suite(void)
{
    const struct testutil_case cases[] = {
        {"round_trips", round_trips_unix_and_tcp},
        {"errors", errors_are_answered},
        {"notifications", notifications_are_never_answered},
        {"pipelining", pipelined_requests_out_of_order},
        {"half_close", half_close_still_answered},
        {"token", token_on_non_loopback_tcp},
        {"decision_log", decision_log_has_no_patient_facts},
        {"config", config_file_and_flags},
        {"flags", help_and_bad_flags},
        {"log_facts", logs_hold_no_patient_facts},
    };
    return testutil_suite("daemon_basic", cases, sizeof cases / sizeof cases[0], 120, teardown);
}

int main(void)
{
    return testutil_run(suite());
}
