/*
 * request.h: a request that is answered later (by a worker or the reload):
 * its life cycle, its deadline, and handing it to the workers.
 *
 * A struct request lives from dispatch until its answer is queued (or
 * until the deadline answers it first) and until the job is back from the
 * worker; it holds a reference on its connection for that whole time.
 * Requests waiting for a worker are on a FIFO owned by struct requests:
 * every request gets the same timeout, so the FIFO is also ordered by
 * deadline and one timer on its head is enough.  Each connection's
 * requests are on a list in its session (conn_session), also edited here
 * only, so that a connection that closes can cancel what has not started.
 */
#ifndef SUITD_REQUEST_H
#define SUITD_REQUEST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "conn.h"
#include "decision_log.h"
#include "log.h"
#include "proto.h"
#include "reload.h"
#include "stats.h"
#include "workers.h"

struct request;

/* What the daemon keeps per connection (the conn's session memory). */
struct session {
    struct request *requests;   /* at the workers or the reload (request.c) */
};

struct requests {
    uv_loop_t *loop;
    const struct logger *log;
    struct stats *stats;
    struct workers *workers;    /* borrowed; started after requests_init */
    struct decision_log *dlog;  /* borrowed; an assessment's audit trail */
    unsigned timeout_ms;        /* per request, from its arrival */
    unsigned max_queue;         /* jobs at the workers before `overloaded` */

    struct request *tq_head, *tq_tail;  /* waiting for a worker, oldest first */
    uv_timer_t deadline;
    bool timer_open;
};

struct request {
    struct workers_job job;
    struct reload_waiter rw;
    struct requests *rq;
    struct conn *conn;
    struct request *tprev, *tnext;      /* rq's FIFO */
    struct request *cprev, *cnext;      /* the session's list */
    bool in_tq;
    bool answered;
    const char *method;                 /* its name, for logs (static) */
    /* An assessment: its latency is measured and it goes to the decision
     * log.  The decision log reads the result on the loop thread; without
     * one the worker frees the result itself, so the loop does
     * not pay for freeing what another thread allocated. */
    bool audit;
    bool keep_result;
    char decision_id[DECISION_LOG_ID_LEN];  /* "" without a decision log */
    uint32_t msgid;
    uint64_t t0_ns, deadline_ns;
    /* assess: the request's params, packed again, for the worker's
     * pipeline (the frame they came in is gone once dispatch returns) */
    msgpack_sbuffer params;

    /* written by the worker */
    int code;
    struct proto_error err;
    msgpack_sbuffer out;
    struct suit_result result;
    bool has_result;
};

/* Cannot fail on an initialised loop (a timer only fills in its struct). */
void requests_init(struct requests *rq, uv_loop_t *loop, const struct logger *lg,
                   struct stats *stats, struct workers *workers, struct decision_log *dlog,
                   unsigned timeout_ms, unsigned max_queue);
/* Closes the deadline timer (the loop must run once more). */
void requests_close(struct requests *rq);
/* Whether the workers hold max_queue jobs already. */
bool requests_queue_full(const struct requests *rq);

/* A new request of c (NULL out of memory), counted in flight on c. */
struct request *request_new(struct requests *rq, struct conn *c, uint32_t msgid,
                            const char *method, bool audit);
/* Marks r answered (or abandoned) and lets its connection read on. */
void request_answered(struct request *r);
/* Frees r, which must be answered and not at a worker. */
void request_free(struct request *r);
/* Hands r to the workers with its deadline; r's answer goes out when run
 * returns.  0, or the workers' error: then nothing was queued and r is
 * still the caller's. */
int request_submit(struct request *r, workers_run_fn run);
/* At --log-level debug, the one line per request: connection, method
 * (NULL: an unknown one, whose name is client data and left out), msgid,
 * "ok" or the error's code and name, and the latency since t0_ns.  No
 * patient facts: nothing the client sent but the msgid. */
void requests_log(const struct logger *lg, const struct conn *c, const char *method,
                  uint32_t msgid, int code, uint64_t t0_ns);
/* Connection callback: c is closing, so its requests not yet started are
 * cancelled (they come back UV_ECANCELED and are freed unanswered). */
void requests_conn_closed(struct conn *c);

#endif
