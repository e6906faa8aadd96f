/*
 * reload.h: hot reload of the ruleset and policy.
 *
 * A reload decides whether the rules directory, policy file and policy
 * folder (the named policies are part of the ruleset) may serve
 * with ruleset_check, the same decision start-up makes (read once, lint,
 * probe engine, the directory's own test cases under the ruleset's policy
 * defaults and the configured engine limits), on a libuv thread-pool
 * thread, never on the loop.  Only if everything passes does the loop
 * publish it (see workers_set_ruleset).  Otherwise the old ruleset keeps serving and the
 * error lists the failing files, lines or cases.
 *
 * Requests arriving while a reload runs are folded into one more run after
 * it (a storm of SIGHUPs costs at most two loads), so every waiter gets the
 * outcome of a load that started after it asked.
 */
#ifndef SUITD_RELOAD_H
#define SUITD_RELOAD_H

#include <stdbool.h>
#include <uv.h>

#include "engine.h"
#include "log.h"

struct reload_outcome {
    int code;                   /* 0 or PROTO_E_* */
    const struct proto_error *err;
    struct ruleset *rs;         /* borrowed: the new ruleset on success */
    int cases_passed;
};

struct reload_waiter;
/* Runs on the loop once the reload the waiter asked for is over.  status 0:
 * it ran, and o->code says whether the new ruleset was taken (0) or refused
 * (PROTO_E_*, details in o->err).  UV_ECANCELED: it never ran because the
 * daemon is exiting; another negative libuv error: the thread pool would
 * not take it.  o is never NULL: on a non-zero status o->code and o->err
 * say the same in protocol terms. */
typedef void (*reload_cb)(struct reload_waiter *w, int status, const struct reload_outcome *o);
struct reload_waiter {
    struct reload_waiter *next;
    reload_cb cb;
};

/* Called on the loop after every run, before the waiters: this is where
 * the owner swaps the ruleset in (success) and counts the outcome. */
typedef void (*reload_publish_fn)(void *arg, const struct reload_outcome *o);

struct reload {
    uv_loop_t *loop;
    const struct logger *log;
    const char *dir, *policy;           /* borrowed from the config */
    const char *policy_dir;             /* borrowed; NULL: none (set after reload_init) */
    struct engine_limits limits;
    reload_publish_fn publish;
    void *publish_arg;

    uv_work_t work;
    bool running, again;
    bool stopping;                      /* no new runs: the daemon is exiting */
    struct reload_waiter *current, *next;
    /* results of the run in progress, written by the pool thread */
    int code;
    struct proto_error err;
    struct ruleset *rs;
    int cases_passed;
};

void reload_init(struct reload *r, uv_loop_t *loop, const char *dir, const char *policy,
                 const struct engine_limits *lim, const struct logger *lg,
                 reload_publish_fn publish, void *arg);
/* Starts a reload (or schedules one after the running one).  waiter may be
 * NULL (SIGHUP).  Returns 0: waiter->cb will run, always after this call
 * has returned.  Or UV_ECANCELED (reload_stop was called) or the thread
 * pool's error: then nothing was started and waiter->cb never runs. */
int reload_start(struct reload *r, struct reload_waiter *waiter);
bool reload_busy(const struct reload *r);
/* Shutdown: a reload asked for while one runs is not started; its waiters
 * get status UV_ECANCELED.  The run in progress finishes (it cannot be
 * interrupted), then reload_busy is false.  Later reload_start calls
 * return UV_ECANCELED. */
void reload_stop(struct reload *r);
/* Nothing to free once no run is in flight; asserts nothing pending. */
void reload_close(struct reload *r);

#endif
