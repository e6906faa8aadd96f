/*
 * listener.c: see listener.h.
 */
/* accept4 (Linux): the accepted socket is non-blocking and close-on-exec
 * from the start. */
#define _GNU_SOURCE
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef SUITD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* The kernel's queue of connections not yet accepted, per listener: 511,
 * the default of Redis's tcp-backlog and nginx's listen, because older
 * kernels add one and round the queue up to a power of two (512).  Linux
 * caps it at net.core.somaxconn (4096 since 5.4). */
#define LISTENER_BACKLOG 511
/* The Unix socket's mode: the daemon's user and group only (a token-less
 * transport that allows admin methods).  The umask makes bind create it
 * that way, so it never exists with wider permissions, even briefly. */
#define LISTENER_SOCKET_MODE 0660
#define LISTENER_SOCKET_UMASK 0117
/* A socket directory suitd creates itself (e.g. /run/suitd as root):
 * others may traverse it, only its owner may add or remove sockets. */
#define LISTENER_SOCKET_DIR_MODE 0755
/* suitd's own runtime directory (the package's), which a root daemon hands
 * to --user even when an earlier run created it. */
#define LISTENER_RUN_DIR "/run/suitd"
/* Accept errors are logged at most this often. */
#define LISTENER_ACCEPT_WARN_EVERY_NS 1000000000u
/* Clients accepted per listener per loop turn, so that one busy listener
 * does not starve the connections already open. */
#define LISTENER_ACCEPTS_PER_TURN 64
/* After an accept error that left clients waiting (no reserve descriptor
 * to shed them with), polling again at once would spin: wait this long. */
#define LISTENER_RESUME_MS 100

static void accept_warn(struct listeners *ls, struct listener *lis, const char *what)
{
    uint64_t now = uv_hrtime();
    if (now - ls->last_accept_warn_ns >= LISTENER_ACCEPT_WARN_EVERY_NS) {
        ls->last_accept_warn_ns = now;
        log_warn(ls->log, "accept on %s: %s", lis->name, what);
    }
}

static int open_reserve(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_readable(uv_poll_t *p, int status, int events);

static void on_resume(uv_timer_t *t)
{
    struct listeners *ls = t->data;
    if (ls->reserve_fd < 0)
        ls->reserve_fd = open_reserve();
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].poll_open && !ls->closed)
            (void)uv_poll_start(&ls->v[i].poll, UV_READABLE, on_readable);
}

static void pause_accepting(struct listeners *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].poll_open)
            (void)uv_poll_stop(&ls->v[i].poll);
    (void)uv_timer_start(&ls->resume, on_resume, LISTENER_RESUME_MS, 0);
}

/* Out of descriptors: the waiting clients would sit in the kernel's queue,
 * unanswered, and the poll would fire again at once.  Free the reserve,
 * take each client into its slot and give it to the owner to refuse, then
 * take the reserve back. */
