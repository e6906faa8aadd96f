/*
 * test_json.c: the JSON <-> MessagePack bridge.
 */
#include "proto_test_util.h"

#include <jansson.h>
#include <math.h>

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
    return j;
}

START_TEST(round_trip)
{
    const char *text =
        "{\"age\": 34, \"neg\": -7, \"big\": 9223372036854775807, \"depth\": 0.25,"
        " \"t\": true, \"f\": false, \"n\": null, \"s\": \"caf\\u00e9 \\u0000x\","
        " \"list\": [1, [2, [3]], {}, []], \"obj\": {\"k\": {\"k2\": \"v\"}}}";
    json_t *j = load(text);
    struct tbuf t;
    tbuf_init(&t);
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(proto_json_to_msgpack(j, &t.pk, &e), 0);

    msgpack_unpacked u;
    decode_whole(t.sb.data, t.sb.size, &u);
    /* integers stay integers, reals become float64 */
    ck_assert_int_eq(map_get(&u.data, "age")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_uint_eq(map_get(&u.data, "age")->via.u64, 34);
    ck_assert_int_eq(map_get(&u.data, "neg")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    ck_assert_int_eq(map_get(&u.data, "depth")->type, MSGPACK_OBJECT_FLOAT64);
    ck_assert_int_eq(map_get(&u.data, "n")->type, MSGPACK_OBJECT_NIL);
    /* a \u0000 in JSON arrives as an embedded NUL, for the patient layer to refuse */
    ck_assert_uint_eq(map_get(&u.data, "s")->via.str.size, 8);

    json_t *back = proto_msgpack_to_json(&u.data);
    ck_assert_ptr_nonnull(back);
    ck_assert_msg(json_equal(j, back), "JSON changed in the round trip");
    ck_assert(json_is_integer(json_object_get(back, "big")));
    ck_assert(json_is_real(json_object_get(back, "depth")));
    json_decref(back);
    msgpack_unpacked_destroy(&u);
    json_decref(j);
    tbuf_close(&t);
}
END_TEST

START_TEST(msgpack_only_values)
{
    struct tbuf t;
    tbuf_init(&t);
    msgpack_pack_map(&t.pk, 6);
    msgpack_pack_uint8(&t.pk, 7);              /* non-string key */
    pk_str(&t.pk, "seven");
    pk_str(&t.pk, "bin");
    msgpack_pack_bin(&t.pk, 3);
    msgpack_pack_bin_body(&t.pk, "\x00\xab\xff", 3);
    pk_str(&t.pk, "huge");
    msgpack_pack_uint64(&t.pk, UINT64_MAX);
    pk_str(&t.pk, "nan");
    msgpack_pack_double(&t.pk, NAN);
    pk_str(&t.pk, "bad-utf8");
    msgpack_pack_str(&t.pk, 3);
    msgpack_pack_str_body(&t.pk, "a\xffz", 3);
    pk_str(&t.pk, "f32");
    msgpack_pack_float(&t.pk, 0.5f);

    msgpack_unpacked u;
    decode_whole(t.sb.data, t.sb.size, &u);
    json_t *j = proto_msgpack_to_json(&u.data);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "7")), "seven");
    ck_assert_str_eq(json_string_value(json_object_get(j, "bin")), "00abff");
    ck_assert(json_is_real(json_object_get(j, "huge")));
    ck_assert(json_is_null(json_object_get(j, "nan")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "bad-utf8")), "a\xef\xbf\xbdz");
    ck_assert(json_real_value(json_object_get(j, "f32")) == 0.5);
    json_decref(j);
    msgpack_unpacked_destroy(&u);
    tbuf_close(&t);
}
END_TEST

START_TEST(patient_from_json_case)
{
    /* the way rule-author case files reach the engine */
    json_t *j = load("[{\"age\": 40, \"pregnant\": false, \"breastfeeding\": false,"
                     " \"fitzpatrick\": 2, \"area\": \"scalp\", \"indication\": \"hair-loss\"}]");
    struct tbuf t;
    tbuf_init(&t);
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(proto_json_to_msgpack(j, &t.pk, &e), 0);
    msgpack_unpacked u;
    decode_whole(t.sb.data, t.sb.size, &u);
    struct suit_patient p;
    ck_assert_int_eq(proto_patient_from_params(&u.data, &p, &e), 0);
    ck_assert_int_eq(p.age, 40);
    ck_assert_int_eq(p.fitzpatrick, 2);
    ck_assert_str_eq(p.indication, "hair-loss");
    suit_patient_close(&p);
    msgpack_unpacked_destroy(&u);
    json_decref(j);
    tbuf_close(&t);
}
END_TEST

START_TEST(null_input)
{
    struct tbuf t;
    tbuf_init(&t);
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_lt(proto_json_to_msgpack(NULL, &t.pk, &e), 0);
    ck_assert_uint_eq(t.sb.size, 0);
    tbuf_close(&t);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("proto_json");
    TCase *tc = tcase_create("bridge");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, msgpack_only_values);
    tcase_add_test(tc, patient_from_json_case);
    tcase_add_test(tc, null_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(json_suite());
}
