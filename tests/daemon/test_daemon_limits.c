/*
 * test_daemon_limits.c: every limit against a real suitd, one case each:
 * max connections, overloaded queue, idle timeout, request timeout, a
 * client that never reads, garbage, oversized messages, clients vanishing
 * mid-request, backpressure, and 1,000 concurrent connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static struct daemon d;

static void teardown(void)
{
    daemon_cleanup(&d);
}

static void assess_defer_ok(const char *addr)
{
    struct rpc_client *c = client_open(addr);
    msgpack_object res;
    call_ok(c, "assess", pack_isotretinoin, NULL, &res);
    ck_assert(obj_is_str(obj_get(&res, "verdict"), "defer"));
    rpc_client_free(c);
}

/* The last word before a close: the error under msgid 0. */
static void expect_unaddressed_error(struct rpc_client *c, int code)
{
    struct proto_error err;
    proto_error_init(&err);
    struct proto_message m;
    ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
    ck_assert_uint_eq(m.msgid, 0);
    ck_assert_int_eq(error_code_of(&m.error), code);
    proto_error_close(&err);
}

/* True once the peer has closed: recv gets EOF or a reset in time. */
static bool closed_by_peer(int fd, int timeout_ms)
{
    char buf[65536];
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                return true;
        }
    }
    return false;
}

