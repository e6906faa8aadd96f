/*
 * test_daemon_workers.c: the worker pool and the reload on their own, on a
 * real libuv loop: done() gets a status (0, or UV_ECANCELED for a job that
 * never ran), a call that fails never runs its callback, and a reload's
 * waiters are told only after reload_start has returned.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "container_of.h"
#include "engine.h"
#include "log.h"
#include "reload.h"
#include "testutil.h"
#include "workers.h"

static const char *rules(void)
{
    static char path[1024];
    const char *src = getenv("SUITD_SOURCE_DIR");
    ck_assert_msg(src != NULL, "SUITD_SOURCE_DIR is not set (run through ctest)");
    snprintf(path, sizeof path, "%s/tests/daemon/rulesets/contract", src);
    return path;
}

static struct ruleset *load(void)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_msg(ruleset_load(rules(), NULL, &rs, &err) == 0, "%s", err.message);
    proto_error_close(&err);
    return rs;
}

/* ---- workers -------------------------------------------------------- */

static atomic_bool release;

struct tjob {
    struct workers_job job;
    bool block;                 /* run() waits for `release` */
    atomic_int ran;
    int done_calls;
    int status;
};

static void tjob_run(struct workers_job *job, struct engine *eng)
{
    struct tjob *t = container_of(job, struct tjob, job);
    ck_assert_ptr_nonnull(eng);
    while (t->block && !atomic_load(&release))
        usleep(1000);
    atomic_fetch_add(&t->ran, 1);
}

static void tjob_done(struct workers_job *job, int status)
{
    struct tjob *t = container_of(job, struct tjob, job);
    t->done_calls++;
    t->status = status;
}

static void tjob_init(struct tjob *t, bool block)
{
    memset(t, 0, sizeof *t);
    t->block = block;
    t->job.run = tjob_run;
    t->job.done = tjob_done;
    atomic_init(&t->job.cancelled, false);
    atomic_init(&t->ran, 0);
    t->status = 1;              /* neither 0 nor an error: done() not called */
}

static struct workers pool;
static uv_loop_t loop;

static void pool_start(unsigned n)
{
    atomic_store(&release, false);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct engine_limits lim;
    engine_limits_default(&lim);
    struct ruleset *rs = load();
    ck_assert_int_eq(workers_init(&pool, &loop, n, rs, &lim, NULL), 0);
    ruleset_unref(rs);          /* the pool holds its own */
}

static void pool_finish(void)
{
    workers_close(&pool);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);   /* nothing left open */
}

/* Runs the loop until every job is back. */
static void wait_outstanding(void)
{
    for (int i = 0; i < 10000 && workers_outstanding(&pool); i++)
        uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    ck_assert_uint_eq(workers_outstanding(&pool), 0);
}

START_TEST(done_gets_status_zero_after_run)
{
    pool_start(2);
    struct tjob a;
    tjob_init(&a, false);
    ck_assert_int_eq(workers_submit(&pool, &a.job), 0);
    wait_outstanding();
    ck_assert_int_eq(atomic_load(&a.ran), 1);
    ck_assert_int_eq(a.done_calls, 1);
    ck_assert_int_eq(a.status, 0);
    pool_finish();
}
END_TEST

START_TEST(cancelled_job_never_runs)
{
    pool_start(1);
    struct tjob blocker, cancelled;
    tjob_init(&blocker, true);
    tjob_init(&cancelled, false);
    ck_assert_int_eq(workers_submit(&pool, &blocker.job), 0);
    ck_assert_int_eq(workers_submit(&pool, &cancelled.job), 0);
    /* The only worker is busy: the second job is still waiting. */
    atomic_store(&cancelled.job.cancelled, true);
    atomic_store(&release, true);
    wait_outstanding();
    ck_assert_int_eq(blocker.status, 0);
    ck_assert_int_eq(atomic_load(&cancelled.ran), 0);
    ck_assert_int_eq(cancelled.done_calls, 1);
    ck_assert_int_eq(cancelled.status, UV_ECANCELED);
    pool_finish();
}
END_TEST

