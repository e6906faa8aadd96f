/*
 * server.c: see server.h.
 */
#include "server.h"

#include <errno.h>
#include <grp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container_of.h"
#include "request.h"

/* The longest --token-file token (the buffer it is read into). */
#define SERVER_TOKEN_MAX 1024
#define SERVER_TRIM_EVERY_MS 1000
/* At the shutdown deadline, the time given to the answers of an abandoned
 * reload's callers before every connection is closed. */
#define SERVER_SHUTDOWN_FLUSH_MS 50

static void check_drained(struct server *srv);

/* After a burst glibc keeps the freed heap of the loop's and the workers'
 * arenas (after a million requests RSS stayed at 17 MiB against 12 MiB
 * idle).  Once a whole tick has passed with no request and no job in
 * flight, hand it back, once per idle period: a few hundred microseconds,
 * never on a busy daemon. */
#ifdef __GLIBC__
static void on_trim(uv_timer_t *t)
{
    struct server *srv = t->data;
    uint64_t seen = stats_requests_total(&srv->stats);
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

/* ---- connections ---------------------------------------------------- */

static void on_client(struct listener *lis, int fd, bool out_of_fds)
{
    struct server *srv = lis->set->data;
    conn_accept(&srv->conns, lis, fd, out_of_fds);
}

static void on_conn_freed(struct conn_set *set)
{
    struct server *srv = container_of(set, struct server, conns);
    check_drained(srv);
}

/* ---- ruleset and reload -------------------------------------------- */

/* Publishes a new ruleset to ping, stats and the workers. */
static void set_ruleset(struct server *srv, struct ruleset *rs)
{
    struct ruleset *old = srv->rs;
    srv->rs = ruleset_ref(rs);
    dispatch_set_ruleset(&srv->dispatch, srv->rs);
    if (old)
        ruleset_unref(old);
    if (srv->workers_open)
        workers_set_ruleset(&srv->workers, rs);
}

static void on_reload_started(void *arg)
{
    struct server *srv = arg;
    notify_reloading(&srv->notify, ruleset_id(srv->rs));
}

static void on_reload_outcome(void *arg, const struct reload_outcome *o)
{
    struct server *srv = arg;
    if (o->code == PROTO_E_TIMEOUT) {
        srv->stats.reloads_timed_out++;
    } else if (o->code) {
        srv->stats.reloads_failed++;
    } else {
        srv->stats.reloads_ok++;
        set_ruleset(srv, o->rs);
    }
    notify_remember(&srv->notify, o, time(NULL));
    if (!srv->shutting_down)
        notify_ready(&srv->notify, ruleset_id(srv->rs));
    check_drained(srv);
}

static const struct reload_hooks reload_hooks = {
    .started = on_reload_started,
    .publish = on_reload_outcome,
};

static void on_shutdown_deadline(uv_timer_t *t);

static void on_signal(uv_signal_t *s, int signum)
{
    struct server *srv = s->data;
    if (signum == SIGUSR1) {
        /* logrotate renamed the decision log: the writer reopens the path
         * before its next record. */
        if (decision_log_enabled(&srv->dlog))
            decision_log_reopen(&srv->dlog);
        else
            log_info(srv->log, "SIGUSR1: no decision log to reopen");
        return;
    }
    if (signum == SIGHUP) {
        if (srv->shutting_down)
            return;
        /* reload_start logs what it does, and why not when it refuses. */
        struct proto_error err;
        proto_error_init(&err);
        (void)reload_start(&srv->reload, NULL, "SIGHUP", &err);
        proto_error_close(&err);
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
    char buf[SERVER_TOKEN_MAX];
    int n = proto_token_read(path, buf, sizeof buf);
    if (n == PROTO_E_TOO_LARGE || n == PROTO_E_INVALID_PARAMS) {
        if (n == PROTO_E_TOO_LARGE)
            log_error(srv->log, "--token-file %s: token longer than %d bytes", path,
                      SERVER_TOKEN_MAX - 1);
        else
            log_error(srv->log, "--token-file %s: empty token", path);
        return -1;
    }
    if (n < 0) {
        log_error(srv->log, "cannot read --token-file %s: %s", path, strerror(-n));
        return -1;
    }
    /* As ssh does for keys: a token others may read is shared with them.
     * A warning, not a refusal, because a group that must read it
     * (root:suitd 0640) is a deployment some sites choose. */
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        log_warn(srv->log, "--token-file %s is open to %s (mode %04o): whoever can read it can "
                 "use this daemon; chmod 600 %s (or use systemd's LoadCredential=)", path,
                 (st.st_mode & 007) ? "other users" : "its group",
                 (unsigned)(st.st_mode & 07777), path);
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

    /* What can fail comes first, so that a failure has only these to
     * undo. */
    if (cfg->token_file && read_token(srv, cfg->token_file) < 0)
        return -1;
    {
        int rc = decision_log_init(&srv->dlog, loop, cfg->decision_log,
                                   cfg->decision_log_required, cfg->decision_log_queue, lg);
        if (rc < 0) {
            log_error(srv->log, "cannot open --decision-log %s: %s", cfg->decision_log,
                      rc == -ELOOP ? "it is a symbolic link (refused: give the real path)"
                      : rc == -EINVAL ? "not a regular file"
                                      : strerror(-rc));
            if (srv->token) {
                memset(srv->token, 0, srv->token_len);
                free(srv->token);
            }
            return -1;
        }
    }

    /* Its async handle needs a descriptor (the loop's eventfd). */
    int rc = reload_init(&srv->reload, loop, cfg->rules_dir, cfg->policy_file, &cfg->engine,
                         cfg->reload_timeout_s, lg, &reload_hooks, srv);
    srv->reload.policy_dir = cfg->policy_dir;
    if (rc < 0) {
        log_error(srv->log, "cannot set up reloads: %s", uv_strerror(rc));
        decision_log_stop(&srv->dlog);
        uv_run(loop, UV_RUN_NOWAIT);
        decision_log_close(&srv->dlog, 0);
        if (srv->token) {
            memset(srv->token, 0, srv->token_len);
            free(srv->token);
        }
        return -1;
    }

    stats_init(&srv->stats, uv_hrtime(), dispatch_method_count(), dispatch_method_name);
    notify_init(&srv->notify);
    srv->rs = ruleset_ref(rs);
    struct conn_limits lim = {
        .max_connections = cfg->max_connections,
        .unix_reserve = cfg->unix_reserve,
        .max_unauthenticated = cfg->max_unauthenticated,
        .auth_timeout_s = cfg->auth_timeout_s,
        .max_input_memory = cfg->max_input_memory,
        .max_output_memory = cfg->max_output_memory,
        .max_inflight = cfg->max_inflight,
        .max_output = cfg->max_output,
        .idle_timeout_s = cfg->idle_timeout_s,
    };
    proto_limits_default(&lim.proto);
    lim.proto.max_message = cfg->max_message;
    static const struct conn_callbacks conn_cb = {
        .frame = dispatch_frame,
        .closed = dispatch_conn_closed,
        .freed = on_conn_freed,
    };
    conn_set_init(&srv->conns, loop, &lim, lg, &srv->stats, &conn_cb, &srv->dispatch,
                  sizeof(struct session));
    dispatch_init(&srv->dispatch, loop, cfg, lg, &srv->stats, &srv->workers, &srv->reload,
                  &srv->dlog, srv->token, srv->token_len);
    dispatch_set_ruleset(&srv->dispatch, srv->rs);

    /* None of these can fail on an initialised loop: timer handles only
     * fill in the struct, and the signal pipe was opened by uv_loop_init.
     * The starts below fail only on a NULL callback or an invalid signal
     * number. */
    (void)uv_timer_init(loop, &srv->shutdown_timer);
    (void)uv_timer_init(loop, &srv->trim);
    (void)uv_signal_init(loop, &srv->sig_hup);
    (void)uv_signal_init(loop, &srv->sig_term);
    (void)uv_signal_init(loop, &srv->sig_int);
    (void)uv_signal_init(loop, &srv->sig_usr1);
    srv->shutdown_timer.data = srv->trim.data = srv;
    srv->sig_hup.data = srv->sig_term.data = srv->sig_int.data = srv->sig_usr1.data = srv;
    srv->handles_open = true;
    (void)uv_signal_start(&srv->sig_hup, on_signal, SIGHUP);
    (void)uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
    (void)uv_signal_start(&srv->sig_int, on_signal, SIGINT);
    (void)uv_signal_start(&srv->sig_usr1, on_signal, SIGUSR1);
#ifdef __GLIBC__
    (void)uv_timer_start(&srv->trim, on_trim, SERVER_TRIM_EVERY_MS, SERVER_TRIM_EVERY_MS);
#endif
    return 0;
}

/* ---- listeners ----------------------------------------------------- */

/* The default socket outside XDG_RUNTIME_DIR lives in /tmp/suitd-UID/:
 * make that directory, or refuse to start when someone else's (or an open
 * one) is there, since whoever owns it can swap the socket for their own.
 * Sockets from systemd need no directory of ours. */
static int prepare_socket_dir(struct server *srv)
{
    const char *path = srv->cfg->socket_path;
    char dir[256], msg[512];
    if (!path || getenv("LISTEN_FDS") || proto_private_dir(dir, sizeof dir, geteuid()) < 0)
        return 0;
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0 || path[n] != '/' || strchr(path + n + 1, '/'))
        return 0;
    if (proto_private_dir_prepare(dir, geteuid(), msg, sizeof msg) < 0) {
        log_error(srv->log, "refusing the socket %s: %s", path, msg);
        return -1;
    }
    return 0;
}

int server_listen(struct server *srv)
{
    if (prepare_socket_dir(srv) < 0)
        return -1;
    return listeners_open(&srv->listeners, srv->loop, srv->cfg, srv->token != NULL, srv->log,
                          on_client, srv);
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
    listeners_chown(&srv->listeners, pw->pw_uid, pw->pw_gid);
    /* The open descriptor, never the path: the path may have been swapped
     * for a link since it was opened. */
    int drc = decision_log_chown(&srv->dlog, pw->pw_uid, pw->pw_gid);
    if (drc < 0)
        log_warn(srv->log, "fchown of the decision log %s: %s", srv->dlog.path, strerror(-drc));
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

/* Descriptors the daemon needs besides its clients' (listeners, the
 * loop's, the decision log, rule files during a reload), roughly. */
#define SERVER_FD_HEADROOM 64

/* A descriptor limit below what the connection limits allow means clients
 * refused as out of descriptors (counted) before --max-connections.  As
 * Redis does for maxclients, raise the soft limit as far as the hard one
 * allows; if that is still too low, say so at start rather than at the
 * first burst. */
static void check_fd_limit(struct server *srv)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    uint64_t want = (uint64_t)srv->cfg->max_connections + srv->cfg->unix_reserve +
                    SERVER_FD_HEADROOM;
    if ((uint64_t)rl.rlim_cur < want) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || (uint64_t)rl.rlim_max > want
                          ? (rlim_t)want
                          : rl.rlim_max;
        if (up.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &up) == 0) {
            log_debug(srv->log, "descriptor limit raised from %llu to %llu",
                      (unsigned long long)rl.rlim_cur, (unsigned long long)up.rlim_cur);
            rl = up;
        }
    }
    if ((uint64_t)rl.rlim_cur < want)
        log_warn(srv->log, "the descriptor limit (%llu) is below --max-connections + "
                 "--unix-reserve + %d (%llu): clients beyond it are refused as out of "
                 "descriptors; raise it (LimitNOFILE=, ulimit -n)",
                 (unsigned long long)rl.rlim_cur, SERVER_FD_HEADROOM,
                 (unsigned long long)want);
}

