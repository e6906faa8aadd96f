/*
 * proto_stats.c: the `stats` result (PROTOCOL.md section 4.4), packed from
 * the data model struct proto_stats that the daemon fills.
 */
#include "proto.h"

#include <stddef.h>

#include "proto_map.h"

static void pack_counters(msgpack_packer *pk, const struct proto_counter *c, size_t n)
{
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        proto_pack_str(pk, c[i].name);
        msgpack_pack_uint64(pk, c[i].n);
    }
}

static void pack_requests(msgpack_packer *pk, const void *o)
{
    const struct proto_stats *s = o;
    pack_counters(pk, s->requests, s->n_requests);
}

static void pack_dropped(msgpack_packer *pk, const void *o)
{
    const struct proto_stats *s = o;
    pack_counters(pk, s->dropped, s->n_dropped);
}

/* Only codes that happened, keyed by the code's stable name (string keys:
 * some MessagePack libraries refuse integer keys by default). */
static void pack_errors(msgpack_packer *pk, const void *o)
{
    const struct proto_stats *s = o;
    size_t n = 0;
    for (int i = 0; i < PROTO_N_CODES; i++)
        n += s->errors[i] != 0;
    msgpack_pack_map(pk, n);
    for (int i = 0; i < PROTO_N_CODES; i++) {
        if (!s->errors[i])
            continue;
        proto_pack_str(pk, proto_code_key(proto_code_at(i)));
        msgpack_pack_uint64(pk, s->errors[i]);
    }
}

static void pack_ruleset(msgpack_packer *pk, const void *o)
{
    proto_pack_ruleset_id(pk, ((const struct proto_stats *)o)->ruleset);
}

static const struct proto_map_key connection_keys[] = {
    {"current", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, conn_current)},
    {"total", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, conn_total)},
    {"refused", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, conn_refused)},
    {"unauthenticated", PROTO_MAP_UINT64,
     .off = offsetof(struct proto_stats, conn_unauthenticated)},
    {"refused_unauthenticated", PROTO_MAP_UINT64,
     .off = offsetof(struct proto_stats, conn_refused_unauthenticated)},
    {"refused_descriptors", PROTO_MAP_UINT64,
     .off = offsetof(struct proto_stats, conn_refused_descriptors)},
};
static const struct proto_map connection_map = PROTO_MAP(connection_keys);

static const struct proto_map_key latency_keys[] = {
    {"count", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, latency_count)},
    {"p50", PROTO_MAP_DOUBLE, .off = offsetof(struct proto_stats, p50_ms)},
    {"p90", PROTO_MAP_DOUBLE, .off = offsetof(struct proto_stats, p90_ms)},
    {"p99", PROTO_MAP_DOUBLE, .off = offsetof(struct proto_stats, p99_ms)},
    {"p99_9", PROTO_MAP_DOUBLE, .off = offsetof(struct proto_stats, p99_9_ms)},
};
static const struct proto_map latency_map = PROTO_MAP(latency_keys);

static const struct proto_map_key reload_keys[] = {
    {"ok", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, reloads_ok)},
    {"failed", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, reloads_failed)},
    {"timed_out", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, reloads_timed_out)},
};
static const struct proto_map reload_map = PROTO_MAP(reload_keys);

#define DLOG(f) offsetof(struct proto_stats, decision_log.f)
static const struct proto_map_key decision_log_keys[] = {
    {"enabled", PROTO_MAP_BOOL, .off = DLOG(enabled)},
    {"required", PROTO_MAP_BOOL, .off = DLOG(required)},
    {"written", PROTO_MAP_UINT64, .off = DLOG(written)},
    {"lost", PROTO_MAP_UINT64, .off = DLOG(lost)},
    {"dropped", PROTO_MAP_UINT64, .off = DLOG(dropped)},
    {"queued", PROTO_MAP_UINT64, .off = DLOG(queued)},
    {"reopened", PROTO_MAP_UINT64, .off = DLOG(reopened)},
};
#undef DLOG
static const struct proto_map decision_log_map = PROTO_MAP(decision_log_keys);

static const struct proto_map_key stats_keys[] = {
    {"uptime_s", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, uptime_s)},
    {"connections", PROTO_MAP_SUB, .sub = &connection_map},
    {"requests", PROTO_MAP_FN, .fn = pack_requests},
    {"errors", PROTO_MAP_FN, .fn = pack_errors},
    {"latency_ms", PROTO_MAP_SUB, .sub = &latency_map},
    {"queue_depth", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, queue_depth)},
    {"workers", PROTO_MAP_UINT, .off = offsetof(struct proto_stats, workers)},
    {"policy_resets", PROTO_MAP_UINT64, .off = offsetof(struct proto_stats, policy_resets)},
    {"reloads", PROTO_MAP_SUB, .sub = &reload_map},
    {"ruleset", PROTO_MAP_FN, .fn = pack_ruleset},
    {"dropped", PROTO_MAP_FN, .fn = pack_dropped},
    {"version", PROTO_MAP_STR, .off = offsetof(struct proto_stats, version)},
    {"decision_log", PROTO_MAP_SUB, .sub = &decision_log_map},
};
static const struct proto_map stats_map = PROTO_MAP(stats_keys);

void proto_pack_stats_result(msgpack_packer *pk, const struct proto_stats *s)
{
    proto_map_pack(pk, &stats_map, s);
}
