/*
 * workers.c: see workers.h.
 */
#include "workers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct worker_arg {
    struct workers *w;
    unsigned index;
};

/* Builds an engine for the pool's current generation; keeps the old one if
 * the build fails, because serving the previous ruleset beats failing. */
static void refresh_engine(struct workers *w, unsigned index, struct engine **eng,
                           uint64_t *have_gen, struct ruleset *rs, uint64_t gen)
{
    struct engine *fresh = NULL;
    struct proto_error err;
    proto_error_init(&err);
    int rc = engine_create(rs, &w->limits, &fresh, &err);
    if (rc < 0) {
        log_error(w->log, "worker %u: cannot build an engine for the new ruleset: %s",
                  index, err.message);
    } else {
        if (*eng)
            engine_free(*eng);
        *eng = fresh;
        log_debug(w->log, "worker %u: engine ready (generation %llu)", index,
                  (unsigned long long)gen);
    }
    /* Do not retry a failed build before every job. */
    *have_gen = gen;
    proto_error_close(&err);
}

/* Appends a job that ran (or never will) to the list the loop thread
 * hands back to its owner.  The caller holds w->mu. */
static void done_append(struct workers *w, struct workers_job *job)
{
    job->next = NULL;
    if (w->done_tail)
        w->done_tail->next = job;
    else
        w->done_head = job;
    w->done_tail = job;
}


static void *worker_main(void *p)
{
    struct worker_arg *arg = p;
    struct workers *w = arg->w;
    unsigned index = arg->index;
    free(arg);
    struct engine *eng = NULL;
    uint64_t have_gen = 0;
    uint64_t resets_seen = 0;   /* eng's policy_resets already counted */

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping && w->gen == have_gen) {
            w->sleeping++;
            pthread_cond_wait(&w->cond, &w->mu);
            w->sleeping--;
        }
        if (w->stopping)
            break;
        if (w->gen != have_gen) {
            /* Between jobs: the job before this ran to the end on the old
             * engine, the next one runs on the new. */
            struct ruleset *rs = ruleset_ref(w->rs);
            uint64_t gen = w->gen;
            pthread_mutex_unlock(&w->mu);
            struct engine *before = eng;
            refresh_engine(w, index, &eng, &have_gen, rs, gen);
            if (eng != before)
                resets_seen = 0;
            ruleset_unref(rs);   /* the engine keeps its own ref */
            pthread_mutex_lock(&w->mu);
            continue;
        }
        /* This worker's share of the queue, at least one job. */
        size_t take = (w->waiting + w->n_threads - 1) / w->n_threads;
        if (take > WORKERS_BATCH_MAX)
            take = WORKERS_BATCH_MAX;
        struct workers_job *batch = w->head, *last = w->head;
        for (size_t i = 1; i < take && last->next; i++)
            last = last->next;
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        for (struct workers_job *j = batch; j; j = j->next)
            w->waiting--;
        pthread_mutex_unlock(&w->mu);

        for (struct workers_job *job = batch; job; job = job->next) {
            if (atomic_load(&job->cancelled)) {
                job->status = UV_ECANCELED;
                continue;
            }
            job->run(job, eng);
            job->status = 0;
            if (eng) {
                struct engine_counters ec;
                engine_counters(eng, &ec);
                if (ec.policy_resets > resets_seen)
                    atomic_fetch_add(&w->policy_resets, ec.policy_resets - resets_seen);
                resets_seen = ec.policy_resets;
            }
        }

        pthread_mutex_lock(&w->mu);
        if (w->done_tail)
            w->done_tail->next = batch;
        else
            w->done_head = batch;
        w->done_tail = last;
        /* Only fails on a handle that is not an async one or is closing;
         * the pool closes it only after every worker has been joined. */
        (void)uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    if (eng)
        engine_free(eng);
    return NULL;
}

/* Loop thread: hands finished jobs back in one batch per wake-up. */
static void on_async(uv_async_t *a)
{
    struct workers *w = a->data;
    pthread_mutex_lock(&w->mu);
    struct workers_job *job = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (job) {
        struct workers_job *next = job->next;
        job->next = NULL;
        w->outstanding--;
        job->done(job, job->status);
        job = next;
    }
}

