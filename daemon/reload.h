/*
 * reload.h: hot reload of the ruleset and policy, with a watchdog.
 *
 * A reload decides whether the rules directory, policy file and policy
 * folder (the named policies are part of the ruleset) may serve
 * with ruleset_check, the same decision start-up makes (read once, lint,
 * probe engine, the directory's own test cases under the ruleset's policy
 * defaults and the configured engine limits), on a thread of its own,
 * never on the loop.  Only if everything passes does the loop publish it
 * (see workers_set_ruleset).  Otherwise the old ruleset keeps serving and
 * the error lists the failing files, lines or cases.
 *
 * Requests arriving while a reload runs are folded into one more run after
 * it (a storm of SIGHUPs costs at most two loads), so every waiter gets the
 * outcome of a load that started after it asked.
 *
 * The watchdog.  CLIPS cannot be interrupted from outside, so a load that
 * hangs (a file on a hung network mount, a case that runs to a deadline of
 * an hour) cannot be stopped; it can only be walked away from.  Each run is
 * a struct reload_run on the heap, owned by its thread: it holds copies of
 * everything the check reads (paths, limits) and the results it writes, so
 * the thread never touches the daemon's memory but that run and, once, the
 * uv_async_t that says it is done (sent under the run's mutex, and only
 * while the run still has an owner).  After --reload-timeout the loop
 * abandons the run: its waiters get `timeout`, the old ruleset keeps
 * serving, and the run's result, if it ever comes, is discarded.  While an
 * abandoned thread is still running no new run starts (reload_start says
 * why): at most one reload thread exists at any time, so repeated reloads
 * against a hung mount cannot pile up threads.  At exit (reload_close) a
 * run still going is orphaned: its thread frees it when it ends, or the
 * process ends first.
 */
#ifndef SUITD_RELOAD_H
#define SUITD_RELOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine.h"
#include "log.h"

struct reload_outcome {
    /* 0 or PROTO_E_*: PROTO_E_RULESET (refused), PROTO_E_TIMEOUT (abandoned
     * at --reload-timeout), PROTO_E_INTERNAL. */
    int code;
    const struct proto_error *err;
    struct ruleset *rs;         /* borrowed: the new ruleset on success */
    int cases_passed;
    /* On success: reload.n_engines engines built from rs on the reload's
     * thread, one per serving thread, so that no serving loop stops to
     * parse rules.  The publish hook takes them (sets each it takes to
     * NULL); those left are freed after it. */
    struct engine **engines;
    unsigned n_engines;
};

struct reload_waiter;
/* Runs on the loop once the reload the waiter asked for is over.  status 0:
 * it ran, and o->code says whether the new ruleset was taken (0) or refused
 * (PROTO_E_*, details in o->err).  UV_ETIMEDOUT: it did not finish within
 * --reload-timeout (or, for a waiter folded into the next run, the run
 * before it did not) and was abandoned.  UV_ECANCELED: it never ran, or was
 * abandoned, because the daemon is exiting.  UV_EAGAIN: it was folded
 * after another run and its own thread could not start.  o is never NULL:
 * on a non-zero status o->code and o->err say the same in protocol terms. */
typedef void (*reload_cb)(struct reload_waiter *w, int status, const struct reload_outcome *o);
struct reload_waiter {
    struct reload_waiter *next;
    reload_cb cb;
};

/* What the owner is told, on the loop. */
struct reload_hooks {
    /* A run is starting (systemd's RELOADING=1).  May be NULL. */
    void (*started)(void *arg);
    /* After every run that ended, or was abandoned at --reload-timeout
     * (o->code PROTO_E_TIMEOUT), before its waiters are told: this is where
     * the owner swaps the ruleset in (success) and counts the outcome. */
    void (*publish)(void *arg, const struct reload_outcome *o);
};

struct reload_run;              /* reload.c: one run's thread and results */

struct reload {
    uv_loop_t *loop;
    const struct logger *log;
    const char *dir, *policy;           /* borrowed from the config; copied per run */
    const char *policy_dir;             /* borrowed from the config; NULL: none */
    struct engine_limits limits;
    unsigned timeout_s;                 /* --reload-timeout */
    unsigned n_engines;                 /* engines each run builds (0: none) */
    /* The ruleset served now (one ref, or NULL): a run reuses its binary
     * image when the rule files have not changed (ruleset_check_opts's
     * previous), so a reload of policies or cases parses no rules. */
    struct ruleset *served;
    const struct reload_hooks *hooks;
    void *hooks_arg;

    uv_async_t done_async;              /* a run's thread has finished */
    uv_timer_t watchdog;                /* --reload-timeout of the run awaited */
    bool closed;

    /* The one reload thread there may be: running, or finished and not yet
     * collected by the loop.  NULL: none. */
    struct reload_run *run;
    bool awaited;                       /* its waiters still wait (not abandoned) */
    uint64_t run_started_ns, abandoned_ns;
    bool again;                         /* one more run after this one */
    bool stopping;                      /* no new runs: the daemon is exiting */
    struct reload_waiter *current, *next;
};

/* timeout_s: --reload-timeout (at least 1).  0, or the libuv error of the
 * handles' set-up (then there is nothing to close). */
int reload_init(struct reload *r, uv_loop_t *loop, const char *dir, const char *policy,
                const struct engine_limits *lim, unsigned timeout_s, const struct logger *lg,
                const struct reload_hooks *hooks, void *arg);
/* The ruleset served from now on (a ref is taken; NULL: none). */
void reload_set_served(struct reload *r, struct ruleset *rs);
/* Starts a reload (or folds it into one more run after the running one).
 * waiter may be NULL (SIGHUP); who names the asker in the log ("SIGHUP",
 * "conn 7").  Returns 0: waiter->cb will run, always after this call has
 * returned.  Or, with err set to the answer for the asker (nothing was
 * started, waiter->cb never runs): UV_ECANCELED (reload_stop was called;
 * PROTO_E_NOT_PERMITTED), UV_EBUSY (an abandoned reload's thread is still
 * running; PROTO_E_TIMEOUT, saying for how long), or UV_EAGAIN (its thread
 * could not start; PROTO_E_INTERNAL).  Every refusal but UV_ECANCELED is
 * logged here. */
int reload_start(struct reload *r, struct reload_waiter *waiter, const char *who,
                 struct proto_error *err);
/* Whether a shutdown must still wait: a run being awaited, or one asked
 * for during it.  An abandoned run's thread does not count. */
bool reload_busy(const struct reload *r);
/* Shutdown: a reload asked for while one runs is not started; its waiters
 * get status UV_ECANCELED.  The run in progress may finish (then
 * reload_busy is false) until reload_abandon.  Later reload_start calls
 * return UV_ECANCELED. */
void reload_stop(struct reload *r);
/* Shutdown deadline: stops waiting for the run in progress.  Its waiters,
 * and those folded after it, get status UV_ECANCELED now; its thread is
 * left to finish and its result will be discarded. */
void reload_abandon(struct reload *r);
/* Closes the handles (the loop must run once more for their callbacks) and
 * orphans a thread still running: it frees its run itself when it ends.
 * Waiters still waiting get UV_ECANCELED. */
void reload_close(struct reload *r);

#endif
