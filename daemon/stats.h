/*
 * stats.h: the daemon's counters and latency histogram, read by the `stats`
 * method.  Each serving thread counts in its own struct stats (atomic
 * counters, see stats_counter); `stats` answers with their sum (stats_add).
 *
 * Latencies go into a log-linear histogram (16 sub-buckets per power of two
 * of microseconds, so any percentile is within about 6% of the true value)
 * that costs the same memory whatever the request count.
 */
#ifndef SUITD_STATS_H
#define SUITD_STATS_H

#include <msgpack.h>
#include <stdint.h>

#include "proto.h"

/* Requests are counted by the index of their method in the daemon's
 * method table (dispatch.c); one more counter takes unknown methods. */
#define STATS_MAX_METHODS 16

/* Why a connection was closed by the server. */
enum stats_drop {
    STATS_DROP_SLOW_READER = 0,   /* unsent output over --max-output */
    STATS_DROP_IDLE,              /* --idle-timeout */
    STATS_DROP_PARSE_ERROR,       /* bytes that are not MessagePack-RPC */
    STATS_DROP_AUTH,              /* wrong token */
    STATS_DROP_SHUTDOWN,          /* still busy at the shutdown deadline */
    STATS_DROP_AUTH_TIMEOUT,      /* no `auth` within --auth-timeout of connecting */
    STATS_DROP_UNAUTHENTICATED,   /* too many requests refused before `auth` */
    STATS_DROP_INPUT_MEMORY,      /* unfinished requests over --max-input-memory */
    STATS_DROP_COUNT
};

#define STATS_HIST_BUCKETS (16 + 40 * 16)

/* A counter one serving thread updates and any thread may read (`stats`
 * sums every serving thread's): atomic, so a read from another thread is
 * defined; each thread has its own struct stats, so the lock-prefixed
 * increments never contend. */
typedef _Atomic uint64_t stats_counter;

struct stats {
    uint64_t start_ns;
    stats_counter conn_current, conn_total, conn_refused;
    stats_counter conn_unauthenticated;      /* open, not yet past `auth` (a gauge) */
    stats_counter conn_refused_unauthenticated;  /* refused at --max-unauthenticated */
    stats_counter conn_refused_descriptors;  /* accepted and closed: out of descriptors */
    size_t n_methods;
    const char *(*method_name)(size_t i);
    stats_counter requests[STATS_MAX_METHODS + 1];   /* [n_methods]: unknown methods */
    stats_counter errors[PROTO_N_CODES];     /* by proto_code_index */
    stats_counter dropped[STATS_DROP_COUNT];
    stats_counter reloads_ok, reloads_failed, reloads_timed_out;
    stats_counter hist[STATS_HIST_BUCKETS];
    stats_counter hist_count;
    /* Code of the latest error counted (the request log); its own
     * thread's only. */
    int last_error;
};

/* n_methods (at most STATS_MAX_METHODS) methods, named by method_name(i)
 * when the stats are packed. */
void stats_init(struct stats *s, uint64_t now_ns, size_t n_methods,
                const char *(*method_name)(size_t i));
/* Counts a request for method i, or for an unknown method when i < 0. */
void stats_request(struct stats *s, int i);
/* Requests counted so far, all methods together. */
uint64_t stats_requests_total(const struct stats *s);
const char *stats_drop_name(enum stats_drop d);
void stats_error(struct stats *s, int code);
void stats_latency(struct stats *s, uint64_t ns);
/* Latency at quantile q (0..1) in milliseconds; 0 with no samples. */
double stats_percentile(const struct stats *s, double q);

struct stats_extra {
    uint64_t now_ns;
    uint64_t queue_depth;
    unsigned workers;
    uint64_t policy_resets;     /* workers_policy_resets */
    const struct suit_ruleset_id *ruleset;
    struct proto_decision_log_stats decision_log;
};
/* Adds src's counters to dst's (dst's start time and method table stay). */
void stats_add(struct stats *dst, const struct stats *src);
/* Packs the `stats` result map. */
void stats_pack(const struct stats *s, const struct stats_extra *x, msgpack_packer *pk);

#endif
