/*
 * test_daemon_workers.c: the worker pool and the reload on their own, on a
 * real libuv loop: done() gets a status (0, or UV_ECANCELED for a job that
 * never ran), a call that fails never runs its callback, and a reload's
 * waiters are told only after reload_start has returned.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One iteration's jobs are handed over together once its callbacks have
 * run, not one by one as they are submitted: before the loop turns, no
 * worker has seen any of them; after it, all of them run. */
START_TEST(jobs_handed_over_per_iteration)
{
    pool_start(2);
    struct tjob a, b, c;
    tjob_init(&a, false);
    tjob_init(&b, false);
    tjob_init(&c, false);
    ck_assert_int_eq(workers_submit(&pool, &a.job), 0);
    ck_assert_int_eq(workers_submit(&pool, &b.job), 0);
    ck_assert_int_eq(workers_submit(&pool, &c.job), 0);
    usleep(50 * 1000);          /* an idle worker would have started by now */
    ck_assert_int_eq(atomic_load(&a.ran) + atomic_load(&b.ran) + atomic_load(&c.ran), 0);
    ck_assert_uint_eq(workers_waiting(&pool), 3);
    wait_outstanding();
    ck_assert_int_eq(atomic_load(&a.ran) + atomic_load(&b.ran) + atomic_load(&c.ran), 3);
    ck_assert_int_eq(a.done_calls + b.done_calls + c.done_calls, 3);
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
    while (workers_waiting(&pool) > 1)   /* the worker has taken the blocker */
        uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
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
    char message[512];
};

static bool in_start;           /* set while reload_start runs */
static int published, published_timeouts, started;

static void twaiter_cb(struct reload_waiter *w, int status, const struct reload_outcome *o)
{
    struct twaiter *t = container_of(w, struct twaiter, w);
    ck_assert_msg(!in_start, "a waiter was told before reload_start returned");
    ck_assert_ptr_nonnull(o);
    t->calls++;
    t->status = status;
    t->code = o->code;
    snprintf(t->message, sizeof t->message, "%s", o->err ? o->err->message : "");
}

static void on_started(void *arg)
{
    (void)arg;
    started++;
}

static void on_publish(void *arg, const struct reload_outcome *o)
{
    (void)arg;
    published++;
    published_timeouts += o->code == PROTO_E_TIMEOUT;
}

static const struct reload_hooks hooks = {.started = on_started, .publish = on_publish};
static struct reload rl;
static char slow_dir[512];

static void reload_setup_with(const char *dir, uint32_t deadline_ms, unsigned timeout_s)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct engine_limits lim;
    engine_limits_default(&lim);
    if (deadline_ms)
        lim.deadline_ms = deadline_ms;
    published = published_timeouts = started = 0;
    ck_assert_int_eq(reload_init(&rl, &loop, dir, NULL, &lim, timeout_s, NULL, &hooks, NULL), 0);
}

static void reload_setup(void)
{
    reload_setup_with(rules(), 0, 60);
}

