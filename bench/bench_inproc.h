/*
 * bench_inproc.h: suit-bench's in-process stand-in for the daemon.
 *
 * The same ruleset load and the same request pipeline the daemon runs
 * (engine_request_assess), in this thread: a request's bytes go through
 * proto's decoder and frame parser (what the daemon's connection and
 * dispatch do), then the pipeline, which packs the reply.  No sockets, no
 * worker hand-off.  --in-process measures it; --verify compares its
 * replies with a daemon's byte for byte.
 */
#ifndef BENCH_INPROC_H
#define BENCH_INPROC_H

#include <msgpack.h>
#include <stdint.h>

#include "engine.h"
#include "proto.h"

struct bench_inproc {
    struct ruleset *rs;
    struct engine *eng;
    struct proto_decoder *dec;
    /* how long each step of opening took, and how the cases went */
    double load_ms, engine_ms, cases_ms;
    int cases_failed;
};

/* Loads rules (with the policy file and the policy folder, NULL for
 * none), builds one engine
 * with the default limits, runs the ruleset's own cases once (timed).
 * Returns 0 or a negative code with err filled. */
int bench_inproc_open(struct bench_inproc *p, const char *rules, const char *policy,
                      const char *policy_dir, struct proto_error *err);
void bench_inproc_close(struct bench_inproc *p);

/* Answers one whole request (req, len bytes: [0, msgid, "assess",
 * params]) into out (appended).  Returns 0, or the code of the error
 * reply it packed (err holds it).  *assess_ns (may be NULL) gets the time
 * engine_assess took alone, 0 when it did not run. */
int bench_inproc_answer(struct bench_inproc *p, const char *req, size_t len,
                        msgpack_sbuffer *out, struct proto_error *err, uint64_t *assess_ns);

#endif
