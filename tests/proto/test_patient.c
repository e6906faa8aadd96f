/*
 * test_patient.c: typed conversion of `assess` params.  Each refusal must
 * name the exact field path; nothing may leak on any error path.
 */
#include "proto_test_util.h"

#include <jansson.h>
#include <math.h>

/* Params from JSON text (the JSON bridge keeps ints as ints), with a few
 * placeholders JSON cannot express patched in as raw MessagePack. */
static void params_from_json(const char *json, struct tbuf *t)
{
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(proto_json_to_msgpack(j, &t->pk, &e), 0);
    json_decref(j);
}

static int convert(const struct tbuf *t, struct suit_patient *p, struct proto_error *e)
{
    msgpack_unpacked u;
    decode_whole(t->sb.data, t->sb.size, &u);
    proto_error_init(e);
    int rc = proto_patient_from_params(&u.data, p, e);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static void expect_ok_json(const char *json, struct suit_patient *p)
{
    struct tbuf t;
    tbuf_init(&t);
    params_from_json(json, &t);
    struct proto_error e;
    int rc = convert(&t, p, &e);
    ck_assert_msg(rc == 0, "%s: %s", json, e.message);
    proto_error_close(&e);
    tbuf_close(&t);
}

static void expect_bad_tbuf(const struct tbuf *t, const char *field, const char *msg)
{
    struct suit_patient p;
    struct proto_error e;
    int rc = convert(t, &p, &e);
    ck_assert_int_eq(rc, PROTO_E_INVALID_PARAMS);
    ck_assert_int_eq(e.code, PROTO_E_INVALID_PARAMS);
    ck_assert_ptr_nonnull(e.field);
    ck_assert_str_eq(e.field, field);
    ck_assert_str_eq(e.message, msg);
    /* the patient is left initialised (nothing to free, nothing leaked) */
    ck_assert_ptr_null(p.area);
    ck_assert_uint_eq(p.medications.len, 0);
    ck_assert_int_eq(p.age, -1);
    suit_patient_close(&p);
    proto_error_close(&e);
}

static void expect_bad_json(const char *json, const char *field, const char *msg)
{
    struct tbuf t;
    tbuf_init(&t);
    params_from_json(json, &t);
    expect_bad_tbuf(&t, field, msg);
    tbuf_close(&t);
}

START_TEST(all_fields)
{
    struct suit_patient p;
    expect_ok_json("[{\"age\": 34, \"pregnant\": false, \"breastfeeding\": true,"
                   " \"fitzpatrick\": 4, \"area\": \"face\", \"indication\": \"acne-scars\","
                   " \"conditions\": [\"rosacea\", {\"name\": \"herpes-simplex\", \"days_ago\": 400},"
                   "                  {\"name\": \"keloid\"}],"
                   " \"medications\": [{\"name\": \"isotretinoin\", \"days_since_last_dose\": 30},"
                   "                   {\"name\": \"warfarin\", \"days_since_last_dose\": 0}],"
                   " \"procedures\": [{\"name\": \"chemical-peel\", \"days_ago\": 10}],"
                   " \"allergies\": [\"lidocaine\"],"
                   " \"setting\": \"home-roller\", \"needle_depth_mm\": 0.25},"
                   " {\"explain\": true, \"policy\": \"clinic-2\"}]", &p);
    ck_assert_int_eq(p.age, 34);
    ck_assert_int_eq(p.pregnant, SUIT_NO);
    ck_assert_int_eq(p.breastfeeding, SUIT_YES);
    ck_assert_int_eq(p.fitzpatrick, 4);
    ck_assert_str_eq(p.area, "face");
    ck_assert_str_eq(p.indication, "acne-scars");
    ck_assert_uint_eq(p.conditions.len, 3);
    ck_assert_str_eq(p.conditions.items[0].name, "rosacea");
    ck_assert_int_eq(p.conditions.items[0].days, -1);
    ck_assert_str_eq(p.conditions.items[1].name, "herpes-simplex");
    ck_assert_int_eq(p.conditions.items[1].days, 400);
    ck_assert_int_eq(p.conditions.items[2].days, -1);
    ck_assert_uint_eq(p.medications.len, 2);
    ck_assert_str_eq(p.medications.items[0].name, "isotretinoin");
    ck_assert_int_eq(p.medications.items[0].days, 30);
    ck_assert_int_eq(p.medications.items[1].days, 0);
    ck_assert_uint_eq(p.procedures.len, 1);
    ck_assert_int_eq(p.procedures.items[0].days, 10);
    ck_assert_uint_eq(p.allergies.len, 1);
    ck_assert_str_eq(p.allergies.items[0].name, "lidocaine");
    ck_assert_int_eq(p.allergies.items[0].days, -1);
    ck_assert_str_eq(p.setting, "home-roller");
    ck_assert(p.needle_depth_mm == 0.25);
    ck_assert(p.explain);
    ck_assert_str_eq(p.policy, "clinic-2");
    suit_patient_close(&p);
    ck_assert_ptr_null(p.area);
    ck_assert_ptr_null(p.policy);
    ck_assert_int_eq(p.age, -1);
}
END_TEST

START_TEST(missing_and_nil_are_not_errors)
{
    struct suit_patient p;
    expect_ok_json("[{}]", &p);
    ck_assert_int_eq(p.age, -1);
    ck_assert_int_eq(p.pregnant, SUIT_UNKNOWN);
    ck_assert_int_eq(p.breastfeeding, SUIT_UNKNOWN);
    ck_assert_int_eq(p.fitzpatrick, 0);
    ck_assert_ptr_null(p.area);
    ck_assert_ptr_null(p.indication);
    ck_assert_ptr_null(p.setting);
    ck_assert(p.needle_depth_mm < 0);
    ck_assert(!p.explain);
    ck_assert_ptr_null(p.policy);
    suit_patient_close(&p);
    expect_ok_json("[{}, {\"policy\": null}]", &p);
    ck_assert_ptr_null(p.policy);
    suit_patient_close(&p);

    expect_ok_json("[{\"age\": null, \"pregnant\": null, \"area\": null, \"fitzpatrick\": null,"
                   " \"conditions\": null}, null]", &p);
    ck_assert_int_eq(p.age, -1);
    ck_assert_int_eq(p.pregnant, SUIT_UNKNOWN);
    ck_assert_ptr_null(p.area);
    suit_patient_close(&p);

    /* an integer depth is fine; age 0 and 150 are in range */
    expect_ok_json("[{\"needle_depth_mm\": 1, \"age\": 150}]", &p);
    ck_assert(p.needle_depth_mm == 1.0);
    ck_assert_int_eq(p.age, 150);
    suit_patient_close(&p);
    expect_ok_json("[{\"age\": 0}, {}]", &p);
    ck_assert_int_eq(p.age, 0);
    suit_patient_close(&p);
}
END_TEST

START_TEST(params_shape)
{
    expect_bad_json("[]", "params", "params: expected [patient] or [patient, options]");
    expect_bad_json("[{}, {}, {}]", "params", "params: expected [patient] or [patient, options]");
    expect_bad_json("[null]", "patient", "patient: expected a map");
    expect_bad_json("[[]]", "patient", "patient: expected a map");
    expect_bad_json("[{}, []]", "options", "options: expected a map");
    expect_bad_json("[{}, {\"explain\": 1}]", "options.explain", "options.explain: expected true or false");
    expect_bad_json("[{}, {\"verbose\": true}]", "options.verbose",
                    "options.verbose: expected no such key (allowed: explain, policy, request_id)");
    /* options.policy: a policy name, checked before the engine sees it */
    static const char *const bad_names[] = {
        "\"\"", "\"Clinic\"", "\"clinic_a\"", "\"-a\"", "\"a-\"", "\"a/b\"", "\"../x\"",
        "\"a b\"", "\"\\u00e9\"",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""};   /* 65 */
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char json[200];
        snprintf(json, sizeof json, "[{}, {\"policy\": %s}]", bad_names[i]);
        expect_bad_json(json, "options.policy", "options.policy: expected a policy name: 1 to "
                        "64 lowercase letters, digits and hyphens, starting and ending with a "
                        "letter or a digit");
    }
    expect_bad_json("[{}, {\"policy\": 1}]", "options.policy",
                    "options.policy: expected a policy name (a string)");
    struct suit_patient q;
    expect_ok_json("[{}, {\"policy\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]",
                   &q);   /* 64: the longest */
    ck_assert_uint_eq(strlen(q.policy), 64);
    suit_patient_close(&q);
    /* params itself not an array */
    struct tbuf t;
    tbuf_init(&t);
    msgpack_pack_map(&t.pk, 0);
    expect_bad_tbuf(&t, "params", "params: expected [patient] or [patient, options]");
    tbuf_close(&t);
}
END_TEST

