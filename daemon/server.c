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
/* glibc's malloc gives the top of a thread's heap back to the kernel as
 * soon as more than M_TRIM_THRESHOLD (128 KiB) is free there, and the
 * next burst faults every page in again: at saturation 20% of the serving
 * threads' CPU was sysmalloc and its page faults (perf record), as a
 * pipelined turn's answers and requests came and went.  The serving
 * threads keep up to this much instead; the idle trim (on_trim) still
 * hands all of it back once the daemon is quiet.  Blocks above the mmap
 * threshold are mapped and unmapped on every allocation: raised with it
 * (setting one fixes both, as glibc then stops adjusting them). */
#define SERVER_MALLOC_TRIM_THRESHOLD (16u * 1024u * 1024u)
#define SERVER_MALLOC_MMAP_THRESHOLD (4u * 1024u * 1024u)
/* At the shutdown deadline, the time given to the answers of an abandoned
 * reload's callers before every connection is closed. */
#define SERVER_SHUTDOWN_FLUSH_MS 50

static void check_drained(struct server *srv);

/* After a burst glibc keeps the freed heap of the serving threads'
 * arenas (after a million requests RSS stayed at 17 MiB against 12 MiB
 * idle).  Once a whole tick has passed with no request and no job in
 * flight, hand it back, once per idle period: a few hundred microseconds,
 * never on a busy daemon. */
static uint64_t requests_total(struct server *srv)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < srv->n_shards; i++)
        n += stats_requests_total(&srv->shards[i].stats);
    return n;
}

static size_t jobs_waiting(struct server *srv)
{
    size_t n = 0;
    for (unsigned i = 0; i < srv->n_shards; i++)
        n += runner_waiting(&srv->shards[i].runner);
    return n;
}

#ifdef __GLIBC__
static void on_trim(uv_timer_t *t)
{
    struct server *srv = t->data;
    uint64_t seen = requests_total(srv);
    if (seen != srv->trim_seen) {
        srv->trim_seen = seen;
        srv->trimmed = false;
        return;
    }
    if (srv->trimmed || jobs_waiting(srv))
        return;
    malloc_trim(0);
    srv->trimmed = true;
}
#endif

/* ---- connections ---------------------------------------------------- */

/* The shard with the fewest connections (open or on their way), the
 * next in turn among equals. */
static struct shard *pick_shard(struct server *srv)
{
    struct shard *best = NULL;
    size_t best_load = 0;
    for (unsigned k = 0; k < srv->n_shards; k++) {
        struct shard *sh = &srv->shards[(srv->next_shard + k) % srv->n_shards];
        size_t load = shard_load(sh);
        if (!best || load < best_load) {
            best = sh;
            best_load = load;
        }
    }
    srv->next_shard = (srv->next_shard + 1) % srv->n_shards;
    return best;
}

static void on_client(struct listener *lis, int fd, bool out_of_fds)
{
    struct server *srv = lis->set->data;
    /* listener.c lent its reserve descriptor for this refusal: it must
     * be done before returning, here (conn_accept refuses every client it
     * is given with out_of_fds, and the refusals set never holds a
     * connection).  Anything else is the serving threads' to take or
     * refuse (while stopping, they refuse). */
    if (out_of_fds)
        conn_accept(&srv->refusals, lis, fd, true);
    else
        shard_hand_over(pick_shard(srv), lis, fd);
}

static void on_shard_drained(struct shard *sh)
{
    struct server *srv = sh->data;
    srv->n_drained++;
    check_drained(srv);
}

/* ---- what the shards ask (on their threads) ------------------------- */

/* A reload asked for on a serving thread: run by the main thread's
 * reload, its outcome carried back to the asking thread. */
struct reload_call {
    struct mail mail;
    struct server *srv;
    struct shard *sh;               /* where the answer goes */
    struct reload_waiter *w;        /* the asker's */
    struct reload_waiter main_w;    /* ours, at the reload */
    char who[40];
    int status;
    int code;
    struct proto_error err;
    struct ruleset *rs;             /* one ref, on success */
    int cases_passed;
};

static void reload_call_free(struct reload_call *rc)
{
    proto_error_close(&rc->err);
    if (rc->rs)
        ruleset_unref(rc->rs);
    free(rc);
}

