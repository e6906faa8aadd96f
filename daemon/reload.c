/*
 * reload.c: see reload.h.
 */
#include "reload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

#define RELOAD_MAX_LINT_DETAILS 50

int reload_lint(const char *dir, struct proto_error *err)
{
    char *report = NULL;
    size_t report_len = 0;
    FILE *out = open_memstream(&report, &report_len);
    if (!out)
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot lint the ruleset: out of memory");
    int problems = engine_lint(dir, out);
    fclose(out);
    if (problems == 0) {
        free(report);
        return 0;
    }
    if (problems < 0)
        proto_error_set(err, PROTO_E_RULESET, "%s: the ruleset cannot be linted", dir);
    else
        proto_error_set(err, PROTO_E_RULESET, "%s: %d lint problem%s (see suitd check)", dir,
                        problems, problems == 1 ? "" : "s");
    int n = 0;
    for (char *line = report, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (!*line)
            continue;
        if (++n > RELOAD_MAX_LINT_DETAILS) {
            proto_error_add_detail(err, "...");
            break;
        }
        proto_error_add_detail(err, "%s", line);
    }
    free(report);
    return PROTO_E_RULESET;
}

/* Pool thread: everything slow happens here. */
static void do_reload(uv_work_t *work)
{
    struct reload *r = work->data;
    struct ruleset *rs = NULL;
    r->cases_passed = 0;
    int rc = ruleset_load(r->dir, r->policy, &rs, &r->err);
    if (rc < 0) {
        r->code = r->err.code ? r->err.code : PROTO_E_RULESET;
        return;
    }
    if ((rc = reload_lint(r->dir, &r->err)) != 0) {
        r->code = rc;
        ruleset_unref(rs);
        return;
    }
    /* A ruleset that loads but cannot become an engine must not be swapped
     * in: the workers would keep their old engines and disagree with ping. */
    struct engine *probe = NULL;
    rc = engine_create(rs, &r->limits, &probe, &r->err);
    if (rc < 0) {
        r->code = PROTO_E_RULESET;
        ruleset_unref(rs);
        return;
    }
    engine_free(probe);

    char cases[4096];
    snprintf(cases, sizeof cases, "%s/tests", ruleset_dir(rs));
    struct stat sb;
    if (stat(cases, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        int failed = engine_run_cases(rs, cases, 0, NULL, &r->cases_passed, &r->err);
        if (failed != 0) {
            if (failed > 0)
                proto_error_set(&r->err, PROTO_E_RULESET,
                                "reload refused: %d test case%s failed", failed,
                                failed == 1 ? "" : "s");
            else if (!r->err.code)
                proto_error_set(&r->err, PROTO_E_RULESET, "reload refused: cannot run test cases");
            r->code = PROTO_E_RULESET;
            ruleset_unref(rs);
            return;
        }
    }
    r->code = 0;
    r->rs = rs;
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
