/*
 * dispatch.c: see dispatch.h.
 *
 * A request that goes to a worker or to the reload lives in a struct
 * request from dispatch until its answer is queued (or until the deadline
 * answers it first) and until the job is back from the worker; it holds a
 * reference on its connection for that whole time.
 */
#include "dispatch.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "server.h"

struct request {
    struct workers_job job;     /* first: the workers hand this back */
    struct reload_waiter rw;
    struct server *srv;
    struct conn *conn;
    struct request *tprev, *tnext;
    struct request *cprev, *cnext;     /* conn->requests */
    bool in_tq;
    bool answered;
    enum stats_method method;
    uint32_t msgid;
    uint64_t t0_ns, deadline_ns;
    /* assess: the request's params, packed again, for the worker's
     * pipeline (the frame they came in is gone once dispatch returns) */
    msgpack_sbuffer params;
    /* The decision log reads the result on the loop thread; without one the
     * worker frees the result itself, so the loop does not pay for freeing
     * what another thread allocated. */
    bool keep_result;

    /* written by the worker */
    int code;
    struct proto_error err;
    msgpack_sbuffer out;
    struct suit_result result;
    bool has_result;
};

/* ---- replies ------------------------------------------------------- */

static void reply_proto_error(struct conn *c, uint32_t msgid, const struct proto_error *e)
{
    stats_error(&c->srv->stats, e->code);
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_error_response(&pk, msgid, e);
    conn_pack_end(c);
}

void dispatch_reply_error(struct conn *c, uint32_t msgid, int code, const char *fmt, ...)
{
    struct proto_error e;
    proto_error_init(&e);
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    reply_proto_error(c, msgid, &e);
    proto_error_close(&e);
}

/* ---- request life cycle -------------------------------------------- */

static struct request *request_new(struct conn *c, uint32_t msgid, enum stats_method m)
{
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = c->srv;
    r->conn = c;
    r->msgid = msgid;
    r->method = m;
    r->t0_ns = server_now(c->srv);
    r->keep_result = c->srv->dlog.f != NULL;
    msgpack_sbuffer_init(&r->params);
    suit_result_init(&r->result);
    proto_error_init(&r->err);
    msgpack_sbuffer_init(&r->out);
    atomic_init(&r->job.cancelled, false);
    conn_ref(c);
    c->inflight++;
    r->cnext = c->requests;
    if (c->requests)
        c->requests->cprev = r;
    c->requests = r;
    return r;
}

static void request_free(struct request *r)
{
    struct conn *c = r->conn;
    if (r->cprev)
        r->cprev->cnext = r->cnext;
    else
        c->requests = r->cnext;
    if (r->cnext)
        r->cnext->cprev = r->cprev;
    msgpack_sbuffer_destroy(&r->params);
    suit_result_close(&r->result);
    proto_error_close(&r->err);
    msgpack_sbuffer_destroy(&r->out);
    free(r);
    conn_unref(c);
}

static void on_deadline(uv_timer_t *t)
{
    dispatch_expire(t->data);
}

static void arm_deadline(struct server *srv)
{
    if (!srv->tq_head) {
        uv_timer_stop(&srv->deadline);
        return;
    }
    uint64_t now = server_now(srv);
    uint64_t due = srv->tq_head->deadline_ns;
    uint64_t ms = due > now ? (due - now + 999999u) / 1000000u : 0;
    /* Fails only without a callback. */
    (void)uv_timer_start(&srv->deadline, on_deadline, ms, 0);
}

static void tq_push(struct request *r)
{
    struct server *srv = r->srv;
    r->deadline_ns = r->t0_ns + (uint64_t)srv->cfg->request_timeout_ms * 1000000u;
    r->tprev = srv->tq_tail;
    r->tnext = NULL;
    if (srv->tq_tail)
        srv->tq_tail->tnext = r;
    else
        srv->tq_head = r;
    srv->tq_tail = r;
    r->in_tq = true;
    if (srv->tq_head == r)
        arm_deadline(srv);
}

static void tq_remove(struct request *r)
{
    struct server *srv = r->srv;
    if (!r->in_tq)
        return;
    bool was_head = srv->tq_head == r;
    if (r->tprev)
        r->tprev->tnext = r->tnext;
    else
        srv->tq_head = r->tnext;
    if (r->tnext)
        r->tnext->tprev = r->tprev;
    else
        srv->tq_tail = r->tprev;
    r->tprev = r->tnext = NULL;
    r->in_tq = false;
    if (was_head)
        arm_deadline(srv);
}

