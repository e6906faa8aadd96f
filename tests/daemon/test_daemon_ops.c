/*
 * test_daemon_ops.c: operating a real suitd: hot reload under load (SIGHUP
 * and the method), a broken reload, SIGTERM during load, admin methods on
 * TCP, stale and live sockets, dropping root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static struct daemon d, d2;

static void teardown(void)
{
    daemon_cleanup(&d2);
    daemon_cleanup(&d);
}

/* ---- load generator ------------------------------------------------ */

struct load {
    const char *addr;
    atomic_bool stop;
    atomic_long ok, failed;
    char last_version[32];       /* ruleset version of the last answer */
    pthread_mutex_t mu;
};

static void *load_main(void *p)
{
    struct load *l = p;
    struct rpc_client *c = NULL;
    struct proto_error err;
    proto_error_init(&err);
    if (rpc_client_connect(l->addr, 20000, &c, &err) < 0) {
        atomic_fetch_add(&l->failed, 1);
        proto_error_close(&err);
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        msgpack_object res;
        int rc = rpc_client_call(c, "assess", pack_isotretinoin, NULL, &res, &err);
        if (rc == 0 && obj_is_str(obj_get(&res, "verdict"), "defer")) {
            atomic_fetch_add(&l->ok, 1);
            const msgpack_object *v = obj_get(obj_get(&res, "ruleset"), "version");
            if (v && v->type == MSGPACK_OBJECT_STR) {
                pthread_mutex_lock(&l->mu);
                snprintf(l->last_version, sizeof l->last_version, "%.*s", (int)v->via.str.size,
                         v->via.str.ptr);
                pthread_mutex_unlock(&l->mu);
            }
        } else {
            fprintf(stderr, "load: assess failed: %d %s\n", rc, err.message);
            atomic_fetch_add(&l->failed, 1);
        }
        proto_error_close(&err);
    }
    rpc_client_free(c);
    return NULL;
}

enum { LOAD_THREADS = 4 };

struct load_set {
    struct load l[LOAD_THREADS];
    pthread_t t[LOAD_THREADS];
};

static void load_start(struct load_set *s)
{
    for (int i = 0; i < LOAD_THREADS; i++) {
        memset(&s->l[i], 0, sizeof s->l[i]);
        pthread_mutex_init(&s->l[i].mu, NULL);
        s->l[i].addr = i % 2 ? d.tcp_addr : d.unix_addr;
        ck_assert_int_eq(pthread_create(&s->t[i], NULL, load_main, &s->l[i]), 0);
    }
}

static void load_stop(struct load_set *s, long *ok, long *failed)
{
    *ok = *failed = 0;
    for (int i = 0; i < LOAD_THREADS; i++)
        atomic_store(&s->l[i].stop, true);
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_join(s->t[i], NULL);
        *ok += atomic_load(&s->l[i].ok);
        *failed += atomic_load(&s->l[i].failed);
    }
}

static bool load_saw_version(struct load_set *s, const char *version)
{
    bool all = true;
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_mutex_lock(&s->l[i].mu);
        all = all && !strcmp(s->l[i].last_version, version);
        pthread_mutex_unlock(&s->l[i].mu);
    }
    return all;
}

/* ---- helpers ------------------------------------------------------- */

static void rules_copy(char *out, size_t len)
{
    daemon_prepare(&d);
    snprintf(out, len, "%s/rules", d.dir);
    copy_tree(harness_rules(), out);
}

static void set_version(const char *rules, const char *version)
{
    char path[600], tmp[610], text[512];
    snprintf(path, sizeof path, "%s/manifest.ini", rules);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    snprintf(text, sizeof text,
             "[ruleset]\nname = daemon-test\nversion = %s\n"
             "files = templates.clp data.clp rules.clp verdict.clp slow.clp\ntests = tests\n",
             version);
    /* Renamed into place: a reload running now must never read half a
     * file (as an operator's editor would also do). */
    write_file(tmp, text);
    ck_assert_int_eq(rename(tmp, path), 0);
}

/* Deploys a new version as rules/README.md says to: a complete copy of the
 * live folder in a folder of its own, then the symlink the daemon serves
 * switched to it with one rename.  A reload running meanwhile reads one
 * folder or the other, never a mix, so none is refused (an in-place edit
 * during a reload is: "changed while the ruleset was read"). */
