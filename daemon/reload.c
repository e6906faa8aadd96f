/*
 * reload.c: see reload.h.
 */
/* gettid (glibc) */
#define _GNU_SOURCE
#include "reload.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A failed reload's log: one summary line and the first few details (the
 * engine keeps up to 50 in the error the `reload` caller gets; suitd check
 * and suitd test list all of them).  A ruleset with 200 failing cases used
 * to log 52 lines per reload. */
#define RELOAD_LOG_DETAILS 5

#define NS_PER_S 1000000000ull

/* The reload's thread runs at this nice value (Linux: per thread).  A
 * reload is one thread of CPU work (load, lint, the ruleset's cases, an
 * engine per serving thread) competing with the serving threads: at nice
 * 0 it takes its full share and serving drops by about a third while it
 * runs.  Measured on the 2-core machine at saturation (BENCHMARKS.md
 * 9.6), serving during a reload of the bundled rules was 58-79% of normal
 * at nice 5 (37-70 ms), 76-98% at 10 (77-154 ms) and 71-98% at 19 (56-231
 * ms, the longest tail): 10 keeps serving and still ends a reload well
 * within --reload-timeout.  On an idle machine it changes nothing. */
#define RELOAD_NICE 10

struct reload_run {
    pthread_mutex_t mu;
    /* Under mu.  owner: the reload that collects the result, NULL once the
     * loop has let go of the run (then the thread frees it).  done: the
     * thread has written its results and will not touch the run again
     * unless owner is NULL. */
    struct reload *owner;
    bool done;

    /* The thread's own copies: the config they come from may be freed
     * while an abandoned run still reads them. */
    char *dir, *policy, *policy_dir;
    struct engine_limits limits;

    /* Written by the thread before done, read by the loop after it. */
    int code;
    struct proto_error err;
    struct ruleset *rs;
    int cases_passed;
    struct engine **engines;    /* n_engines of them on success */
    unsigned n_engines;
    struct ruleset *previous;   /* one ref, or NULL: the served ruleset */
};

static void run_free(struct reload_run *run)
{
    for (unsigned i = 0; run->engines && i < run->n_engines; i++)
        if (run->engines[i])
            engine_free(run->engines[i]);
    free(run->engines);
    if (run->rs)
        ruleset_unref(run->rs);
    if (run->previous)
        ruleset_unref(run->previous);
    proto_error_close(&run->err);
    free(run->dir);
    free(run->policy);
    free(run->policy_dir);
    pthread_mutex_destroy(&run->mu);
    free(run);
}

/* The run's thread: everything slow happens here.  The same decision as
 * at start-up (ruleset_check), never a second definition of it. */
static void *run_main(void *arg)
{
    struct reload_run *run = arg;
    /* Best effort: a reload at normal priority is only slower to serve
     * beside. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), RELOAD_NICE);
    struct ruleset_check_opts co;
    ruleset_check_opts_init(&co, run->dir, run->policy);
    co.src.policy_dir = run->policy_dir;
    co.limits = run->limits;
    co.previous = run->previous;
    struct ruleset_report rep;
    ruleset_report_init(&rep);
    int rc = ruleset_check(&co, &run->rs, &rep, &run->err);
    run->cases_passed = rep.cases_passed;
    ruleset_report_close(&rep);
    run->code = rc < 0 ? (run->err.code ? run->err.code : PROTO_E_RULESET) : 0;
    /* The serving threads' engines, built here rather than on their
     * loops.  One that cannot be built refuses the reload: every thread
     * serves the same ruleset, the old one if need be. */
    for (unsigned i = 0; !run->code && i < run->n_engines; i++) {
        if (!run->engines && !(run->engines = calloc(run->n_engines, sizeof *run->engines))) {
            run->code = proto_error_set(&run->err, PROTO_E_INTERNAL, "out of memory");
            break;
        }
        struct proto_error e;
        proto_error_init(&e);
        if (engine_create(run->rs, &run->limits, &run->engines[i], &e) < 0) {
            run->code = proto_error_set(&run->err, PROTO_E_INTERNAL, "cannot build the serving "
                                        "threads' engines: %s", e.message);
            run->engines[i] = NULL;
        }
        proto_error_close(&e);
    }
    if (run->code)
        run->err.code = run->code;
    pthread_mutex_lock(&run->mu);
    run->done = true;
    struct reload *owner = run->owner;
    /* Under the mutex: the loop closes the handle only after it has set
     * owner to NULL under the same mutex. */
    if (owner)
        uv_async_send(&owner->done_async);
    pthread_mutex_unlock(&run->mu);
    /* With an owner the run is the loop's from the unlock on. */
    if (!owner)
        run_free(run);
    return NULL;
}