/* Marks the request answered and lets its connection read on. */
static void request_answered(struct request *r)
{
    r->answered = true;
    tq_remove(r);
    conn_request_done(r->conn);
}

void dispatch_conn_closed(struct conn *c)
{
    for (struct request *r = c->requests; r; r = r->cnext)
        atomic_store(&r->job.cancelled, true);
}

void dispatch_expire(struct server *srv)
{
    uint64_t now = server_now(srv);
    while (srv->tq_head && srv->tq_head->deadline_ns <= now) {
        struct request *r = srv->tq_head;
        tq_remove(r);
        atomic_store(&r->job.cancelled, true);
        if (!r->conn->closing)
            dispatch_reply_error(r->conn, r->msgid, PROTO_E_TIMEOUT,
                                 "request not finished within %u ms",
                                 srv->cfg->request_timeout_ms);
        else
            stats_error(&srv->stats, PROTO_E_TIMEOUT);
        log_warn(srv->log, "conn %llu: msgid %u: %s timed out", (unsigned long long)r->conn->id,
                 r->msgid, stats_method_name(r->method));
        request_answered(r);
        /* The job is still at the workers; it is freed when it returns. */
    }
    arm_deadline(srv);
}

/* ---- worker jobs --------------------------------------------------- */

/* The engine's request pipeline (engine_request_assess), the code
 * suit-bench --in-process measures: params -> patient -> assess -> reply. */
static void run_assess(struct workers_job *job, struct engine *eng)
{
    struct request *r = (struct request *)job;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    /* Bytes this process packed from a decoded object: they unpack. */
    bool ok = msgpack_unpack_next(&up, r->params.data, r->params.size, NULL) ==
              MSGPACK_UNPACK_SUCCESS;
    struct engine_request q = {
        .msgid = r->msgid,
        .params = ok ? &up.data : NULL,
        .result = r->keep_result ? &r->result : NULL,
    };
    r->code = engine_request_assess(eng, &q, &pk, &r->err);
    r->has_result = r->code == 0 && r->keep_result;
    msgpack_unpacked_destroy(&up);
}

static void run_ruleset(struct workers_job *job, struct engine *eng)
{
    struct request *r = (struct request *)job;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
    if (!eng) {
        r->code = proto_error_set(&r->err, PROTO_E_INTERNAL, "no rule engine available");
        proto_pack_error_response(&pk, r->msgid, &r->err);
        return;
    }
    proto_pack_result_header(&pk, r->msgid);
    ruleset_pack_info(engine_ruleset(eng), &pk);
}

static void job_done(struct workers_job *job)
{
    struct request *r = (struct request *)job;
    struct server *srv = r->srv;
    struct conn *c = r->conn;
    if (!r->answered) {
        uint64_t now = server_now(srv);
        double ms = (double)(now - r->t0_ns) / 1e6;
        int code = r->code;
        if (job->skipped && c->closing) {
            /* Cancelled because its client left: nobody to tell. */
            request_answered(r);
            request_free(r);
            server_check_drained(srv);
            return;
        }
        if (job->skipped) {
            /* The workers were stopped under it (shutdown deadline). */
            code = PROTO_E_INTERNAL;
            dispatch_reply_error(c, r->msgid, code, "the daemon is shutting down");
        } else {
            if (code)
                stats_error(&srv->stats, code);
            if (!c->closing)
                conn_send(c, r->out.data, r->out.size);
        }
        if (r->method == STATS_M_ASSESS) {
            if (!code)
                stats_latency(&srv->stats, now - r->t0_ns);
            if (decision_log_write(&srv->dlog, c->id, r->msgid, &r->result, code, ms) < 0)
                log_error(srv->log, "cannot write the decision log %s", srv->dlog.path);
            if (code) {
                /* Error messages may quote what the client sent. */
                const char *why = log_facts(srv->log) ? r->err.message : proto_code_name(code);
                log_debug(srv->log, "conn %llu: msgid %u: assess: %s", (unsigned long long)c->id,
                          r->msgid, why);
            }
        }
        request_answered(r);
    }
    request_free(r);
    server_check_drained(srv);
}