static void deploy_version(const char *link, const char *version)
{
    char cur[600], next[600], tmp[610];
    ssize_t n = readlink(link, cur, sizeof cur - 1);
    ck_assert_int_gt(n, 0);
    cur[n] = '\0';
    snprintf(next, sizeof next, "%s/rules-%s", d.dir, version);
    copy_tree(cur, next);
    set_version(next, version);
    snprintf(tmp, sizeof tmp, "%s.new", link);
    unlink(tmp);
    ck_assert_int_eq(symlink(next, tmp), 0);
    ck_assert_int_eq(rename(tmp, link), 0);
}

static void ping_version(const char *addr, char *out, size_t len)
{
    struct rpc_client *c = client_open(addr);
    msgpack_object res;
    call_ok(c, "ping", pack_no_params, NULL, &res);
    const msgpack_object *v = obj_get(obj_get(&res, "ruleset"), "version");
    ck_assert(v && v->type == MSGPACK_OBJECT_STR);
    snprintf(out, len, "%.*s", (int)v->via.str.size, v->via.str.ptr);
    rpc_client_free(c);
}

static int reload_call(const char *addr, struct proto_error *err, msgpack_object *res,
                       struct rpc_client **keep)
{
    *keep = client_open(addr);
    return rpc_client_call(*keep, "reload", pack_no_params, NULL, res, err);
}

static bool wait_stat(const char *path, int64_t want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (stats_int(&d, path) >= want)
            return true;
        sleep_ms(50);
    }
    return false;
}

/* ---- cases --------------------------------------------------------- */

START_TEST(hot_reload_under_load_loses_nothing)
{
    /* rules -> rules-1.0.0: the daemon serves the symlink */
    char first[400], rules[400];
    rules_copy(first, sizeof first);
    snprintf(rules, sizeof rules, "%s/rules-link", d.dir);
    ck_assert_int_eq(symlink(first, rules), 0);
    ck_assert_int_eq(daemon_start(&d, rules, "--workers", "2", NULL), 0);
    struct load_set ls;
    load_start(&ls);
    sleep_ms(200);

    /* SIGHUP with a new version deployed. */
    deploy_version(rules, "1.0.1");
    ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
    ck_assert(wait_stat("reloads.ok", 1, 30000));
    char v[32];
    ping_version(d.unix_addr, v, sizeof v);
    ck_assert_str_eq(v, "1.0.1");

    /* A storm of SIGHUPs folds into few reloads; nothing fails. */
    for (int i = 0; i < 20; i++) {
        kill(d.pid, SIGHUP);
        sleep_ms(5);
    }

    /* The reload method, on the Unix socket; deployed while the storm's
     * reloads may still run. */
    deploy_version(rules, "1.0.2");
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    struct rpc_client *c;
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), 0);
    ck_assert(obj_is_str(obj_get(obj_get(&res, "ruleset"), "version"), "1.0.2"));
    ck_assert_int_eq(obj_int_at(&res, "cases_passed"), 7);
    rpc_client_free(c);
    ping_version(d.tcp_addr, v, sizeof v);
    ck_assert_str_eq(v, "1.0.2");

    /* Every load connection moves to the new ruleset. */
    bool moved = false;
    for (int i = 0; i < 400 && !moved; i++) {
        moved = load_saw_version(&ls, "1.0.2");
        if (!moved)
            sleep_ms(25);
    }
    long ok, failed;
    load_stop(&ls, &ok, &failed);
    ck_assert(moved);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_gt(ok, 0);
    ck_assert_int_ge(stats_int(&d, "reloads.ok"), 3);
    ck_assert_int_eq(stats_int(&d, "reloads.failed"), 0);
    proto_error_close(&err);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

/* Share-nothing serving: connections are spread over the serving threads,
 * `stats` sums every thread's counts, and a reload asked on one thread
 * reaches every thread's engine (each answers with the new version). */
