/*
 * server.c: see server.h.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
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

#include "conn.h"
#include "dispatch.h"

/* The kernel's queue of connections not yet accepted, per listener: 511,
 * the default of Redis's tcp-backlog and nginx's listen, because older
 * kernels add one and round the queue up to a power of two (512).  Linux
 * caps it at net.core.somaxconn (4096 since 5.4). */
#define SERVER_LISTEN_BACKLOG 511
/* The Unix socket's mode: the daemon's user and group only (a token-less
 * transport that allows admin methods).  The umask makes bind create it
 * that way, so it never exists with wider permissions, even briefly. */
#define SERVER_SOCKET_MODE 0660
#define SERVER_SOCKET_UMASK 0117
/* A socket directory suitd creates itself (e.g. /run/suitd as root):
 * others may traverse it, only its owner may add or remove sockets. */
#define SERVER_SOCKET_DIR_MODE 0755
/* How often idle connections are looked for: often enough that a short
 * --idle-timeout (tests use 1 s) is kept to within a quarter of a second,
 * and once a second otherwise (the check walks every connection). */
#define SERVER_SWEEP_FAST_MS 250
#define SERVER_SWEEP_MS 1000
#define SERVER_SWEEP_FAST_BELOW_S 10
/* Accept errors (out of descriptors) are logged at most this often. */
#define SERVER_ACCEPT_WARN_EVERY_NS 1000000000u