static void submit(struct conn *c, struct request *r, workers_run_fn run)
{
    r->job.run = run;
    r->job.done = job_done;
    tq_push(r);
    workers_submit(&c->srv->workers, &r->job);
}

/* ---- methods ------------------------------------------------------- */

static bool queue_full(struct conn *c, uint32_t msgid)
{
    struct server *srv = c->srv;
    if (workers_outstanding(&srv->workers) < srv->cfg->max_queue)
        return false;
    dispatch_reply_error(c, msgid, PROTO_E_OVERLOADED,
                         "overloaded: %u requests queued; retry later", srv->cfg->max_queue);
    return true;
}

static void do_assess(struct conn *c, const struct proto_message *m)
{
    if (queue_full(c, m->msgid))
        return;
    struct request *r = request_new(c, m->msgid, STATS_M_ASSESS);
    if (!r) {
        dispatch_reply_error(c, m->msgid, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    /* Decoded in the worker, by the pipeline. */
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->params, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, m->params) < 0) {
        dispatch_reply_error(c, m->msgid, PROTO_E_INTERNAL, "out of memory");
        request_answered(r);
        request_free(r);
        return;
    }
    submit(c, r, run_assess);
}

static void do_ruleset(struct conn *c, const struct proto_message *m)
{
    if (queue_full(c, m->msgid))
        return;
    struct request *r = request_new(c, m->msgid, STATS_M_RULESET);
    if (!r) {
        dispatch_reply_error(c, m->msgid, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    submit(c, r, run_ruleset);
}

static void do_ping(struct conn *c, const struct proto_message *m)
{
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_result_header(&pk, m->msgid);
    msgpack_pack_map(&pk, 3);
    proto_pack_str(&pk, "version");
    proto_pack_str(&pk, SUITD_VERSION);
    proto_pack_str(&pk, "protocol");
    proto_pack_str(&pk, PROTO_VERSION);
    proto_pack_str(&pk, "ruleset");
    proto_pack_ruleset_id(&pk, ruleset_id(c->srv->rs));
    conn_pack_end(c);
}

static void do_stats(struct conn *c, const struct proto_message *m)
{
    struct server *srv = c->srv;
    struct stats_extra x = {
        .now_ns = server_now(srv),
        .queue_depth = workers_waiting(&srv->workers),
        .workers = srv->cfg->workers,
        .ruleset = ruleset_id(srv->rs),
    };
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_result_header(&pk, m->msgid);
    stats_pack(&srv->stats, &x, &pk);
    conn_pack_end(c);
}

static void reload_done(struct reload_waiter *w, const struct reload_outcome *o)
{
    struct request *r = (struct request *)((char *)w - offsetof(struct request, rw));
    struct conn *c = r->conn;
    if (!c->closing) {
        if (o->code) {
            reply_proto_error(c, r->msgid, o->err);
        } else {
            msgpack_packer pk;
            conn_pack_begin(c, &pk);
            proto_pack_result_header(&pk, r->msgid);
            msgpack_pack_map(&pk, 2);
            proto_pack_str(&pk, "ruleset");
            proto_pack_ruleset_id(&pk, ruleset_id(o->rs));
            proto_pack_str(&pk, "cases_passed");
            msgpack_pack_int(&pk, o->cases_passed);
            conn_pack_end(c);
        }
    }
    request_answered(r);
    struct server *srv = r->srv;
    request_free(r);
    server_check_drained(srv);
}

static void do_reload(struct conn *c, const struct proto_message *m)
{
    struct server *srv = c->srv;
    if (!conn_is_admin(c)) {
        dispatch_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED,
                             "reload is an admin method: use the Unix socket");
        return;
    }
    if (srv->shutting_down) {
        dispatch_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED, "the daemon is shutting down");
        return;
    }
    struct request *r = request_new(c, m->msgid, STATS_M_RELOAD);
    if (!r) {
        dispatch_reply_error(c, m->msgid, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    log_info(srv->log, "conn %llu: reload requested", (unsigned long long)c->id);
    /* No deadline: a reload runs the ruleset's whole test suite. */
    r->rw.cb = reload_done;
    reload_start(&srv->reload, &r->rw);
}

/* Compares without an early exit, so the time taken does not tell how
 * many leading bytes of a guess were right. */
static bool token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)((i < alen ? (unsigned char)a[i] : 0) ^ (unsigned char)b[i]);
    return diff == 0;
}

