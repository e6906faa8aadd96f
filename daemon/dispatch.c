/*
 * dispatch.c: see dispatch.h.  The method table, its handlers, and the one
 * place where a frame's method is looked up and its flags are checked.
 */
#include "dispatch.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container_of.h"

/* Flags of a method (the rows of `methods` below). */
enum {
    /* Run by the runner, after the loop's reads: refused as `overloaded`
     * once max_queue jobs wait, answered `timeout` at its deadline. */
    METHOD_WORKER = 1u << 0,
    /* Changes what the daemon serves: allowed on the Unix socket only. */
    METHOD_ADMIN = 1u << 1,
    /* Allowed before `auth` on a listener that needs the token. */
    METHOD_NO_AUTH = 1u << 2,
    /* An assessment: its latency is measured and it is written to the
     * decision log. */
    METHOD_AUDIT = 1u << 3,
    /* Answered later by a callback, not before call returns (the reload):
     * the callback writes its request-log line. */
    METHOD_LATER = 1u << 4,
};

struct method {
    const char *name;
    unsigned flags;
    /* Without METHOD_WORKER: answers on the loop, now or later. */
    void (*call)(struct dispatch *d, struct conn *c, const struct proto_message *m);
    /* With METHOD_WORKER: prepare (may be NULL) reads the params into the
     * request, returning 0 or an error to answer with; run then runs in
     * the runner's turn and packs the answer into r->out. */
    int (*prepare)(struct dispatch *d, struct request *r, const struct proto_message *m,
                   struct proto_error *err);
    runner_run_fn run;
};

static void do_ping(struct dispatch *d, struct conn *c, const struct proto_message *m);
static void do_stats(struct dispatch *d, struct conn *c, const struct proto_message *m);
static void do_reload(struct dispatch *d, struct conn *c, const struct proto_message *m);
static void do_auth(struct dispatch *d, struct conn *c, const struct proto_message *m);
static int prepare_assess(struct dispatch *d, struct request *r, const struct proto_message *m,
                          struct proto_error *err);
static void run_assess(struct runner_job *job, struct engine *eng);
static void run_ruleset(struct runner_job *job, struct engine *eng);

/* PROTOCOL.md section 4, one row per method.  The order is the order of
 * the `requests` counters in `stats`. */
static const struct method methods[] = {
    {"ping", 0, .call = do_ping},
    {"assess", METHOD_WORKER | METHOD_AUDIT, .prepare = prepare_assess, .run = run_assess},
    {"ruleset", METHOD_WORKER, .run = run_ruleset},
    {"stats", 0, .call = do_stats},
    {"reload", METHOD_ADMIN | METHOD_LATER, .call = do_reload},
    {"auth", METHOD_NO_AUTH, .call = do_auth},
};
#define N_METHODS (sizeof methods / sizeof methods[0])
_Static_assert(N_METHODS <= STATS_MAX_METHODS, "stats cannot count that many methods");

size_t dispatch_method_count(void)
{
    return N_METHODS;
}

const char *dispatch_method_name(size_t i)
{
    return i < N_METHODS ? methods[i].name : "unknown";
}

static int method_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (strlen(methods[i].name) == len && !memcmp(methods[i].name, name, len))
            return (int)i;
    return -1;
}

/* ---- set-up --------------------------------------------------------- */

void dispatch_init(struct dispatch *d, uv_loop_t *loop, const struct config *cfg,
                   const struct logger *lg, struct stats *stats, struct runner *runner,
                   const struct dispatch_owner *owner, struct decision_log *dlog,
                   struct mailbox *mbox, const char *token, size_t token_len)
{
    memset(d, 0, sizeof *d);
    d->log = lg;
    d->cfg = cfg;
    d->stats = stats;
    d->runner = runner;
    d->owner = owner;
    d->token = token;
    d->token_len = token_len;
    throttle_init(&d->auth_log, THROTTLE_DEFAULT_NS);
    requests_init(&d->rq, loop, lg, stats, runner, dlog, mbox, cfg->request_timeout_ms,
                  cfg->max_queue);
}

void dispatch_close(struct dispatch *d)
{
    requests_close(&d->rq);
}

void dispatch_set_ruleset(struct dispatch *d, const struct ruleset *rs)
{
    d->rs = rs;
}

void dispatch_stop(struct dispatch *d)
{
    d->stopping = true;
}

