/*
 * test_daemon_runner.c: a serving thread's runner, the mailbox between
 * threads, and the reload, each on its own, on a real libuv loop: done()
 * gets a status (0, or UV_ECANCELED for a job that never ran), a call that
 * fails never runs its callback, jobs run in the loop's turn after its
 * reads and not while they are submitted, mail from other threads arrives
 * in order, and a reload's waiters are told only after reload_start has
 * returned.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "container_of.h"
#include "engine.h"
#include "log.h"
#include "mailbox.h"
#include "reload.h"
#include "runner.h"
#include "testutil.h"
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

/* ---- runner --------------------------------------------------------- */

struct tjob {
    struct runner_job job;
    int ran;
    int done_calls;
    int status;
    int order;                  /* when it ran, counting from 1 */
    struct engine *eng;
};

static int run_clock;

static void tjob_run(struct runner_job *job, struct engine *eng)
{
    struct tjob *t = container_of(job, struct tjob, job);
    ck_assert_ptr_nonnull(eng);
    t->eng = eng;
    t->ran++;
    t->order = ++run_clock;
}

static void tjob_done(struct runner_job *job, int status)
{
    struct tjob *t = container_of(job, struct tjob, job);
    t->done_calls++;
    t->status = status;
}

static void tjob_init(struct tjob *t)
{
    memset(t, 0, sizeof *t);
    t->job.run = tjob_run;
    t->job.done = tjob_done;
    t->status = 1;              /* neither 0 nor an error: done() not called */
}

static struct runner runner;
static uv_loop_t loop;

static void runner_start(void)
{
    run_clock = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct engine_limits lim;
    engine_limits_default(&lim);
    struct ruleset *rs = load();
    ck_assert_int_eq(runner_init(&runner, &loop, 0, rs, &lim, NULL), 0);
    ruleset_unref(rs);          /* the engine holds its own */
}

static void runner_finish(void)
{
    runner_close(&runner);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);   /* nothing left open */
}

