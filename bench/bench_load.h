/*
 * bench_load.h: the load generator of suit-bench.
 *
 * One thread drives every connection through ppoll(): N non-blocking
 * connections, each keeping up to P requests outstanding (closed loop), or
 * requests started on a fixed schedule of R per second (open loop, where a
 * request's latency counts from when it was due, not from when a free slot
 * let it go, so a stalled server cannot hide its queueing: the
 * "coordinated omission" trap).  Responses are decoded with proto's
 * decoder and matched by msgid; latencies go into a bench_hist.
 */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_hist.h"
#include "bench_mix.h"

struct bench_load_opts {
    const char *addr;           /* rpc_client address */
    unsigned conns;             /* -c */
    unsigned depth;             /* -P: outstanding per connection */
    double duration_s;          /* -d (0: use requests) */
    uint64_t requests;          /* -n (0: use duration) */
    double rate;                /* --rate: requests/s, 0 = closed loop */
    double warmup_s;            /* excluded from every figure */
    unsigned interval_ms;       /* timeline step; 0 = no timeline */
    double reload_at_s;         /* >0: send `reload` this long after the start */
    double drain_s;             /* wait for late answers after the end */
    long cpu_pid;               /* >0: the daemon, for its CPU time */
    const char *token;          /* non-NULL: send `auth [token]` first */
    bool http;                  /* the mix is HTTP/1.1 requests to suit-httpd
                                 * (bench_mix_http): answers come in order,
                                 * failures count by HTTP status */
};

#define BENCH_MAX_CODES 16
/* Pseudo-codes for failures that have no protocol code. */
#define BENCH_E_CLOSED 1        /* the daemon closed the connection */
#define BENCH_E_LOST 2          /* no answer before the drain deadline */
#define BENCH_E_BAD_FRAME 3     /* not a response, or an unknown msgid */
/* In HTTP mode a failed request counts under its status (100..599). */

struct bench_load_result {
    uint64_t sent, ok, errors;
    struct { int code; uint64_t count; } codes[BENCH_MAX_CODES];
    unsigned n_codes;
    uint64_t late;              /* open loop: started >1 ms behind schedule */
    double elapsed_s;
    /* CPU time over the measured part: the daemon's (-1 unknown) and this
     * process's own, so that a figure taken on a shared machine can be
     * told apart from one taken on an idle one. */
    double daemon_cpu_s, self_cpu_s;
    struct bench_hist hist;     /* every answered request, errors included */
    uint64_t *timeline;         /* answers per interval */
    unsigned n_timeline;
    bool reload_done;
    int reload_rc;              /* 0 or the reload's error code */
    char reload_msg[256];
    double reload_start_s, reload_ms;
    double reload_rate;         /* answers/s while the reload ran */
    double outside_rate;        /* answers/s outside the reload */
};

/* Runs the load; fills res (close it with bench_load_result_close).
 * Returns 0, or a negative code with msg filled when the run could not
 * start (cannot connect).  Failures during the run are counted, not fatal. */
int bench_load_run(const struct bench_load_opts *o, const struct bench_mix *mix,
                   struct bench_load_result *res, char *msg, size_t msglen);
void bench_load_result_close(struct bench_load_result *res);
const char *bench_code_name(int code);
/* Connects to addr and, with a token, authenticates (`auth [token]`, which
 * TCP listeners with a token file require).  Returns 0 or a negative code
 * with err filled. */
struct rpc_client;
int bench_connect(const char *addr, const char *token, struct rpc_client **out,
                  struct proto_error *err);
/* utime + stime of pid in seconds (0: this process), -1 if unknown. */
double bench_cpu_seconds(long pid);

#endif
