/*
 * rpc_client.c: a small blocking MessagePack-RPC client.
 *
 * The socket is non-blocking and every wait goes through poll(), so that
 * connect and each receive honour the caller's timeout even when the
 * daemon hangs.  Responses are decoded by the same limit-checking decoder
 * the daemon uses (default limits), so a hostile server cannot make the
 * client allocate without bound either.
 */
/* struct ucred and SO_PEERCRED (Linux) */
#define _GNU_SOURCE
#include "rpc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct rpc_client {
    int fd;
    int timeout_ms;
    uint32_t next_msgid;
    struct proto_decoder *dec;
    msgpack_sbuffer out;
};

static int sys_err(struct proto_error *err, int errnum, const char *what)
{
    proto_error_set(err, PROTO_E_INTERNAL, "%s: %s", what, strerror(errnum));
    return -errnum;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until deadline (0 = forever).  Returns 0,
 * -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int t = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            t = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd p = { .fd = fd, .events = events };
        int rc = poll(&p, 1, t);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms > 0 ? now_ms() + timeout_ms : 0;
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

/* Non-blocking connect bounded by the deadline. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len, int64_t deadline)
{
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR)
        return -errno;
    int rc = wait_fd(fd, POLLOUT, deadline);
    if (rc < 0)
        return rc;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -errno;
    return soerr ? -soerr : 0;
}

/* The uid the configured service user has: $SUIT_SERVICE_USER (a name or
 * a number), else the package's user "suitd" if there is one; -1 when
 * neither names a user. */
static long service_uid(void)
{
    const char *name = getenv("SUIT_SERVICE_USER");
    if (!name || !*name)
        name = "suitd";
    char *end;
    errno = 0;
    unsigned long v = strtoul(name, &end, 10);
    if (!errno && *end == '\0' && end != name)
        return (long)v;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwnam_r(name, &pw, buf, sizeof buf, &res) != 0 || !res)
        return -1;
    return (long)res->pw_uid;
}

/* True when only root or this user can have put an entry at path: its
 * directory is owned by one of them and not writable by group or others,
 * and that directory cannot be swapped either (its own parent is not
 * writable by group or others, or is sticky, as /tmp is).  This is how a
 * socket that systemd binds in /run/suitd is trusted although the daemon,
 * which calls listen() on it again, runs as a transient user. */
static bool placed_by_trusted(const char *path, uid_t me)
{
    char dir[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof dir || path[0] != '/')
        return false;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        return false;           /* a socket in / itself: not the layout we ship */
    *slash = '\0';
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != me) ||
        (st.st_mode & (S_IWGRP | S_IWOTH)))
        return false;
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    return !(st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_mode & S_ISVTX);
}

/* Anyone may bind a socket at a path they can write to: before a patient
 * fact goes out, check who listens.  The daemon must run as this user,
 * root (the system daemon, whose sockets systemd binds) or the service
 * user.  RPC_E_UNTRUSTED (message in err) otherwise. */
static int check_peer(int fd, const char *path, struct proto_error *err)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        int e = errno;
        proto_error_set(err, PROTO_E_INTERNAL, "unix:%s: cannot tell who listens there: %s",
                        path, strerror(e));
        return -e;
    }
    uid_t me = geteuid();
    if (cred.uid == me || cred.uid == 0)
        return 0;
    long svc = service_uid();
    if (svc >= 0 && (uid_t)svc == cred.uid)
        return 0;
    if (placed_by_trusted(path, me))
        return 0;
    proto_error_set(err, PROTO_E_INTERNAL,
                    "unix:%s is served by uid %lu (pid %ld), which is neither this user, root "
                    "nor the service user (SUIT_SERVICE_USER), in a folder others can write to: "
                    "not sending anything to it",
                    path, (unsigned long)cred.uid, (long)cred.pid);
    return RPC_E_UNTRUSTED;
}

