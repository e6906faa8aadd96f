/*
 * request.c: see request.h.
 */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "container_of.h"

void requests_init(struct requests *rq, uv_loop_t *loop, const struct logger *lg,
                   struct stats *stats, struct runner *runner, struct decision_log *dlog,
                   struct mailbox *mbox, unsigned timeout_ms, unsigned max_queue)
{
    memset(rq, 0, sizeof *rq);
    rq->loop = loop;
    rq->log = lg;
    rq->stats = stats;
    rq->runner = runner;
    rq->dlog = dlog;
    rq->mbox = mbox;
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
    return runner_waiting(rq->runner) >= rq->max_queue;
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
    /* The result is kept for the decision log, whose record and answer
     * share the decision's id. */
    r->keep_result = audit && decision_log_enabled(rq->dlog);
    if (r->keep_result)
        decision_log_next_id(rq->dlog, r->decision_id);
    suit_patient_init(&r->patient);
    suit_result_init(&r->result);
    proto_error_init(&r->err);
    msgpack_sbuffer_init(&r->out);
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
    suit_patient_close(&r->patient);
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
        r->job.cancelled = true;
}

/* Answers every request past its deadline. */
static void on_deadline(uv_timer_t *t)
{
    struct requests *rq = t->data;
    uint64_t now = uv_hrtime();
    while (rq->tq_head && rq->tq_head->deadline_ns <= now) {
        struct request *r = rq->tq_head;
        tq_remove(r);
        r->job.cancelled = true;
        if (!conn_closing(r->conn))
            conn_reply_error(r->conn, r->msgid, PROTO_E_TIMEOUT,
                             "request not finished within %u ms", rq->timeout_ms);
        else
            stats_error(rq->stats, PROTO_E_TIMEOUT);
        log_warn(rq->log, "conn %llu: msgid %u: %s timed out", (unsigned long long)r->conn->id,
                 r->msgid, r->method);
        requests_log(rq->log, r->conn, r->method, r->msgid, PROTO_E_TIMEOUT, r->t0_ns);
        request_answered(r);
        /* The job is still at the runner; it is freed when it is done. */
    }
    arm_deadline(rq);
}

void requests_log(const struct logger *lg, const struct conn *c, const char *method,
                  uint32_t msgid, int code, uint64_t t0_ns)
{
    if (!log_enabled(lg, LOG_LEVEL_DEBUG))
        return;
    double ms = (double)(uv_hrtime() - t0_ns) / 1e6;
    if (code)
        log_debug(lg, "conn %llu: %s msgid %u: error %d %s (%.3f ms)",
                  (unsigned long long)c->id, method ? method : "(unknown method)", msgid, code,
                  proto_code_name(code), ms);
    else
        log_debug(lg, "conn %llu: %s msgid %u: ok (%.3f ms)", (unsigned long long)c->id,
                  method ? method : "(unknown method)", msgid, ms);
}

/* ---- runner jobs ---------------------------------------------------- */

/* --decision-log-required: the decision's record is written (status 0):
 * now it may go out; else the client gets an error instead of a decision
 * nobody recorded. */
static void on_recorded(void *arg, int status)
{
    struct request *r = arg;
    struct requests *rq = r->rq;
    struct conn *c = r->conn;
    if (!r->answered) {
        if (status == 0) {
            if (!conn_closing(c))
                conn_send(c, r->out.data, r->out.size);
        } else if (!conn_closing(c)) {
            /* Counted in stats by conn_reply_error. */
            conn_reply_error(c, r->msgid, PROTO_E_INTERNAL, "the decision could not be "
                             "recorded in the decision log (%s), and this daemon answers only "
                             "recorded decisions (--decision-log-required)",
                             status == -ECANCELED ? "the daemon is shutting down"
                                                  : strerror(-status));
        } else {
            stats_error(rq->stats, PROTO_E_INTERNAL);
        }
        requests_log(rq->log, c, r->method, r->msgid, status ? PROTO_E_INTERNAL : 0, r->t0_ns);
        request_answered(r);
    }
    request_free(r);
}

/* The record of r (an assessment), queued for the decision log's writer.
 * Returns 1 when r's answer waits for it (on_recorded sends it), else 0:
 * the caller sends the answer it has (which, when the log is required and
 * the record could not even be queued, has become an error). */
static int audit(struct request *r, int code, double ms)
{
    struct requests *rq = r->rq;
    struct decision_log *d = rq->dlog;
    if (!decision_log_enabled(d))
        return 0;
    struct decision_record rec = {
        .decision_id = r->decision_id,
        .conn_id = r->conn->id,
        .msgid = r->msgid,
        .request_id = code == 0 ? r->result.request_id : NULL,
        .result = code == 0 ? &r->result : NULL,
        .error_code = code,
        .latency_ms = ms,
    };
    bool wait = d->required && code == 0;
    int rc = decision_log_submit(d, &rec, rq->mbox, wait ? on_recorded : NULL, r);
    if (rc == 0)
        return wait ? 1 : 0;
    /* A full queue is reported, rate-limited, by decision_log_submit. */
    if (rc != -EAGAIN)
        log_error(rq->log, "cannot record a decision: %s", strerror(-rc));
    if (wait) {
        /* Replace the decision with an error: nothing unrecorded goes out. */
        r->code = rc == -EAGAIN ? PROTO_E_OVERLOADED : PROTO_E_INTERNAL;
        r->out.size = 0;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
        struct proto_error e;
        proto_error_init(&e);
        proto_error_set(&e, rc == -EAGAIN ? PROTO_E_OVERLOADED : PROTO_E_INTERNAL,
                        "the decision could not be recorded in the decision log (%s), and "
                        "this daemon answers only recorded decisions (--decision-log-required)",
                        rc == -EAGAIN ? "its queue is full; retry later" : strerror(-rc));
        proto_pack_error_response(&pk, r->msgid, &e);
        stats_error(rq->stats, e.code);
        proto_error_close(&e);
    }
    return 0;
}

static void job_done(struct runner_job *job, int status)
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
            /* The runner was closed under it (shutdown deadline). */
            code = PROTO_E_INTERNAL;
            conn_reply_error(c, r->msgid, code, "the daemon is shutting down");
        } else if (code) {
            stats_error(rq->stats, code);
        }
        if (r->audit) {
            if (!code)
                stats_latency(rq->stats, now - r->t0_ns);
            if (code && log_facts(rq->log)) {
                /* Error messages may quote what the client sent: only
                 * with --log-facts (requests_log below has the code). */
                log_debug(rq->log, "conn %llu: msgid %u: %s: %s", (unsigned long long)c->id,
                          r->msgid, r->method, r->err.message);
            }
            if (audit(r, code, ms) == 1)
                return;     /* on_recorded answers and frees it */
            if (!code && r->code)
                code = r->code;     /* refused by --decision-log-required */
        }
        if (!cancelled && !conn_closing(c))
            conn_send(c, r->out.data, r->out.size);
        requests_log(rq->log, c, r->method, r->msgid, code, r->t0_ns);
        request_answered(r);
    }
    request_free(r);
}

int request_submit(struct request *r, runner_run_fn run)
{
    r->job.run = run;
    r->job.done = job_done;
    int rc = runner_submit(r->rq->runner, &r->job);
    if (rc < 0)
        return rc;
    tq_push(r);
    return 0;
}