START_TEST(close_hands_back_waiting_jobs_cancelled)
{
    pool_start(1);
    struct tjob blocker, waiting;
    tjob_init(&blocker, true);
    tjob_init(&waiting, false);
    ck_assert_int_eq(workers_submit(&pool, &blocker.job), 0);
    ck_assert_int_eq(workers_submit(&pool, &waiting.job), 0);
    while (workers_waiting(&pool) > 1)
        usleep(1000);           /* the worker has taken the blocker */
    atomic_store(&release, true);
    /* The blocker finishes, the waiting job may or may not have started:
     * whichever, each done() runs exactly once, inside workers_close. */
    workers_close(&pool);
    ck_assert_int_eq(blocker.done_calls, 1);
    ck_assert_int_eq(blocker.status, 0);
    ck_assert_int_eq(waiting.done_calls, 1);
    ck_assert_int_eq(waiting.status, atomic_load(&waiting.ran) ? 0 : UV_ECANCELED);
    ck_assert_uint_eq(workers_outstanding(&pool), 0);
    pool_finish();
}
END_TEST

START_TEST(failed_submit_never_calls_done)
{
    pool_start(1);
    struct tjob bad;
    tjob_init(&bad, false);
    bad.job.run = NULL;
    ck_assert_int_eq(workers_submit(&pool, &bad.job), UV_EINVAL);
    ck_assert_uint_eq(workers_outstanding(&pool), 0);
    workers_close(&pool);
    struct tjob late;
    tjob_init(&late, false);
    ck_assert_int_eq(workers_submit(&pool, &late.job), UV_ECANCELED);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(bad.done_calls, 0);
    ck_assert_int_eq(late.done_calls, 0);
    ck_assert_int_eq(atomic_load(&late.ran), 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- reload --------------------------------------------------------- */

struct twaiter {
    struct reload_waiter w;
    int calls;
    int status;
    int code;
};

static bool in_start;           /* set while reload_start runs */
static int published;

static void twaiter_cb(struct reload_waiter *w, int status, const struct reload_outcome *o)
{
    struct twaiter *t = container_of(w, struct twaiter, w);
    ck_assert_msg(!in_start, "a waiter was told before reload_start returned");
    ck_assert_ptr_nonnull(o);
    t->calls++;
    t->status = status;
    t->code = o->code;
}

static void on_publish(void *arg, const struct reload_outcome *o)
{
    (void)arg;
    (void)o;
    published++;
}

static struct reload rl;

static void reload_setup(void)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct engine_limits lim;
    engine_limits_default(&lim);
    published = 0;
    reload_init(&rl, &loop, rules(), NULL, &lim, NULL, on_publish, NULL);
}

static int start(struct twaiter *t)
{
    t->calls = 0;
    t->status = 1;
    t->w.cb = twaiter_cb;
    in_start = true;
    int rc = reload_start(&rl, &t->w);
    in_start = false;
    return rc;
}

START_TEST(reload_tells_waiters_after_returning)
{
    reload_setup();
    struct twaiter a, b;
    ck_assert_int_eq(start(&a), 0);
    /* Asked for while one runs: folded into one more run after it. */
    ck_assert_int_eq(start(&b), 0);
    ck_assert(reload_busy(&rl));
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(a.code, 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.status, 0);
    ck_assert_int_eq(published, 2);
    ck_assert(!reload_busy(&rl));
    reload_close(&rl);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(reload_refused_after_stop_never_calls_back)
{
    reload_setup();
    struct twaiter a, queued, late;
    ck_assert_int_eq(start(&a), 0);
    ck_assert_int_eq(start(&queued), 0);
    reload_stop(&rl);
    ck_assert_int_eq(start(&late), UV_ECANCELED);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* The run in progress finishes; the one asked for during it never
     * starts, and its waiter hears so; the refused call hears nothing. */
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(queued.calls, 1);
    ck_assert_int_eq(queued.status, UV_ECANCELED);
    ck_assert_int_eq(queued.code, PROTO_E_RULESET);
    ck_assert_int_eq(late.calls, 0);
    ck_assert_int_eq(published, 1);
    ck_assert(!reload_busy(&rl));
    reload_close(&rl);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"done_status_zero", done_gets_status_zero_after_run},
        {"cancelled_never_runs", cancelled_job_never_runs},
        {"close_cancels_waiting", close_hands_back_waiting_jobs_cancelled},
        {"failed_submit", failed_submit_never_calls_done},
        {"reload_after_return", reload_tells_waiters_after_returning},
        {"reload_after_stop", reload_refused_after_stop_never_calls_back},
    };
    return testutil_run(testutil_suite("daemon_workers", cases, sizeof cases / sizeof cases[0],
                                       60, NULL));
}
