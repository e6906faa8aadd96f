/*
 * bench_mix.h: the request mix suit-bench sends.
 *
 * Patients come from a ruleset's own case files (DIR/tests/ *.json), so the
 * mix is as realistic as the rule authors' cases: every case except those
 * that expect an error (a benchmark that sends bad requests measures the
 * error path).  Each request is encoded once, with its msgid as a fixed
 * uint32 (0xce + 4 bytes) at a known offset, so sending one is a memcpy
 * and a four-byte patch.
 */
#ifndef BENCH_MIX_H
#define BENCH_MIX_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct bench_request {
    char *name;             /* the case's name */
    char *bytes;            /* the whole encoded request */
    size_t len;
    size_t params_off;      /* where the params array starts in bytes */
};

struct bench_mix {
    struct bench_request *reqs;
    size_t len;
    size_t skipped;         /* cases expecting an error */
};

/* Offset of the msgid's four big-endian bytes in every request. */
#define BENCH_MSGID_OFFSET 3

/* method "assess": the patients of DIR/tests/ *.json (sorted by file name,
 * then in file order); "ping": one request with empty params.  With
 * only >= 0 keeps just that case (by index in the full mix).  With all,
 * every case: those that expect an error too, each with its options
 * (suit-bench --verify).  Returns 0 or a negative code with err filled. */
int bench_mix_load(struct bench_mix *m, const char *method, const char *rules_dir, long only,
                   bool all, struct proto_error *err);
/* Each assess request of the mix once per policy name (options.policy),
 * the policies alternating from one request to the next: request j is
 * patient j / n under policies[j % n].  0 or a negative code. */
int bench_mix_policies(struct bench_mix *m, char *const *policies, size_t n,
                       struct proto_error *err);
void bench_mix_close(struct bench_mix *m);

/* The same requests for suit-httpd: each `assess` becomes
 * POST /v1/assess with {"patient": ...} as its JSON body, `ping` becomes
 * GET /v1/ping; host goes in the Host header, token (NULL: none) in
 * Authorization: Bearer.  Complete HTTP/1.1 requests in bytes (no msgid:
 * answers come back in order).  Returns 0 or a negative code with err. */
int bench_mix_http(const struct bench_mix *src, const char *host, const char *token,
                   struct bench_mix *dst, struct proto_error *err);

static inline void bench_patch_msgid(char *req, uint32_t msgid)
{
    unsigned char *p = (unsigned char *)req + BENCH_MSGID_OFFSET;
    p[0] = (unsigned char)(msgid >> 24);
    p[1] = (unsigned char)(msgid >> 16);
    p[2] = (unsigned char)(msgid >> 8);
    p[3] = (unsigned char)msgid;
}

#endif