static int connect_unix(const char *path, int64_t deadline, struct proto_error *err)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        proto_error_set(err, PROTO_E_INTERNAL, "socket path too long (max %zu bytes): %s",
                        sizeof(sun.sun_path) - 1, path);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sys_err(err, errno, "socket");
    int rc = set_nonblocking(fd);
    if (rc == 0)
        rc = connect_fd(fd, (struct sockaddr *)&sun, sizeof(sun), deadline);
    if (rc < 0) {
        proto_error_set(err, PROTO_E_INTERNAL, "cannot connect to unix:%s: %s", path,
                        strerror(-rc));
        close(fd);
        return rc;
    }
    if ((rc = check_peer(fd, path, err)) < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

static int connect_tcp(const char *hostport, int64_t deadline, struct proto_error *err)
{
    char host[256];
    const char *port;
    if (hostport[0] == '[') {   /* [v6addr]:port */
        const char *end = strchr(hostport, ']');
        if (!end || end[1] != ':' || (size_t)(end - hostport - 1) >= sizeof(host))
            goto bad;
        memcpy(host, hostport + 1, (size_t)(end - hostport - 1));
        host[end - hostport - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(hostport, ':');
        if (!colon || (size_t)(colon - hostport) >= sizeof(host))
            goto bad;
        memcpy(host, hostport, (size_t)(colon - hostport));
        host[colon - hostport] = '\0';
        port = colon + 1;
    }
    if (!host[0] || !port[0])
        goto bad;

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        /* EAI_SYSTEM (resolver I/O) is the only failure that sets errno. */
        proto_error_set(err, PROTO_E_INTERNAL, "cannot resolve host '%s': %s", host,
                        gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return RPC_E_NOHOST;
    }
    int rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        rc = set_nonblocking(fd);
        if (rc == 0)
            rc = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, deadline);
        if (rc == 0) {
            freeaddrinfo(res);
            return fd;
        }
        close(fd);
        if (rc == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    proto_error_set(err, PROTO_E_INTERNAL, "cannot connect to tcp:%s: %s", hostport,
                    strerror(-rc));
    return rc;
bad:
    proto_error_set(err, PROTO_E_INTERNAL,
                    "bad address %s: expected unix:/path, /path, tcp:host:port or host:port",
                    hostport);
    return -EINVAL;
}

int rpc_client_connect(const char *addr, int timeout_ms, struct rpc_client **out,
                       struct proto_error *err)
{
    *out = NULL;
    if (!addr || !addr[0]) {
        proto_error_set(err, PROTO_E_INTERNAL, "empty address");
        return -EINVAL;
    }
    struct rpc_client *c = calloc(1, sizeof(*c));
    if (!c)
        return sys_err(err, ENOMEM, "rpc client");
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->next_msgid = 1;
    msgpack_sbuffer_init(&c->out);
    int rc = proto_decoder_create(NULL, &c->dec);
    if (rc < 0) {
        proto_error_set(err, rc, "out of memory");
        rpc_client_free(c);
        return rc;
    }

    int64_t deadline = deadline_of(timeout_ms);
    if (strncmp(addr, "unix:", 5) == 0)
        rc = connect_unix(addr + 5, deadline, err);
    else if (strncmp(addr, "tcp:", 4) == 0)
        rc = connect_tcp(addr + 4, deadline, err);
    else if (addr[0] == '/' || addr[0] == '.' || !strchr(addr, ':'))
        rc = connect_unix(addr, deadline, err);
    else
        rc = connect_tcp(addr, deadline, err);
    if (rc < 0) {
        rpc_client_free(c);
        return rc;
    }
    c->fd = rc;
    *out = c;
    return 0;
}

/* Failures that mean "no daemon of ours here": try the next candidate. */
static bool connect_try_next(int rc)
{
    return rc == -ENOENT || rc == -ECONNREFUSED || rc == -ENOTSOCK || rc == -ENOTDIR ||
           rc == -EACCES || rc == -EPERM;
}

int rpc_client_connect_first(const struct proto_addr_list *l, int timeout_ms,
                             struct rpc_client **out, struct rpc_attempts *tried)
{
    *out = NULL;
    memset(tried, 0, sizeof *tried);
    int rc = -ENOENT;
    for (size_t i = 0; i < l->n && i < PROTO_ADDR_MAX_CANDIDATES; i++) {
        struct rpc_attempt *a = &tried->a[tried->n++];
        struct proto_error e;
        proto_error_init(&e);
        a->cand = &l->c[i];
        rc = a->rc = rpc_client_connect(l->c[i].addr, timeout_ms, out, &e);
        if (rc)
            snprintf(a->message, sizeof a->message, "%s", e.message);
        proto_error_close(&e);
        if (rc == 0 || !connect_try_next(rc))
            return rc;
    }
    return rc;
}

void rpc_client_free(struct rpc_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    proto_decoder_free(c->dec);
    msgpack_sbuffer_destroy(&c->out);
    free(c);
}

int rpc_client_fd(const struct rpc_client *c)
{
    return c->fd;
}

void rpc_client_set_timeout(struct rpc_client *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

int rpc_client_send_raw(struct rpc_client *c, const void *buf, size_t len,
                        struct proto_error *err)
{
    const char *p = buf;
    int64_t deadline = deadline_of(c->timeout_ms);
    while (len > 0) {
        /* MSG_NOSIGNAL: a daemon that went away is an error, not SIGPIPE */
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(c->fd, POLLOUT, deadline);
            if (rc < 0)
                return sys_err(err, -rc, "send");
            continue;
        }
        return sys_err(err, n < 0 ? errno : EPIPE, "send");
    }
    return 0;
}

int rpc_client_send(struct rpc_client *c, const char *method, rpc_pack_params_fn fn,
                    void *arg, uint32_t *msgid, struct proto_error *err)
{
    uint32_t id = c->next_msgid;
    c->next_msgid = id == UINT32_MAX ? 1 : id + 1;
    msgpack_sbuffer_clear(&c->out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->out, msgpack_sbuffer_write);
    proto_pack_request_header(&pk, id, method);
    if (fn)
        fn(&pk, arg);
    else
        msgpack_pack_array(&pk, 0);
    if (msgid)
        *msgid = id;
    return rpc_client_send_raw(c, c->out.data, c->out.size, err);
}

int rpc_client_recv(struct rpc_client *c, struct proto_message *msg,
                    struct proto_error *err)
{
    int64_t deadline = deadline_of(c->timeout_ms);
    for (;;) {
        msgpack_object obj;
        int rc = proto_decoder_next(c->dec, &obj);
        if (rc < 0)
            return proto_error_set(err, rc, "bad data from server: %s",
                                   proto_decoder_error(c->dec));
        if (rc == 1) {
            rc = proto_message_parse(&obj, msg, err);
            if (rc < 0)
                return rc;
            if (msg->type == PROTO_RESPONSE)
                return 0;
            if (msg->type == PROTO_NOTIFY)
                continue;   /* nothing is expected from the server; ignore */
            return proto_error_set(err, PROTO_E_INVALID_REQUEST,
                                   "server sent a request, expected a response");
        }
        rc = wait_fd(c->fd, POLLIN, deadline);
        if (rc == -ETIMEDOUT) {
            proto_error_set(err, PROTO_E_TIMEOUT, "no response within %d ms", c->timeout_ms);
            return -ETIMEDOUT;
        }
        if (rc < 0)
            return sys_err(err, -rc, "poll");
        char *buf;
        size_t cap;
        rc = proto_decoder_reserve(c->dec, 64 * 1024, &buf, &cap);
        if (rc < 0)
            return proto_error_set(err, rc, "%s", proto_decoder_error(c->dec));
        ssize_t n = recv(c->fd, buf, cap, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return sys_err(err, errno, "recv");
        }
        if (n == 0) {
            proto_error_set(err, PROTO_E_INTERNAL, "connection closed by server%s",
                            proto_decoder_buffered(c->dec) ? " in the middle of a response" : "");
            return -ECONNRESET;
        }
        rc = proto_decoder_commit(c->dec, (size_t)n);
        if (rc < 0)
            return proto_error_set(err, rc, "%s", proto_decoder_error(c->dec));
    }
}

static char *str_dup_obj(const msgpack_object *o)
{
    char *s = malloc(o->via.str.size + 1);
    if (s) {
        memcpy(s, o->via.str.ptr, o->via.str.size);
        s[o->via.str.size] = '\0';
    }
    return s;
}

static bool obj_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

int rpc_error_from_object(const msgpack_object *o, struct proto_error *err)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        /* other MessagePack-RPC servers send bare strings */
        return proto_error_set(err, PROTO_E_INTERNAL, "%.*s", (int)o->via.str.size,
                               o->via.str.ptr);
    }
    if (o->type != MSGPACK_OBJECT_MAP)
        return proto_error_set(err, PROTO_E_INTERNAL, "malformed error object from server");
    int code = PROTO_E_INTERNAL;
    bool have_code = false;
    const msgpack_object *message = NULL, *data = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (obj_key_is(&kv->key, "code") && kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
            kv->val.via.i64 >= INT32_MIN) {
            code = (int)kv->val.via.i64;
            have_code = true;
        } else if (obj_key_is(&kv->key, "message") && kv->val.type == MSGPACK_OBJECT_STR) {
            message = &kv->val;
        } else if (obj_key_is(&kv->key, "data")) {
            data = &kv->val;
        }
    }
    if (!have_code)
        code = PROTO_E_INTERNAL;
    if (message)
        proto_error_set(err, code, "%.*s", (int)message->via.str.size, message->via.str.ptr);
    else
        proto_error_set(err, code, "%s", proto_code_name(code));
    if (data && data->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < data->via.map.size; i++) {
            const msgpack_object_kv *kv = &data->via.map.ptr[i];
            if (obj_key_is(&kv->key, "field") && kv->val.type == MSGPACK_OBJECT_STR) {
                char *f = str_dup_obj(&kv->val);
                if (f)
                    proto_error_set_field(err, f);
                free(f);
            } else if (obj_key_is(&kv->key, "details") && kv->val.type == MSGPACK_OBJECT_ARRAY) {
                for (uint32_t j = 0; j < kv->val.via.array.size; j++) {
                    const msgpack_object *d = &kv->val.via.array.ptr[j];
                    if (d->type == MSGPACK_OBJECT_STR)
                        proto_error_add_detail(err, "%.*s", (int)d->via.str.size, d->via.str.ptr);
                }
            }
        }
    }
    return code;
}

int rpc_client_call(struct rpc_client *c, const char *method, rpc_pack_params_fn fn,
                    void *arg, msgpack_object *result, struct proto_error *err)
{
    uint32_t id;
    int rc = rpc_client_send(c, method, fn, arg, &id, err);
    if (rc < 0)
        return rc;
    struct proto_message msg;
    rc = rpc_client_recv(c, &msg, err);
    if (rc < 0)
        return rc;
    if (!msg.has_msgid || msg.msgid != id)
        return proto_error_set(err, PROTO_E_INVALID_REQUEST,
                               "response for msgid %u while waiting for %u", msg.msgid, id);
    if (msg.error.type != MSGPACK_OBJECT_NIL)
        return rpc_error_from_object(&msg.error, err);
    if (result)
        *result = msg.result;
    return 0;
}