static void on_watchdog(uv_timer_t *t);
static void on_run_done(uv_async_t *a);

int reload_init(struct reload *r, uv_loop_t *loop, const char *dir, const char *policy,
                const struct engine_limits *lim, unsigned timeout_s, const struct logger *lg,
                const struct reload_hooks *hooks, void *arg)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->dir = dir;
    r->policy = policy;
    r->limits = *lim;
    r->timeout_s = timeout_s ? timeout_s : 1;
    r->log = lg;
    r->hooks = hooks;
    r->hooks_arg = arg;
    int rc = uv_async_init(loop, &r->done_async, on_run_done);
    if (rc < 0)
        return rc;
    (void)uv_timer_init(loop, &r->watchdog);
    r->done_async.data = r->watchdog.data = r;
    /* Idle, the reload does not keep the loop alive; a run awaited does. */
    uv_unref((uv_handle_t *)&r->done_async);
    return 0;
}

/* Tells every waiter on the list w the same outcome. */
static void tell(struct reload_waiter *w, int status, const struct reload_outcome *o)
{
    while (w) {
        struct reload_waiter *next = w->next;
        w->next = NULL;
        w->cb(w, status, o);
        w = next;
    }
}

/* Tells the waiters on w that their reload will not run, or will not be
 * waited for, because the daemon is exiting.  Not an outcome (nothing was
 * decided), so the publish hook, which counts outcomes, is not told. */
static void cancel_waiters(struct reload_waiter *w, const char *why)
{
    struct proto_error e;
    proto_error_init(&e);
    proto_error_set(&e, PROTO_E_NOT_PERMITTED, "%s: the daemon is shutting down", why);
    struct reload_outcome o = {.code = e.code, .err = &e};
    tell(w, UV_ECANCELED, &o);
    proto_error_close(&e);
}

/* The run awaited is over for its waiters: it has ended, or it is
 * abandoned (its result, should it come, will be discarded). */
static void stop_awaiting(struct reload *r, bool abandoned)
{
    r->awaited = false;
    if (abandoned)
        r->abandoned_ns = uv_hrtime();
    (void)uv_timer_stop(&r->watchdog);
    uv_unref((uv_handle_t *)&r->done_async);
}

/* Starts a thread for the waiters on r->current.  0, or an error with err
 * set (then nothing runs and nobody has been told). */