static void shed(struct listeners *ls, struct listener *lis)
{
    if (ls->reserve_fd < 0) {
        accept_warn(ls, lis, "out of file descriptors, and no reserve descriptor to refuse "
                             "clients with: they wait in the kernel's queue");
        pause_accepting(ls);
        return;
    }
    close(ls->reserve_fd);
    ls->reserve_fd = -1;
    int fd;
    while ((fd = accept4(lis->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0 ||
           errno == EINTR || errno == ECONNABORTED)
        if (fd >= 0)
            ls->on_client(lis, fd, true);
    ls->reserve_fd = open_reserve();
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct listener *lis = p->data;
    struct listeners *ls = lis->set;
    (void)events;
    if (status < 0) {
        accept_warn(ls, lis, uv_strerror(status));
        return;
    }
    for (int i = 0; i < LISTENER_ACCEPTS_PER_TURN && lis->open; i++) {
        int fd = accept4(lis->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            ls->on_client(lis, fd, false);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EMFILE || errno == ENFILE) {
            shed(ls, lis);
            return;
        }
        accept_warn(ls, lis, strerror(errno));
        pause_accepting(ls);
        return;
    }
}

/* Listens on the bound (or systemd's listening) socket of lis and polls
 * it; the stream handle only owns the descriptor. */
static int start_accepting(struct listeners *ls, struct listener *lis)
{
    uv_os_fd_t fd;
    int rc = uv_fileno(&lis->u.h, &fd);
    if (rc < 0)
        return rc;
    lis->fd = fd;
    if (listen(fd, LISTENER_BACKLOG) < 0)
        return -errno;
    rc = uv_poll_init_socket(ls->loop, &lis->poll, fd);
    if (rc < 0)
        return rc;
    lis->poll_open = true;
    lis->poll.data = lis;
    return uv_poll_start(&lis->poll, UV_READABLE, on_readable);
}

/* A socket file left by a crashed daemon refuses connections: remove it.
 * A live daemon accepts: refuse to start rather than steal its path. */
static int clear_stale_socket(struct listeners *ls, const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) < 0)
        return errno == ENOENT ? 0 : (log_error(ls->log, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(sb.st_mode)) {
        log_error(ls->log, "%s exists and is not a socket; remove it or choose another --socket",
                  path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error(ls->log, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0) {
        log_error(ls->log, "another suitd is already listening on %s; stop it first or "
                  "choose another --socket", path);
        return -1;
    }
    if (e != ECONNREFUSED) {
        log_error(ls->log, "cannot check the existing socket %s: %s", path, strerror(e));
        return -1;
    }
    log_info(ls->log, "removing stale socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        log_error(ls->log, "cannot remove stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Creates the socket's directory when it is missing (the default
 * /run/suitd, as root).  When root will drop to --user, that user must be
 * able to remove its socket at exit, so it gets the directory if we made
 * it, or if it is the default /run/suitd (suitd's own runtime directory,
 * perhaps left by an earlier run). */
static void make_socket_dir(struct listeners *ls, const char *path, const char *user)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    bool created = mkdir(dir, LISTENER_SOCKET_DIR_MODE) == 0;
    if (created)
        log_info(ls->log, "created %s", dir);
    if (!user || geteuid() != 0 || (!created && strcmp(dir, LISTENER_RUN_DIR) != 0))
        return;
    struct passwd *pw = getpwnam(user);
    if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
        log_warn(ls->log, "chown %s: %s", dir, strerror(errno));
}

static int listen_unix(struct listeners *ls, struct listener *lis, const char *path,
                       const char *user)
{
    if (strlen(path) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
        log_error(ls->log, "--socket %s: path too long for a Unix socket", path);
        return -1;
    }
    make_socket_dir(ls, path, user);
    if (clear_stale_socket(ls, path) < 0)
        return -1;
    lis->is_unix = true;
    snprintf(lis->name, sizeof lis->name, "unix:%s", path);
    int rc = uv_pipe_init(ls->loop, &lis->u.pipe, 0);
    if (rc < 0)
        goto fail;
    lis->open = true;
    lis->u.h.data = lis;
    /* The umask covers the window between bind and chmod: the file never
     * exists with wider permissions than LISTENER_SOCKET_MODE. */
    mode_t old = umask(LISTENER_SOCKET_UMASK);
    rc = uv_pipe_bind(&lis->u.pipe, path);
    umask(old);
    if (rc < 0)
        goto fail;
    if (!(lis->unlink_path = strdup(path))) {
        rc = UV_ENOMEM;
        goto fail;
    }
    if (chmod(path, LISTENER_SOCKET_MODE) < 0)
        log_warn(ls->log, "chmod %s: %s", path, strerror(errno));
    rc = start_accepting(ls, lis);
    if (rc < 0)
        goto fail;
    log_plain("listening on %s", lis->name);
    return 0;
fail:
    log_error(ls->log, "cannot listen on unix:%s: %s", path, uv_strerror(rc));
    return -1;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static void format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
        snprintf(buf, len, "tcp:%s:%d", ip, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(in6, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "tcp:[%s]:%d", ip, port);
    }
}

static int tcp_listener_checks(struct listeners *ls, struct listener *lis,
                               const struct sockaddr *sa, const char *spec, bool have_token)
{
    bool loopback = addr_is_loopback(sa);
    if (!loopback && !have_token) {
        log_error(ls->log, "refusing to listen on %s without a token: clients there could "
                  "reach patient data.  Give --token-file FILE (clients send it with the "
                  "auth method) or listen on loopback only (--listen 127.0.0.1:%s)", spec,
                  CONFIG_DEFAULT_PORT);
        return -1;
    }
    /* With a token configured every TCP listener requires it: unlike the
     * Unix socket (mode 0660), loopback TCP is open to every local user.
     * Without one, only loopback is allowed at all (checked above). */
    lis->need_token = have_token;
    return 0;
}

static int listen_tcp(struct listeners *ls, struct listener *lis, const char *spec,
                      bool have_token)
{
    struct sockaddr_storage ss;
    /* "HOST:PORT", "[v6]:PORT" or ":PORT" (all IPv4 addresses). */
    if (proto_addr_parse(spec, &ss) < 0) {
        log_error(ls->log, "--listen %s: expected HOST:PORT (an IP address and a port)", spec);
        return -1;
    }
    if (tcp_listener_checks(ls, lis, (struct sockaddr *)&ss, spec, have_token) < 0)
        return -1;
    int rc = uv_tcp_init(ls->loop, &lis->u.tcp);
    if (rc < 0)
        goto fail;
    lis->open = true;
    lis->u.h.data = lis;
    rc = uv_tcp_bind(&lis->u.tcp, (struct sockaddr *)&ss, 0);
    if (rc < 0)
        goto fail;
    rc = start_accepting(ls, lis);
    if (rc < 0)
        goto fail;
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname(&lis->u.tcp, (struct sockaddr *)&bound, &blen) == 0)
        format_addr((struct sockaddr *)&bound, lis->name, sizeof lis->name);
    else
        snprintf(lis->name, sizeof lis->name, "tcp:%s", spec);
    log_plain("listening on %s", lis->name);
    return 0;
fail:
    log_error(ls->log, "cannot listen on tcp:%s: %s", spec, uv_strerror(rc));
    return -1;
}

#ifdef SUITD_HAVE_SYSTEMD
/* Socket activation: systemd bound the sockets; take them as they are. */
static int listen_systemd(struct listeners *ls, int n, bool have_token)
{
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        struct listener *lis = &ls->v[ls->n++];
        memset(lis, 0, sizeof *lis);
        lis->set = ls;
        int rc;
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
            lis->is_unix = true;
            struct sockaddr_un sa;
            socklen_t len = sizeof sa;
            memset(&sa, 0, sizeof sa);
            getsockname(fd, (struct sockaddr *)&sa, &len);
            snprintf(lis->name, sizeof lis->name, "unix:%s", sa.sun_path);
            if ((rc = uv_pipe_init(ls->loop, &lis->u.pipe, 0)) < 0)
                goto fail;
            lis->open = true;
            rc = uv_pipe_open(&lis->u.pipe, fd);
        } else if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
                (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
                log_error(ls->log, "systemd socket %d is neither Unix nor TCP", fd);
                return -1;
            }
            format_addr((struct sockaddr *)&ss, lis->name, sizeof lis->name);
            if (tcp_listener_checks(ls, lis, (struct sockaddr *)&ss, lis->name, have_token) < 0)
                return -1;
            if ((rc = uv_tcp_init(ls->loop, &lis->u.tcp)) < 0)
                goto fail;
            lis->open = true;
            rc = uv_tcp_open(&lis->u.tcp, fd);
        } else {
            log_error(ls->log, "systemd passed fd %d, which is not a listening stream socket", fd);
            return -1;
        }
        if (rc < 0)
            goto fail;
        lis->u.h.data = lis;
        if ((rc = start_accepting(ls, lis)) < 0)
            goto fail;
        log_plain("listening on %s", lis->name);
        continue;
    fail:
        log_error(ls->log, "cannot use systemd socket %d: %s", fd, uv_strerror(rc));
        return -1;
    }
    return 0;
}
#endif