/* Closes the reload and the loop; nothing may be left open. */
static void reload_finish(void)
{
    reload_close(&rl);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/* A copy of the contract ruleset with n more cases, each of which runs the
 * slow rule into the engine deadline: a reload of it takes about n times
 * the deadline (CLIPS cannot be interrupted from outside). */
static const char *make_slow_rules(int n)
{
    snprintf(slow_dir, sizeof slow_dir, "/tmp/suitd-reload-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(slow_dir));
    static char rules_dir[600];
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", slow_dir);
    testutil_copy_tree(rules(), rules_dir);
    testutil_write_slow_cases(rules_dir, n);
    return rules_dir;
}

static void slow_cleanup(void)
{
    if (slow_dir[0])
        testutil_remove_tree(slow_dir);
    slow_dir[0] = '\0';
}

static int start(struct twaiter *t)
{
    t->calls = 0;
    t->status = 1;
    t->w.cb = twaiter_cb;
    struct proto_error err;
    proto_error_init(&err);
    in_start = true;
    int rc = reload_start(&rl, &t->w, "test", &err);
    in_start = false;
    t->code = err.code;
    snprintf(t->message, sizeof t->message, "%s", err.message);
    proto_error_close(&err);
    return rc;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until cond(arg) holds, or fails after timeout_ms.  A
 * ticking timer keeps the loop alive meanwhile, as the daemon's handles
 * do: an abandoned run does not. */
static void run_until(bool (*cond)(void *), void *arg, int timeout_ms)
{
    uv_timer_t tick;
    ck_assert_int_eq(uv_timer_init(&loop, &tick), 0);
    ck_assert_int_eq(uv_timer_start(&tick, on_tick, 1, 1), 0);
    for (int t = 0; t < timeout_ms && !cond(arg); t++)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_msg(cond(arg), "timed out waiting");
}

static bool told(void *arg)
{
    return ((struct twaiter *)arg)->calls > 0;
}

static bool no_thread(void *arg)
{
    return ((struct reload *)arg)->run == NULL;
}

START_TEST(reload_tells_waiters_after_returning)
{
    reload_setup();
    struct twaiter a, b, c;
    ck_assert_int_eq(start(&a), 0);
    /* Asked for while one runs: folded into one more run after it. */
    ck_assert_int_eq(start(&b), 0);
    ck_assert_int_eq(start(&c), 0);
    ck_assert(reload_busy(&rl));
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(a.code, 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.status, 0);
    ck_assert_int_eq(c.calls, 1);
    /* Two runs for three requests: the current one and one more. */
    ck_assert_int_eq(published, 2);
    ck_assert_int_eq(started, 2);
    ck_assert(!reload_busy(&rl));
    reload_finish();
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
    ck_assert_int_eq(late.code, PROTO_E_NOT_PERMITTED);
    uv_run(&loop, UV_RUN_DEFAULT);
    /* The run in progress finishes; the one asked for during it never
     * starts, and its waiter hears so; the refused call hears nothing. */
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(queued.calls, 1);
    ck_assert_int_eq(queued.status, UV_ECANCELED);
    ck_assert_int_eq(queued.code, PROTO_E_NOT_PERMITTED);
    ck_assert_int_eq(late.calls, 0);
    ck_assert_int_eq(published, 1);
    ck_assert(!reload_busy(&rl));
    reload_finish();
}
END_TEST

/* The watchdog: a run that outlasts --reload-timeout is abandoned.  Its
 * waiter and the one folded after it hear `timeout` at the deadline, not
 * when the run ends; while its thread still runs a new reload is refused
 * with a reason (never silence); once the thread ends its result is
 * discarded (never published) and reloads work again. */
START_TEST(reload_watchdog_abandons_a_slow_run)
{
    /* 4 cases of 1.5 s: 6 s, against a 1 s timeout. */
    reload_setup_with(make_slow_rules(4), 1500, 1);
    struct twaiter a, folded, refused, after;
    uint64_t t0 = uv_hrtime();
    ck_assert_int_eq(start(&a), 0);
    ck_assert_int_eq(start(&folded), 0);
    run_until(told, &a, 20000);
    double took = (double)(uv_hrtime() - t0) / 1e9;
    ck_assert_msg(took < 4.0, "the waiter was told after %.1f s, not at the 1 s timeout", took);
    ck_assert_int_eq(a.status, UV_ETIMEDOUT);
    ck_assert_int_eq(a.code, PROTO_E_TIMEOUT);
    ck_assert_msg(strstr(a.message, "timed out after 1 s"), "%s", a.message);
    ck_assert_int_eq(folded.calls, 1);
    ck_assert_int_eq(folded.status, UV_ETIMEDOUT);
    ck_assert_int_eq(published, 1);
    ck_assert_int_eq(published_timeouts, 1);
    /* A shutdown would not wait for it. */
    ck_assert(!reload_busy(&rl));

    ck_assert_int_eq(start(&refused), UV_EBUSY);
    ck_assert_int_eq(refused.code, PROTO_E_TIMEOUT);
    ck_assert_msg(strstr(refused.message, "still running"), "%s", refused.message);
    ck_assert_int_eq(refused.calls, 0);

    /* The abandoned thread ends (its cases reach their deadline) and its
     * result goes nowhere. */
    run_until(no_thread, &rl, 30000);
    ck_assert_int_eq(published, 1);
    ck_assert_int_eq(a.calls, 1);

    /* Reloads start again; closing while this one runs cancels it. */
    ck_assert_int_eq(start(&after), 0);
    ck_assert(reload_busy(&rl));
    reload_close(&rl);
    ck_assert_int_eq(after.calls, 1);
    ck_assert_int_eq(after.status, UV_ECANCELED);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* Closed while a run's thread is still going (the daemon exits): the
 * thread is orphaned and frees its own run when it ends, without touching
 * the reload or the loop, both gone by then (AddressSanitizer and its leak
 * check watch this). */
START_TEST(reload_close_orphans_a_running_thread)
{
    reload_setup_with(make_slow_rules(2), 1000, 60);
    struct twaiter a;
    ck_assert_int_eq(start(&a), 0);
    usleep(200 * 1000);
    ck_assert(reload_busy(&rl));
    reload_abandon(&rl);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.status, UV_ECANCELED);
    ck_assert_int_eq(a.code, PROTO_E_NOT_PERMITTED);
    ck_assert(!reload_busy(&rl));
    reload_close(&rl);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    /* The loop and the reload are gone; scribble over the reload so that a
     * thread still using it would crash or trip the sanitizer. */
    memset(&rl, 0xa5, sizeof rl);
    memset(&loop, 0xa5, sizeof loop);
    /* Give the orphan time to finish (2 cases of 1 s) and free itself. */
    usleep(3500 * 1000);
    ck_assert_int_eq(published, 0);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"done_status_zero", done_gets_status_zero_after_run},
        {"handed_over_per_iteration", jobs_handed_over_per_iteration},
        {"cancelled_never_runs", cancelled_job_never_runs},
        {"close_cancels_waiting", close_hands_back_waiting_jobs_cancelled},
        {"failed_submit", failed_submit_never_calls_done},
        {"reload_after_return", reload_tells_waiters_after_returning},
        {"reload_after_stop", reload_refused_after_stop_never_calls_back},
        {"reload_watchdog", reload_watchdog_abandons_a_slow_run},
        {"reload_close_orphans", reload_close_orphans_a_running_thread},
    };
    return testutil_run(testutil_suite("daemon_workers", cases, sizeof cases / sizeof cases[0],
                                       60, slow_cleanup));
}
