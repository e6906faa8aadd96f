/*
 * harness.c: see harness.h.
 */
#include "harness.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

const char *harness_source_path(char *buf, size_t n, const char *rel)
{
    const char *src = getenv("SUITD_SOURCE_DIR");
    ck_assert_msg(src != NULL, "SUITD_SOURCE_DIR is not set (run through ctest)");
    snprintf(buf, n, "%s/%s", src, rel);
    return buf;
}

const char *harness_rules(void)
{
    static char path[1024];
    return harness_source_path(path, sizeof path, "tests/daemon/rulesets/contract");
}

void daemon_prepare(struct daemon *d)
{
    if (d->dir[0])
        return;
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/suitd-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->dir));
    snprintf(d->sock, sizeof d->sock, "%s/suitd.sock", d->dir);
    snprintf(d->log, sizeof d->log, "%s/stderr.log", d->dir);
    snprintf(d->unix_addr, sizeof d->unix_addr, "unix:%s", d->sock);
}

bool daemon_log_contains(const struct daemon *d, const char *needle)
{
    char *text = testutil_slurp(d->log);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

bool daemon_running(struct daemon *d)
{
    if (d->pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(d->pid, &st, WNOHANG);
    if (r == d->pid) {
        d->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        d->pid = 0;
        return false;
    }
    return true;
}

int daemon_start(struct daemon *d, const char *rules, ...)
{
    daemon_prepare(d);
    const char *bin = getenv("SUITD_BIN");
    ck_assert_msg(bin != NULL, "SUITD_BIN is not set (run through ctest)");
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "serve";
    argv[n++] = "--rules";
    argv[n++] = rules;
    bool has_socket = false, has_listen = false;
    va_list ap;
    va_start(ap, rules);
    const char *a;
    const char *extra[48];
    int n_extra = 0;
    while ((a = va_arg(ap, const char *)) && n_extra < 48) {
        if (!strcmp(a, "--socket"))
            has_socket = true;
        if (!strcmp(a, "--listen"))
            has_listen = true;
        extra[n_extra++] = a;
    }
    va_end(ap);
    if (!has_socket) {
        argv[n++] = "--socket";
        argv[n++] = d->sock;
    }
    if (!has_listen) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    for (int i = 0; i < n_extra; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    /* Truncated here, not in the child: the wait below must never read the
     * previous run's "ready" line. */
    int logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(logfd, 0);
    d->port = 0;
    d->tcp_addr[0] = '\0';
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(logfd, 2);
        close(logfd);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        /* Never inherit a systemd socket-activation environment. */
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    d->pid = pid;
    /* Wait for the ready line (generous: sanitizer builds start slowly). */
    for (int i = 0; i < 3000; i++) {
        char *text = testutil_slurp(d->log);
        if (text && strstr(text, "suitd: ready (")) {
            const char *p = strstr(text, "listening on tcp:");
            if (p) {
                p += strlen("listening on tcp:");
                size_t len = strcspn(p, "\n");
                snprintf(d->tcp_addr, sizeof d->tcp_addr, "%.*s", (int)len, p);
                const char *colon = strrchr(d->tcp_addr, ':');
                d->port = colon ? atoi(colon + 1) : 0;
            }
            free(text);
            return 0;
        }
        free(text);
        if (!daemon_running(d))
            return -1;
        sleep_ms(10);
    }
    ck_abort_msg("suitd did not get ready within 30 s");
    return -1;
}

int daemon_stop(struct daemon *d, int sig, int timeout_s)
{
    if (d->pid <= 0)
        return d->status;
    kill(d->pid, sig);
    for (int i = 0; i < timeout_s * 100; i++) {
        int st;
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid) {
            d->pid = 0;
            d->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            if (WIFSIGNALED(st))
                fprintf(stderr, "suitd died by signal %d\n", WTERMSIG(st));
            return d->status;
        }
        sleep_ms(10);
    }
    return -1;
}

void daemon_cleanup(struct daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    if (d->dir[0]) {
        /* Show the daemon's log when a test fails, then remove the dir. */
        if (getenv("SUITD_TEST_SHOW_LOG")) {
            char *text = testutil_slurp(d->log);
            if (text)
                fprintf(stderr, "---- suitd log ----\n%s-------------------\n", text);
            free(text);
        }
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", d->dir);
        d->dir[0] = '\0';
    }
}

struct rpc_client *client_open(const char *addr)
{
    struct rpc_client *c = NULL;
    struct proto_error err;
    proto_error_init(&err);
    int rc = rpc_client_connect(addr, 20000, &c, &err);
    ck_assert_msg(rc == 0, "connect %s: %s", addr, err.message);
    proto_error_close(&err);
    return c;
}

void pack_no_params(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 0);
}

static void pack_base_patient(msgpack_packer *pk, int extra)
{
    msgpack_pack_map(pk, 6 + extra);
    proto_pack_str(pk, "age");
    msgpack_pack_int(pk, 30);
    proto_pack_str(pk, "pregnant");
    msgpack_pack_false(pk);
    proto_pack_str(pk, "breastfeeding");
    msgpack_pack_false(pk);
    proto_pack_str(pk, "fitzpatrick");
    msgpack_pack_int(pk, 2);
    proto_pack_str(pk, "area");
    proto_pack_str(pk, "face");
    proto_pack_str(pk, "indication");
    proto_pack_str(pk, "fine-lines");
}

void pack_patient(msgpack_packer *pk, void *arg)
{
    const char *cond = arg;
    msgpack_pack_array(pk, 1);
    pack_base_patient(pk, cond ? 1 : 0);
    if (!cond)
        return;
    proto_pack_str(pk, "conditions");
    msgpack_pack_array(pk, 1);
    const char *colon = strchr(cond, ':');
    msgpack_pack_map(pk, colon ? 2 : 1);
    proto_pack_str(pk, "name");
    if (colon) {
        msgpack_pack_str(pk, (size_t)(colon - cond));
        msgpack_pack_str_body(pk, cond, (size_t)(colon - cond));
        proto_pack_str(pk, "days_ago");
        msgpack_pack_int(pk, atoi(colon + 1));
    } else {
        proto_pack_str(pk, cond);
    }
}

void pack_isotretinoin(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 1);
    pack_base_patient(pk, 1);
    proto_pack_str(pk, "medications");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 2);
    proto_pack_str(pk, "name");
    proto_pack_str(pk, "isotretinoin");
    proto_pack_str(pk, "days_since_last_dose");
    msgpack_pack_int(pk, 100);
}