/* On the asking shard's thread. */
static void on_reload_answer(struct mail *m)
{
    struct reload_call *rc = container_of(m, struct reload_call, mail);
    struct reload_outcome o = {
        .code = rc->code,
        .err = &rc->err,
        .rs = rc->rs,
        .cases_passed = rc->cases_passed,
    };
    rc->w->cb(rc->w, rc->status, &o);
    reload_call_free(rc);
}

static void answer_reload_call(struct reload_call *rc)
{
    rc->mail.fn = on_reload_answer;
    /* A shard's mailbox closes only once it has no connection left, and
     * this request holds one: a failure means the daemon is going. */
    if (mailbox_post(&rc->sh->mbox, &rc->mail) < 0)
        reload_call_free(rc);
}

static void copy_error(struct proto_error *dst, const struct proto_error *src)
{
    proto_error_set(dst, src->code, "%s", src->message);
    if (src->field)
        (void)proto_error_set_field(dst, src->field);
    for (size_t i = 0; i < src->n_details; i++)
        (void)proto_error_add_detail(dst, "%s", src->details[i]);
}

/* On the main thread: the reload is over. */
static void on_reload_call_done(struct reload_waiter *w, int status, const struct reload_outcome *o)
{
    struct reload_call *rc = container_of(w, struct reload_call, main_w);
    rc->status = status;
    rc->code = o->code;
    if (o->err && o->code)
        copy_error(&rc->err, o->err);
    if (!o->code && o->rs)
        rc->rs = ruleset_ref(o->rs);
    rc->cases_passed = o->cases_passed;
    answer_reload_call(rc);
}

/* On the main thread: start it, or say why not. */
static void on_reload_call(struct mail *m)
{
    struct reload_call *rc = container_of(m, struct reload_call, mail);
    rc->main_w.cb = on_reload_call_done;
    int r = reload_start(&rc->srv->reload, &rc->main_w, rc->who, &rc->err);
    if (r < 0) {
        rc->status = r;
        if (!rc->err.code)
            proto_error_set(&rc->err, PROTO_E_NOT_PERMITTED, "the daemon is shutting down");
        rc->code = rc->err.code;
        answer_reload_call(rc);
    }
}

static int shard_reload(void *arg, struct reload_waiter *w, const char *who,
                        struct proto_error *err)
{
    struct shard *sh = arg;
    struct server *srv = sh->data;
    struct reload_call *rc = calloc(1, sizeof *rc);
    if (!rc)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    rc->srv = srv;
    rc->sh = sh;
    rc->w = w;
    snprintf(rc->who, sizeof rc->who, "%s", who);
    proto_error_init(&rc->err);
    rc->mail.fn = on_reload_call;
    if (mailbox_post(&srv->mbox, &rc->mail) < 0) {
        free(rc);
        return proto_error_set(err, PROTO_E_NOT_PERMITTED, "the daemon is shutting down");
    }
    return 0;
}

/* The daemon's counters: the main thread's and every shard's. */
static void shard_stats(void *arg, struct stats *sum, struct stats_extra *x)
{
    struct shard *me = arg;
    struct server *srv = me->data;
    sum->start_ns = srv->stats.start_ns;
    stats_add(sum, &srv->stats);
    for (unsigned i = 0; i < srv->n_shards; i++) {
        stats_add(sum, &srv->shards[i].stats);
        x->queue_depth += runner_waiting(&srv->shards[i].runner);
        x->policy_resets += runner_policy_resets(&srv->shards[i].runner);
    }
}

static const struct dispatch_owner shard_owner = {
    .reload = shard_reload,
    .stats = shard_stats,
};

/* ---- ruleset and reload -------------------------------------------- */

/* Publishes a new ruleset to every serving thread, each with the engine
 * the reload's thread built for it. */
static void set_ruleset(struct server *srv, const struct reload_outcome *o)
{
    struct ruleset *old = srv->rs;
    srv->rs = ruleset_ref(o->rs);
    if (old)
        ruleset_unref(old);
    reload_set_served(&srv->reload, o->rs);
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct engine *eng = NULL;
        if (o->engines && i < o->n_engines) {
            eng = o->engines[i];
            o->engines[i] = NULL;
        }
        shard_set_ruleset(&srv->shards[i], o->rs, eng);
    }
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
        set_ruleset(srv, o);
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