/* Checks the token of an auth request on a listener that needs one;
 * false when it has already been answered with an error. */
static bool auth_check(struct conn *c, const struct proto_message *m)
{
    struct server *srv = c->srv;
    const msgpack_object *p = &m->params;
    if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 1 ||
        p->via.array.ptr[0].type != MSGPACK_OBJECT_STR) {
        dispatch_reply_error(c, m->msgid, PROTO_E_INVALID_PARAMS, "auth expects [token]");
        return false;
    }
    const msgpack_object_str *t = &p->via.array.ptr[0].via.str;
    if (!token_equal(t->ptr, t->size, srv->token, srv->token_len)) {
        log_warn(srv->log, "conn %llu: wrong token on %s; closing", (unsigned long long)c->id,
                 c->lis->name);
        dispatch_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED, "wrong token");
        srv->stats.dropped[STATS_DROP_AUTH]++;
        /* One guess per connection. */
        c->broken = true;
        conn_stop_reading(c);
        return false;
    }
    c->authed = true;
    return true;
}

/* Listeners without a token accept auth as a no-op, so one client
 * configuration works against both kinds. */
static void do_auth(struct conn *c, const struct proto_message *m)
{
    if (c->lis->need_token && !auth_check(c, m))
        return;
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_result_header(&pk, m->msgid);
    msgpack_pack_true(&pk);
    conn_pack_end(c);
}

/* Method names are client data: quote at most a printable prefix. */
static void printable(char *dst, size_t dstlen, const char *s, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < dstlen && i < 64; i++)
        dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[j] = '\0';
}

void dispatch_frame(struct conn *c, const msgpack_object *obj)
{
    struct server *srv = c->srv;
    struct proto_message m;
    struct proto_error err;
    memset(&m, 0, sizeof m);
    proto_error_init(&err);
    int rc = proto_message_parse(obj, &m, &err);
    if (rc < 0) {
        if (!err.code)
            err.code = PROTO_E_INVALID_REQUEST;
        if (m.has_msgid && m.type == PROTO_REQUEST) {
            reply_proto_error(c, m.msgid, &err);
        } else {
            /* Valid MessagePack but no usable msgid: answered under msgid
             * 0 (PROTOCOL.md section 7).  The stream is still in step, so
             * the connection stays open. */
            log_debug(srv->log, "conn %llu: invalid frame without msgid: %s",
                      (unsigned long long)c->id, err.message);
            reply_proto_error(c, 0, &err);
        }
        proto_error_close(&err);
        return;
    }
    proto_error_close(&err);
    if (m.type == PROTO_NOTIFY) {
        /* Never answered; suitd defines none, so all are ignored. */
        log_debug(srv->log, "conn %llu: notification ignored", (unsigned long long)c->id);
        return;
    }
    if (m.type == PROTO_RESPONSE) {
        log_debug(srv->log, "conn %llu: unexpected response ignored", (unsigned long long)c->id);
        return;
    }

    enum stats_method method = stats_method_of(m.method, m.method_len);
    srv->stats.requests[method]++;
    if (conn_needs_auth(c) && method != STATS_M_AUTH) {
        dispatch_reply_error(c, m.msgid, PROTO_E_NOT_PERMITTED,
                             "not authenticated: send auth [token] first");
        return;
    }
    switch (method) {
    case STATS_M_PING:
        do_ping(c, &m);
        break;
    case STATS_M_ASSESS:
        do_assess(c, &m);
        break;
    case STATS_M_RULESET:
        do_ruleset(c, &m);
        break;
    case STATS_M_STATS:
        do_stats(c, &m);
        break;
    case STATS_M_RELOAD:
        do_reload(c, &m);
        break;
    case STATS_M_AUTH:
        do_auth(c, &m);
        break;
    default: {
        char name[72];
        printable(name, sizeof name, m.method, m.method_len);
        dispatch_reply_error(c, m.msgid, PROTO_E_METHOD_NOT_FOUND, "unknown method '%s'", name);
        break;
    }
    }
}