START_TEST(serving_threads_share_the_work)
{
    char first[400], rules[400];
    rules_copy(first, sizeof first);
    snprintf(rules, sizeof rules, "%s/rules-link", d.dir);
    ck_assert_int_eq(symlink(first, rules), 0);
    ck_assert_int_eq(daemon_start(&d, rules, "--workers", "2", "--log-level", "debug", NULL), 0);
    enum { N = 6 };
    struct rpc_client *c[N];
    msgpack_object res;
    for (int i = 0; i < N; i++) {
        c[i] = client_open(i % 2 ? d.tcp_addr : d.unix_addr);
        call_ok(c[i], "assess", pack_isotretinoin, NULL, &res);
    }
    ck_assert(daemon_log_contains(&d, "serving thread 0 takes a connection"));
    ck_assert(daemon_log_contains(&d, "serving thread 1 takes a connection"));
    /* stats_int opens a connection of its own. */
    ck_assert_int_eq(stats_int(&d, "requests.assess"), N);
    ck_assert_int_eq(stats_int(&d, "connections.current"), N + 1);
    ck_assert_int_eq(stats_int(&d, "workers"), 2);

    deploy_version(rules, "2.0.0");
    struct proto_error err;
    proto_error_init(&err);
    struct rpc_client *admin;
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &admin), 0);
    rpc_client_free(admin);
    for (int i = 0; i < N; i++) {
        call_ok(c[i], "assess", pack_isotretinoin, NULL, &res);
        ck_assert_msg(obj_is_str(obj_get(obj_get(&res, "ruleset"), "version"), "2.0.0"),
                      "connection %d was answered by an engine of the old ruleset", i);
        call_ok(c[i], "ping", pack_no_params, NULL, &res);
        ck_assert(obj_is_str(obj_get(obj_get(&res, "ruleset"), "version"), "2.0.0"));
    }
    for (int i = 0; i < N; i++)
        rpc_client_free(c[i]);
    ck_assert_int_eq(stats_int(&d, "requests.assess"), 2 * N);
    ck_assert_int_eq(stats_int(&d, "reloads.ok"), 1);
    proto_error_close(&err);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

START_TEST(broken_reload_keeps_old_ruleset)
{
    char rules[400], path[600], src[600], v[32];
    rules_copy(rules, sizeof rules);
    ck_assert_int_eq(daemon_start(&d, rules, "--workers", "2", NULL), 0);
    struct load_set ls;
    load_start(&ls);

    /* A syntax error in a rules file. */
    set_version(rules, "2.0.0");
    snprintf(path, sizeof path, "%s/rules.clp", rules);
    append_file(path, "\n(defrule broken (patient (age ?a)) => (assert (finding (id x)\n");
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    struct rpc_client *c;
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), PROTO_E_RULESET);
    ck_assert_msg(testutil_has_detail(&err, "rules.clp"), "details do not name rules.clp: %s",
                  err.message);
    proto_error_close(&err);
    rpc_client_free(c);
    ping_version(d.unix_addr, v, sizeof v);
    ck_assert_str_eq(v, "1.0.0");

    /* Good rules again, but a test case that now fails. */
    snprintf(src, sizeof src, "%s/rules.clp", harness_rules());
    copy_tree(src, path);
    snprintf(path, sizeof path, "%s/tests/cases.json", rules);
    write_file(path,
               "[{\"name\": \"pregnancy is fine (wrong on purpose)\",\n"
               "  \"patient\": {\"age\": 30, \"pregnant\": true, \"breastfeeding\": false,\n"
               "              \"fitzpatrick\": 2, \"area\": \"face\", \"indication\": \"fine-lines\"},\n"
               "  \"expect\": {\"verdict\": \"suitable\"}}]\n");
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), PROTO_E_RULESET);
    ck_assert_msg(testutil_has_detail(&err, "pregnancy is fine"), "details do not name the case: %s",
                  err.message);
    proto_error_close(&err);
    rpc_client_free(c);

    /* Loads and passes its cases, but calls (exit): refused by the lint. */
    snprintf(path, sizeof path, "%s/tests/cases.json", rules);
    snprintf(src, sizeof src, "%s/tests/cases.json", harness_rules());
    copy_tree(src, path);
    snprintf(path, sizeof path, "%s/rules.clp", rules);
    append_file(path, "\n(defrule leave (condition (name never-sent)) => (exit))\n");
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), PROTO_E_RULESET);
    ck_assert_msg(testutil_has_detail(&err, "forbidden function or construct 'exit'"),
                  "details do not name the call: %s", err.message);
    proto_error_close(&err);
    rpc_client_free(c);

    /* And through SIGHUP: logged, counted, old ruleset still serving. */
    ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
    ck_assert(wait_stat("reloads.failed", 4, 30000));
    ck_assert(daemon_log_contains(&d, "reload failed"));
    ping_version(d.tcp_addr, v, sizeof v);
    ck_assert_str_eq(v, "1.0.0");

    long ok, failed;
    load_stop(&ls, &ok, &failed);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_gt(ok, 0);
    ck_assert_int_eq(stats_int(&d, "reloads.ok"), 0);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
}
END_TEST

