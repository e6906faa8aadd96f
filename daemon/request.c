/*
 * request.c: see request.h.
 */
#include "request.h"

#include <stdlib.h>
#include <string.h>

#include "container_of.h"

void requests_init(struct requests *rq, uv_loop_t *loop, const struct logger *lg,
                   struct stats *stats, struct workers *workers, struct decision_log *dlog,
                   unsigned timeout_ms, unsigned max_queue)
{
    memset(rq, 0, sizeof *rq);
    rq->loop = loop;
    rq->log = lg;
    rq->stats = stats;
    rq->workers = workers;
    rq->dlog = dlog;
    rq->timeout_ms = timeout_ms;
    rq->max_queue = max_queue;
    (void)uv_timer_init(loop, &rq->deadline);
    rq->deadline.data = rq;
    rq->timer_open = true;
}

void requests_close(struct requests *rq)
{
    if (!rq->timer_open)
        return;
    rq->timer_open = false;
    uv_close((uv_handle_t *)&rq->deadline, NULL);
}

bool requests_queue_full(const struct requests *rq)
{
    return workers_outstanding(rq->workers) >= rq->max_queue;
}

/* ---- life cycle ----------------------------------------------------- */

struct request *request_new(struct requests *rq, struct conn *c, uint32_t msgid,
                            const char *method, bool audit)
{
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rq = rq;
    r->conn = c;
    r->msgid = msgid;
    r->method = method;
    r->audit = audit;
    r->t0_ns = uv_hrtime();
    r->keep_result = audit && rq->dlog->f != NULL;
    msgpack_sbuffer_init(&r->params);
    suit_result_init(&r->result);
    proto_error_init(&r->err);
    msgpack_sbuffer_init(&r->out);
    atomic_init(&r->job.cancelled, false);
    conn_ref(c);
    conn_request_start(c);
    struct session *s = conn_session(c);
    r->cnext = s->requests;
    if (s->requests)
        s->requests->cprev = r;
    s->requests = r;
    return r;
}

void request_free(struct request *r)
{
    struct conn *c = r->conn;
    struct session *s = conn_session(c);
    if (r->cprev)
        r->cprev->cnext = r->cnext;
    else
        s->requests = r->cnext;
    if (r->cnext)
        r->cnext->cprev = r->cprev;
    msgpack_sbuffer_destroy(&r->params);
    suit_result_close(&r->result);
    proto_error_close(&r->err);
    msgpack_sbuffer_destroy(&r->out);
    free(r);
    conn_unref(c);
}

/* ---- deadlines ------------------------------------------------------ */

static void on_deadline(uv_timer_t *t);

static void arm_deadline(struct requests *rq)
{
    if (!rq->tq_head) {
        uv_timer_stop(&rq->deadline);
        return;
    }
    uint64_t now = uv_hrtime();
    uint64_t due = rq->tq_head->deadline_ns;
    uint64_t ms = due > now ? (due - now + 999999u) / 1000000u : 0;
    /* Fails only without a callback. */
    (void)uv_timer_start(&rq->deadline, on_deadline, ms, 0);
}

static void tq_push(struct request *r)
{
    struct requests *rq = r->rq;
    r->deadline_ns = r->t0_ns + (uint64_t)rq->timeout_ms * 1000000u;
    r->tprev = rq->tq_tail;
    r->tnext = NULL;
    if (rq->tq_tail)
        rq->tq_tail->tnext = r;
    else
        rq->tq_head = r;
    rq->tq_tail = r;
    r->in_tq = true;
    if (rq->tq_head == r)
        arm_deadline(rq);
}

static void tq_remove(struct request *r)
{
    struct requests *rq = r->rq;
    if (!r->in_tq)
        return;
    bool was_head = rq->tq_head == r;
    if (r->tprev)
        r->tprev->tnext = r->tnext;
    else
        rq->tq_head = r->tnext;
    if (r->tnext)
        r->tnext->tprev = r->tprev;
    else
        rq->tq_tail = r->tprev;
    r->tprev = r->tnext = NULL;
    r->in_tq = false;
    if (was_head)
        arm_deadline(rq);
}

void request_answered(struct request *r)
{
    r->answered = true;
    tq_remove(r);
    conn_request_done(r->conn);
}

void requests_conn_closed(struct conn *c)
{
    struct session *s = conn_session(c);
    for (struct request *r = s->requests; r; r = r->cnext)
        atomic_store(&r->job.cancelled, true);
}

/* Answers every request past its deadline. */
static void on_deadline(uv_timer_t *t)
{
    struct requests *rq = t->data;
    uint64_t now = uv_hrtime();
    while (rq->tq_head && rq->tq_head->deadline_ns <= now) {
        struct request *r = rq->tq_head;
        tq_remove(r);
        atomic_store(&r->job.cancelled, true);
        if (!conn_closing(r->conn))
            conn_reply_error(r->conn, r->msgid, PROTO_E_TIMEOUT,
                             "request not finished within %u ms", rq->timeout_ms);
        else
            stats_error(rq->stats, PROTO_E_TIMEOUT);
        log_warn(rq->log, "conn %llu: msgid %u: %s timed out", (unsigned long long)r->conn->id,
                 r->msgid, r->method);
        request_answered(r);
        /* The job is still at the workers; it is freed when it returns. */
    }
    arm_deadline(rq);
}

/* ---- worker jobs ---------------------------------------------------- */

static void job_done(struct workers_job *job, int status)
{
    struct request *r = container_of(job, struct request, job);
    struct requests *rq = r->rq;
    struct conn *c = r->conn;
    if (!r->answered) {
        uint64_t now = uv_hrtime();
        double ms = (double)(now - r->t0_ns) / 1e6;
        int code = r->code;
        bool cancelled = status == UV_ECANCELED;
        if (cancelled && conn_closing(c)) {
            /* Cancelled because its client left: nobody to tell. */
            request_answered(r);
            request_free(r);
            return;
        }
        if (cancelled) {
            /* The workers were stopped under it (shutdown deadline). */
            code = PROTO_E_INTERNAL;
            conn_reply_error(c, r->msgid, code, "the daemon is shutting down");
        } else {
            if (code)
                stats_error(rq->stats, code);
            if (!conn_closing(c))
                conn_send(c, r->out.data, r->out.size);
        }
        if (r->audit) {
            if (!code)
                stats_latency(rq->stats, now - r->t0_ns);
            if (decision_log_write(rq->dlog, c->id, r->msgid, &r->result, code, ms) < 0)
                log_error(rq->log, "cannot write the decision log %s", rq->dlog->path);
            if (code) {
                /* Error messages may quote what the client sent. */
                const char *why = log_facts(rq->log) ? r->err.message : proto_code_name(code);
                log_debug(rq->log, "conn %llu: msgid %u: %s: %s", (unsigned long long)c->id,
                          r->msgid, r->method, why);
            }
        }
        request_answered(r);
    }
    request_free(r);
}

int request_submit(struct request *r, workers_run_fn run)
{
    r->job.run = run;
    r->job.done = job_done;
    int rc = workers_submit(r->rq->workers, &r->job);
    if (rc < 0)
        return rc;
    tq_push(r);
    return 0;
}