int call_ok(struct rpc_client *c, const char *method, rpc_pack_params_fn fn, void *arg,
            msgpack_object *result)
{
    struct proto_error err;
    proto_error_init(&err);
    msgpack_object res;
    int rc = rpc_client_call(c, method, fn, arg, &res, &err);
    ck_assert_msg(rc == 0, "%s failed: %d %s", method, rc, err.message);
    proto_error_close(&err);
    if (result)
        *result = res;
    return rc;
}

const msgpack_object *obj_get(const msgpack_object *o, const char *key)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            !memcmp(k->via.str.ptr, key, n))
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

bool obj_is_str(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           !memcmp(o->via.str.ptr, s, o->via.str.size);
}

int64_t obj_int_at(const msgpack_object *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        o = obj_get(o, k);
        if (!o)
            return -1;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return -1;
}

int64_t stats_int(const struct daemon *d, const char *path)
{
    struct rpc_client *c = client_open(d->unix_addr);
    msgpack_object res;
    call_ok(c, "stats", pack_no_params, NULL, &res);
    int64_t v = obj_int_at(&res, path);
    rpc_client_free(c);
    return v;
}

int error_code_of(const msgpack_object *err)
{
    if (!err || err->type == MSGPACK_OBJECT_NIL)
        return 0;
    const msgpack_object *code = obj_get(err, "code");
    ck_assert_ptr_nonnull(code);
    return code->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (int)code->via.i64
                                                         : (int)code->via.u64;
}

void copy_tree(const char *from, const char *to)
{
    testutil_copy_tree(from, to);
}

void write_file(const char *path, const char *text)
{
    testutil_write_file(path, "w", text);
}

void append_file(const char *path, const char *text)
{
    testutil_write_file(path, "a", text);
}