START_TEST(sigterm_answers_inflight_then_exits)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "1", "--rule-deadline",
                                  "20000", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct rpc_client *t = client_open(d.tcp_addr);
    struct proto_error err;
    proto_error_init(&err);
    uint32_t id;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rpc_client_send(c, "assess", pack_patient, "slow:300", &id, &err), 0);
    ck_assert_int_eq(rpc_client_send(t, "assess", pack_isotretinoin, NULL, &id, &err), 0);
    sleep_ms(100);
    ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
    for (int i = 0; i < 3; i++) {
        struct proto_message m;
        ck_assert_int_eq(rpc_client_recv(c, &m, &err), 0);
        ck_assert_int_eq(error_code_of(&m.error), 0);
        ck_assert(obj_is_str(obj_get(&m.result, "verdict"), "suitable"));
    }
    struct proto_message m;
    ck_assert_int_eq(rpc_client_recv(t, &m, &err), 0);
    ck_assert_int_eq(error_code_of(&m.error), 0);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
    struct stat sb;
    ck_assert_int_ne(stat(d.sock, &sb), 0);   /* socket file removed */
    ck_assert(daemon_log_contains(&d, "shutting down"));
    ck_assert(!daemon_log_contains(&d, "handles still open"));
    rpc_client_free(c);
    rpc_client_free(t);
    proto_error_close(&err);
}
END_TEST

START_TEST(shutdown_deadline_bounds_the_wait)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--workers", "1", "--rule-deadline",
                                  "3000", "--shutdown-timeout", "1", NULL), 0);
    struct rpc_client *c = client_open(d.unix_addr);
    struct proto_error err;
    proto_error_init(&err);
    uint32_t id;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rpc_client_send(c, "assess", pack_patient, "slow:3000", &id, &err), 0);
    sleep_ms(100);
    /* SIGINT is graceful too. */
    ck_assert_int_eq(kill(d.pid, SIGINT), 0);
    ck_assert_int_eq(daemon_stop(&d, SIGINT, 30), 0);
    ck_assert(daemon_log_contains(&d, "shutdown deadline reached"));
    /* Even cut short, the exit closes every handle it opened. */
    ck_assert(!daemon_log_contains(&d, "handles still open"));
    rpc_client_free(c);
    proto_error_close(&err);
}
END_TEST

/* server_init fails after reading the token (the decision log cannot be
 * opened): it says why, exits 1, and leaves nothing open behind it (under
 * AddressSanitizer a leaked token or handle fails the exit too). */
START_TEST(failed_init_releases_everything)
{
    daemon_prepare(&d);
    char tok[400], dlog[400];
    snprintf(tok, sizeof tok, "%s/token", d.dir);
    write_file(tok, "s3cret-token\n");
    snprintf(dlog, sizeof dlog, "%s/no-such-dir/decisions.jsonl", d.dir);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--token-file", tok, "--decision-log",
                                  dlog, NULL), -1);
    ck_assert_int_eq(d.status, 1);
    ck_assert(daemon_log_contains(&d, "cannot open --decision-log"));
    ck_assert(!daemon_log_contains(&d, "handles still open"));
    ck_assert(!daemon_log_contains(&d, "LeakSanitizer"));
}
END_TEST

