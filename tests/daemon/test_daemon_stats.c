/*
 * test_daemon_stats.c: the stats module on its own: percentiles from the
 * log-linear histogram, error counting and the packed `stats` map.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "dispatch.h"
#include "stats.h"
#include "throttle.h"
#include "harness.h"
#include "testutil.h"

static bool near(double got, double want, double rel)
{
    return fabs(got - want) <= want * rel;
}

START_TEST(percentiles_of_uniform_latencies)
{
    struct stats s;
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    ck_assert(stats_percentile(&s, 0.5) == 0.0);
    for (uint64_t ms = 1; ms <= 1000; ms++)
        stats_latency(&s, ms * 1000000u);
    ck_assert_msg(near(stats_percentile(&s, 0.50), 500, 0.07), "p50 %f", stats_percentile(&s, 0.50));
    ck_assert_msg(near(stats_percentile(&s, 0.90), 900, 0.07), "p90 %f", stats_percentile(&s, 0.90));
    ck_assert_msg(near(stats_percentile(&s, 0.99), 990, 0.07), "p99 %f", stats_percentile(&s, 0.99));
    ck_assert_msg(near(stats_percentile(&s, 0.999), 999, 0.07), "p99.9 %f",
                  stats_percentile(&s, 0.999));
}
END_TEST

START_TEST(percentiles_small_and_huge)
{
    struct stats s;
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    stats_latency(&s, 3000);                 /* 3 us */
    ck_assert(near(stats_percentile(&s, 0.5), 0.003, 0.01));
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    stats_latency(&s, (uint64_t)1 << 62);    /* absurdly slow: lands in the last bucket */
    ck_assert(stats_percentile(&s, 0.999) > 0);
    /* One slow outlier among many fast ones shows at p99.9 only. */
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    for (int i = 0; i < 999; i++)
        stats_latency(&s, 1000000u);
    stats_latency(&s, 2000000000u);
    ck_assert(near(stats_percentile(&s, 0.99), 1.0, 0.07));
    ck_assert(near(stats_percentile(&s, 0.9999), 2000.0, 0.07));
}
END_TEST

/* Every map key at every depth is a string: MessagePack libraries such as
 * Python's refuse integer keys by default (strict_map_key). */
static void assert_string_keys(const msgpack_object *o, const char *path)
{
    if (o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o->via.array.size; i++)
            assert_string_keys(&o->via.array.ptr[i], path);
    if (o->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        ck_assert_msg(o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR,
                      "a key in %s is not a string", path);
        assert_string_keys(&o->via.map.ptr[i].val, path);
    }
}

static void unpack_stats(const struct stats *s, msgpack_sbuffer *sb, msgpack_unpacked *u)
{
    struct suit_ruleset_id id = {"n", "v", "0123"};
    struct stats_extra x = {.now_ns = 5000000000u, .queue_depth = 3, .workers = 2, .ruleset = &id};
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    stats_pack(s, &x, &pk);
    msgpack_unpacked_init(u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, sb->size);
}

