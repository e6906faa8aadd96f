/*
 * bench_verify.h: suit-bench --verify, the proof that --in-process measures
 * what the daemon runs.
 *
 * Every request of the mix (all of a ruleset's cases, the ones that expect
 * an error too) goes to a running daemon and through the in-process
 * pipeline (bench_inproc_answer), under the same msgid; the two packed
 * replies must be identical, byte for byte.  Nothing is masked: an assess
 * reply holds no per-run value (no timestamp, no counter).
 */
#ifndef BENCH_VERIFY_H
#define BENCH_VERIFY_H

#include <stddef.h>
#include <stdio.h>

#include "bench_inproc.h"
#include "bench_mix.h"

struct bench_verify_result {
    size_t same, differ;
};

/* Connects to addr (authenticating with token when not NULL), sends each
 * request of mix in turn and compares; writes one line per difference to
 * out.  Returns 0 (look at res), or a negative code with msg filled when
 * the run could not complete (cannot connect, the daemon stopped
 * answering). */
int bench_verify_run(const char *addr, const char *token, struct bench_inproc *ip,
                     const struct bench_mix *mix, FILE *out, struct bench_verify_result *res,
                     char *msg, size_t msglen);

#endif