START_TEST(ages)
{
    const char *m = "age: expected an integer from 0 to 150";
    expect_bad_json("[{\"age\": -1}]", "age", m);
    expect_bad_json("[{\"age\": -9223372036854775808}]", "age", m);
    expect_bad_json("[{\"age\": 151}]", "age", m);
    expect_bad_json("[{\"age\": 34.0}]", "age", m);
    expect_bad_json("[{\"age\": \"34\"}]", "age", m);
    expect_bad_json("[{\"age\": true}]", "age", m);
    /* 2^63 and 2^64-1 do not fit JSON's integers: pack them directly */
    uint64_t big[] = { (uint64_t)1 << 63, UINT64_MAX };
    for (int i = 0; i < 2; i++) {
        struct tbuf t;
        tbuf_init(&t);
        msgpack_pack_array(&t.pk, 1);
        msgpack_pack_map(&t.pk, 1);
        pk_str(&t.pk, "age");
        msgpack_pack_uint64(&t.pk, big[i]);
        expect_bad_tbuf(&t, "age", m);
        tbuf_close(&t);
    }
}
END_TEST

START_TEST(other_scalars)
{
    expect_bad_json("[{\"pregnant\": 0}]", "pregnant", "pregnant: expected true or false");
    expect_bad_json("[{\"breastfeeding\": \"no\"}]", "breastfeeding",
                    "breastfeeding: expected true or false");
    expect_bad_json("[{\"fitzpatrick\": 0}]", "fitzpatrick", "fitzpatrick: expected an integer from 1 to 6");
    expect_bad_json("[{\"fitzpatrick\": 7}]", "fitzpatrick", "fitzpatrick: expected an integer from 1 to 6");
    expect_bad_json("[{\"area\": 5}]", "area", "area: expected a string");
    expect_bad_json("[{\"area\": \"\"}]", "area", "area: expected a non-empty string");
    expect_bad_json("[{\"indication\": [\"acne\"]}]", "indication", "indication: expected a string");
    expect_bad_json("[{\"setting\": {}}]", "setting", "setting: expected a string");
    const char *dm = "needle_depth_mm: expected a number greater than 0 and at most 10";
    expect_bad_json("[{\"needle_depth_mm\": 0}]", "needle_depth_mm", dm);
    expect_bad_json("[{\"needle_depth_mm\": 0.0}]", "needle_depth_mm", dm);
    expect_bad_json("[{\"needle_depth_mm\": -0.5}]", "needle_depth_mm", dm);
    expect_bad_json("[{\"needle_depth_mm\": 10.5}]", "needle_depth_mm", dm);
    expect_bad_json("[{\"needle_depth_mm\": 11}]", "needle_depth_mm", dm);
    expect_bad_json("[{\"needle_depth_mm\": \"1\"}]", "needle_depth_mm", dm);
    /* NaN and infinity cannot come from JSON: pack them */
    double odd[] = { NAN, INFINITY };
    for (int i = 0; i < 2; i++) {
        struct tbuf t;
        tbuf_init(&t);
        msgpack_pack_array(&t.pk, 1);
        msgpack_pack_map(&t.pk, 1);
        pk_str(&t.pk, "needle_depth_mm");
        msgpack_pack_double(&t.pk, odd[i]);
        expect_bad_tbuf(&t, "needle_depth_mm", dm);
        tbuf_close(&t);
    }
}
END_TEST