static void notify(const char *state)
{
#ifdef SUITD_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

uint64_t server_now(const struct server *srv)
{
    (void)srv;
    return uv_hrtime();
}

/* ---- loop hooks ---------------------------------------------------- */

static void on_flush(uv_prepare_t *p)
{
    conn_flush_dirty(p->data);
}

static void on_idle(uv_idle_t *i)
{
    conn_run_backlog(i->data);
}

void server_wake_backlog(struct server *srv)
{
    /* Fails only on a NULL callback; starting a started handle is a no-op. */
    (void)uv_idle_start(&srv->idle, on_idle);
}

static void on_sweep(uv_timer_t *t)
{
    struct server *srv = t->data;
    conn_sweep_idle(srv, server_now(srv), (uint64_t)srv->cfg->idle_timeout_s * 1000000000u);
}

#define SERVER_TRIM_EVERY_MS 1000

/* After a burst glibc keeps the freed heap of the loop's and the workers'
 * arenas (after a million requests RSS stayed at 17 MiB against 12 MiB
 * idle).  Once a whole tick has passed with no request and no job in
 * flight, hand it back, once per idle period: a few hundred microseconds,
 * never on a busy daemon. */
#ifdef __GLIBC__
static void on_trim(uv_timer_t *t)
{
    struct server *srv = t->data;
    uint64_t seen = 0;
    for (size_t i = 0; i < STATS_M_COUNT; i++)
        seen += srv->stats.requests[i];
    if (seen != srv->trim_seen) {
        srv->trim_seen = seen;
        srv->trimmed = false;
        return;
    }
    if (srv->trimmed || (srv->workers_open && workers_outstanding(&srv->workers)))
        return;
    malloc_trim(0);
    srv->trimmed = true;
}
#endif

/* ---- ruleset and reload -------------------------------------------- */

void server_set_ruleset(struct server *srv, struct ruleset *rs)
{
    struct ruleset *old = srv->rs;
    srv->rs = ruleset_ref(rs);
    if (old)
        ruleset_unref(old);
    if (srv->workers_open)
        workers_set_ruleset(&srv->workers, rs);
}

static void on_reload_outcome(void *arg, const struct reload_outcome *o)
{
    struct server *srv = arg;
    if (o->code) {
        srv->stats.reloads_failed++;
    } else {
        srv->stats.reloads_ok++;
        server_set_ruleset(srv, o->rs);
    }
    notify("READY=1");
    server_check_drained(srv);
}

static void on_shutdown_deadline(uv_timer_t *t);

static void on_signal(uv_signal_t *s, int signum)
{
    struct server *srv = s->data;
    if (signum == SIGHUP) {
        if (srv->shutting_down)
            return;
        log_info(srv->log, "SIGHUP: reloading %s", srv->cfg->rules_dir);
        int rc = reload_start(&srv->reload, NULL);
        if (rc < 0)
            log_error(srv->log, "SIGHUP: cannot start a reload: %s", uv_strerror(rc));
        else
            notify("RELOADING=1");
        return;
    }
    if (srv->shutting_down) {
        log_warn(srv->log, "second %s: not waiting any longer", strsignal(signum));
        (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline, 0, 0);
        return;
    }
    log_info(srv->log, "%s: shutting down", strsignal(signum));
    server_shutdown(srv);
}

/* ---- init ---------------------------------------------------------- */

static int read_token(struct server *srv, const char *path)
{
    char buf[1024];
    int n = proto_token_read(path, buf, sizeof buf);
    if (n == PROTO_E_TOO_LARGE || n == PROTO_E_INVALID_PARAMS) {
        log_error(srv->log, "--token-file %s: %s", path,
                  n == PROTO_E_TOO_LARGE ? "token longer than 1023 bytes" : "empty token");
        return -1;
    }
    if (n < 0) {
        log_error(srv->log, "cannot read --token-file %s: %s", path, strerror(-n));
        return -1;
    }
    srv->token = strdup(buf);
    srv->token_len = (size_t)n;
    memset(buf, 0, sizeof buf);
    return srv->token ? 0 : -1;
}

int server_init(struct server *srv, uv_loop_t *loop, const struct config *cfg,
                const struct logger *lg, struct ruleset *rs)
{
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->cfg = cfg;
    srv->log = lg;
    proto_limits_default(&srv->limits);
    srv->limits.max_message = cfg->max_message;
    stats_init(&srv->stats, uv_hrtime());
    srv->rs = ruleset_ref(rs);
    reload_init(&srv->reload, loop, cfg->rules_dir, cfg->policy_file, &cfg->engine, lg,
                on_reload_outcome, srv);

    if (cfg->token_file && read_token(srv, cfg->token_file) < 0)
        return -1;
    if (cfg->decision_log) {
        int rc = decision_log_open(&srv->dlog, cfg->decision_log);
        if (rc < 0) {
            log_error(srv->log, "cannot open --decision-log %s: %s", cfg->decision_log,
                      strerror(-rc));
            return -1;
        }
    }

    /* None of these can fail on an initialised loop: prepare, idle and
     * timer handles only fill in the struct, and the signal pipe was
     * opened by uv_loop_init.  The starts below fail only on a NULL
     * callback or an invalid signal number. */
    (void)uv_prepare_init(loop, &srv->flush);
    (void)uv_idle_init(loop, &srv->idle);
    (void)uv_timer_init(loop, &srv->deadline);
    (void)uv_timer_init(loop, &srv->sweep);
    (void)uv_timer_init(loop, &srv->shutdown_timer);
    (void)uv_timer_init(loop, &srv->trim);
    (void)uv_signal_init(loop, &srv->sig_hup);
    (void)uv_signal_init(loop, &srv->sig_term);
    (void)uv_signal_init(loop, &srv->sig_int);
    srv->flush.data = srv->idle.data = srv->deadline.data = srv->sweep.data = srv;
    srv->shutdown_timer.data = srv->trim.data = srv;
    srv->sig_hup.data = srv->sig_term.data = srv->sig_int.data = srv;
    srv->handles_open = true;
    (void)uv_prepare_start(&srv->flush, on_flush);
    (void)uv_signal_start(&srv->sig_hup, on_signal, SIGHUP);
    (void)uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
    (void)uv_signal_start(&srv->sig_int, on_signal, SIGINT);
    if (cfg->idle_timeout_s) {
        uint64_t every = cfg->idle_timeout_s < SERVER_SWEEP_FAST_BELOW_S ? SERVER_SWEEP_FAST_MS
                                                                          : SERVER_SWEEP_MS;
        (void)uv_timer_start(&srv->sweep, on_sweep, every, every);
    }
#ifdef __GLIBC__
    (void)uv_timer_start(&srv->trim, on_trim, SERVER_TRIM_EVERY_MS, SERVER_TRIM_EVERY_MS);
#endif
    return 0;
}

/* ---- listeners ----------------------------------------------------- */

static void on_connection(uv_stream_t *s, int status)
{
    struct listener *lis = s->data;
    if (status < 0) {
        /* Out of descriptors repeats for every waiting client: say it once
         * a second at most. */
        uint64_t now = server_now(lis->srv);
        if (now - lis->srv->last_accept_warn_ns >= SERVER_ACCEPT_WARN_EVERY_NS) {
            lis->srv->last_accept_warn_ns = now;
            log_warn(lis->srv->log, "accept on %s: %s", lis->name, uv_strerror(status));
        }
        return;
    }
    conn_accept(lis);
}

/* A socket file left by a crashed daemon refuses connections: remove it.
 * A live daemon accepts: refuse to start rather than steal its path. */
static int clear_stale_socket(struct server *srv, const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) < 0)
        return errno == ENOENT ? 0 : (log_error(srv->log, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(sb.st_mode)) {
        log_error(srv->log, "%s exists and is not a socket; remove it or choose another --socket",
                  path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error(srv->log, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0) {
        log_error(srv->log, "another suitd is already listening on %s; stop it first or "
                  "choose another --socket", path);
        return -1;
    }
    if (e != ECONNREFUSED) {
        log_error(srv->log, "cannot check the existing socket %s: %s", path, strerror(e));
        return -1;
    }
    log_info(srv->log, "removing stale socket %s", path);
    if (unlink(path) < 0 && errno != ENOENT) {
        log_error(srv->log, "cannot remove stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Creates the socket's directory when it is missing (the default
 * /run/suitd, as root).  When root will drop to --user, that user must be
 * able to remove its socket at exit, so it gets the directory if we made
 * it, or if it is the default /run/suitd (suitd's own runtime directory,
 * perhaps left by an earlier run). */
static void make_socket_dir(struct server *srv, const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    bool created = mkdir(dir, SERVER_SOCKET_DIR_MODE) == 0;
    if (created)
        log_info(srv->log, "created %s", dir);
    if (!srv->cfg->user || geteuid() != 0 || (!created && strcmp(dir, "/run/suitd") != 0))
        return;
    struct passwd *pw = getpwnam(srv->cfg->user);
    if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
        log_warn(srv->log, "chown %s: %s", dir, strerror(errno));
}

static int listen_unix(struct server *srv, struct listener *lis, const char *path)
{
    if (strlen(path) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
        log_error(srv->log, "--socket %s: path too long for a Unix socket", path);
        return -1;
    }
    make_socket_dir(srv, path);
    if (clear_stale_socket(srv, path) < 0)
        return -1;
    lis->is_unix = true;
    snprintf(lis->name, sizeof lis->name, "unix:%s", path);
    int rc = uv_pipe_init(srv->loop, &lis->u.pipe, 0);
    if (rc < 0)
        goto fail;
    lis->open = true;
    lis->u.h.data = lis;
    /* The umask covers the window between bind and chmod: the file never
     * exists with wider permissions than SERVER_SOCKET_MODE. */
    mode_t old = umask(SERVER_SOCKET_UMASK);
    rc = uv_pipe_bind(&lis->u.pipe, path);
    umask(old);
    if (rc < 0)
        goto fail;
    if (!(lis->unlink_path = strdup(path))) {
        rc = UV_ENOMEM;
        goto fail;
    }
    if (chmod(path, SERVER_SOCKET_MODE) < 0)
        log_warn(srv->log, "chmod %s: %s", path, strerror(errno));
    rc = uv_listen(&lis->u.s, SERVER_LISTEN_BACKLOG, on_connection);
    if (rc < 0)
        goto fail;
    log_plain("listening on %s", lis->name);
    return 0;
fail:
    log_error(srv->log, "cannot listen on unix:%s: %s", path, uv_strerror(rc));
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

/* "HOST:PORT", "[v6]:PORT" or ":PORT" (all IPv4 addresses). */
static int parse_hostport(const char *spec, struct sockaddr_storage *ss)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host)
            return -1;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return -1;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
        if (!host[0])
            snprintf(host, sizeof host, "0.0.0.0");
        if (!strcmp(host, "localhost"))
            snprintf(host, sizeof host, "127.0.0.1");
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return -1;
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

static int tcp_listener_checks(struct server *srv, struct listener *lis, const struct sockaddr *sa,
                               const char *spec)
{
    bool loopback = addr_is_loopback(sa);
    if (!loopback && !srv->token) {
        log_error(srv->log, "refusing to listen on %s without a token: clients there could "
                  "reach patient data.  Give --token-file FILE (clients send it with the "
                  "auth method) or listen on loopback only (--listen 127.0.0.1:%s)", spec,
                  CONFIG_DEFAULT_PORT);
        return -1;
    }
    /* With a token configured every TCP listener requires it: unlike the
     * Unix socket (mode 0660), loopback TCP is open to every local user.
     * Without one, only loopback is allowed at all (checked above). */
    lis->need_token = srv->token != NULL;
    return 0;
}

static int listen_tcp(struct server *srv, struct listener *lis, const char *spec)
{
    struct sockaddr_storage ss;
    if (parse_hostport(spec, &ss) < 0) {
        log_error(srv->log, "--listen %s: expected HOST:PORT (an IP address and a port)", spec);
        return -1;
    }
    if (tcp_listener_checks(srv, lis, (struct sockaddr *)&ss, spec) < 0)
        return -1;
    int rc = uv_tcp_init(srv->loop, &lis->u.tcp);
    if (rc < 0)
        goto fail;
    lis->open = true;
    lis->u.h.data = lis;
    rc = uv_tcp_bind(&lis->u.tcp, (struct sockaddr *)&ss, 0);
    if (rc < 0)
        goto fail;
    rc = uv_listen(&lis->u.s, SERVER_LISTEN_BACKLOG, on_connection);
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
    log_error(srv->log, "cannot listen on tcp:%s: %s", spec, uv_strerror(rc));
    return -1;
}

#ifdef SUITD_HAVE_SYSTEMD
/* Socket activation: systemd bound the sockets; take them as they are. */
static int listen_systemd(struct server *srv, int n)
{
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        struct listener *lis = &srv->listeners[srv->n_listeners++];
        memset(lis, 0, sizeof *lis);
        lis->srv = srv;
        int rc;
        if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
            lis->is_unix = true;
            struct sockaddr_un sa;
            socklen_t len = sizeof sa;
            memset(&sa, 0, sizeof sa);
            getsockname(fd, (struct sockaddr *)&sa, &len);
            snprintf(lis->name, sizeof lis->name, "unix:%s", sa.sun_path);
            if ((rc = uv_pipe_init(srv->loop, &lis->u.pipe, 0)) < 0)
                goto fail;
            lis->open = true;
            rc = uv_pipe_open(&lis->u.pipe, fd);
        } else if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
                (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
                log_error(srv->log, "systemd socket %d is neither Unix nor TCP", fd);
                return -1;
            }
            format_addr((struct sockaddr *)&ss, lis->name, sizeof lis->name);
            if (tcp_listener_checks(srv, lis, (struct sockaddr *)&ss, lis->name) < 0)
                return -1;
            if ((rc = uv_tcp_init(srv->loop, &lis->u.tcp)) < 0)
                goto fail;
            lis->open = true;
            rc = uv_tcp_open(&lis->u.tcp, fd);
        } else {
            log_error(srv->log, "systemd passed fd %d, which is not a listening stream socket", fd);
            return -1;
        }
        if (rc < 0)
            goto fail;
        lis->u.h.data = lis;
        if ((rc = uv_listen(&lis->u.s, SERVER_LISTEN_BACKLOG, on_connection)) < 0)
            goto fail;
        log_plain("listening on %s", lis->name);
        continue;
    fail:
        log_error(srv->log, "cannot use systemd socket %d: %s", fd, uv_strerror(rc));
        return -1;
    }
    return 0;
}
#endif

int server_listen(struct server *srv)
{
    const struct config *cfg = srv->cfg;
    size_t want = cfg->n_listen + (cfg->socket_path ? 1 : 0);
#ifdef SUITD_HAVE_SYSTEMD
    int n_sd = sd_listen_fds(1);
    if (n_sd > 0)
        want = (size_t)n_sd;
#endif
    if (!want) {
        log_error(srv->log, "nothing to listen on: both --socket and --listen are 'none'");
        return -1;
    }
    /* Allocated once: libuv handles must not move. */
    srv->listeners = calloc(want, sizeof *srv->listeners);
    if (!srv->listeners)
        return -1;
#ifdef SUITD_HAVE_SYSTEMD
    if (n_sd > 0) {
        log_info(srv->log, "using %d socket(s) from systemd", n_sd);
        return listen_systemd(srv, n_sd);
    }
#endif
    if (cfg->socket_path) {
        struct listener *lis = &srv->listeners[srv->n_listeners++];
        lis->srv = srv;
        if (listen_unix(srv, lis, cfg->socket_path) < 0)
            return -1;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        struct listener *lis = &srv->listeners[srv->n_listeners++];
        lis->srv = srv;
        if (listen_tcp(srv, lis, cfg->listen[i]) < 0)
            return -1;
    }
    return 0;
}

int server_drop_privileges(struct server *srv)
{
    const char *user = srv->cfg->user;
    if (geteuid() != 0) {
        if (user)
            log_debug(srv->log, "not root: --user %s ignored", user);
        return 0;
    }
    if (!user)
        return 0;   /* serve_main refused this unless SUITD_ALLOW_ROOT=1 */
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        log_error(srv->log, "--user %s: no such user", user);
        return -1;
    }
    if (pw->pw_uid == 0) {
        log_warn(srv->log, "--user %s is root: not dropping privileges", user);
        return 0;
    }
    /* The socket belongs to the daemon's user, so it keeps 0660 access. */
    for (size_t i = 0; i < srv->n_listeners; i++)
        if (srv->listeners[i].unlink_path &&
            chown(srv->listeners[i].unlink_path, pw->pw_uid, pw->pw_gid) < 0)
            log_warn(srv->log, "chown %s: %s", srv->listeners[i].unlink_path, strerror(errno));
    if (srv->dlog.path && chown(srv->dlog.path, pw->pw_uid, pw->pw_gid) < 0)
        log_debug(srv->log, "chown %s: %s", srv->dlog.path, strerror(errno));
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        log_error(srv->log, "cannot drop privileges to %s: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        log_error(srv->log, "privileges could be regained after dropping to %s", user);
        return -1;
    }
    log_info(srv->log, "running as %s (uid %u)", user, (unsigned)pw->pw_uid);
    return 0;
}