START_TEST(admin_refused_on_tcp)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    struct rpc_client *c;
    ck_assert_int_eq(reload_call(d.tcp_addr, &err, &res, &c), PROTO_E_NOT_PERMITTED);
    proto_error_close(&err);
    /* The connection stays usable for everything else. */
    call_ok(c, "stats", pack_no_params, NULL, &res);
    ck_assert_int_eq(obj_int_at(&res, "reloads.ok"), 0);
    rpc_client_free(c);
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), 0);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(stale_socket_is_replaced)
{
    daemon_prepare(&d);
    /* A socket file nobody listens on, as a crash leaves it. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(d.sock), sizeof sa.sun_path);
    memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    ck_assert(daemon_log_contains(&d, "stale socket"));
    struct rpc_client *c = client_open(d.unix_addr);
    msgpack_object res;
    call_ok(c, "ping", pack_no_params, NULL, &res);
    rpc_client_free(c);

    /* kill -9, then restart at once. */
    ck_assert_int_eq(daemon_stop(&d, SIGKILL, 20), -1);
    struct stat sb;
    ck_assert_int_eq(stat(d.sock, &sb), 0);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    c = client_open(d.unix_addr);
    call_ok(c, "ping", pack_no_params, NULL, &res);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(live_daemon_is_not_replaced)
{
    ck_assert_int_eq(daemon_start(&d, harness_rules(), NULL), 0);
    daemon_prepare(&d2);
    ck_assert_int_eq(daemon_start(&d2, harness_rules(), "--socket", d.sock, NULL), -1);
    ck_assert_int_ne(d2.status, 0);
    ck_assert(daemon_log_contains(&d2, "already listening"));
    /* The first daemon and its socket file are untouched. */
    struct rpc_client *c = client_open(d.unix_addr);
    msgpack_object res;
    call_ok(c, "ping", pack_no_params, NULL, &res);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
}
END_TEST

START_TEST(drops_root_to_user)
{
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || !pw) {
        /* Say so: a silent return would read as a pass. */
        printf("drop_root: SKIPPED: needs root and a \"nobody\" user\n");
        return;
    }
    uid_t uid = pw->pw_uid;
    daemon_prepare(&d);
    /* The dropped user must be able to remove its socket at exit. */
    ck_assert_int_eq(chmod(d.dir, 0777), 0);
    ck_assert_int_eq(daemon_start(&d, harness_rules(), "--user", "nobody", NULL), 0);
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)d.pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    unsigned r = 0, e = 0, s = 0, fs = 0;
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &fs) == 4)
            found = true;
    fclose(f);
    ck_assert(found);
    ck_assert_uint_eq(r, uid);
    ck_assert_uint_eq(e, uid);
    ck_assert_uint_eq(s, uid);
    struct stat sb;
    ck_assert_int_eq(stat(d.sock, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0660);
    ck_assert_uint_eq(sb.st_uid, uid);
    struct rpc_client *c = client_open(d.unix_addr);
    msgpack_object res;
    call_ok(c, "assess", pack_isotretinoin, NULL, &res);
    rpc_client_free(c);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 20), 0);
    ck_assert_int_ne(stat(d.sock, &sb), 0);
}
END_TEST

#ifdef SUITD_TEST_SYSTEMD
/* The next datagram on fd holding want (those before it are skipped), in
 * out; false after timeout_ms without one. */
static bool recv_notify_msg(int fd, const char *want, char *out, size_t len, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        ssize_t n = recv(fd, out, len - 1, MSG_DONTWAIT);
        if (n > 0) {
            out[n] = '\0';
            if (strstr(out, want))
                return true;
            continue;
        }
        sleep_ms(50);
    }
    return false;
}

static bool recv_notify(int fd, const char *want, int timeout_ms)
{
    char buf[2048];
    return recv_notify_msg(fd, want, buf, sizeof buf, timeout_ms);
}

/* A datagram socket at DIR/notify for NOTIFY_SOCKET, bound; its path in
 * path. */