START_TEST(field_paths_in_lists)
{
    expect_bad_json("[{\"medications\": [{\"name\": \"a\", \"days_since_last_dose\": 1},"
                    " {\"name\": \"b\", \"days_since_last_dose\": 2},"
                    " {\"name\": \"c\", \"days_since_last_dose\": -1}]}]",
                    "medications[2].days_since_last_dose",
                    "medications[2].days_since_last_dose: expected a non-negative integer");
    expect_bad_json("[{\"medications\": [{\"name\": \"a\", \"days_since_last_dose\": 36501}]}]",
                    "medications[0].days_since_last_dose",
                    "medications[0].days_since_last_dose: expected a non-negative integer of at most 36500");
    expect_bad_json("[{\"medications\": [{\"name\": \"a\"}]}]",
                    "medications[0].days_since_last_dose",
                    "medications[0].days_since_last_dose: expected a non-negative integer (the key is required)");
    expect_bad_json("[{\"medications\": [\"aspirin\"]}]", "medications[0]",
                    "medications[0]: expected a map {name, days_since_last_dose}");
    expect_bad_json("[{\"medications\": [{\"days_since_last_dose\": 3}]}]", "medications[0].name",
                    "medications[0].name: expected a string (the key is required)");
    expect_bad_json("[{\"medications\": [{\"name\": \"a\", \"days_since_last_dose\": 3, \"dose\": 5}]}]",
                    "medications[0].dose",
                    "medications[0].dose: expected no such key (allowed: name, days_since_last_dose)");
    expect_bad_json("[{\"conditions\": [\"acne\", 7]}]", "conditions[1]",
                    "conditions[1]: expected a string or a map {name, days_ago}");
    expect_bad_json("[{\"conditions\": [{\"name\": \"acne\", \"days_ago\": 1.5}]}]",
                    "conditions[0].days_ago", "conditions[0].days_ago: expected a non-negative integer");
    expect_bad_json("[{\"procedures\": [{\"name\": \"peel\"}]}]", "procedures[0].days_ago",
                    "procedures[0].days_ago: expected a non-negative integer (the key is required)");
    expect_bad_json("[{\"allergies\": [\"latex\", {\"name\": \"x\"}]}]", "allergies[1]",
                    "allergies[1]: expected a string");
    expect_bad_json("[{\"allergies\": \"latex\"}]", "allergies", "allergies: expected an array");
    expect_bad_json("[{\"conditions\": [\"\"]}]", "conditions[0]",
                    "conditions[0]: expected a non-empty string");
}
END_TEST