int server_start(struct server *srv)
{
    check_fd_limit(srv);
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
    notify_ready(&srv->notify, id);
    return 0;
}

/* ---- shutdown ------------------------------------------------------ */

/* Closing a uv_signal restores the default action, which for SIGTERM
 * would kill the process in the middle of its orderly exit: a signal that
 * arrives from here on is ignored instead. */
static void close_handles(struct server *srv)
{
    if (!srv->handles_open)
        return;
    srv->handles_open = false;
    conn_set_close(&srv->conns);
    dispatch_close(&srv->dispatch);
    reload_close(&srv->reload);
    uv_close((uv_handle_t *)&srv->shutdown_timer, NULL);
    uv_close((uv_handle_t *)&srv->trim, NULL);
    uv_close((uv_handle_t *)&srv->sig_hup, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->sig_usr1, NULL);
    decision_log_stop(&srv->dlog);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
}

static void stop_workers(struct server *srv)
{
    if (!srv->workers_open)
        return;
    /* Cleared first: workers_close runs job callbacks that come back here
     * through check_drained. */
    srv->workers_open = false;
    workers_close(&srv->workers);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (reload_busy(&srv->reload)) {
        /* A reload cannot be interrupted: stop waiting for it and exit
         * without its result.  Its callers are told so; their answers go
         * out on the loop's next turn, so the connections are closed a
         * moment later rather than now. */
        reload_abandon(&srv->reload);
        (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                             SERVER_SHUTDOWN_FLUSH_MS, 0);
        check_drained(srv);
        return;
    }
    if (!srv->conns.n_open && !workers_outstanding(&srv->workers))
        return;
    /* Answers still waiting for their record (--decision-log-required, a
     * log device that does not finish) become errors now; like an
     * abandoned reload's, they go out on the next turns before the
     * connections are closed. */
    if (decision_log_cancel_waiting(&srv->dlog)) {
        (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                             SERVER_SHUTDOWN_FLUSH_MS, 0);
        check_drained(srv);
        return;
    }
    log_warn(srv->log, "shutdown deadline reached: closing %llu connection(s)",
             (unsigned long long)srv->stats.conn_current);
    conn_set_close_all(&srv->conns, STATS_DROP_SHUTDOWN);
    /* Workers may still hold jobs; stopping them hands those back. */
    stop_workers(srv);
    check_drained(srv);
}