void dispatch_conn_closed(struct conn *c)
{
    requests_conn_closed(c);
}

/* ---- runner methods ------------------------------------------------- */

/* The params are decoded here, while the frame is there (it is gone once
 * dispatch returns), into the patient the runner's turn assesses: the
 * first step of the engine's request pipeline, the rest of which
 * (engine_request_assess_patient) runs in the turn; together they are the
 * code suit-bench --in-process measures, with the same reply bytes.  Bad
 * params are not answered here: the turn answers them as it would have,
 * so that they are counted, timed and recorded as before. */
static int prepare_assess(struct dispatch *d, struct request *r, const struct proto_message *m,
                          struct proto_error *err)
{
    (void)d;
    (void)err;
    r->parse_rc = proto_patient_from_params(&m->params, &r->patient, &r->err);
    return 0;
}

static void run_assess(struct runner_job *job, struct engine *eng)
{
    struct request *r = container_of(job, struct request, job);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
    if (r->parse_rc) {
        /* As the pipeline packs an error of its first step. */
        r->code = r->err.code ? r->err.code : PROTO_E_INVALID_PARAMS;
        r->err.code = r->code;
        proto_pack_error_response(&pk, r->msgid, &r->err);
        return;
    }
    struct engine_request q = {
        .msgid = r->msgid,
        .result = r->keep_result ? &r->result : NULL,
        .decision_id = r->decision_id,
        .until_ns = r->deadline_ns,
    };
    r->code = engine_request_assess_patient(eng, &q, &r->patient, &pk, &r->err);
    r->has_result = r->code == 0 && r->keep_result;
}

static void run_ruleset(struct runner_job *job, struct engine *eng)
{
    struct request *r = container_of(job, struct request, job);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->out, msgpack_sbuffer_write);
    if (!eng) {
        r->code = proto_error_set(&r->err, PROTO_E_INTERNAL, "no rule engine available");
        proto_pack_error_response(&pk, r->msgid, &r->err);
        return;
    }
    struct proto_ruleset_info info;
    if (ruleset_describe(engine_ruleset(eng), &info) < 0) {
        r->code = proto_error_set(&r->err, PROTO_E_INTERNAL, "out of memory");
        proto_pack_error_response(&pk, r->msgid, &r->err);
        return;
    }
    proto_pack_result_header(&pk, r->msgid);
    proto_pack_ruleset_info(&pk, &info);
    proto_ruleset_info_close(&info);
}

/* A METHOD_WORKER method: queued for the runner unless the queue is full,
 * after its prepare step accepted the params. */