START_TEST(done_gets_status_zero_after_run)
{
    runner_start();
    struct tjob a;
    tjob_init(&a);
    ck_assert_int_eq(runner_submit(&runner, &a.job), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(a.ran, 1);
    ck_assert_int_eq(a.done_calls, 1);
    ck_assert_int_eq(a.status, 0);
    ck_assert_uint_eq(runner_waiting(&runner), 0);
    runner_finish();
}
END_TEST

/* An iteration's jobs run together in its turn, after its callbacks (the
 * reads that decoded them), in the order submitted: never inside
 * runner_submit, and all of them in one turn. */
START_TEST(jobs_run_in_the_loops_turn)
{
    runner_start();
    struct tjob a, b, c;
    tjob_init(&a);
    tjob_init(&b);
    tjob_init(&c);
    ck_assert_int_eq(runner_submit(&runner, &a.job), 0);
    ck_assert_int_eq(runner_submit(&runner, &b.job), 0);
    ck_assert_int_eq(runner_submit(&runner, &c.job), 0);
    ck_assert_int_eq(a.ran + b.ran + c.ran, 0);
    ck_assert_uint_eq(runner_waiting(&runner), 3);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(a.ran + b.ran + c.ran, 3);
    ck_assert_int_eq(a.order * 100 + b.order * 10 + c.order, 123);
    ck_assert_int_eq(a.done_calls + b.done_calls + c.done_calls, 3);
    ck_assert_uint_eq(runner_waiting(&runner), 0);
    runner_finish();
}
END_TEST

START_TEST(cancelled_job_never_runs)
{
    runner_start();
    struct tjob a, cancelled;
    tjob_init(&a);
    tjob_init(&cancelled);
    ck_assert_int_eq(runner_submit(&runner, &a.job), 0);
    ck_assert_int_eq(runner_submit(&runner, &cancelled.job), 0);
    cancelled.job.cancelled = true;     /* its client left before its turn */
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(cancelled.ran, 0);
    ck_assert_int_eq(cancelled.done_calls, 1);
    ck_assert_int_eq(cancelled.status, UV_ECANCELED);
    runner_finish();
}
END_TEST

START_TEST(close_hands_back_waiting_jobs_cancelled)
{
    runner_start();
    struct tjob waiting;
    tjob_init(&waiting);
    ck_assert_int_eq(runner_submit(&runner, &waiting.job), 0);
    runner_close(&runner);
    ck_assert_int_eq(waiting.ran, 0);
    ck_assert_int_eq(waiting.done_calls, 1);
    ck_assert_int_eq(waiting.status, UV_ECANCELED);
    ck_assert_uint_eq(runner_waiting(&runner), 0);
    runner_finish();
}
END_TEST

START_TEST(failed_submit_never_calls_done)
{
    runner_start();
    struct tjob bad;
    tjob_init(&bad);
    bad.job.run = NULL;
    ck_assert_int_eq(runner_submit(&runner, &bad.job), UV_EINVAL);
    ck_assert_uint_eq(runner_waiting(&runner), 0);
    runner_close(&runner);
    struct tjob late;
    tjob_init(&late);
    ck_assert_int_eq(runner_submit(&runner, &late.job), UV_ECANCELED);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(bad.done_calls, 0);
    ck_assert_int_eq(late.done_calls, 0);
    ck_assert_int_eq(late.ran, 0);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* A new ruleset is a new engine from the next job on; one that cannot
 * be built leaves the old engine serving. */
START_TEST(set_ruleset_swaps_the_engine_between_jobs)
{
    runner_start();
    struct tjob a, b;
    tjob_init(&a);
    tjob_init(&b);
    ck_assert_int_eq(runner_submit(&runner, &a.job), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    struct ruleset *rs = load();
    runner_set_ruleset(&runner, rs);
    ruleset_unref(rs);
    ck_assert_int_eq(runner_submit(&runner, &b.job), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_ptr_nonnull(a.eng);
    ck_assert_ptr_nonnull(b.eng);
    ck_assert_ptr_eq(engine_ruleset(b.eng), runner.eng ? engine_ruleset(runner.eng) : NULL);
    ck_assert_int_eq(b.status, 0);
    runner_finish();
}
END_TEST

/* ---- mailbox -------------------------------------------------------- */

struct tmail {
    struct mail m;
    int seq;
};

static int delivered[2000];
static int n_delivered;
static pthread_t delivered_on[2000];

static void tmail_fn(struct mail *m)
{
    struct tmail *t = container_of(m, struct tmail, m);
    delivered_on[n_delivered] = pthread_self();
    delivered[n_delivered++] = t->seq;
}

static struct mailbox mb;
static struct tmail mails[2000];

static void *poster(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        mails[i].m.fn = tmail_fn;
        mails[i].seq = i;
        ck_assert_int_eq(mailbox_post(&mb, &mails[i].m), 0);
        if (i % 100 == 0)
            usleep(1000);
    }
    return NULL;
}

/* Mail posted from another thread runs on the loop's thread, each once,
 * in the order posted. */
START_TEST(mail_from_another_thread_arrives_in_order)
{
    n_delivered = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(mailbox_init(&mb, &loop), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, poster, NULL), 0);
    for (int i = 0; i < 20000 && n_delivered < 2000; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(200);
    }
    pthread_join(t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(n_delivered, 2000);
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(delivered[i], i);
        ck_assert(pthread_equal(delivered_on[i], pthread_self()));
    }
    mailbox_close(&mb);
    uv_run(&loop, UV_RUN_DEFAULT);
    mailbox_free(&mb);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* Closing delivers what waits; a post after it is refused and its fn
 * never runs. */
START_TEST(closed_mailbox_refuses_and_delivers_what_waits)
{
    n_delivered = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    ck_assert_int_eq(mailbox_init(&mb, &loop), 0);
    struct tmail a = {.m.fn = tmail_fn, .seq = 7}, b = {.m.fn = tmail_fn, .seq = 8};
    ck_assert_int_eq(mailbox_post(&mb, &a.m), 0);
    mailbox_close(&mb);
    ck_assert_int_eq(n_delivered, 1);
    ck_assert_int_eq(delivered[0], 7);
    ck_assert_int_eq(mailbox_post(&mb, &b.m), UV_ECANCELED);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(n_delivered, 1);
    struct mail nofn = {0};
    ck_assert_int_eq(mailbox_post(&mb, &nofn), UV_EINVAL);
    mailbox_free(&mb);
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
        {"run_in_the_loops_turn", jobs_run_in_the_loops_turn},
        {"cancelled_never_runs", cancelled_job_never_runs},
        {"close_cancels_waiting", close_hands_back_waiting_jobs_cancelled},
        {"failed_submit", failed_submit_never_calls_done},
        {"set_ruleset_swaps_engine", set_ruleset_swaps_the_engine_between_jobs},
        {"mail_in_order", mail_from_another_thread_arrives_in_order},
        {"mailbox_closed", closed_mailbox_refuses_and_delivers_what_waits},
        {"reload_after_return", reload_tells_waiters_after_returning},
        {"reload_after_stop", reload_refused_after_stop_never_calls_back},
        {"reload_watchdog", reload_watchdog_abandons_a_slow_run},
        {"reload_close_orphans", reload_close_orphans_a_running_thread},
    };
    return testutil_run(testutil_suite("daemon_runner", cases, sizeof cases / sizeof cases[0],
                                       60, slow_cleanup));
}