static int notify_socket(const char *dir, char *path, size_t len)
{
    snprintf(path, len, "%s/notify", dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* The STATUS= line of a notify message, up to its newline. */
static void status_of(const char *msg, char *out, size_t len)
{
    const char *s = strstr(msg, "STATUS=");
    ck_assert_msg(s != NULL, "no STATUS= in %s", msg);
    s += strlen("STATUS=");
    snprintf(out, len, "%.*s", (int)strcspn(s, "\n"), s);
}

/* "serving daemon-test VERSION (SHA12); last reload YYYY-MM-DD HH:MM:SS
 * " followed by what: the STATUS line after a reload. */
static void assert_last_reload(const char *status, const char *version, const char *sha12,
                               const char *what)
{
    char head[200];
    snprintf(head, sizeof head, "serving daemon-test %s (%s); last reload ", version, sha12);
    ck_assert_msg(!strncmp(status, head, strlen(head)), "STATUS=%s, expected %s...", status,
                  head);
    const char *at = status + strlen(head);
    int y, mo, dd, h, mi, se, n = 0;
    ck_assert_msg(sscanf(at, "%4d-%2d-%2d %2d:%2d:%2d %n", &y, &mo, &dd, &h, &mi, &se, &n) == 6 &&
                  n == 20, "no date and time in STATUS=%s", status);
    ck_assert_msg(!strcmp(at + n, what), "STATUS=%s, expected ... %s", status, what);
}

static void ping_sha12(const char *addr, char *out, size_t len)
{
    struct rpc_client *c = client_open(addr);
    msgpack_object res;
    call_ok(c, "ping", pack_no_params, NULL, &res);
    const msgpack_object *v = obj_get(obj_get(&res, "ruleset"), "sha256");
    ck_assert(v && v->type == MSGPACK_OBJECT_STR && v->via.str.size == 64);
    snprintf(out, len, "%.12s", v->via.str.ptr);
    rpc_client_free(c);
}

/* Issue 17 item 7: RELOADING=1, then READY=1, around every reload, and a
 * STATUS= line that says what serves and how the last reload went (taken,
 * refused, timed out), which `systemctl status suitd` shows. */
START_TEST(notify_status_reports_reloads)
{
    char rules[400], path[600], npath[400], msg[2048], status[2048], sha[16], sha2[16];
    rules_copy(rules, sizeof rules);
    int nfd = notify_socket(d.dir, npath, sizeof npath);
    setenv("NOTIFY_SOCKET", npath, 1);
    int rc = daemon_start(&d, rules, "--workers", "1", "--reload-timeout", "1",
                          "--rule-deadline", "1500", NULL);
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(rc, 0);
    ping_sha12(d.unix_addr, sha, sizeof sha);
    ck_assert(recv_notify_msg(nfd, "READY=1", msg, sizeof msg, 30000));
    status_of(msg, status, sizeof status);
    char want[200];
    snprintf(want, sizeof want, "serving daemon-test 1.0.0 (%s)", sha);
    ck_assert_str_eq(status, want);

    /* Refused: a case that fails. */
    char cases[600], saved[600];
    snprintf(cases, sizeof cases, "%s/tests/cases.json", rules);
    snprintf(saved, sizeof saved, "%s/cases.json.good", d.dir);
    copy_tree(cases, saved);
    write_file(cases, "[{\"name\": \"wrong on purpose\", \"patient\": {\"age\": 30, "
                      "\"pregnant\": true, \"breastfeeding\": false, \"fitzpatrick\": 2, "
                      "\"area\": \"face\", \"indication\": \"fine-lines\"}, "
                      "\"expect\": {\"verdict\": \"suitable\"}}]\n");
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    struct rpc_client *c;
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), PROTO_E_RULESET);
    rpc_client_free(c);
    proto_error_close(&err);
    ck_assert(recv_notify_msg(nfd, "RELOADING=1", msg, sizeof msg, 10000));
    ck_assert_msg(strstr(msg, "MONOTONIC_USEC="), "%s", msg);
    status_of(msg, status, sizeof status);
    snprintf(want, sizeof want, "reloading; serving daemon-test 1.0.0 (%s)", sha);
    ck_assert_str_eq(status, want);
    ck_assert(recv_notify_msg(nfd, "READY=1", msg, sizeof msg, 10000));
    status_of(msg, status, sizeof status);
    assert_last_reload(status, "1.0.0", sha, "refused: 1 test case failed (see suitd test)");

    /* Taken: a new version. */
    copy_tree(saved, cases);
    set_version(rules, "1.0.1");
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), 0);
    rpc_client_free(c);
    ping_sha12(d.unix_addr, sha2, sizeof sha2);
    ck_assert_str_ne(sha, sha2);
    ck_assert(recv_notify_msg(nfd, "READY=1", msg, sizeof msg, 10000));
    status_of(msg, status, sizeof status);
    assert_last_reload(status, "1.0.1", sha2, "ok: 7 cases passed");

    /* Timed out: cases that outlast --reload-timeout. */
    snprintf(path, sizeof path, "%s", rules);
    testutil_write_slow_cases(path, 3);
    ck_assert_int_eq(reload_call(d.unix_addr, &err, &res, &c), PROTO_E_TIMEOUT);
    rpc_client_free(c);
    proto_error_close(&err);
    ck_assert(recv_notify_msg(nfd, "READY=1", msg, sizeof msg, 10000));
    status_of(msg, status, sizeof status);
    assert_last_reload(status, "1.0.1", sha2, "timed out after 1 s (--reload-timeout): "
                       "abandoned, the old ruleset keeps serving");
    ck_assert_int_eq(stats_int(&d, "reloads.timed_out"), 1);

    kill(d.pid, SIGTERM);
    ck_assert(recv_notify_msg(nfd, "STOPPING=1", msg, sizeof msg, 30000));
    status_of(msg, status, sizeof status);
    ck_assert_msg(!strncmp(status, "stopping; serving daemon-test 1.0.1", 35), "%s", status);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
    close(nfd);
}
END_TEST