static void call_on_runner(struct dispatch *d, struct conn *c, const struct method *mt,
                           const struct proto_message *m)
{
    if (requests_queue_full(&d->rq)) {
        conn_reply_error(c, m->msgid, PROTO_E_OVERLOADED,
                         "overloaded: %u requests queued; retry later", d->rq.max_queue);
        return;
    }
    struct request *r = request_new(&d->rq, c, m->msgid, mt->name, mt->flags & METHOD_AUDIT);
    if (!r) {
        conn_reply_error(c, m->msgid, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    struct proto_error err;
    proto_error_init(&err);
    int rc = mt->prepare ? mt->prepare(d, r, m, &err) : 0;
    if (rc == 0 && request_submit(r, mt->run) < 0) {
        /* Only while the runner is being closed. */
        rc = proto_error_set(&err, PROTO_E_INTERNAL, "the daemon is shutting down");
    }
    if (rc != 0) {
        conn_send_error(c, m->msgid, &err);
        request_answered(r);
        request_free(r);
    }
    proto_error_close(&err);
}

/* ---- loop methods --------------------------------------------------- */

static void do_ping(struct dispatch *d, struct conn *c, const struct proto_message *m)
{
    struct proto_ping p = {
        .version = SUITD_VERSION,
        .protocol = PROTO_VERSION,
        .ruleset = ruleset_id(d->rs),
    };
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_result_header(&pk, m->msgid);
    proto_pack_ping_result(&pk, &p);
    conn_pack_end(c);
}

static void do_stats(struct dispatch *d, struct conn *c, const struct proto_message *m)
{
    struct stats sum;
    stats_init(&sum, d->stats->start_ns, d->stats->n_methods, d->stats->method_name);
    struct stats_extra x = {
        .now_ns = uv_hrtime(),
        .workers = d->cfg->workers,
        .ruleset = ruleset_id(d->rs),
    };
    d->owner->stats(d->owner->arg, &sum, &x);
    struct decision_log_counts dc;
    decision_log_counts(d->rq.dlog, &dc);
    x.decision_log = (struct proto_decision_log_stats){
        .enabled = decision_log_enabled(d->rq.dlog),
        .required = d->rq.dlog->required,
        .written = dc.written,
        .lost = dc.lost,
        .dropped = dc.dropped,
        .queued = dc.queued,
        .reopened = dc.reopened,
    };
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_result_header(&pk, m->msgid);
    stats_pack(&sum, &x, &pk);
    conn_pack_end(c);
}

static void reload_done(struct reload_waiter *w, int status, const struct reload_outcome *o)
{
    (void)status;   /* o says the same in protocol terms, which is what the client gets */
    struct request *r = container_of(w, struct request, rw);
    struct conn *c = r->conn;
    if (!conn_closing(c)) {
        if (o->code) {
            conn_send_error(c, r->msgid, o->err);
        } else {
            struct proto_reload body = {.ruleset = ruleset_id(o->rs),
                                        .cases_passed = o->cases_passed};
            msgpack_packer pk;
            conn_pack_begin(c, &pk);
            proto_pack_result_header(&pk, r->msgid);
            proto_pack_reload_result(&pk, &body);
            conn_pack_end(c);
        }
    }
    requests_log(r->rq->log, c, r->method, r->msgid, o->code, r->t0_ns);
    request_answered(r);
    request_free(r);
}

static void do_reload(struct dispatch *d, struct conn *c, const struct proto_message *m)
{
    if (d->stopping) {
        conn_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED, "the daemon is shutting down");
        return;
    }
    struct request *r = request_new(&d->rq, c, m->msgid, "reload", false);
    if (!r) {
        conn_reply_error(c, m->msgid, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    /* Not the request deadline: a reload runs the ruleset's whole test
     * suite, and has its own (--reload-timeout, the reload's watchdog). */
    r->rw.cb = reload_done;
    char who[32];
    snprintf(who, sizeof who, "conn %llu", (unsigned long long)c->id);
    struct proto_error err;
    proto_error_init(&err);
    if (d->owner->reload(d->owner->arg, &r->rw, who, &err) < 0) {
        /* reload_done never runs for a reload that did not start. */
        conn_send_error(c, m->msgid, &err);
        request_answered(r);
        request_free(r);
    }
    proto_error_close(&err);
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

/* The client's address for the log ("127.0.0.1:50312", "[::1]:50312"), or
 * "unix" / "unknown". */
static void peer_name(struct conn *c, char *buf, size_t n)
{
    if (c->lis->is_unix) {
        snprintf(buf, n, "unix");
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[64] = "";
    if (uv_tcp_getpeername(&c->u.tcp, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(buf, n, "unknown");
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        (void)uv_ip6_name(a, host, sizeof host);
        snprintf(buf, n, "[%s]:%u", host, (unsigned)ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        (void)uv_ip4_name(a, host, sizeof host);
        snprintf(buf, n, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    }
}

/* Listeners without a token accept auth as a no-op, so one client
 * configuration works against both kinds.  A wrong token closes the
 * connection: one guess per connection; malformed auth requests count
 * with the other refused requests before auth (CONN_PREAUTH_MAX_REFUSED).
 * Once authenticated, a second auth is a no-op too. */
static void do_auth(struct dispatch *d, struct conn *c, const struct proto_message *m)
{
    if (conn_needs_token(c) && !conn_authenticated(c)) {
        const msgpack_object *p = &m->params;
        if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 1 ||
            p->via.array.ptr[0].type != MSGPACK_OBJECT_STR) {
            conn_reply_error(c, m->msgid, PROTO_E_INVALID_PARAMS, "auth expects [token]");
            conn_preauth_refused(c);
            return;
        }
        const msgpack_object_str *t = &p->via.array.ptr[0].via.str;
        if (!token_equal(t->ptr, t->size, d->token, d->token_len)) {
            /* Guessing is cheap: at most one line a second, saying how many
             * were held back. */
            uint64_t held;
            if (throttle_allow(&d->auth_log, uv_hrtime(), &held)) {
                char peer[80];
                peer_name(c, peer, sizeof peer);
                log_warn(d->log, "conn %llu: wrong token from %s on %s; closing (%llu more "
                         "wrong tokens since the last such line)", (unsigned long long)c->id,
                         peer, c->lis->name, (unsigned long long)held);
            }
            conn_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED, "wrong token");
            d->stats->dropped[STATS_DROP_AUTH]++;
            conn_refuse_input(c);
            return;
        }
        conn_set_authenticated(c);
    }
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_result_header(&pk, m->msgid);
    proto_pack_auth_result(&pk);
    conn_pack_end(c);
}

/* ---- frames --------------------------------------------------------- */

/* Method names are client data: an error quotes at most this many bytes
 * of one, non-printable ones as '?'. */
#define DISPATCH_QUOTE_MAX 64

static void printable(char *dst, size_t dstlen, const char *s, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < dstlen && i < DISPATCH_QUOTE_MAX; i++)
        dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[j] = '\0';
}

/* Runs request m (method mt, NULL when unknown).  Returns true when it was
 * answered before returning, false when the runner or the reload answers
 * it later. */
static bool dispatch_method(struct dispatch *d, struct conn *c, const struct method *mt,
                            const struct proto_message *m)
{
    if (!conn_authenticated(c) && !(mt && (mt->flags & METHOD_NO_AUTH))) {
        conn_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED,
                         "not authenticated: send auth [token] first");
        conn_preauth_refused(c);
        return true;
    }
    if (!mt) {
        char name[DISPATCH_QUOTE_MAX + 1];
        printable(name, sizeof name, m->method, m->method_len);
        conn_reply_error(c, m->msgid, PROTO_E_METHOD_NOT_FOUND, "unknown method '%s'", name);
        return true;
    }
    if ((mt->flags & METHOD_ADMIN) && !conn_is_admin(c)) {
        conn_reply_error(c, m->msgid, PROTO_E_NOT_PERMITTED,
                         "%s is an admin method: use the Unix socket", mt->name);
        return true;
    }
    /* Accepted: the connection is in use (refused requests do not keep
     * it open past --idle-timeout). */
    conn_touch(c);
    /* Either refused at once (overloaded, bad params: an error counted
     * now) or answered later. */
    d->stats->last_error = 0;
    if (mt->flags & METHOD_WORKER)
        call_on_runner(d, c, mt, m);
    else
        mt->call(d, c, m);
    return !(mt->flags & (METHOD_WORKER | METHOD_LATER)) || d->stats->last_error != 0;
}

void dispatch_frame(struct conn *c, const msgpack_object *obj)
{
    struct dispatch *d = c->set->data;
    struct proto_message m;
    struct proto_error err;
    memset(&m, 0, sizeof m);
    proto_error_init(&err);
    int rc = proto_message_parse(obj, &m, &err);
    if (rc < 0) {
        if (!err.code)
            err.code = PROTO_E_INVALID_REQUEST;
        if (m.has_msgid && m.type == PROTO_REQUEST) {
            conn_send_error(c, m.msgid, &err);
        } else {
            /* Valid MessagePack but no usable msgid: answered under msgid
             * 0 (PROTOCOL.md section 7).  The stream is still in step, so
             * the connection stays open. */
            log_debug(d->log, "conn %llu: invalid frame without msgid: %s",
                      (unsigned long long)c->id, err.message);
            conn_send_error(c, 0, &err);
        }
        proto_error_close(&err);
        return;
    }
    proto_error_close(&err);
    if (m.type == PROTO_NOTIFY) {
        /* Never answered; suitd defines none, so all are ignored. */
        log_debug(d->log, "conn %llu: notification ignored", (unsigned long long)c->id);
        return;
    }
    if (m.type == PROTO_RESPONSE) {
        log_debug(d->log, "conn %llu: unexpected response ignored", (unsigned long long)c->id);
        return;
    }

    int i = method_find(m.method, m.method_len);
    stats_request(d->stats, i);
    const struct method *mt = i >= 0 ? &methods[i] : NULL;
    /* The request log's line: what is answered here is logged here (the
     * code of the error counted meanwhile, if any); what goes to the runner
     * or the reload is logged when it is answered (request.c). */
    uint64_t t0 = uv_hrtime();
    d->stats->last_error = 0;
    if (dispatch_method(d, c, mt, &m))
        requests_log(d->log, c, mt ? mt->name : NULL, m.msgid, d->stats->last_error, t0);
}