static void forget_token(struct server *srv)
{
    if (srv->token) {
        memset(srv->token, 0, srv->token_len);
        free(srv->token);
        srv->token = NULL;
    }
}

static void free_shards(struct server *srv)
{
    for (unsigned i = 0; i < srv->n_shards; i++)
        shard_join(&srv->shards[i]);
    for (unsigned i = 0; i < srv->n_shards; i++)
        shard_free(&srv->shards[i]);
    free(srv->shards);
    srv->shards = NULL;
    srv->n_shards = 0;
}

/* One serving thread per --workers, each with its engine. */
static int make_shards(struct server *srv, struct ruleset *rs)
{
    const struct config *cfg = srv->cfg;
    unsigned n = cfg->workers ? cfg->workers : 1;
    srv->shards = calloc(n, sizeof *srv->shards);
    if (!srv->shards) {
        log_error(srv->log, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (shard_init(&srv->shards[i], i, cfg, srv->log, rs, &srv->shared, &srv->lim,
                       &shard_owner, srv, &srv->dlog, srv->token, srv->token_len, &srv->mbox,
                       on_shard_drained) < 0) {
            free_shards(srv);
            return -1;
        }
        srv->n_shards++;
    }
    return 0;
}

int server_init(struct server *srv, uv_loop_t *loop, const struct config *cfg,
                const struct logger *lg, struct ruleset *rs)
{
    memset(srv, 0, sizeof *srv);
#ifdef __GLIBC__
    /* Best effort: without them serving is only slower. */
    (void)mallopt(M_TRIM_THRESHOLD, (int)SERVER_MALLOC_TRIM_THRESHOLD);
    (void)mallopt(M_MMAP_THRESHOLD, (int)SERVER_MALLOC_MMAP_THRESHOLD);
#endif
    srv->loop = loop;
    srv->cfg = cfg;
    srv->log = lg;

    /* What can fail comes first, so that a failure has only these to
     * undo. */
    if (cfg->token_file && read_token(srv, cfg->token_file) < 0)
        return -1;
    {
        int rc = decision_log_init(&srv->dlog, cfg->decision_log, cfg->decision_log_required,
                                   cfg->decision_log_queue, lg);
        if (rc < 0) {
            log_error(srv->log, "cannot open --decision-log %s: %s", cfg->decision_log,
                      rc == -ELOOP ? "it is a symbolic link (refused: give the real path)"
                      : rc == -EINVAL ? "not a regular file"
                                      : strerror(-rc));
            forget_token(srv);
            return -1;
        }
    }

    /* Its async handle needs a descriptor (the loop's eventfd). */
    int rc = reload_init(&srv->reload, loop, cfg->rules_dir, cfg->policy_file, &cfg->engine,
                         cfg->reload_timeout_s, lg, &reload_hooks, srv);
    srv->reload.policy_dir = cfg->policy_dir;
    if (rc < 0) {
        log_error(srv->log, "cannot set up reloads: %s", uv_strerror(rc));
        decision_log_close(&srv->dlog, 0);
        forget_token(srv);
        return -1;
    }
    rc = mailbox_init(&srv->mbox, loop);
    if (rc < 0) {
        log_error(srv->log, "cannot set up the serving threads' mailbox: %s", uv_strerror(rc));
        reload_close(&srv->reload);
        uv_run(loop, UV_RUN_NOWAIT);
        decision_log_close(&srv->dlog, 0);
        forget_token(srv);
        return -1;
    }
    srv->mbox_open = true;

    stats_init(&srv->stats, uv_hrtime(), dispatch_method_count(), dispatch_method_name);
    notify_init(&srv->notify);
    conn_shared_init(&srv->shared);
    srv->lim = (struct conn_limits){
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
    proto_limits_default(&srv->lim.proto);
    srv->lim.proto.max_message = cfg->max_message;
    if (make_shards(srv, rs) < 0) {
        mailbox_close(&srv->mbox);
        reload_close(&srv->reload);
        uv_run(loop, UV_RUN_DEFAULT);
        mailbox_free(&srv->mbox);
        decision_log_close(&srv->dlog, 0);
        forget_token(srv);
        return -1;
    }
    srv->rs = ruleset_ref(rs);
    srv->reload.n_engines = srv->n_shards;
    reload_set_served(&srv->reload, rs);
    static const struct conn_callbacks refusal_cb = {0};
    conn_set_init(&srv->refusals, loop, &srv->lim, lg, &srv->stats, &srv->shared, &refusal_cb,
                  srv, 0);

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
    for (unsigned i = 0; i < srv->n_shards; i++) {
        int rc = shard_start(&srv->shards[i]);
        if (rc < 0) {
            log_error(srv->log, "cannot start serving thread %u: %s", i, strerror(-rc));
            return -1;
        }
    }
    srv->shards_started = true;
    const struct suit_ruleset_id *id = ruleset_id(srv->rs);
    log_plain("ready (ruleset %s %s %.12s, %u workers)", id->name, id->version, id->sha256,
              srv->n_shards);
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
    conn_set_close(&srv->refusals);
    reload_close(&srv->reload);
    if (srv->mbox_open) {
        srv->mbox_open = false;
        mailbox_close(&srv->mbox);
    }
    uv_close((uv_handle_t *)&srv->shutdown_timer, NULL);
    uv_close((uv_handle_t *)&srv->trim, NULL);
    uv_close((uv_handle_t *)&srv->sig_hup, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->sig_usr1, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
}

static void on_shutdown_deadline(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (reload_busy(&srv->reload)) {
        /* A reload cannot be interrupted: stop waiting for it and exit
         * without its result.  Its callers are told so; their answers go
         * out on the loops' next turns, so the connections are closed a
         * moment later rather than now. */
        reload_abandon(&srv->reload);
        (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                             SERVER_SHUTDOWN_FLUSH_MS, 0);
        check_drained(srv);
        return;
    }
    if (srv->n_drained == srv->n_shards)
        return;
    /* Answers still waiting for their record (--decision-log-required, a
     * log device that does not finish) become errors now; like an
     * abandoned reload's, they go out on the next turns before the
     * connections are closed. */
    if (decision_log_cancel_waiting(&srv->dlog)) {
        (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                             SERVER_SHUTDOWN_FLUSH_MS, 0);
        return;
    }
    uint64_t open = 0;
    for (unsigned i = 0; i < srv->n_shards; i++)
        open += srv->shards[i].stats.conn_current;
    log_warn(srv->log, "shutdown deadline reached: closing %llu connection(s)",
             (unsigned long long)open);
    for (unsigned i = 0; i < srv->n_shards; i++)
        shard_close_all(&srv->shards[i]);
}

void server_shutdown(struct server *srv)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    notify_stopping(&srv->notify, ruleset_id(srv->rs));
    /* Do not start queued reloads: they would only delay the exit. */
    reload_stop(&srv->reload);
    listeners_close(&srv->listeners);
    for (unsigned i = 0; i < srv->n_shards; i++)
        shard_stop(&srv->shards[i]);
    (void)uv_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                         (uint64_t)srv->cfg->shutdown_timeout_s * 1000u, 0);
    check_drained(srv);
}

/* Called whenever something a shutdown waits on has finished (a shard
 * drained, a reload done): once nothing is left, the shards end their
 * loops and the main thread closes its handles, which ends uv_run. */
static void check_drained(struct server *srv)
{
    if (!srv->shutting_down || srv->finished)
        return;
    if (srv->n_drained < srv->n_shards || reload_busy(&srv->reload))
        return;
    srv->finished = true;
    uint64_t served = srv->stats.conn_total;
    for (unsigned i = 0; i < srv->n_shards; i++) {
        served += srv->shards[i].stats.conn_total;
        shard_finish(&srv->shards[i]);
    }
    close_handles(srv);
    log_info(srv->log, "stopped: %llu connections served", (unsigned long long)served);
}

void server_close(struct server *srv)
{
    listeners_close(&srv->listeners);
    for (unsigned i = 0; i < srv->n_shards; i++)
        shard_finish(&srv->shards[i]);
    close_handles(srv);
    /* Let the close callbacks run. */
    uv_run(srv->loop, UV_RUN_DEFAULT);
    free_shards(srv);
    mailbox_free(&srv->mbox);
    listeners_free(&srv->listeners);
    /* The writer finishes the queue; a device that takes no more writes
     * is given the shutdown timeout, then left behind. */
    decision_log_close(&srv->dlog, srv->cfg->shutdown_timeout_s * 1000u + 1000u);
    if (srv->rs)
        ruleset_unref(srv->rs);
    srv->rs = NULL;
    forget_token(srv);
}