/* Packs [{"conditions": [<name>]}] with a raw name (may hold NUL). */
static void pack_condition_name(struct tbuf *t, const char *name, size_t n, const char *key)
{
    msgpack_pack_array(&t->pk, 1);
    msgpack_pack_map(&t->pk, 1);
    pk_str(&t->pk, key);
    if (strcmp(key, "conditions") == 0) {
        msgpack_pack_array(&t->pk, 1);
        msgpack_pack_map(&t->pk, 1);
        pk_str(&t->pk, "name");
    }
    msgpack_pack_str(&t->pk, n);
    msgpack_pack_str_body(&t->pk, name, n);
}

START_TEST(strings)
{
    struct tbuf t;
    tbuf_init(&t);
    pack_condition_name(&t, "acne\0rosacea", 12, "conditions");
    expect_bad_tbuf(&t, "conditions[0].name", "conditions[0].name: expected a string without NUL bytes");
    msgpack_sbuffer_clear(&t.sb);
    pack_condition_name(&t, "face\0", 5, "area");
    expect_bad_tbuf(&t, "area", "area: expected a string without NUL bytes");
    msgpack_sbuffer_clear(&t.sb);
    pack_condition_name(&t, "\xff\xfe", 2, "indication");
    expect_bad_tbuf(&t, "indication", "indication: expected a valid UTF-8 string");
    msgpack_sbuffer_clear(&t.sb);
    char long_name[SUIT_MAX_TERM_LEN + 1];
    memset(long_name, 'n', sizeof(long_name));
    pack_condition_name(&t, long_name, SUIT_MAX_TERM_LEN + 1, "conditions");
    expect_bad_tbuf(&t, "conditions[0].name", "conditions[0].name: expected a string of at most 128 bytes");
    /* exactly the limit, with multi-byte UTF-8, is fine */
    msgpack_sbuffer_clear(&t.sb);
    char ok[SUIT_MAX_TERM_LEN];
    for (size_t i = 0; i < sizeof(ok); i += 2)
        memcpy(ok + i, "\xc3\xa9", 2);   /* é */
    pack_condition_name(&t, ok, sizeof(ok), "area");
    struct suit_patient p;
    struct proto_error e;
    ck_assert_int_eq(convert(&t, &p, &e), 0);
    ck_assert_uint_eq(strlen(p.area), SUIT_MAX_TERM_LEN);
    suit_patient_close(&p);
    tbuf_close(&t);
}
END_TEST

