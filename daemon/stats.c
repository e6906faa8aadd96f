/*
 * stats.c: see stats.h.
 */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "proto.h"

static const char *const drop_names[STATS_DROP_COUNT] = {
    "slow_reader", "idle", "parse_error", "auth", "shutdown", "auth_timeout",
    "unauthenticated", "input_memory",
};

void stats_init(struct stats *s, uint64_t now_ns, size_t n_methods,
                const char *(*method_name)(size_t i))
{
    memset(s, 0, sizeof *s);
    s->start_ns = now_ns;
    s->n_methods = n_methods < STATS_MAX_METHODS ? n_methods : STATS_MAX_METHODS;
    s->method_name = method_name;
}

void stats_request(struct stats *s, int i)
{
    s->requests[i >= 0 && (size_t)i < s->n_methods ? (size_t)i : s->n_methods]++;
}

uint64_t stats_requests_total(const struct stats *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= s->n_methods; i++)
        n += s->requests[i];
    return n;
}

const char *stats_drop_name(enum stats_drop d)
{
    return (unsigned)d < STATS_DROP_COUNT ? drop_names[d] : "unknown";
}

void stats_error(struct stats *s, int code)
{
    int i = proto_code_index(code);
    /* Not a code the daemon defines: count it as internal. */
    s->errors[i >= 0 ? i : proto_code_index(PROTO_E_INTERNAL)]++;
    s->last_error = code;
}

static unsigned bucket_of(uint64_t us)
{
    if (us < 16)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us);      /* >= 4 */
    unsigned sub = (unsigned)(us >> (e - 4)) & 15u;
    unsigned b = 16u + (e - 4u) * 16u + sub;
    return b < STATS_HIST_BUCKETS ? b : STATS_HIST_BUCKETS - 1;
}

/* Midpoint of a bucket, in microseconds. */
static double bucket_mid(unsigned b)
{
    if (b < 16)
        return b;
    unsigned e = (b - 16u) / 16u + 4u, sub = (b - 16u) % 16u;
    double lo = (double)((uint64_t)(16u + sub) << (e - 4u));
    double width = (double)((uint64_t)1 << (e - 4u));
    return lo + (width - 1) / 2;
}

void stats_latency(struct stats *s, uint64_t ns)
{
    s->hist[bucket_of(ns / 1000u)]++;
    s->hist_count++;
}

double stats_percentile(const struct stats *s, double q)
{
    if (!s->hist_count)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)s->hist_count + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen >= rank)
            return bucket_mid(b) / 1000.0;
    }
    return bucket_mid(STATS_HIST_BUCKETS - 1) / 1000.0;
}

void stats_add(struct stats *dst, const struct stats *src)
{
    dst->conn_current += src->conn_current;
    dst->conn_total += src->conn_total;
    dst->conn_refused += src->conn_refused;
    dst->conn_unauthenticated += src->conn_unauthenticated;
    dst->conn_refused_unauthenticated += src->conn_refused_unauthenticated;
    dst->conn_refused_descriptors += src->conn_refused_descriptors;
    for (size_t i = 0; i <= STATS_MAX_METHODS; i++)
        dst->requests[i] += src->requests[i];
    for (size_t i = 0; i < PROTO_N_CODES; i++)
        dst->errors[i] += src->errors[i];
    for (size_t i = 0; i < STATS_DROP_COUNT; i++)
        dst->dropped[i] += src->dropped[i];
    dst->reloads_ok += src->reloads_ok;
    dst->reloads_failed += src->reloads_failed;
    dst->reloads_timed_out += src->reloads_timed_out;
    for (size_t i = 0; i < STATS_HIST_BUCKETS; i++)
        dst->hist[i] += src->hist[i];
    dst->hist_count += src->hist_count;
}

void stats_pack(const struct stats *s, const struct stats_extra *x, msgpack_packer *pk)
{
    struct proto_counter requests[STATS_MAX_METHODS + 1], dropped[STATS_DROP_COUNT];
    for (size_t i = 0; i < s->n_methods; i++)
        requests[i] = (struct proto_counter){s->method_name(i), s->requests[i]};
    requests[s->n_methods] = (struct proto_counter){"unknown", s->requests[s->n_methods]};
    for (int i = 0; i < STATS_DROP_COUNT; i++)
        dropped[i] = (struct proto_counter){drop_names[i], s->dropped[i]};
    struct proto_stats p = {
        .uptime_s = (x->now_ns - s->start_ns) / 1000000000u,
        .conn_current = s->conn_current,
        .conn_total = s->conn_total,
        .conn_refused = s->conn_refused,
        .conn_unauthenticated = s->conn_unauthenticated,
        .conn_refused_unauthenticated = s->conn_refused_unauthenticated,
        .conn_refused_descriptors = s->conn_refused_descriptors,
        .requests = requests,
        .n_requests = s->n_methods + 1,
        .latency_count = s->hist_count,
        .p50_ms = stats_percentile(s, 0.50),
        .p90_ms = stats_percentile(s, 0.90),
        .p99_ms = stats_percentile(s, 0.99),
        .p99_9_ms = stats_percentile(s, 0.999),
        .queue_depth = x->queue_depth,
        .workers = x->workers,
        .policy_resets = x->policy_resets,
        .decision_log = x->decision_log,
        .reloads_ok = s->reloads_ok,
        .reloads_failed = s->reloads_failed,
        .reloads_timed_out = s->reloads_timed_out,
        .ruleset = x->ruleset,
        .dropped = dropped,
        .n_dropped = STATS_DROP_COUNT,
        .version = SUITD_VERSION,
    };
    for (size_t i = 0; i < PROTO_N_CODES; i++)
        p.errors[i] = s->errors[i];
    proto_pack_stats_result(pk, &p);
}