void server_shutdown(struct server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    notify_stopping(&srv->notify, ruleset_id(srv->rs));
    /* Do not start queued reloads: they would only delay the exit. */
    reload_stop(&srv->reload);
    dispatch_stop(&srv->dispatch);
    listeners_close(&srv->listeners);
    conn_set_stop(&srv->conns);
    (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                         (uint64_t)srv->cfg->shutdown_timeout_s * 1000u, 0);
    check_drained(srv);
}

/* Called whenever something a shutdown waits on has finished (a
 * connection freed, a reload done): once nothing is left, stops the
 * workers and closes the handles, which ends uv_run. */
static void check_drained(struct server *srv)
{
    if (!srv->shutting_down || srv->finished)
        return;
    if (srv->conns.n_open || reload_busy(&srv->reload))
        return;
    if (srv->workers_open && workers_outstanding(&srv->workers))
        return;
    srv->finished = true;
    stop_workers(srv);
    close_handles(srv);
    log_info(srv->log, "stopped: %llu connections served",
             (unsigned long long)srv->stats.conn_total);
}

void server_close(struct server *srv)
{
    listeners_close(&srv->listeners);
    stop_workers(srv);
    close_handles(srv);
    /* Let the close callbacks run. */
    uv_run(srv->loop, UV_RUN_DEFAULT);
    listeners_free(&srv->listeners);
    /* The writer finishes the queue; a device that takes no more writes
     * is given the shutdown timeout, then left behind. */
    decision_log_close(&srv->dlog, srv->cfg->shutdown_timeout_s * 1000u + 1000u);
    if (srv->rs)
        ruleset_unref(srv->rs);
    srv->rs = NULL;
    if (srv->token) {
        memset(srv->token, 0, srv->token_len);
        free(srv->token);
        srv->token = NULL;
    }
}