START_TEST(keys)
{
    expect_bad_json("[{\"agee\": 3}]", "agee",
                    "agee: expected no such key (allowed: age, pregnant, breastfeeding, fitzpatrick, "
                    "area, indication, conditions, medications, procedures, allergies, setting, "
                    "needle_depth_mm)");
    /* duplicate keys cannot be written in JSON through jansson: pack them */
    struct tbuf t;
    tbuf_init(&t);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 2);
    pk_str(&t.pk, "age"); msgpack_pack_uint8(&t.pk, 30);
    pk_str(&t.pk, "age"); msgpack_pack_uint8(&t.pk, 31);
    expect_bad_tbuf(&t, "age", "age: expected each key once, got a duplicate key");
    msgpack_sbuffer_clear(&t.sb);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 2);
    pk_str(&t.pk, "conditions"); msgpack_pack_array(&t.pk, 1); pk_str(&t.pk, "acne");
    pk_str(&t.pk, "conditions"); msgpack_pack_array(&t.pk, 1); pk_str(&t.pk, "acne");
    expect_bad_tbuf(&t, "conditions", "conditions: expected each key once, got a duplicate key");
    /* a key that is not a string */
    msgpack_sbuffer_clear(&t.sb);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 1);
    msgpack_pack_uint8(&t.pk, 1);
    msgpack_pack_uint8(&t.pk, 1);
    expect_bad_tbuf(&t, "patient", "patient: expected string keys");
    /* an unknown key with a NUL and control bytes is escaped in the path */
    msgpack_sbuffer_clear(&t.sb);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 1);
    msgpack_pack_str(&t.pk, 5);
    msgpack_pack_str_body(&t.pk, "ag\0e\n", 5);
    msgpack_pack_uint8(&t.pk, 1);
    struct suit_patient p;
    struct proto_error e;
    ck_assert_int_eq(convert(&t, &p, &e), PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(e.field, "ag\\x00e\\x0a");
    proto_error_close(&e);
    /* a long key of bytes that all need escaping is cut with "..." and
     * never overruns the path buffer (a fuzzer found that it once did) */
    char longkey[80];
    memset(longkey, 0x01, sizeof(longkey));
    memset(longkey + 35, 'a', 13);   /* the mix that used to land 1 byte past */
    msgpack_sbuffer_clear(&t.sb);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 1);
    msgpack_pack_str(&t.pk, sizeof(longkey));
    msgpack_pack_str_body(&t.pk, longkey, sizeof(longkey));
    msgpack_pack_uint8(&t.pk, 1);
    ck_assert_int_eq(convert(&t, &p, &e), PROTO_E_INVALID_PARAMS);
    ck_assert_ptr_nonnull(e.field);
    ck_assert_ptr_nonnull(strstr(e.field, "\\x01\\x01"));
    ck_assert_ptr_nonnull(strstr(e.field, "..."));
    ck_assert_uint_lt(strlen(e.field), 160);
    proto_error_close(&e);
    tbuf_close(&t);
}
END_TEST

