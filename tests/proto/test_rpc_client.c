/*
 * test_rpc_client.c: the blocking client against a tiny server in a child
 * process on a real Unix socket.  The server answers "echo" with its
 * params, "fail" with an error object, "later" only after the next request
 * (so responses arrive out of order), sends a notification before
 * answering "chatty", and never answers "hang".
 */
#include "proto_test_util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc_client.h"

struct server {
    char dir[64];
    char path[128];     /* the address to connect to */
    pid_t pid;
};

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            _exit(3);
        p += w;
        n -= (size_t)w;
    }
}

static void serve(int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        _exit(2);
    struct proto_decoder *d;
    if (proto_decoder_create(NULL, &d) < 0)
        _exit(2);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_sbuffer held;   /* the "later" response, sent after the next one */
    msgpack_sbuffer_init(&held);
    for (;;) {
        char *buf;
        size_t cap;
        if (proto_decoder_reserve(d, 4096, &buf, &cap) < 0)
            _exit(4);
        ssize_t n = read(fd, buf, cap);
        if (n <= 0)
            break;
        proto_decoder_commit(d, (size_t)n);
        msgpack_object o;
        int rc;
        while ((rc = proto_decoder_next(d, &o)) == 1) {
            struct proto_message m;
            struct proto_error e;
            proto_error_init(&e);
            if (proto_message_parse(&o, &m, &e) < 0 || m.type != PROTO_REQUEST)
                _exit(5);
            msgpack_sbuffer_clear(&sb);
            if (proto_method_is(&m, "hang"))
                continue;
            if (proto_method_is(&m, "chatty")) {
                msgpack_pack_array(&pk, 3);
                msgpack_pack_uint8(&pk, 2);
                proto_pack_str(&pk, "progress");
                msgpack_pack_array(&pk, 0);
            }
            if (proto_method_is(&m, "fail")) {
                proto_error_set(&e, PROTO_E_INVALID_PARAMS, "age: expected an integer from 0 to 150");
                proto_error_set_field(&e, "age");
                proto_pack_error_response(&pk, m.msgid, &e);
                proto_error_close(&e);
            } else {
                proto_pack_result_header(&pk, m.msgid);
                msgpack_pack_object(&pk, m.params);
            }
            if (proto_method_is(&m, "later")) {
                msgpack_sbuffer_write(&held, sb.data, sb.size);
                continue;
            }
            write_all(fd, sb.data, sb.size);
            if (held.size) {
                write_all(fd, held.data, held.size);
                msgpack_sbuffer_clear(&held);
            }
        }
        if (rc < 0)
            _exit(6);
    }
    _exit(0);
}

/* Runs serve() on the listening socket lfd in a child process. */
static void server_fork(struct server *s, int lfd)
{
    /* Check's runner handles SIGTERM by killing the whole process group;
     * the server must just die when told to.  SIGTERM stays blocked until
     * the child has reset it: a server_stop right after the fork must not
     * reach Check's handler (it did, now and then, killing the test). */
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &term, &old), 0);
    s->pid = fork();
    if (s->pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        serve(lfd);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    ck_assert_int_ge(s->pid, 0);
    close(lfd);
}

