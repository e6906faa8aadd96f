/*
 * request.h: a request that is answered later (by the serving thread's
 * runner, or by the reload): its life cycle, its deadline, and handing it
 * to the runner.
 *
 * A struct request lives from dispatch until its answer is queued (or
 * until the deadline answers it first) and until its job has run or its
 * reload has answered; it holds a reference on its connection for that
 * whole time.  Requests not answered yet are on a FIFO owned by struct
 * requests: every request gets the same timeout, so the FIFO is also
 * ordered by deadline and one timer on its head is enough (an evaluation
 * itself stops at the deadline: run() passes it to the engine).  Each
 * connection's requests are on a list in its session (conn_session), also
 * edited here only, so that a connection that closes can cancel what has
 * not started.
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
#include "mailbox.h"
#include "runner.h"
#include "stats.h"

struct request;

/* What the daemon keeps per connection (the conn's session memory). */
struct session {
    struct request *requests;   /* at the runner or the reload (request.c) */
};

struct requests {
    uv_loop_t *loop;
    const struct logger *log;
    struct stats *stats;
    struct runner *runner;      /* borrowed */
    struct decision_log *dlog;  /* borrowed; an assessment's audit trail */
    struct mailbox *mbox;       /* borrowed: this loop's, for the decision log's replies */
    unsigned timeout_ms;        /* per request, from its arrival */
    unsigned max_queue;         /* jobs waiting for the runner before `overloaded` */

    struct request *tq_head, *tq_tail;  /* not answered yet, oldest first */
    uv_timer_t deadline;
    bool timer_open;
};

struct request {
    struct runner_job job;
    struct reload_waiter rw;
    struct requests *rq;
    struct conn *conn;
    struct request *tprev, *tnext;      /* rq's FIFO */
    struct request *cprev, *cnext;      /* the session's list */
    bool in_tq;
    bool answered;
    const char *method;                 /* its name, for logs (static) */
    /* An assessment: its latency is measured and it goes to the decision
     * log, which reads the result (kept only then). */
    bool audit;
    bool keep_result;
    char decision_id[DECISION_LOG_ID_LEN];  /* "" without a decision log */
    uint32_t msgid;
    uint64_t t0_ns, deadline_ns;
    /* assess: the patient decoded from the params while the frame was
     * there (it is gone once dispatch returns), or the error of decoding
     * it (parse_rc, in err), which run() answers */
    struct suit_patient patient;
    int parse_rc;

    /* written by run() */
    int code;
    struct proto_error err;
    msgpack_sbuffer out;
    struct suit_result result;
    bool has_result;
};

/* Cannot fail on an initialised loop (a timer only fills in its struct). */
void requests_init(struct requests *rq, uv_loop_t *loop, const struct logger *lg,
                   struct stats *stats, struct runner *runner, struct decision_log *dlog,
                   struct mailbox *mbox, unsigned timeout_ms, unsigned max_queue);
/* Closes the deadline timer (the loop must run once more). */
void requests_close(struct requests *rq);
/* Whether max_queue jobs wait for the runner already. */
bool requests_queue_full(const struct requests *rq);

/* A new request of c (NULL out of memory), counted in flight on c. */
struct request *request_new(struct requests *rq, struct conn *c, uint32_t msgid,
                            const char *method, bool audit);
/* Marks r answered (or abandoned) and lets its connection read on. */
void request_answered(struct request *r);
/* Frees r, which must be answered and not at the runner. */
void request_free(struct request *r);
/* Hands r to the runner with its deadline (which run() passes to the
 * engine); r's answer goes out when run returns.  0, or the runner's
 * error: then nothing was queued and r is still the caller's. */
int request_submit(struct request *r, runner_run_fn run);
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