START_TEST(list_limits)
{
    struct tbuf t;
    tbuf_init(&t);
    for (int n = SUIT_MAX_ITEMS; n <= SUIT_MAX_ITEMS + 1; n++) {
        msgpack_sbuffer_clear(&t.sb);
        msgpack_pack_array(&t.pk, 1);
        msgpack_pack_map(&t.pk, 1);
        pk_str(&t.pk, "allergies");
        msgpack_pack_array(&t.pk, (size_t)n);
        for (int i = 0; i < n; i++)
            pk_str(&t.pk, "latex");
        if (n == SUIT_MAX_ITEMS) {
            struct suit_patient p;
            struct proto_error e;
            ck_assert_int_eq(convert(&t, &p, &e), 0);
            ck_assert_uint_eq(p.allergies.len, SUIT_MAX_ITEMS);
            suit_patient_close(&p);
        } else {
            expect_bad_tbuf(&t, "allergies", "allergies: expected an array of at most 64 items, got 65");
        }
    }
    /* an error late in a long list frees the items already copied */
    msgpack_sbuffer_clear(&t.sb);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 2);
    pk_str(&t.pk, "area"); pk_str(&t.pk, "face");
    pk_str(&t.pk, "procedures");
    msgpack_pack_array(&t.pk, 10);
    for (int i = 0; i < 9; i++) {
        msgpack_pack_map(&t.pk, 2);
        pk_str(&t.pk, "name"); pk_str(&t.pk, "peel");
        pk_str(&t.pk, "days_ago"); msgpack_pack_uint8(&t.pk, 5);
    }
    msgpack_pack_map(&t.pk, 2);
    pk_str(&t.pk, "name"); pk_str(&t.pk, "peel");
    pk_str(&t.pk, "days_ago"); msgpack_pack_int8(&t.pk, -3);
    expect_bad_tbuf(&t, "procedures[9].days_ago", "procedures[9].days_ago: expected a non-negative integer");
    tbuf_close(&t);
}
END_TEST

/* Control characters are refused in every term field, with the field's
 * path and the byte; padding is kept as sent (the engine trims for
 * matching), but white space alone is an empty term. */
START_TEST(control_characters)
{
    static const struct {
        const char *text;
        size_t len;
        const char *key, *field, *msg;
    } bad[] = {
        {"isotretinoin\t", 13, "conditions", "conditions[0].name",
         "conditions[0].name: expected a string without control characters (byte 12 is 0x09)"},
        {"cheeks\n", 7, "area", "area",
         "area: expected a string without control characters (byte 6 is 0x0a)"},
        {"\x1b[31mface", 9, "indication", "indication",
         "indication: expected a string without control characters (byte 0 is 0x1b)"},
        {"clinic\x7f", 7, "setting", "setting",
         "setting: expected a string without control characters (byte 6 is 0x7f)"},
        {"nick\xc2\x85" "el", 8, "conditions", "conditions[0].name",   /* U+0085, C1 */
         "conditions[0].name: expected a string without control characters (byte 4 is 0xc2)"},
        {"   ", 3, "area", "area", "area: expected a non-empty string (got white space only)"},
        {" \xc2\xa0 ", 4, "conditions", "conditions[0].name",      /* no-break space */
         "conditions[0].name: expected a non-empty string (got white space only)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tbuf t;
        tbuf_init(&t);
        pack_condition_name(&t, bad[i].text, bad[i].len, bad[i].key);
        expect_bad_tbuf(&t, bad[i].field, bad[i].msg);
        tbuf_close(&t);
    }
    /* padding and inner spaces are not errors, and reach the engine as sent */
    struct tbuf t;
    tbuf_init(&t);
    pack_condition_name(&t, " fish  oil ", 11, "area");
    struct suit_patient p;
    struct proto_error e;
    ck_assert_int_eq(convert(&t, &p, &e), 0);
    ck_assert_str_eq(p.area, " fish  oil ");
    suit_patient_close(&p);
    tbuf_close(&t);
}
END_TEST

/* ---- the published schema is the validation ------------------------ */

/* A value the field accepts: the low end of a range, one item of a list,
 * a map with its required keys. */
static void pack_valid(msgpack_packer *pk, const struct proto_field *f)
{
    switch (f->type) {
    case PROTO_FIELD_INTEGER:
        msgpack_pack_int64(pk, f->has_range ? (int64_t)f->min + (f->min_exclusive ? 1 : 0) : 1);
        break;
    case PROTO_FIELD_NUMBER:
        msgpack_pack_double(pk, f->has_range ? (f->min + f->max) / 2 : 1.0);
        break;
    case PROTO_FIELD_BOOLEAN:
        msgpack_pack_false(pk);
        break;
    case PROTO_FIELD_STRING:
        pk_str(pk, "x");
        break;
    case PROTO_FIELD_ARRAY:
        msgpack_pack_array(pk, 1);
        pack_valid(pk, f->items);
        break;
    case PROTO_FIELD_MAP: {
        size_t n = 0;
        for (size_t i = 0; i < f->n_fields; i++)
            n += f->fields[i].required;
        msgpack_pack_map(pk, n);
        for (size_t i = 0; i < f->n_fields; i++)
            if (f->fields[i].required) {
                pk_str(pk, f->fields[i].name);
                pack_valid(pk, &f->fields[i]);
            }
        break;
    }
    }
}

enum probe { AT_MAX, OVER_MAX, AT_MIN, UNDER_MIN };

/* A value of f at or beyond one end of its range (numbers), its length
 * (strings) or its item count (arrays). */
static void pack_probe(msgpack_packer *pk, const struct proto_field *f, enum probe p)
{
    if (f->type == PROTO_FIELD_INTEGER) {
        int64_t v = p == AT_MAX ? (int64_t)f->max : p == OVER_MAX ? (int64_t)f->max + 1
                  : p == AT_MIN ? (int64_t)f->min : (int64_t)f->min - 1;
        msgpack_pack_int64(pk, v);
    } else if (f->type == PROTO_FIELD_NUMBER) {
        double v = p == AT_MAX ? f->max : p == OVER_MAX ? f->max + 0.001
                 : p == AT_MIN ? f->min : f->min - 0.001;
        msgpack_pack_double(pk, v);
    } else if (f->type == PROTO_FIELD_STRING) {
        size_t n = p == AT_MAX ? f->max_length : f->max_length + 1;
        char *b = malloc(n);
        memset(b, 'a', n);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, b, n);
        free(b);
    } else if (f->type == PROTO_FIELD_ARRAY) {
        size_t n = p == AT_MAX ? f->max_items : f->max_items + 1;
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++)
            pack_valid(pk, f->items);
    }
}

