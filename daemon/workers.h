/*
 * workers.h: the pool of worker threads that run assessments.
 *
 * Each worker owns one struct engine (CLIPS environments are not
 * thread-safe) built from the pool's current ruleset.  Jobs go in one FIFO
 * guarded by a mutex; finished jobs come back to the loop thread through a
 * uv_async, drained in batches, where their `done` callback runs.
 *
 * Hot reload: workers_set_ruleset() publishes a new ruleset under a new
 * generation number.  A worker compares generations between jobs and
 * rebuilds its own engine when they differ, so a job that has started runs
 * to the end on the ruleset it started with.
 *
 * Ownership: a submitted job belongs to the pool until its `done` runs on
 * the loop thread; then it belongs to whoever submitted it again.  As with
 * libuv's uv_queue_work, `done` gets a status: 0 when run() ran, or
 * UV_ECANCELED when it never will (the job was cancelled before a worker
 * took it, or the pool was closed with the job still waiting).
 */
#ifndef SUITD_WORKERS_H
#define SUITD_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine.h"
#include "log.h"

/* Most jobs a worker takes from the queue at once.  Taking several saves a
 * lock round trip per job; taking at most its share of the queue keeps the
 * other workers busy.  A reload is noticed between batches, so this also
 * bounds how many jobs run on the old engine after it (about 16 x 10 us). */
#define WORKERS_BATCH_MAX 16

struct workers_job;
/* Runs on a worker thread.  eng is NULL only if the worker could not build
 * any engine: the job must then report an internal error. */
typedef void (*workers_run_fn)(struct workers_job *job, struct engine *eng);
/* Runs on the loop thread once run() has returned (status 0), or instead
 * of run() (status UV_ECANCELED). */
typedef void (*workers_done_fn)(struct workers_job *job, int status);

struct workers_job {
    workers_run_fn run;
    workers_done_fn done;
    /* Set by the loop when nobody wants the answer any more (deadline,
     * connection gone): a job not yet started then never runs. */
    atomic_bool cancelled;
    /* Private to the pool. */
    struct workers_job *next;
    int status;                 /* what done() will get */
};

struct workers {
    uv_loop_t *loop;
    uv_async_t async;
    const struct logger *log;
    struct engine_limits limits;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct workers_job *head, *tail;        /* waiting jobs */
    struct workers_job *done_head, *done_tail;
    size_t waiting;
    bool stopping;
    struct ruleset *rs;                     /* current ruleset, one ref */
    uint64_t gen;
    /* environments the workers' engines reset to another named policy
     * (over engine_limits.max_environments), summed after each job */
    atomic_uint_fast64_t policy_resets;

    /* Jobs submitted during this loop iteration, handed to the workers
     * in one batch by `submit` (a prepare handle) before the loop polls:
     * one lock and one wake-up for all the requests of a pipelined read
     * rather than one each.  Loop thread only. */
    uv_prepare_t submit;
    struct workers_job *pend_head, *pend_tail;
    size_t n_pend;
    unsigned sleeping;                      /* workers in cond_wait; under mu */

    pthread_t *threads;
    unsigned n_threads;
    size_t outstanding;                     /* loop thread only */
    bool closed;                            /* loop thread only */
    bool async_open;
    bool submit_open;
};

/* Starts n threads serving rs (a ref is taken).  0 or a negative errno;
 * on failure the pool is already closed (workers_close is then a no-op)
 * and its async handle finishes closing the next time the loop runs. */
int workers_init(struct workers *w, uv_loop_t *loop, unsigned n, struct ruleset *rs,
                 const struct engine_limits *lim, const struct logger *lg);
/* Loop thread only.  Queues job; its done() runs later on the loop thread.
 * The jobs of one loop iteration reach the workers together, when the
 * iteration's callbacks have run (a prepare handle), and a worker takes up
 * to its share of them at once (at most WORKERS_BATCH_MAX): one lock and at
 * most one wake-up per batch, not per request.
 * Returns 0, UV_EINVAL when run or done is not set, or UV_ECANCELED when
 * the pool is closing; on an error done() never runs. */
int workers_submit(struct workers *w, struct workers_job *job);
/* Jobs submitted and not yet returned to the loop (waiting + running). */
size_t workers_outstanding(const struct workers *w);
/* Jobs waiting for a worker (not yet started). */
size_t workers_waiting(struct workers *w);
/* Environments reset to another named policy so far (any thread). */
uint64_t workers_policy_resets(struct workers *w);
/* Publishes rs (a ref is taken) for every worker's next job. */
void workers_set_ruleset(struct workers *w, struct ruleset *rs);
/* Stops and joins the threads (jobs still waiting come back through done
 * with UV_ECANCELED, before this returns), then closes the async handle;
 * the loop must run once more to finish the close. */
void workers_close(struct workers *w);

#endif