int workers_init(struct workers *w, uv_loop_t *loop, unsigned n, struct ruleset *rs,
                 const struct engine_limits *lim, const struct logger *lg)
{
    memset(w, 0, sizeof *w);
    atomic_init(&w->policy_resets, 0);
    w->loop = loop;
    w->log = lg;
    w->limits = *lim;
    w->rs = ruleset_ref(rs);
    w->gen = 1;
    int rc = uv_async_init(loop, &w->async, on_async);
    if (rc < 0) {
        ruleset_unref(w->rs);
        return rc;
    }
    w->async.data = w;
    w->async_open = true;
    rc = uv_prepare_init(loop, &w->submit);
    if (rc < 0) {
        uv_close((uv_handle_t *)&w->async, NULL);
        ruleset_unref(w->rs);
        return rc;
    }
    w->submit.data = w;
    w->submit_open = true;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->threads = calloc(n, sizeof *w->threads);
    if (!w->threads) {
        workers_close(w);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        struct worker_arg *arg = malloc(sizeof *arg);
        if (!arg) {
            workers_close(w);
            return -ENOMEM;
        }
        arg->w = w;
        arg->index = i;
        rc = pthread_create(&w->threads[i], NULL, worker_main, arg);
        if (rc) {
            free(arg);
            workers_close(w);
            return -rc;
        }
        w->n_threads++;
    }
    return 0;
}

/* Loop thread, once per iteration with jobs pending: the iteration's jobs
 * join the queue under one lock, and only as many sleeping workers are
 * woken as there is work for. */
static void flush_pending(struct workers *w)
{
    if (!w->pend_head)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = w->pend_head;
    else
        w->head = w->pend_head;
    w->tail = w->pend_tail;
    w->waiting += w->n_pend;
    if (w->sleeping > 1 && w->n_pend > 1)
        pthread_cond_broadcast(&w->cond);
    else if (w->sleeping)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    w->pend_head = w->pend_tail = NULL;
    w->n_pend = 0;
}

static void on_submit(uv_prepare_t *p)
{
    struct workers *w = p->data;
    flush_pending(w);
    (void)uv_prepare_stop(p);
}

int workers_submit(struct workers *w, struct workers_job *job)
{
    if (!job->run || !job->done)
        return UV_EINVAL;
    if (w->closed)
        return UV_ECANCELED;
    job->next = NULL;
    job->status = 0;
    if (!w->pend_head) {
        int rc = uv_prepare_start(&w->submit, on_submit);
        if (rc < 0)
            return rc;
    }
    w->outstanding++;
    if (w->pend_tail)
        w->pend_tail->next = job;
    else
        w->pend_head = job;
    w->pend_tail = job;
    w->n_pend++;
    return 0;
}

size_t workers_outstanding(const struct workers *w)
{
    return w->outstanding;
}

size_t workers_waiting(struct workers *w)
{
    if (w->closed)
        return 0;
    pthread_mutex_lock(&w->mu);
    size_t n = w->waiting;
    pthread_mutex_unlock(&w->mu);
    return n + w->n_pend;
}

uint64_t workers_policy_resets(struct workers *w)
{
    return atomic_load(&w->policy_resets);
}

void workers_set_ruleset(struct workers *w, struct ruleset *rs)
{
    struct ruleset *ref = ruleset_ref(rs);
    pthread_mutex_lock(&w->mu);
    struct ruleset *old = w->rs;
    w->rs = ref;
    w->gen++;
    /* Idle workers rebuild now rather than on their next job. */
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    /* Engines built from the old ruleset hold their own refs. */
    ruleset_unref(old);
}

static void noop_close(uv_handle_t *h)
{
    (void)h;
}

void workers_close(struct workers *w)
{
    if (w->closed)
        return;
    w->closed = true;
    /* Jobs not yet handed over go back unrun with the queued ones below. */
    flush_pending(w);
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    free(w->threads);
    w->threads = NULL;
    w->n_threads = 0;

    /* Whatever is still queued goes back unrun, so its owner can free it. */
    pthread_mutex_lock(&w->mu);
    struct workers_job *job = w->head;
    w->head = w->tail = NULL;
    w->waiting = 0;
    while (job) {
        struct workers_job *next = job->next;
        job->status = UV_ECANCELED;
        done_append(w, job);
        job = next;
    }
    pthread_mutex_unlock(&w->mu);
    if (w->async_open)
        on_async(&w->async);

    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    if (w->rs)
        ruleset_unref(w->rs);
    w->rs = NULL;
    if (w->async_open) {
        uv_close((uv_handle_t *)&w->async, noop_close);
        w->async_open = false;
    }
    if (w->submit_open) {
        uv_close((uv_handle_t *)&w->submit, noop_close);
        w->submit_open = false;
    }
}