/* [patient] with one key set to a probe of `field`: at the top level, or
 * inside the first item of list `top` (item holds field). */
static void pack_patient_probe(struct tbuf *t, const struct proto_field *top,
                               const struct proto_field *item, const struct proto_field *field,
                               enum probe p)
{
    msgpack_pack_array(&t->pk, 1);
    msgpack_pack_map(&t->pk, 1);
    pk_str(&t->pk, top->name);
    if (!item) {
        pack_probe(&t->pk, field, p);
        return;
    }
    msgpack_pack_array(&t->pk, 1);
    size_t n = 0;
    for (size_t i = 0; i < item->n_fields; i++)
        n += item->fields[i].required || &item->fields[i] == field;
    msgpack_pack_map(&t->pk, n);
    for (size_t i = 0; i < item->n_fields; i++) {
        const struct proto_field *k = &item->fields[i];
        if (k == field) {
            pk_str(&t->pk, k->name);
            pack_probe(&t->pk, k, p);
        } else if (k->required) {
            pk_str(&t->pk, k->name);
            pack_valid(&t->pk, k);
        }
    }
}

static bool probe_ok(const struct proto_field *top, const struct proto_field *item,
                     const struct proto_field *field, enum probe p, char *path, size_t pathlen)
{
    struct tbuf t;
    tbuf_init(&t);
    pack_patient_probe(&t, top, item, field, p);
    struct suit_patient pt;
    struct proto_error e;
    int rc = convert(&t, &pt, &e);
    if (rc == 0)
        suit_patient_close(&pt);
    else
        snprintf(path, pathlen, "%s", e.field ? e.field : "");
    proto_error_close(&e);
    tbuf_close(&t);
    return rc == 0;
}

