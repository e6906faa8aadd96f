/*
 * stats.c: see stats.h.
 */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "proto.h"

static const char *const method_names[STATS_M_COUNT] = {
    "ping", "assess", "ruleset", "stats", "reload", "auth", "unknown",
};

static const char *const drop_names[STATS_DROP_COUNT] = {
    "slow_reader", "idle", "parse_error", "auth", "shutdown",
};

/* Every code the daemon can send; errors are counted by index here. */
static const int codes[STATS_N_CODES] = {
    PROTO_E_PARSE, PROTO_E_INVALID_REQUEST, PROTO_E_METHOD_NOT_FOUND,
    PROTO_E_INVALID_PARAMS, PROTO_E_INTERNAL, PROTO_E_TOO_LARGE,
    PROTO_E_OVERLOADED, PROTO_E_TIMEOUT, PROTO_E_RULESET,
    PROTO_E_NOT_PERMITTED,
};

void stats_init(struct stats *s, uint64_t now_ns)
{
    memset(s, 0, sizeof *s);
    s->start_ns = now_ns;
}

enum stats_method stats_method_of(const char *name, size_t len)
{
    for (int i = 0; i < STATS_M_UNKNOWN; i++)
        if (strlen(method_names[i]) == len && !memcmp(method_names[i], name, len))
            return (enum stats_method)i;
    return STATS_M_UNKNOWN;
}

const char *stats_method_name(enum stats_method m)
{
    return (unsigned)m < STATS_M_COUNT ? method_names[m] : "unknown";
}

const char *stats_drop_name(enum stats_drop d)
{
    return (unsigned)d < STATS_DROP_COUNT ? drop_names[d] : "unknown";
}

static int code_index(int code)
{
    for (int i = 0; i < STATS_N_CODES; i++)
        if (codes[i] == code)
            return i;
    return -1;
}

void stats_error(struct stats *s, int code)
{
    int i = code_index(code);
    /* Not a code the daemon defines: count it as internal. */
    s->errors[i >= 0 ? i : code_index(PROTO_E_INTERNAL)]++;
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

static void pack_key(msgpack_packer *pk, const char *k)
{
    proto_pack_str(pk, k);
}

void stats_pack(const struct stats *s, const struct stats_extra *x, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 11);

    pack_key(pk, "uptime_s");
    msgpack_pack_uint64(pk, (x->now_ns - s->start_ns) / 1000000000u);

    pack_key(pk, "connections");
    msgpack_pack_map(pk, 3);
    pack_key(pk, "current");
    msgpack_pack_uint64(pk, s->conn_current);
    pack_key(pk, "total");
    msgpack_pack_uint64(pk, s->conn_total);
    pack_key(pk, "refused");
    msgpack_pack_uint64(pk, s->conn_refused);

    pack_key(pk, "requests");
    msgpack_pack_map(pk, STATS_M_COUNT);
    for (int i = 0; i < STATS_M_COUNT; i++) {
        pack_key(pk, method_names[i]);
        msgpack_pack_uint64(pk, s->requests[i]);
    }

    /* Only codes that happened, keyed by the code as an integer
     * (PROTOCOL.md section 4.4). */
    unsigned n = 0;
    for (int i = 0; i < STATS_N_CODES; i++)
        n += s->errors[i] != 0;
    pack_key(pk, "errors");
    msgpack_pack_map(pk, n);
    for (int i = 0; i < STATS_N_CODES; i++) {
        if (!s->errors[i])
            continue;
        msgpack_pack_int(pk, codes[i]);
        msgpack_pack_uint64(pk, s->errors[i]);
    }

    pack_key(pk, "latency_ms");
    msgpack_pack_map(pk, 5);
    pack_key(pk, "count");
    msgpack_pack_uint64(pk, s->hist_count);
    pack_key(pk, "p50");
    msgpack_pack_double(pk, stats_percentile(s, 0.50));
    pack_key(pk, "p90");
    msgpack_pack_double(pk, stats_percentile(s, 0.90));
    pack_key(pk, "p99");
    msgpack_pack_double(pk, stats_percentile(s, 0.99));
    pack_key(pk, "p99_9");
    msgpack_pack_double(pk, stats_percentile(s, 0.999));

    pack_key(pk, "queue_depth");
    msgpack_pack_uint64(pk, x->queue_depth);
    pack_key(pk, "workers");
    msgpack_pack_unsigned_int(pk, x->workers);

    pack_key(pk, "reloads");
    msgpack_pack_map(pk, 2);
    pack_key(pk, "ok");
    msgpack_pack_uint64(pk, s->reloads_ok);
    pack_key(pk, "failed");
    msgpack_pack_uint64(pk, s->reloads_failed);

    pack_key(pk, "ruleset");
    if (x->ruleset)
        proto_pack_ruleset_id(pk, x->ruleset);
    else
        msgpack_pack_nil(pk);

    pack_key(pk, "dropped");
    msgpack_pack_map(pk, STATS_DROP_COUNT);
    for (int i = 0; i < STATS_DROP_COUNT; i++) {
        pack_key(pk, drop_names[i]);
        msgpack_pack_uint64(pk, s->dropped[i]);
    }

    pack_key(pk, "version");
    proto_pack_str(pk, SUITD_VERSION);
}