/* Under systemd: the listening socket comes as fd 3 (LISTEN_FDS) and the
 * daemon reports READY=1 / STOPPING=1 on NOTIFY_SOCKET. */
START_TEST(systemd_socket_activation_and_notify)
{
    daemon_prepare(&d);
    char npath[400];
    int nfd = notify_socket(d.dir, npath, sizeof npath);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 64), 0);

    int logfd = open(d.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(lfd, 3);           /* dup2 clears close-on-exec */
        dup2(logfd, 2);
        char num[32];
        snprintf(num, sizeof num, "%d", (int)getpid());
        setenv("LISTEN_PID", num, 1);
        setenv("LISTEN_FDS", "1", 1);
        setenv("NOTIFY_SOCKET", npath, 1);
        execl(getenv("SUITD_BIN"), "suitd", "serve", "--rules", harness_rules(), (char *)NULL);
        _exit(127);
    }
    close(logfd);
    close(lfd);
    d.pid = pid;
    ck_assert(recv_notify(nfd, "READY=1", 30000));
    ck_assert(daemon_log_contains(&d, "listening on unix:"));
    ck_assert(daemon_log_contains(&d, "from systemd"));

    struct rpc_client *c = client_open(d.unix_addr);
    msgpack_object res;
    call_ok(c, "ping", pack_no_params, NULL, &res);
    call_ok(c, "reload", pack_no_params, NULL, &res);   /* Unix socket: admin */
    rpc_client_free(c);

    kill(d.pid, SIGTERM);
    ck_assert(recv_notify(nfd, "STOPPING=1", 30000));
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
    close(nfd);
}
END_TEST
#endif

static Suite *suite(void)
{
    const struct testutil_case cases[] = {
        {"hot_reload", hot_reload_under_load_loses_nothing},
        {"serving_threads", serving_threads_share_the_work},
        {"broken_reload", broken_reload_keeps_old_ruleset},
        {"sigterm", sigterm_answers_inflight_then_exits},
        {"shutdown_deadline", shutdown_deadline_bounds_the_wait},
        {"admin_tcp", admin_refused_on_tcp},
        {"failed_init", failed_init_releases_everything},
        {"stale_socket", stale_socket_is_replaced},
        {"live_socket", live_daemon_is_not_replaced},
        {"drop_root", drops_root_to_user},
#ifdef SUITD_TEST_SYSTEMD
        {"systemd", systemd_socket_activation_and_notify},
        {"notify_status", notify_status_reports_reloads},
#endif
    };
    return testutil_suite("daemon_ops", cases, sizeof cases / sizeof cases[0], 180, teardown);
}

int main(void)
{
    return testutil_run(suite());
}