int server_start(struct server *srv)
{
    int rc = workers_init(&srv->workers, srv->loop, srv->cfg->workers, srv->rs,
                          &srv->cfg->engine, srv->log);
    if (rc < 0) {
        log_error(srv->log, "cannot start %u workers: %s", srv->cfg->workers, uv_strerror(rc));
        return -1;
    }
    srv->workers_open = true;
    const struct suit_ruleset_id *id = ruleset_id(srv->rs);
    log_plain("ready (ruleset %s %s %.12s, %u workers)", id->name, id->version, id->sha256,
              srv->cfg->workers);
    notify("READY=1");
    return 0;
}

/* ---- shutdown ------------------------------------------------------ */

static void close_listener(struct listener *lis)
{
    if (!lis->open)
        return;
    lis->open = false;
    uv_close(&lis->u.h, NULL);
    if (lis->unlink_path) {
        if (unlink(lis->unlink_path) < 0 && errno != ENOENT)
            log_warn(lis->srv->log, "cannot remove %s: %s", lis->unlink_path, strerror(errno));
    }
}

/* Closing a uv_signal restores the default action, which for SIGTERM
 * would kill the process in the middle of its orderly exit: a signal that
 * arrives from here on is ignored instead. */
static void close_handles(struct server *srv)
{
    if (!srv->handles_open)
        return;
    srv->handles_open = false;
    uv_close((uv_handle_t *)&srv->flush, NULL);
    uv_close((uv_handle_t *)&srv->idle, NULL);
    uv_close((uv_handle_t *)&srv->deadline, NULL);
    uv_close((uv_handle_t *)&srv->sweep, NULL);
    uv_close((uv_handle_t *)&srv->shutdown_timer, NULL);
    uv_close((uv_handle_t *)&srv->trim, NULL);
    uv_close((uv_handle_t *)&srv->sig_hup, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (!srv->conns && !workers_outstanding(&srv->workers))
        return;
    log_warn(srv->log, "shutdown deadline reached: closing %llu connection(s)",
             (unsigned long long)srv->stats.conn_current);
    struct conn *c = srv->conns;
    while (c) {
        struct conn *next = c->next;
        conn_close(c, STATS_DROP_SHUTDOWN);
        c = next;
    }
    /* Workers may still hold jobs; stopping them hands those back. */
    if (srv->workers_open) {
        /* Cleared first: workers_close runs job callbacks that come back
         * here through server_check_drained. */
        srv->workers_open = false;
        workers_close(&srv->workers);
    }
    server_check_drained(srv);
}

void server_shutdown(struct server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    notify("STOPPING=1");
    /* Do not start queued reloads: they would only delay the exit. */
    reload_stop(&srv->reload);
    for (size_t i = 0; i < srv->n_listeners; i++)
        close_listener(&srv->listeners[i]);
    struct conn *c = srv->conns;
    while (c) {
        struct conn *next = c->next;
        conn_stop_reading(c);
        c = next;
    }
    (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                         (uint64_t)srv->cfg->shutdown_timeout_s * 1000u, 0);
    server_check_drained(srv);
}

void server_check_drained(struct server *srv)
{
    if (!srv->shutting_down || srv->finished)
        return;
    if (srv->conns || reload_busy(&srv->reload))
        return;
    if (srv->workers_open && workers_outstanding(&srv->workers))
        return;
    srv->finished = true;
    if (srv->workers_open) {
        /* Cleared first: workers_close runs job callbacks that come back
         * here through server_check_drained. */
        srv->workers_open = false;
        workers_close(&srv->workers);
    }
    close_handles(srv);
    log_info(srv->log, "stopped: %llu connections served",
             (unsigned long long)srv->stats.conn_total);
}

void server_close(struct server *srv)
{
    for (size_t i = 0; i < srv->n_listeners; i++)
        if (srv->listeners[i].open)
            close_listener(&srv->listeners[i]);
    if (srv->workers_open) {
        /* Cleared first: workers_close runs job callbacks that come back
         * here through server_check_drained. */
        srv->workers_open = false;
        workers_close(&srv->workers);
    }
    close_handles(srv);
    /* Let the close callbacks run. */
    uv_run(srv->loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < srv->n_listeners; i++)
        free(srv->listeners[i].unlink_path);
    free(srv->listeners);
    srv->listeners = NULL;
    reload_close(&srv->reload);
    decision_log_close(&srv->dlog);
    if (srv->rs)
        ruleset_unref(srv->rs);
    srv->rs = NULL;
    if (srv->token) {
        memset(srv->token, 0, srv->token_len);
        free(srv->token);
        srv->token = NULL;
    }
}
