/*
 * bench_inproc.c: see bench_inproc.h.
 */
#include "bench_inproc.h"

#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_inproc_open(struct bench_inproc *p, const char *rules, const char *policy,
                      const char *policy_dir, struct proto_error *err)
{
    memset(p, 0, sizeof *p);
    uint64_t t0 = now_ns();
    struct ruleset_source src = {.dir = rules, .policy_file = policy, .policy_dir = policy_dir};
    int rc = ruleset_load_source(&src, &p->rs, err);
    uint64_t t1 = now_ns();
    if (!rc)
        rc = engine_create(p->rs, NULL, &p->eng, err);
    uint64_t t2 = now_ns();
    if (!rc) {
        struct proto_error cerr;
        proto_error_init(&cerr);
        struct engine_cases_opts co = {0};
        p->cases_failed = engine_run_cases(p->rs, &co, NULL, &cerr);
        proto_error_close(&cerr);
    }
    uint64_t t3 = now_ns();
    if (!rc && (rc = proto_decoder_create(NULL, &p->dec)) < 0)
        proto_error_set(err, rc, "out of memory");
    p->load_ms = (double)(t1 - t0) / 1e6;
    p->engine_ms = (double)(t2 - t1) / 1e6;
    p->cases_ms = (double)(t3 - t2) / 1e6;
    if (rc)
        bench_inproc_close(p);
    return rc;
}

void bench_inproc_close(struct bench_inproc *p)
{
    proto_decoder_free(p->dec);
    engine_free(p->eng);
    if (p->rs)
        ruleset_unref(p->rs);
    p->dec = NULL;
    p->eng = NULL;
    p->rs = NULL;
}

int bench_inproc_answer(struct bench_inproc *p, const char *req, size_t len,
                        msgpack_sbuffer *out, struct proto_error *err, uint64_t *assess_ns)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (assess_ns)
        *assess_ns = 0;
    /* What the daemon's connection and dispatch do before the pipeline. */
    msgpack_object obj;
    struct proto_message m;
    memset(&m, 0, sizeof m);
    if (!p->dec)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    int rc = proto_decoder_feed(p->dec, req, len);
    if (rc == 0 && proto_decoder_next(p->dec, &obj) != 1)
        rc = proto_error_set(err, PROTO_E_PARSE, "not one whole MessagePack object");
    else if (rc < 0)
        proto_error_set(err, rc, "%s", proto_decoder_error(p->dec));
    if (rc == 0)
        rc = proto_message_parse(&obj, &m, err);
    if (rc == 0 && !proto_method_is(&m, "assess"))
        rc = proto_error_set(err, PROTO_E_INVALID_REQUEST, "--in-process answers assess only");
    if (rc && proto_decoder_buffered(p->dec)) {
        /* After a bad frame a decoder stays broken: start a fresh one. */
        proto_decoder_free(p->dec);
        p->dec = NULL;
        if (proto_decoder_create(NULL, &p->dec) < 0)
            p->dec = NULL;
    }
    if (rc) {
        /* As the daemon does: the request's msgid when it has one, else 0. */
        if (!err->code)
            err->code = PROTO_E_INVALID_REQUEST;
        proto_pack_error_response(&pk, m.has_msgid ? m.msgid : 0, err);
        return err->code;
    }
    struct engine_request q = {.msgid = m.msgid, .params = &m.params, .assess_ns = assess_ns};
    return engine_request_assess(p->eng, &q, &pk, err);
}