/* Checks both ends of field's bound; path is where a refusal must point. */
static void check_bounds(const struct proto_field *top, const struct proto_field *item,
                         const struct proto_field *field, const char *path)
{
    char got[200] = "";
    bool ranged = (field->type == PROTO_FIELD_INTEGER || field->type == PROTO_FIELD_NUMBER) &&
                  field->has_range;
    bool sized = field->type == PROTO_FIELD_STRING || field->type == PROTO_FIELD_ARRAY;
    if (!ranged && !sized)
        return;
    ck_assert_msg(probe_ok(top, item, field, AT_MAX, got, sizeof got), "%s: max refused", path);
    ck_assert_msg(!probe_ok(top, item, field, OVER_MAX, got, sizeof got), "%s: over max accepted",
                  path);
    ck_assert_msg(!strncmp(got, path, strlen(path)), "%s: refusal points at %s", path, got);
    if (!ranged)
        return;
    ck_assert_msg(probe_ok(top, item, field, AT_MIN, got, sizeof got) == !field->min_exclusive,
                  "%s: min %s", path, field->min_exclusive ? "accepted" : "refused");
    ck_assert_msg(!probe_ok(top, item, field, UNDER_MIN, got, sizeof got), "%s: under min accepted",
                  path);
}

START_TEST(schema_is_what_validation_checks)
{
    size_t n;
    const struct proto_field *f = proto_patient_fields(&n);
    static const char *const required[] = {"age", "pregnant", "breastfeeding", "fitzpatrick",
                                           "area", "indication"};
    size_t n_required = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].required)
            ck_assert_str_eq(f[i].name, required[n_required++]);
        /* Every key of the schema is accepted with a plain valid value. */
        struct tbuf t;
        tbuf_init(&t);
        msgpack_pack_array(&t.pk, 1);
        msgpack_pack_map(&t.pk, 1);
        pk_str(&t.pk, f[i].name);
        pack_valid(&t.pk, &f[i]);
        struct suit_patient p;
        struct proto_error e;
        ck_assert_msg(convert(&t, &p, &e) == 0, "%s: %s", f[i].name, e.message);
        suit_patient_close(&p);
        proto_error_close(&e);
        tbuf_close(&t);

        check_bounds(&f[i], NULL, &f[i], f[i].name);
        if (f[i].type != PROTO_FIELD_ARRAY)
            continue;
        const struct proto_field *item = f[i].items;
        if (item->type == PROTO_FIELD_STRING) {
            ck_assert(item->max_length == SUIT_MAX_TERM_LEN);
            continue;
        }
        ck_assert_int_eq(item->type, PROTO_FIELD_MAP);
        for (size_t k = 0; k < item->n_fields; k++) {
            char path[128];
            snprintf(path, sizeof path, "%s[0].%s", f[i].name, item->fields[k].name);
            check_bounds(&f[i], item, &item->fields[k], path);
            if (item->fields[k].type == PROTO_FIELD_STRING)
                continue;       /* a long name: checked by check_bounds */
            /* A required key of an item is refused when missing. */
            struct tbuf t2;
            tbuf_init(&t2);
            msgpack_pack_array(&t2.pk, 1);
            msgpack_pack_map(&t2.pk, 1);
            pk_str(&t2.pk, f[i].name);
            msgpack_pack_array(&t2.pk, 1);
            msgpack_pack_map(&t2.pk, 1);
            pk_str(&t2.pk, "name");
            pk_str(&t2.pk, "x");
            int rc = convert(&t2, &p, &e);
            ck_assert_msg((rc == 0) == !item->fields[k].required, "%s: required %d but rc %d",
                          path, item->fields[k].required, rc);
            if (rc == 0)
                suit_patient_close(&p);
            proto_error_close(&e);
            tbuf_close(&t2);
        }
    }
    ck_assert_uint_eq(n_required, SUIT_N_REQUIRED);
}
END_TEST

static Suite *patient_suite(void)
{
    Suite *s = suite_create("proto_patient");
    TCase *tc = tcase_create("assess params");
    tcase_add_test(tc, all_fields);
    tcase_add_test(tc, missing_and_nil_are_not_errors);
    tcase_add_test(tc, params_shape);
    tcase_add_test(tc, ages);
    tcase_add_test(tc, other_scalars);
    tcase_add_test(tc, field_paths_in_lists);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, control_characters);
    tcase_add_test(tc, keys);
    tcase_add_test(tc, list_limits);
    tcase_add_test(tc, schema_is_what_validation_checks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(patient_suite());
}