int listeners_open(struct listeners *ls, uv_loop_t *loop, const struct config *cfg,
                   bool have_token, const struct logger *lg, listener_cb on_client, void *data)
{
    memset(ls, 0, sizeof *ls);
    ls->loop = loop;
    ls->log = lg;
    ls->on_client = on_client;
    ls->data = data;
    /* Cannot fail on an initialised loop. */
    (void)uv_timer_init(loop, &ls->resume);
    ls->resume.data = ls;
    ls->resume_open = true;
    ls->reserve_fd = open_reserve();
    if (ls->reserve_fd < 0) {
        log_error(lg, "cannot open a reserve descriptor: %s", strerror(errno));
        return -1;
    }
    size_t want = cfg->n_listen + (cfg->socket_path ? 1 : 0);
#ifdef SUITD_HAVE_SYSTEMD
    int n_sd = sd_listen_fds(1);
    if (n_sd > 0)
        want = (size_t)n_sd;
#endif
    if (!want) {
        log_error(lg, "nothing to listen on: both --socket and --listen are 'none'");
        return -1;
    }
    ls->v = calloc(want, sizeof *ls->v);
    if (!ls->v)
        return -1;
#ifdef SUITD_HAVE_SYSTEMD
    if (n_sd > 0) {
        log_info(lg, "using %d socket(s) from systemd", n_sd);
        return listen_systemd(ls, n_sd, have_token);
    }
#endif
    if (cfg->socket_path) {
        struct listener *lis = &ls->v[ls->n++];
        lis->set = ls;
        if (listen_unix(ls, lis, cfg->socket_path, cfg->user) < 0)
            return -1;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        struct listener *lis = &ls->v[ls->n++];
        lis->set = ls;
        if (listen_tcp(ls, lis, cfg->listen[i], have_token) < 0)
            return -1;
    }
    return 0;
}