START_TEST(max_connections_refused)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--max-connections", "5", NULL), 0);
    struct rpc_client *c[5];
    msgpack_object res;
    for (int i = 0; i < 5; i++) {
        c[i] = client_open(d.unix_addr);
        call_ok(c[i], "ping", pack_no_params, NULL, &res);
    }
    /* The sixth is told why under msgid 0, then closed at once. */
    struct rpc_client *extra = client_open(d.tcp_addr);
    struct proto_message m;
    struct proto_error rerr;
    proto_error_init(&rerr);
    ck_assert_int_eq(rpc_client_recv(extra, &m, &rerr), 0);
    ck_assert_uint_eq(m.msgid, 0);
    ck_assert_int_eq(error_code_of(&m.error), PROTO_E_OVERLOADED);
    proto_error_close(&rerr);
    ck_assert(closed_by_peer(rpc_client_fd(extra), 10000));
    rpc_client_free(extra);
    rpc_client_free(c[0]);
    /* One slot free again: served (poll until the close is noticed). */
    bool served = false;
    for (int i = 0; i < 100 && !served; i++) {
        struct rpc_client *again = client_open(d.unix_addr);
        struct proto_error err;
        proto_error_init(&err);
        served = rpc_client_call(again, "stats", pack_no_params, NULL, &res, &err) == 0;
        if (served)
            ck_assert_int_ge(obj_int_at(&res, "connections.refused"), 1);
        proto_error_close(&err);
        rpc_client_free(again);
        if (!served)
            sleep_ms(50);
    }
    ck_assert(served);
    for (int i = 1; i < 5; i++)
        rpc_client_free(c[i]);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(overloaded_when_queue_full)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "1", "--max-queue", "2",
                                  "--rule-deadline", "20000", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    enum { N = 8 };
    for (int i = 0; i < N; i++) {
        uint32_t id;
        ck_assert_int_eq(rpc_client_send(c, "assess", pack_patient, "slow:200", &id, &err), 0);
    }
    int ok = 0, overloaded = 0;
    for (int i = 0; i < N; i++) {
        struct proto_message m;
        ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
        int code = error_code_of(&m.error);
        if (code == 0)
            ok++;
        else if (code == PROTO_E_OVERLOADED)
            overloaded++;
        else
            ck_abort_msg("unexpected error %d", code);
    }
    ck_assert_int_ge(ok, 1);
    ck_assert_int_ge(overloaded, 1);
    ck_assert_int_eq(ok + overloaded, N);
    rpc_client_free(c);
    ck_assert_int_eq(stats_int(&d, "errors.overloaded"), overloaded);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(idle_connections_closed)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--idle-timeout", "1", NULL), 0);
    struct rpc_client *c = client_open(d.tcp_addr);
    msgpack_object res;
    call_ok(c, "ping", pack_no_params, NULL, &res);
    ck_assert(closed_by_peer(rpc_client_fd(c), 10000));
    rpc_client_free(c);
    ck_assert_int_ge(stats_int(&d, "dropped.idle"), 1);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(request_deadline_answers_timeout)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "1", "--request-timeout",
                                  "200", "--rule-deadline", "30000", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    ck_assert_int_eq(rpc_client_call(c, "assess", pack_patient, "slow:1500", &res, &err),
                     PROTO_E_TIMEOUT);
    proto_error_close(&err);
    /* The daemon stays responsive, and later work succeeds. */
    call_ok(c, "ping", pack_no_params, NULL, &res);
    bool ok = false;
    for (int i = 0; i < 100 && !ok; i++) {
        int rc = rpc_client_call(c, "assess", pack_isotretinoin, NULL, &res, &err);
        proto_error_close(&err);
        ok = rc == 0;
        if (!ok) {
            ck_assert_int_eq(rc, PROTO_E_TIMEOUT);   /* still behind the slow one */
            sleep_ms(100);
        }
    }
    ck_assert(ok);
    rpc_client_free(c);
    ck_assert_int_ge(stats_int(&d, "errors.timeout"), 1);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(client_that_never_reads_is_dropped)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--max-output", "65536", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    int fd = rpc_client_fd(c);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    /* 100 `ruleset` requests per chunk; each answer is far bigger than
     * the request, and this client never reads one. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (int i = 0; i < 100; i++) {
        proto_pack_request_header(&pk, (uint32_t)i + 1, "ruleset");
        msgpack_pack_array(&pk, 0);
    }
    bool dropped = false;
    for (int round = 0; round < 2000 && !dropped; round++) {
        size_t off = 0;
        while (off < sb.size) {
            ssize_t n = send(fd, sb.data + off, sb.size - off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                sleep_ms(5);
                break;
            }
            if (n <= 0) {
                dropped = true;
                break;
            }
            off += (size_t)n;
        }
        if (round % 20 == 19) {
            /* Others are still served meanwhile. */
            assess_defer_ok(d.unix_addr);
            dropped = dropped || stats_int(&d, "dropped.slow_reader") >= 1;
        }
    }
    msgpack_sbuffer_destroy(&sb);
    ck_assert(dropped);
    ck_assert_int_eq(stats_int(&d, "dropped.slow_reader"), 1);
    rpc_client_free(c);
    assess_defer_ok(d.tcp_addr);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(garbage_closes_only_that_connection)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    struct rpc_client *good = client_open(d.unix_addr);
    struct rpc_client *bad = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    call_ok(good, "ping", pack_no_params, NULL, &res);

    /* 0xc1 is never valid MessagePack. */
    char junk[4096];
    memset(junk, 0xc1, sizeof junk);
    ck_assert_int_eq(rpc_client_send_raw(bad, junk, sizeof junk, &err), 0);
    expect_unaddressed_error(bad, PROTO_E_PARSE);
    ck_assert(closed_by_peer(rpc_client_fd(bad), 10000));
    rpc_client_free(bad);

    /* Random bytes on another connection. */
    struct rpc_client *noisy = client_open(d.tcp_addr);
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(rand() & 0xff);
    junk[0] = (char)0xc1;
    rpc_client_send_raw(noisy, junk, sizeof junk, &err);
    ck_assert(closed_by_peer(rpc_client_fd(noisy), 10000));
    rpc_client_free(noisy);

    /* The good connection never noticed. */
    msgpack_object r2;
    call_ok(good, "assess", pack_isotretinoin, NULL, &r2);
    ck_assert(obj_is_str(obj_get(&r2, "verdict"), "defer"));
    rpc_client_free(good);
    ck_assert_int_ge(stats_int(&d, "dropped.parse_error"), 2);
    proto_error_close(&err);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(oversized_messages_refused)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--max-message", "1024", NULL), 0);
    struct proto_error err;
    proto_error_init(&err);
    /* A str32 header declaring 4 GiB: refused before any allocation. */
    struct rpc_client *c = client_open(d.unix_addr);
    const unsigned char huge[] = {0x94, 0x00, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(rpc_client_send_raw(c, huge, sizeof huge, &err), 0);
    expect_unaddressed_error(c, PROTO_E_TOO_LARGE);
    ck_assert(closed_by_peer(rpc_client_fd(c), 10000));
    rpc_client_free(c);

    /* A real request just over the limit. */
    c = client_open(d.unix_addr);
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    uint32_t id;
    ck_assert_int_eq(rpc_client_send(c, "assess", pack_patient, big, &id, &err), 0);
    expect_unaddressed_error(c, PROTO_E_TOO_LARGE);
    ck_assert(closed_by_peer(rpc_client_fd(c), 10000));
    rpc_client_free(c);

    assess_defer_ok(d.unix_addr);
    ck_assert_int_ge(stats_int(&d, "dropped.parse_error"), 2);
    proto_error_close(&err);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(clients_vanishing_mid_request)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "2", "--rule-deadline",
                                  "20000", NULL), 0);
    struct proto_error err;
    proto_error_init(&err);
    for (int i = 0; i < 30; i++) {
        struct rpc_client *c = client_open(i % 2 ? d.tcp_addr : d.unix_addr);
        uint32_t id;
        for (int k = 0; k < 5; k++)
            ck_assert_int_eq(rpc_client_send(c, "assess", pack_patient,
                                             k == 0 ? "slow:50" : NULL, &id, &err), 0);
        if (i % 3 == 0) {
            /* Reset instead of FIN. */
            struct linger lg = {1, 0};
            setsockopt(rpc_client_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        rpc_client_free(c);
    }
    assess_defer_ok(d.unix_addr);
    /* Every vanished connection is eventually gone. */
    int64_t current = -1;
    for (int i = 0; i < 200; i++) {
        current = stats_int(&d, "connections.current");
        if (current == 1)
            break;
        sleep_ms(50);
    }
    ck_assert_int_eq(current, 1);
    proto_error_close(&err);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(work_of_vanished_clients_is_cancelled)
{
    daemon_prepare(&d);
    char path[400];
    snprintf(path, sizeof path, "%s/decisions.jsonl", d.dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "1", "--rule-deadline",
                                  "20000", "--decision-log", path, NULL), 0);
    struct proto_error err;
    proto_error_init(&err);
    struct rpc_client *c = client_open(d.unix_addr);
    uint32_t id;
    for (int k = 0; k < 20; k++)
        ck_assert_int_eq(rpc_client_send(c, "assess", pack_patient, "slow:200", &id, &err), 0);
    sleep_ms(50);
    struct linger lg = {1, 0};
    setsockopt(rpc_client_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    rpc_client_free(c);
    /* Queued behind whatever of the 20 was not cancelled. */
    assess_defer_ok(d.unix_addr);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    /* Only assessments that ran are logged: the vanished client's queued
     * ones never did. */
    ck_assert_int_lt(lines, 21);
    ck_assert_int_ge(lines, 1);
    proto_error_close(&err);
}
END_TEST

START_TEST(backpressure_keeps_answering)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "1", "--max-inflight", "2",
                                  "--rule-deadline", "20000", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    enum { N = 30 };
    for (int i = 0; i < N; i++) {
        uint32_t id;
        ck_assert_int_eq(rpc_client_send(c, "assess", i % 2 ? pack_isotretinoin : pack_patient,
                                         i % 2 ? NULL : (void *)"slow:20", &id, &err), 0);
    }
    for (int i = 0; i < N; i++) {
        struct proto_message m;
        ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
        ck_assert_int_eq(error_code_of(&m.error), 0);
    }
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(thousand_concurrent_connections)
{
    enum { N = 1000 };
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    ck_assert_msg(rl.rlim_cur >= 2 * N + 64, "RLIMIT_NOFILE too low (%lu)",
                  (unsigned long)rl.rlim_cur);
    /* The daemon inherits the raised limit. */
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--max-connections", "2000", NULL), 0);
    struct rpc_client **c = calloc(N, sizeof *c);
    ck_assert_ptr_nonnull(c);
    struct proto_error err;
    proto_error_init(&err);
    uint32_t *ids = calloc(N, sizeof *ids);
    for (int i = 0; i < N; i++)
        c[i] = client_open(i % 2 ? d.tcp_addr : d.unix_addr);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            ck_assert_int_eq(rpc_client_send(c[i], "assess", pack_isotretinoin, NULL, &ids[i],
                                             &err), 0);
        for (int i = 0; i < N; i++) {
            struct proto_message m;
            ck_assert_int_eq(rpc_client_recv(c[i], &m, &err), 0);
            ck_assert_uint_eq(m.msgid, ids[i]);
            ck_assert_int_eq(error_code_of(&m.error), 0);
            ck_assert(obj_is_str(obj_get(&m.result, "verdict"), "defer"));
        }
    }
    ck_assert_int_eq(stats_int(&d, "connections.current"), N + 1);
    for (int i = 0; i < N; i++)
        rpc_client_free(c[i]);
    free(c);
    free(ids);
    ck_assert_int_eq(stats_int(&d, "requests.assess"), 2 * N);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

static Suite *suite(void)
{
    const struct testutil_case cases[] = {
        {"max_connections", max_connections_refused},
        {"overloaded", overloaded_when_queue_full},
        {"idle_timeout", idle_connections_closed},
        {"request_timeout", request_deadline_answers_timeout},
        {"never_reads", client_that_never_reads_is_dropped},
        {"garbage", garbage_closes_only_that_connection},
        {"oversized", oversized_messages_refused},
        {"vanishing", clients_vanishing_mid_request},
        {"cancelled", work_of_vanished_clients_is_cancelled},
        {"backpressure", backpressure_keeps_answering},
        {"thousand", thousand_concurrent_connections},
    };
    return testutil_suite("daemon_limits", cases, sizeof cases / sizeof cases[0], 180, teardown);
}

int main(void)
{
    return testutil_run(suite());
}