static void server_start(struct server *s)
{
    strcpy(s->dir, "/tmp/suitd-proto-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    strcpy(sun.sun_path, s->path);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    server_fork(s, lfd);
}

/* The same server on TCP loopback, on a port the kernel picks. */
static void server_start_tcp(struct server *s)
{
    s->dir[0] = '\0';
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    snprintf(s->path, sizeof(s->path), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
    server_fork(s, lfd);
}

static int server_stop(struct server *s)
{
    int status = 0;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &status, 0);
    if (s->dir[0]) {
        unlink(s->path);
        rmdir(s->dir);
    }
    return status;
}

static void pack_echo(msgpack_packer *pk, void *arg)
{
    msgpack_pack_array(pk, 2);
    proto_pack_str(pk, arg);
    msgpack_pack_uint32(pk, 123456);
}

START_TEST(call_and_error)
{
    struct server s;
    server_start(&s);
    struct rpc_client *c;
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(rpc_client_connect(s.path, 5000, &c, &e), 0);
    ck_assert_int_ge(rpc_client_fd(c), 0);

    msgpack_object r;
    ck_assert_int_eq(rpc_client_call(c, "echo", pack_echo, "hello", &r, &e), 0);
    ck_assert_int_eq(r.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_obj_str(&r.via.array.ptr[0], "hello");
    ck_assert_uint_eq(r.via.array.ptr[1].via.u64, 123456);

    ck_assert_int_eq(rpc_client_call(c, "fail", NULL, NULL, &r, &e), PROTO_E_INVALID_PARAMS);
    ck_assert_int_eq(e.code, PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(e.message, "age: expected an integer from 0 to 150");
    ck_assert_str_eq(e.field, "age");
    proto_error_close(&e);

    /* notifications from the server are skipped */
    ck_assert_int_eq(rpc_client_call(c, "chatty", pack_echo, "x", &r, &e), 0);
    ck_assert_obj_str(&r.via.array.ptr[0], "x");
    rpc_client_free(c);
    server_stop(&s);
}
END_TEST

START_TEST(pipelined_out_of_order)
{
    struct server s;
    server_start(&s);
    struct rpc_client *c;
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(rpc_client_connect(s.path, 5000, &c, &e), 0);
    uint32_t id1, id2;
    ck_assert_int_eq(rpc_client_send(c, "later", pack_echo, "first", &id1, &e), 0);
    ck_assert_int_eq(rpc_client_send(c, "echo", pack_echo, "second", &id2, &e), 0);
    /* msgids count up from 1 */
    ck_assert_uint_eq(id1, 1);
    ck_assert_uint_eq(id2, 2);
    struct proto_message m;
    ck_assert_int_eq(rpc_client_recv(c, &m, &e), 0);
    ck_assert_uint_eq(m.msgid, 2);
    ck_assert_obj_str(&m.result.via.array.ptr[0], "second");
    ck_assert_int_eq(rpc_client_recv(c, &m, &e), 0);
    ck_assert_uint_eq(m.msgid, 1);
    ck_assert_obj_str(&m.result.via.array.ptr[0], "first");
    rpc_client_free(c);
    server_stop(&s);
}
END_TEST

START_TEST(timeout_and_close)
{
    struct server s;
    server_start(&s);
    struct rpc_client *c;
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(rpc_client_connect(s.path, 200, &c, &e), 0);
    msgpack_object r;
    ck_assert_int_eq(rpc_client_call(c, "hang", NULL, NULL, &r, &e), -ETIMEDOUT);
    ck_assert_int_eq(e.code, PROTO_E_TIMEOUT);
    /* server goes away: recv reports the closed connection */
    kill(s.pid, SIGKILL);
    struct proto_message m;
    int rc = rpc_client_recv(c, &m, &e);
    ck_assert_int_eq(rc, -ECONNRESET);
    rpc_client_free(c);
    server_stop(&s);
}
END_TEST

/* rpc_client_set_timeout: a long connect timeout, then a short one for
 * answers (what suit-httpd does). */
START_TEST(timeout_changed_after_connect)
{
    struct server s;
    server_start(&s);
    struct rpc_client *c;
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(rpc_client_connect(s.path, 20000, &c, &e), 0);
    rpc_client_set_timeout(c, 150);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    msgpack_object r;
    ck_assert_int_eq(rpc_client_call(c, "hang", NULL, NULL, &r, &e), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_msg(ms >= 140 && ms < 5000, "waited %.0f ms, not about 150", ms);
    ck_assert_msg(strstr(e.message, "150 ms"), "%s", e.message);
    rpc_client_free(c);
    proto_error_close(&e);
    server_stop(&s);
}
END_TEST

START_TEST(over_tcp)
{
    struct server s;
    server_start_tcp(&s);
    struct rpc_client *c;
    struct proto_error e;
    proto_error_init(&e);
    char addr[160];
    /* both spellings, host:port and tcp:host:port; the server takes one
     * connection, so each gets a fresh one */
    for (int i = 0; i < 2; i++) {
        if (i == 1) {
            server_stop(&s);
            server_start_tcp(&s);
        }
        snprintf(addr, sizeof(addr), "%s%s", i ? "tcp:" : "", s.path);
        ck_assert_msg(rpc_client_connect(addr, 5000, &c, &e) == 0, "%s: %s", addr, e.message);
        msgpack_object r;
        ck_assert_int_eq(rpc_client_call(c, "echo", pack_echo, "over tcp", &r, &e), 0);
        ck_assert_obj_str(&r.via.array.ptr[0], "over tcp");
        rpc_client_free(c);
    }
    server_stop(&s);
}
END_TEST

START_TEST(bad_addresses)
{
    struct rpc_client *c = (struct rpc_client *)1;
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_lt(rpc_client_connect("/nonexistent/suitd.sock", 1000, &c, &e), 0);
    ck_assert_ptr_null(c);
    ck_assert(strstr(e.message, "cannot connect to unix:/nonexistent/suitd.sock") != NULL);
    ck_assert_int_eq(rpc_client_connect("tcp:nohostport", 1000, &c, &e), -EINVAL);
    ck_assert_int_lt(rpc_client_connect("", 1000, &c, &e), 0);
    /* nothing listens on port 1 of loopback */
    ck_assert_int_lt(rpc_client_connect("127.0.0.1:1", 1000, &c, &e), 0);
    proto_error_close(&e);
}
END_TEST

START_TEST(error_objects_from_other_servers)
{
    struct tbuf t;
    tbuf_init(&t);
    pk_str(&t.pk, "plain string error");
    msgpack_unpacked u;
    decode_whole(t.sb.data, t.sb.size, &u);
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(rpc_error_from_object(&u.data, &e), PROTO_E_INTERNAL);
    ck_assert_str_eq(e.message, "plain string error");
    msgpack_unpacked_destroy(&u);
    proto_error_close(&e);
    tbuf_close(&t);
}
END_TEST

/* Writes text to a fresh temp file and reads it back as a token. */
static int token_of(const char *text, size_t len, char *buf, size_t n)
{
    char path[] = "/tmp/suitd-token-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
    int rc = proto_token_read(path, buf, n);
    unlink(path);
    return rc;
}

START_TEST(token_files)
{
    char buf[8];
    ck_assert_int_eq(token_of("s3cret\n", 7, buf, sizeof buf), 6);
    ck_assert_str_eq(buf, "s3cret");
    char big[16];
    ck_assert_int_eq(token_of("ab cd \r\n\t", 9, big, sizeof big), 5);
    ck_assert_str_eq(big, "ab cd");
    /* exactly n - 1 bytes fit; one more does not, and the buffer is wiped */
    ck_assert_int_eq(token_of("1234567", 7, buf, sizeof buf), 7);
    ck_assert_str_eq(buf, "1234567");
    ck_assert_int_eq(token_of("12345678", 8, buf, sizeof buf), PROTO_E_TOO_LARGE);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(token_of(" \n\n", 3, buf, sizeof buf), PROTO_E_INVALID_PARAMS);
    ck_assert_int_eq(proto_token_read("/nonexistent/suitd-token", buf, sizeof buf), -ENOENT);
}
END_TEST

/* A name under .invalid never resolves (RFC 6761): the error says so, and
 * is not mistaken for "No route to host". */
START_TEST(host_does_not_resolve)
{
    struct rpc_client *c;
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(rpc_client_connect("tcp:nosuch.invalid:7433", 5000, &c, &e), RPC_E_NOHOST);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(e.message, "cannot resolve host 'nosuch.invalid': "), "%s", e.message);
    ck_assert_ptr_null(strstr(e.message, "route"));
    proto_error_close(&e);
}
END_TEST

/* A Unix socket that listens, bound in dir (mode 0755 so that another
 * user can look inside) with the given mode. */
static void unix_server_at(struct server *s, const char *path, mode_t mode)
{
    s->dir[0] = '\0';
    snprintf(s->path, sizeof s->path, "%s", path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    server_fork(s, lfd);
}

/* The candidates for a user with uid 4242 and XDG_RUNTIME_DIR=dir, with
 * the system socket and the TCP fallback moved to test addresses (the
 * real ones belong to the machine's daemon). */
static void test_candidates(struct proto_addr_list *l, const char *dir, const char *system,
                            const char *tcp)
{
    ck_assert_int_eq(proto_addr_candidates(l, NULL, NULL, dir, 4242, 0), 0);
    ck_assert_uint_eq(l->n, 3);
    ck_assert_int_eq(l->c[0].origin, PROTO_ADDR_USER);
    ck_assert_int_eq(l->c[1].origin, PROTO_ADDR_SYSTEM);
    ck_assert_str_eq(l->c[1].addr, "unix:" PROTO_SYSTEM_SOCKET);
    ck_assert_int_eq(l->c[2].origin, PROTO_ADDR_TCP_DEFAULT);
    ck_assert_str_eq(l->c[2].addr, "tcp:" PROTO_DEFAULT_TCP);
    snprintf(l->c[1].addr, sizeof l->c[1].addr, "unix:%s", system);
    snprintf(l->c[2].addr, sizeof l->c[2].addr, "tcp:%s", tcp);
}

/* Runs rpc_client_connect_first on l as user nobody when root (so that a
 * socket's mode counts), and returns "rc0,rc1,...>chosen" for the
 * attempts, e.g. "-2,-13,0>2". */
static void connect_first_as_user(const struct proto_addr_list *l, char *out, size_t n)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
            _exit(90);
        struct rpc_attempts t;
        struct rpc_client *c;
        int rc = rpc_client_connect_first(l, 2000, &c, &t);
        char buf[256];
        size_t k = 0;
        for (size_t i = 0; i < t.n; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%d", i ? "," : "", t.a[i].rc);
        snprintf(buf + k, sizeof buf - k, ">%d", rc == 0 ? (int)(t.n - 1) : rc);
        if (rc == 0)
            rpc_client_free(c);
        ssize_t w = write(p[1], buf, strlen(buf));
        _exit(w > 0 ? 0 : 91);
    }
    close(p[1]);
    ssize_t r = read(p[0], out, n - 1);
    out[r > 0 ? r : 0] = '\0';
    close(p[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: %d", st);
}

/* The default order on real sockets: the user's own socket, then the
 * system socket, then TCP; the search moves on past a missing socket, a
 * refused connection and a socket this user may not use, and stops at
 * anything else. */
START_TEST(connect_first_order)
{
    char dir[] = "/tmp/suitd-order-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    char own[96], sys[96], got[256], want[64];
    snprintf(own, sizeof own, "%s/suitd.sock", dir);
    snprintf(sys, sizeof sys, "%s/system.sock", dir);
    struct server tcp, un;
    struct proto_addr_list l;

    /* Own socket missing, system socket not ours (0600, another owner when
     * root): TCP answers. */
    server_start_tcp(&tcp);
    unix_server_at(&un, sys, 0600);
    if (geteuid() != 0)
        ck_assert_int_eq(chmod(sys, 0000), 0);
    test_candidates(&l, dir, sys, tcp.path);
    connect_first_as_user(&l, got, sizeof got);
    snprintf(want, sizeof want, "%d,%d,0>2", -ENOENT, -EACCES);
    ck_assert_str_eq(got, want);
    server_stop(&un);
    unlink(sys);

    /* The system socket, once usable, comes before TCP. */
    unix_server_at(&un, sys, 0666);
    test_candidates(&l, dir, sys, tcp.path);
    connect_first_as_user(&l, got, sizeof got);
    snprintf(want, sizeof want, "%d,0>1", -ENOENT);
    ck_assert_str_eq(got, want);
    server_stop(&un);
    unlink(sys);

    /* The user's own socket comes first. */
    unix_server_at(&un, own, 0666);
    test_candidates(&l, dir, sys, tcp.path);
    connect_first_as_user(&l, got, sizeof got);
    ck_assert_str_eq(got, "0>0");
    server_stop(&un);
    unlink(own);
    server_stop(&tcp);

    /* Nothing anywhere: a stale socket file (nobody listens: refused) and
     * a TCP port nobody listens on. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sys);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    ck_assert_int_eq(chmod(sys, 0666), 0);
    close(fd);
    test_candidates(&l, dir, sys, "127.0.0.1:1");
    connect_first_as_user(&l, got, sizeof got);
    snprintf(want, sizeof want, "%d,%d,%d>%d", -ENOENT, -ECONNREFUSED, -ECONNREFUSED,
             -ECONNREFUSED);
    ck_assert_str_eq(got, want);
    unlink(sys);

    /* Any other failure ends the search: a path too long for a socket
     * does not fall through to a daemon that does listen. */
    unix_server_at(&un, own, 0666);
    test_candidates(&l, dir, sys, "127.0.0.1:1");
    char longp[200];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    snprintf(l.c[0].addr, sizeof l.c[0].addr, "unix:/%s", longp);
    snprintf(l.c[1].addr, sizeof l.c[1].addr, "unix:%s", own);
    connect_first_as_user(&l, got, sizeof got);
    snprintf(want, sizeof want, "%d>%d", -ENAMETOOLONG, -ENAMETOOLONG);
    ck_assert_str_eq(got, want);
    server_stop(&un);
    unlink(own);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("rpc_client");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, call_and_error);
    tcase_add_test(tc, pipelined_out_of_order);
    tcase_add_test(tc, timeout_and_close);
    tcase_add_test(tc, timeout_changed_after_connect);
    tcase_add_test(tc, over_tcp);
    tcase_add_test(tc, bad_addresses);
    tcase_add_test(tc, error_objects_from_other_servers);
    tcase_add_test(tc, token_files);
    tcase_add_test(tc, host_does_not_resolve);
    tcase_add_test(tc, connect_first_order);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return testutil_run(client_suite());
}