/* Each error code is counted under its stable name. */
START_TEST(errors_by_name)
{
    struct stats s;
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    for (int i = 0; i < PROTO_N_CODES; i++)
        for (int k = 0; k <= i; k++)
            stats_error(&s, proto_code_at(i));
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    unpack_stats(&s, &sb, &u);
    assert_string_keys(&u.data, "stats");
    const msgpack_object *errors = obj_get(&u.data, "errors");
    ck_assert_ptr_nonnull(errors);
    ck_assert_uint_eq(errors->via.map.size, PROTO_N_CODES);
    for (int i = 0; i < PROTO_N_CODES; i++) {
        char path[64];
        snprintf(path, sizeof path, "errors.%s", proto_code_key(proto_code_at(i)));
        ck_assert_int_eq(obj_int_at(&u.data, path), i + 1);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(packed_map)
{
    struct stats s;
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    stats_error(&s, PROTO_E_INVALID_PARAMS);
    stats_error(&s, PROTO_E_INVALID_PARAMS);
    stats_error(&s, 12345);                  /* unknown: counted as internal */
    for (int i = 0; i < 7; i++)
        stats_request(&s, 1);      /* the table's second row: assess */
    s.dropped[STATS_DROP_IDLE] = 2;
    struct suit_ruleset_id id = {"n", "v", "0123"};
    struct stats_extra x = {.now_ns = 5000000000u, .queue_depth = 3, .workers = 2, .ruleset = &id};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    stats_pack(&s, &x, &pk);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, sb.size);
    const msgpack_object *o = &u.data;
    ck_assert_int_eq(obj_int_at(o, "uptime_s"), 5);
    ck_assert_int_eq(obj_int_at(o, "requests.assess"), 7);
    ck_assert_int_eq(obj_int_at(o, "errors.invalid_params"), 2);
    ck_assert_int_eq(obj_int_at(o, "errors.internal_error"), 1);
    ck_assert_int_eq(obj_int_at(o, "dropped.idle"), 2);
    ck_assert_int_eq(obj_int_at(o, "queue_depth"), 3);
    ck_assert_int_eq(obj_int_at(o, "workers"), 2);
    ck_assert(obj_is_str(obj_get(obj_get(o, "ruleset"), "sha256"), "0123"));
    ck_assert_ptr_nonnull(obj_get(obj_get(o, "latency_ms"), "p99_9"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Requests are counted by the method table's rows, in its order, and an
 * unknown method after them. */
START_TEST(requests_by_method_table)
{
    struct stats s;
    stats_init(&s, 0, dispatch_method_count(), dispatch_method_name);
    size_t n = dispatch_method_count();
    ck_assert_uint_eq(n, 6);
    static const char *const names[] = {"ping", "assess", "ruleset", "stats", "reload", "auth"};
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(dispatch_method_name(i), names[i]);
        for (size_t k = 0; k <= i; k++)
            stats_request(&s, (int)i);
    }
    stats_request(&s, -1);
    stats_request(&s, (int)n + 5);          /* out of the table: unknown */
    ck_assert_uint_eq(stats_requests_total(&s), n * (n + 1) / 2 + 2);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    unpack_stats(&s, &sb, &u);
    const msgpack_object *req = obj_get(&u.data, "requests");
    ck_assert_ptr_nonnull(req);
    ck_assert_uint_eq(req->via.map.size, n + 1);
    for (size_t i = 0; i < n; i++) {
        ck_assert(obj_is_str(&req->via.map.ptr[i].key, names[i]));
        ck_assert_uint_eq(req->via.map.ptr[i].val.via.u64, i + 1);
    }
    ck_assert(obj_is_str(&req->via.map.ptr[n].key, "unknown"));
    ck_assert_uint_eq(req->via.map.ptr[n].val.via.u64, 2);
    ck_assert_str_eq(stats_drop_name(STATS_DROP_SLOW_READER), "slow_reader");
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* The log throttle (daemon/throttle.c): one line per interval, and the
 * next line says how many were held back. */
START_TEST(throttle_one_line_per_interval)
{
    struct throttle t;
    throttle_init(&t, 1000);
    uint64_t held = 99;
    ck_assert(throttle_allow(&t, 5000, &held));
    ck_assert_uint_eq(held, 0);
    for (uint64_t now = 5001; now < 6000; now += 100)
        ck_assert(!throttle_allow(&t, now, &held));
    ck_assert(throttle_allow(&t, 6000, &held));
    ck_assert_uint_eq(held, 10);
    ck_assert(!throttle_allow(&t, 6999, &held));
    ck_assert(throttle_allow(&t, 9000, &held));
    ck_assert_uint_eq(held, 1);
    /* The new drop reasons keep their names (stats keys, Prometheus labels). */
    ck_assert_str_eq(stats_drop_name(STATS_DROP_AUTH_TIMEOUT), "auth_timeout");
    ck_assert_str_eq(stats_drop_name(STATS_DROP_UNAUTHENTICATED), "unauthenticated");
    ck_assert_str_eq(stats_drop_name(STATS_DROP_INPUT_MEMORY), "input_memory");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("daemon_stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, percentiles_of_uniform_latencies);
    tcase_add_test(tc, percentiles_small_and_huge);
    tcase_add_test(tc, packed_map);
    tcase_add_test(tc, errors_by_name);
    tcase_add_test(tc, requests_by_method_table);
    tcase_add_test(tc, throttle_one_line_per_interval);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
