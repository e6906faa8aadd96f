/*
 * reload.c: see reload.h.
 */
#include "reload.h"

#include <string.h>

void reload_init(struct reload *r, uv_loop_t *loop, const char *dir, const char *policy,
                 const struct engine_limits *lim, const struct logger *lg,
                 reload_publish_fn publish, void *arg)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->dir = dir;
    r->policy = policy;
    r->limits = *lim;
    r->log = lg;
    r->publish = publish;
    r->publish_arg = arg;
    proto_error_init(&r->err);
}

/* Pool thread: everything slow happens here.  The same decision as at
 * start-up (ruleset_check), never a second definition of it. */
static void do_reload(uv_work_t *work)
{
    struct reload *r = work->data;
    struct ruleset_check_opts co;
    ruleset_check_opts_init(&co, r->dir, r->policy);
    co.src.policy_dir = r->policy_dir;
    co.limits = r->limits;
    struct ruleset_report rep;
    ruleset_report_init(&rep);
    int rc = ruleset_check(&co, &r->rs, &rep, &r->err);
    r->cases_passed = rep.cases_passed;
    ruleset_report_close(&rep);
    r->code = rc < 0 ? (r->err.code ? r->err.code : PROTO_E_RULESET) : 0;
}

static int begin(struct reload *r);

/* Tells every waiter on the list w that its reload will not run (status
 * UV_ECANCELED: the daemon is exiting; another negative libuv error: the
 * thread pool refused the work).  Not a failed reload (nothing was
 * loaded), so the publish hook, which counts outcomes, is not told. */
static void refuse_waiters(struct reload_waiter *w, int status)
{
    struct proto_error e;
    proto_error_init(&e);
    if (status == UV_ECANCELED)
        proto_error_set(&e, PROTO_E_RULESET, "reload not run: the daemon is shutting down");
    else
        proto_error_set(&e, PROTO_E_INTERNAL, "cannot start a reload: %s", uv_strerror(status));
    struct reload_outcome o = {.code = e.code, .err = &e};
    while (w) {
        struct reload_waiter *next = w->next;
        w->next = NULL;
        w->cb(w, status, &o);
        w = next;
    }
    proto_error_close(&e);
}

static void after_reload(uv_work_t *work, int status)
{
    struct reload *r = work->data;
    if (status < 0 && !r->code) {
        r->code = PROTO_E_INTERNAL;
        proto_error_set(&r->err, PROTO_E_INTERNAL, "reload could not run: %s", uv_strerror(status));
    }
    if (r->code && !r->err.code)
        r->err.code = r->code;
    if (r->code && r->err.code != r->code)
        r->err.code = r->code;
    struct reload_outcome o = {
        .code = r->code, .err = &r->err, .rs = r->rs, .cases_passed = r->cases_passed,
    };
    /* The run is over: say so before telling anyone, because the callbacks
     * below are where the server checks whether a shutdown can finish (a
     * SIGTERM during a reload used to wait for a check that never came). */
    r->running = false;
    if (r->code) {
        log_error(r->log, "reload failed, keeping the old ruleset: %s", r->err.message);
        for (size_t i = 0; i < r->err.n_details; i++)
            log_error(r->log, "reload:   %s", r->err.details[i]);
    } else {
        const struct suit_ruleset_id *id = ruleset_id(r->rs);
        log_info(r->log, "reloaded ruleset %s %s %.12s (%d cases passed)", id->name,
                 id->version, id->sha256, r->cases_passed);
    }
    if (r->publish)
        r->publish(r->publish_arg, &o);

    struct reload_waiter *w = r->current;
    r->current = NULL;
    while (w) {
        struct reload_waiter *next = w->next;
        w->next = NULL;
        w->cb(w, 0, &o);
        w = next;
    }
    if (r->rs)
        ruleset_unref(r->rs);
    r->rs = NULL;
    proto_error_close(&r->err);
    if (r->again) {
        r->again = false;
        r->current = r->next;
        r->next = NULL;
        int rc = r->stopping ? UV_ECANCELED : begin(r);
        if (rc < 0) {
            if (rc != UV_ECANCELED)
                log_error(r->log, "cannot start the next reload: %s", uv_strerror(rc));
            struct reload_waiter *refused = r->current;
            r->current = NULL;
            refuse_waiters(refused, rc);
        }
    }
}

/* Queues a run for the waiters on r->current.  0, or the libuv error (then
 * nothing runs and nobody has been told). */
static int begin(struct reload *r)
{
    r->code = 0;
    r->work.data = r;
    int rc = uv_queue_work(r->loop, &r->work, do_reload, after_reload);
    if (rc < 0)
        return rc;
    r->running = true;
    return 0;
}

int reload_start(struct reload *r, struct reload_waiter *waiter)
{
    if (r->stopping)
        return UV_ECANCELED;
    if (r->running) {
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
    int rc = begin(r);
    if (rc < 0)
        r->current = NULL;
    return rc;
}

bool reload_busy(const struct reload *r)
{
    /* A reload asked for during a run is still to come, unless stopping. */
    return r->running || (r->again && !r->stopping);
}

void reload_stop(struct reload *r)
{
    r->stopping = true;
}

void reload_close(struct reload *r)
{
    proto_error_close(&r->err);
}
