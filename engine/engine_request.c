/*
 * engine_request.c: the `assess` request pipeline, one definition:
 * params -> patient -> assess -> packed response.
 *
 * The daemon's worker, suit-bench --in-process, the fuzz harness, `suitd
 * assess` and the case runner all answer an assess request through this
 * function, so the in-process reference measures exactly the code the
 * daemon runs per request, and a case checks exactly what a client gets.
 * A test (suit-bench --verify, tests/bench) compares the daemon's packed
 * replies byte for byte with this function's on every case of the mix.
 */
#include <string.h>
#include <time.h>

#include "engine_internal.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The reply is packed into a buffer on the stack and handed to the
 * caller's writer once: msgpack-c calls the write callback for every key,
 * header and value (about 150 times per reply), and each call into
 * msgpack_sbuffer_write checks and grows the buffer. */
#define STAGE_BYTES 8192

struct stage {
    msgpack_packer *out;
    size_t len;
    int rc;
    char buf[STAGE_BYTES];
};

static int stage_flush(struct stage *st)
{
    if (st->len && !st->rc)
        st->rc = st->out->callback(st->out->data, st->buf, st->len);
    st->len = 0;
    return st->rc;
}

static int stage_write(void *data, const char *buf, size_t len)
{
    struct stage *st = data;
    if (st->len + len > sizeof st->buf) {
        if (stage_flush(st))
            return st->rc;
        if (len > sizeof st->buf) {
            st->rc = st->out->callback(st->out->data, buf, len);
            return st->rc;
        }
    }
    memcpy(st->buf + st->len, buf, len);
    st->len += len;
    return 0;
}

/* What follows decoding: p's assessment packed into pk, or the error rc
 * (err) packed instead.  Closes p. */
static int assess_decoded(struct engine *e, const struct engine_request *q,
                          struct suit_patient *pp, int rc, msgpack_packer *pk,
                          struct eng_fired *fired, struct proto_error *err)
{
    struct suit_patient p = *pp;
    suit_patient_init(pp);
    struct suit_result local;
    struct suit_result *r = q->result ? q->result : &local;
    suit_result_init(r);
    if (!rc) {
        uint64_t t0 = q->assess_ns ? now_ns() : 0;
        rc = eng_assess_packing(e, &p, r, q->until_ns, fired, err);
        if (q->assess_ns)
            *q->assess_ns = now_ns() - t0;
    }
    if (!rc) {
        /* The request's own id and the decision's id go back with it. */
        r->request_id = p.request_id;
        p.request_id = NULL;
        if (q->decision_id && q->decision_id[0] && !(r->decision_id = strdup(q->decision_id)))
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    suit_patient_close(&p);
    if (rc == 0) {
        struct stage st;   /* not zeroed: 8 KiB of memset per reply */
        st.out = pk;
        st.len = 0;
        st.rc = 0;
        msgpack_packer spk;
        msgpack_packer_init(&spk, &st, stage_write);
        proto_pack_result_header(&spk, q->msgid);
        proto_pack_assess_result(&spk, r);
        stage_flush(&st);
        eng_result_unborrow(r);
    } else {
        /* Every error path sets a code; this is the net under them. */
        if (!err->code)
            proto_error_set(err, PROTO_E_INTERNAL, "assessment failed");
        rc = err->code;
        proto_pack_error_response(pk, q->msgid, err);
    }
    if (rc || !q->result)
        suit_result_close(r);
    return rc;
}

int eng_request_assess(struct engine *e, const struct engine_request *q, msgpack_packer *pk,
                       struct eng_fired *fired, struct proto_error *err)
{
    struct suit_patient p;
    suit_patient_init(&p);
    int rc;
    if (!e)
        rc = proto_error_set(err, PROTO_E_INTERNAL, "no rule engine available");
    else if (!q->params)
        rc = proto_error_set(err, PROTO_E_INVALID_PARAMS, "params: expected [patient] or "
                             "[patient, options]");
    else
        rc = proto_patient_from_params(q->params, &p, err);
    return assess_decoded(e, q, &p, rc, pk, fired, err);
}

int engine_request_assess(struct engine *e, const struct engine_request *q, msgpack_packer *pk,
                          struct proto_error *err)
{
    return eng_request_assess(e, q, pk, NULL, err);
}

int engine_request_assess_patient(struct engine *e, const struct engine_request *q,
                                  struct suit_patient *p, msgpack_packer *pk,
                                  struct proto_error *err)
{
    int rc = e ? 0 : proto_error_set(err, PROTO_E_INTERNAL, "no rule engine available");
    return assess_decoded(e, q, p, rc, pk, NULL, err);
}