void listeners_chown(struct listeners *ls, uid_t uid, gid_t gid)
{
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].unlink_path && chown(ls->v[i].unlink_path, uid, gid) < 0)
            log_warn(ls->log, "chown %s: %s", ls->v[i].unlink_path, strerror(errno));
}

static void close_listener(struct listener *lis)
{
    if (!lis->open)
        return;
    lis->open = false;
    /* The poll first: it must not outlive the descriptor it watches. */
    if (lis->poll_open)
        uv_close((uv_handle_t *)&lis->poll, NULL);
    lis->poll_open = false;
    uv_close(&lis->u.h, NULL);
    if (lis->unlink_path) {
        if (unlink(lis->unlink_path) < 0 && errno != ENOENT)
            log_warn(lis->set->log, "cannot remove %s: %s", lis->unlink_path, strerror(errno));
    }
}


void listeners_close(struct listeners *ls)
{
    ls->closed = true;
    for (size_t i = 0; i < ls->n; i++)
        close_listener(&ls->v[i]);
    if (ls->resume_open)
        uv_close((uv_handle_t *)&ls->resume, NULL);
    ls->resume_open = false;
}

void listeners_free(struct listeners *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i].unlink_path);
    free(ls->v);
    ls->v = NULL;
    ls->n = 0;
    /* ls->loop is set once listeners_open ran (and with it reserve_fd). */
    if (ls->loop && ls->reserve_fd >= 0)
        close(ls->reserve_fd);
    ls->reserve_fd = -1;
}