static int begin(struct reload *r, struct proto_error *err)
{
    struct reload_run *run = calloc(1, sizeof *run);
    if (run) {
        run->dir = strdup(r->dir);
        run->policy = r->policy ? strdup(r->policy) : NULL;
        run->policy_dir = r->policy_dir ? strdup(r->policy_dir) : NULL;
    }
    if (!run || !run->dir || (r->policy && !run->policy) ||
        (r->policy_dir && !run->policy_dir)) {
        if (run) {
            free(run->dir);
            free(run->policy);
            free(run->policy_dir);
            free(run);
        }
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot start a reload: out of memory");
    }
    pthread_mutex_init(&run->mu, NULL);
    proto_error_init(&run->err);
    run->limits = r->limits;
    run->n_engines = r->n_engines;
    run->previous = r->served ? ruleset_ref(r->served) : NULL;
    run->owner = r;

    /* Detached: nobody joins a thread that may never end.  It blocks every
     * signal, so they all go to the loop's thread. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, run_main, run);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc) {
        run_free(run);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot start a reload: %s",
                               strerror(rc));
    }
    r->run = run;
    r->awaited = true;
    r->run_started_ns = uv_hrtime();
    uv_ref((uv_handle_t *)&r->done_async);
    (void)uv_timer_start(&r->watchdog, on_watchdog, (uint64_t)r->timeout_s * 1000u, 0);
    if (r->hooks && r->hooks->started)
        r->hooks->started(r->hooks_arg);
    return 0;
}

static void log_outcome(struct reload *r, const struct reload_outcome *o)
{
    if (!o->code) {
        const struct suit_ruleset_id *id = ruleset_id(o->rs);
        log_info(r->log, "reloaded ruleset %s %s %.12s (%d cases passed)", id->name,
                 id->version, id->sha256, o->cases_passed);
        return;
    }
    log_error(r->log, "reload failed, keeping the old ruleset: %s", o->err->message);
    size_t n = o->err->n_details;
    for (size_t i = 0; i < n && i < RELOAD_LOG_DETAILS; i++)
        log_error(r->log, "reload:   %s", o->err->details[i]);
    if (n > RELOAD_LOG_DETAILS)
        log_error(r->log, "reload:   ... and %zu more (the reply to `suit reload` lists "
                  "more; suitd check and suitd test list them all)", n - RELOAD_LOG_DETAILS);
}

/* After the run the waiters were told about: the run folded after it, if
 * any was asked for. */
static void begin_next(struct reload *r)
{
    if (!r->again || r->closed)
        return;
    r->again = false;
    r->current = r->next;
    r->next = NULL;
    if (r->stopping) {
        struct reload_waiter *w = r->current;
        r->current = NULL;
        cancel_waiters(w, "reload not run");
        return;
    }
    log_info(r->log, "reload: starting the run asked for during the last one");
    struct proto_error err;
    proto_error_init(&err);
    if (begin(r, &err) < 0) {
        log_error(r->log, "%s", err.message);
        struct reload_outcome o = {.code = err.code, .err = &err};
        struct reload_waiter *w = r->current;
        r->current = NULL;
        tell(w, UV_EAGAIN, &o);
    }
    proto_error_close(&err);
}

/* Loop: the run's thread is done.  Collects the result, or discards it if
 * the run was abandoned. */
static void on_run_done(uv_async_t *a)
{
    struct reload *r = a->data;
    struct reload_run *run = r->run;
    if (!run)
        return;
    pthread_mutex_lock(&run->mu);
    bool done = run->done;
    pthread_mutex_unlock(&run->mu);
    if (!done)
        return;
    r->run = NULL;
    uint64_t now = uv_hrtime();
    if (!r->awaited) {
        log_warn(r->log, "the reload abandoned %llu s ago has ended (%s after %llu s); its "
                 "result is discarded, and reloads may start again",
                 (unsigned long long)((now - r->abandoned_ns) / NS_PER_S),
                 run->code ? "refused" : "passed",
                 (unsigned long long)((now - r->run_started_ns) / NS_PER_S));
        run_free(run);
        return;
    }
    stop_awaiting(r, false);
    struct reload_outcome o = {
        .code = run->code, .err = &run->err, .rs = run->rs, .cases_passed = run->cases_passed,
        .engines = run->code ? NULL : run->engines, .n_engines = run->code ? 0 : run->n_engines,
    };
    log_outcome(r, &o);
    /* The run is over before anyone is told, because the callbacks below
     * are where the server checks whether a shutdown can finish. */
    struct reload_waiter *w = r->current;
    r->current = NULL;
    if (r->hooks && r->hooks->publish)
        r->hooks->publish(r->hooks_arg, &o);
    tell(w, 0, &o);
    run_free(run);
    begin_next(r);
}

/* Loop: --reload-timeout has passed and the run has not ended. */
static void on_watchdog(uv_timer_t *t)
{
    struct reload *r = t->data;
    if (!r->run || !r->awaited)
        return;
    stop_awaiting(r, true);
    struct proto_error e;
    proto_error_init(&e);
    proto_error_set(&e, PROTO_E_TIMEOUT,
                    "reload timed out after %u s (--reload-timeout): abandoned, the old ruleset "
                    "keeps serving", r->timeout_s);
    log_error(r->log, "%s; the load cannot be interrupted, so its thread is left to finish "
              "and its result will be discarded; no reload starts until it has ended%s",
              e.message, r->again ? " (nor the one asked for during it)" : "");
    struct reload_outcome o = {.code = e.code, .err = &e};
    /* Those folded into the next run are told too: it will not start
     * while this one's thread runs. */
    struct reload_waiter *w = r->current, *later = r->next;
    r->current = r->next = NULL;
    r->again = false;
    if (r->hooks && r->hooks->publish)
        r->hooks->publish(r->hooks_arg, &o);
    tell(w, UV_ETIMEDOUT, &o);
    tell(later, UV_ETIMEDOUT, &o);
    proto_error_close(&e);
}

void reload_set_served(struct reload *r, struct ruleset *rs)
{
    struct ruleset *old = r->served;
    r->served = rs ? ruleset_ref(rs) : NULL;
    if (old)
        ruleset_unref(old);
}

int reload_start(struct reload *r, struct reload_waiter *waiter, const char *who,
                 struct proto_error *err)
{
    if (r->stopping || r->closed) {
        proto_error_set(err, PROTO_E_NOT_PERMITTED, "reload refused: the daemon is shutting "
                        "down");
        return UV_ECANCELED;
    }
    if (r->run && !r->awaited) {
        uint64_t now = uv_hrtime();
        proto_error_set(err, PROTO_E_TIMEOUT,
                        "reload refused: an earlier reload timed out %llu s ago "
                        "(--reload-timeout %u s) and is still running, %llu s after it "
                        "started; CLIPS cannot be interrupted, so no reload starts until it "
                        "ends; the old ruleset keeps serving (restarting suitd ends it)",
                        (unsigned long long)((now - r->abandoned_ns) / NS_PER_S), r->timeout_s,
                        (unsigned long long)((now - r->run_started_ns) / NS_PER_S));
        log_warn(r->log, "reload (%s): %s", who, err->message);
        return UV_EBUSY;
    }
    if (r->run) {
        if (!r->again)
            log_info(r->log, "reload (%s) asked for during a reload: folded into one more run "
                     "after the current one", who);
        else
            log_debug(r->log, "reload (%s) asked for during a reload: already folded into the "
                      "next run", who);
        r->again = true;
        if (waiter) {
            waiter->next = r->next;
            r->next = waiter;
        }
        return 0;
    }
    if (waiter)
        waiter->next = NULL;
    r->current = waiter;
    log_info(r->log, "reload (%s): checking %s", who, r->dir);
    int rc = begin(r, err);
    if (rc < 0) {
        r->current = NULL;
        log_error(r->log, "reload (%s): %s", who, err->message);
        return UV_EAGAIN;
    }
    return 0;
}

bool reload_busy(const struct reload *r)
{
    /* A reload asked for during a run is still to come, unless stopping. */
    return (r->run && r->awaited) || (r->again && !r->stopping);
}

void reload_stop(struct reload *r)
{
    r->stopping = true;
}

void reload_abandon(struct reload *r)
{
    struct reload_waiter *w = r->current, *later = r->next;
    r->current = r->next = NULL;
    r->again = false;
    if (r->run && r->awaited) {
        log_warn(r->log, "shutdown: abandoning the reload running for %llu s",
                 (unsigned long long)((uv_hrtime() - r->run_started_ns) / NS_PER_S));
        stop_awaiting(r, true);
    }
    cancel_waiters(w, "reload abandoned");
    cancel_waiters(later, "reload not run");
}

void reload_close(struct reload *r)
{
    if (r->closed)
        return;
    reload_stop(r);
    reload_abandon(r);
    r->closed = true;
    struct reload_run *run = r->run;
    r->run = NULL;
    if (run) {
        pthread_mutex_lock(&run->mu);
        bool done = run->done;
        if (!done)
            run->owner = NULL;      /* the thread frees it */
        pthread_mutex_unlock(&run->mu);
        if (done)
            run_free(run);
    }
    uv_close((uv_handle_t *)&r->done_async, NULL);
    uv_close((uv_handle_t *)&r->watchdog, NULL);
    reload_set_served(r, NULL);
}
