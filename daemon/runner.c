/*
 * runner.c: see runner.h.
 */
#include "runner.h"

#include <string.h>

static void count_resets(struct runner *r)
{
    if (!r->eng)
        return;
    struct engine_counters ec;
    engine_counters(r->eng, &ec);
    if (ec.policy_resets > r->resets_seen)
        atomic_fetch_add(&r->policy_resets, ec.policy_resets - r->resets_seen);
    r->resets_seen = ec.policy_resets;
}

/* Builds an engine for rs; on failure keeps the one there is. */
static int build(struct runner *r, struct ruleset *rs)
{
    struct engine *fresh = NULL;
    struct proto_error err;
    proto_error_init(&err);
    int rc = engine_create(rs, &r->limits, &fresh, &err);
    if (rc < 0) {
        log_error(r->log, "serving thread %u: cannot build an engine for the ruleset: %s",
                  r->index, err.message);
    } else {
        count_resets(r);
        if (r->eng)
            engine_free(r->eng);
        r->eng = fresh;
        r->resets_seen = 0;
    }
    proto_error_close(&err);
    return rc;
}

static void on_more(uv_idle_t *h)
{
    (void)h;    /* only there so that the loop polls without blocking */
}

/* The iteration's turn: the jobs submitted since the last one, in order,
 * for at most RUNNER_TURN_NS.  A job's done() may submit more (none does
 * today); those wait for the next turn, so one turn always ends. */
static void on_turn(uv_check_t *h)
{
    struct runner *r = h->data;
    struct runner_job *job = r->head, *last = r->tail;
    r->head = r->tail = NULL;
    uint64_t until = uv_hrtime() + RUNNER_TURN_NS;
    while (job) {
        struct runner_job *next = job->next;
        job->next = NULL;
        atomic_fetch_sub_explicit(&r->waiting, 1, memory_order_relaxed);
        if (job->cancelled) {
            job->done(job, UV_ECANCELED);
        } else {
            job->run(job, r->eng);
            count_resets(r);
            job->done(job, 0);
        }
        /* last->next is NULL: what a done() submits starts a new list. */
        job = next;
        if (job && uv_hrtime() >= until) {
            /* The rest goes first in the next turn, before what that
             * iteration's reads add. */
            last->next = r->head;
            if (!r->head)
                r->tail = last;
            r->head = job;
            break;
        }
    }
    if (r->head) {
        (void)uv_idle_start(&r->more, on_more);
    } else {
        (void)uv_check_stop(h);
        (void)uv_idle_stop(&r->more);
    }
}

int runner_init(struct runner *r, uv_loop_t *loop, unsigned index, struct ruleset *rs,
                const struct engine_limits *lim, const struct logger *lg)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->log = lg;
    r->index = index;
    r->limits = *lim;
    atomic_init(&r->waiting, 0);
    atomic_init(&r->policy_resets, 0);
    int rc = build(r, rs);
    if (rc < 0)
        return rc;
    rc = uv_check_init(loop, &r->turn);
    if (rc < 0) {
        engine_free(r->eng);
        r->eng = NULL;
        return rc;
    }
    r->turn.data = r;
    r->turn_open = true;
    (void)uv_idle_init(loop, &r->more);     /* cannot fail on an initialised loop */
    r->more.data = r;
    r->more_open = true;
    return 0;
}

int runner_submit(struct runner *r, struct runner_job *job)
{
    if (!job->run || !job->done)
        return UV_EINVAL;
    if (r->closed)
        return UV_ECANCELED;
    if (!r->head) {
        int rc = uv_check_start(&r->turn, on_turn);
        if (rc < 0)
            return rc;
    }
    job->next = NULL;
    if (r->tail)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    atomic_fetch_add_explicit(&r->waiting, 1, memory_order_relaxed);
    return 0;
}

size_t runner_waiting(const struct runner *r)
{
    return atomic_load_explicit(&r->waiting, memory_order_relaxed);
}

uint64_t runner_policy_resets(const struct runner *r)
{
    return atomic_load(&r->policy_resets);
}

void runner_set_ruleset(struct runner *r, struct ruleset *rs)
{
    if (!r->closed)
        (void)build(r, rs);     /* logged; the old engine serves on */
}

void runner_use_engine(struct runner *r, struct engine *eng)
{
    if (r->closed) {
        engine_free(eng);
        return;
    }
    count_resets(r);
    if (r->eng)
        engine_free(r->eng);
    r->eng = eng;
    r->resets_seen = 0;
}

void runner_close(struct runner *r)
{
    if (r->closed)
        return;
    r->closed = true;
    struct runner_job *job = r->head;
    r->head = r->tail = NULL;
    while (job) {
        struct runner_job *next = job->next;
        job->next = NULL;
        atomic_fetch_sub_explicit(&r->waiting, 1, memory_order_relaxed);
        job->done(job, UV_ECANCELED);
        job = next;
    }
    if (r->eng)
        engine_free(r->eng);
    r->eng = NULL;
    if (r->turn_open) {
        r->turn_open = false;
        uv_close((uv_handle_t *)&r->turn, NULL);
    }
    if (r->more_open) {
        r->more_open = false;
        uv_close((uv_handle_t *)&r->more, NULL);
    }
}
