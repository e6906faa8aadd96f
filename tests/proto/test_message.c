/*
 * test_message.c: frame classification, and round trips (pack, decode with
 * the streaming decoder, parse) of every method's request and response.
 */
#include "proto_test_util.h"

#include "rpc_client.h"

/* Decodes one frame from t through the streaming decoder and parses it.
 * The decoder is returned so that the objects stay valid. */
static struct proto_decoder *decode_frame(const struct tbuf *t, struct proto_message *m,
                                          int *rc, struct proto_error *err)
{
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    ck_assert_int_eq(proto_decoder_feed(d, t->sb.data, t->sb.size), 0);
    msgpack_object o;
    ck_assert_int_eq(proto_decoder_next(d, &o), 1);
    *rc = proto_message_parse(&o, m, err);
    return d;
}

static void expect_invalid(const char *bytes, size_t n, bool has_msgid, uint32_t msgid,
                           const char *msg)
{
    struct tbuf t;
    tbuf_init(&t);
    msgpack_sbuffer_write(&t.sb, bytes, n);
    struct proto_message m;
    struct proto_error e;
    proto_error_init(&e);
    int rc;
    struct proto_decoder *d = decode_frame(&t, &m, &rc, &e);
    ck_assert_int_eq(rc, PROTO_E_INVALID_REQUEST);
    ck_assert_int_eq(e.code, PROTO_E_INVALID_REQUEST);
    ck_assert_str_eq(e.message, msg);
    ck_assert_int_eq(m.has_msgid, has_msgid);
    if (has_msgid)
        ck_assert_uint_eq(m.msgid, msgid);
    proto_error_close(&e);
    proto_decoder_free(d);
    tbuf_close(&t);
}
#define INVALID(lit, has, id, msg) expect_invalid((lit), sizeof(lit) - 1, (has), (id), (msg))

START_TEST(wrong_frames)
{
    INVALID("\x80", false, 0, "a frame must be an array, got a map");
    INVALID("\x90", false, 0, "a frame must not be empty");
    INVALID("\x94\x03\x01\xa4ping\x90", false, 0, "frame type must be 0, 1 or 2, got 3");
    INVALID("\x94\xa1" "0\x01\xa4ping\x90", false, 0,
            "frame type must be the integer 0, 1 or 2, got a string");
    INVALID("\x94\xff\x01\xa4ping\x90", false, 0,
            "frame type must be the integer 0, 1 or 2, got a negative integer");
    /* msgid not an integer, negative, or beyond 2^32-1 */
    INVALID("\x94\x00\xa1" "1\xa4ping\x90", false, 0, "msgid must be an unsigned integer, got a string");
    INVALID("\x94\x00\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xa4ping\x90", false, 0,
            "msgid must be an unsigned integer, got a float");
    INVALID("\x94\x00\xff\xa4ping\x90", false, 0,
            "msgid must be an unsigned integer, got a negative integer");
    INVALID("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa4ping\x90", false, 0,
            "msgid 4294967296 exceeds 4294967295");
    /* a recoverable msgid is kept so the daemon can answer */
    INVALID("\x94\x00\xce\xff\xff\xff\xff\xa4ping\x80", true, 4294967295u,
            "params must be an array, got a map");
    INVALID("\x94\x00\x07\xa4ping\xc0", true, 7, "params must be an array, got nil");
    INVALID("\x94\x00\x07\x01\x90", true, 7, "method must be a string, got an integer");
    INVALID("\x93\x00\x07\xa4ping", true, 7, "a request has 4 elements, got 3");
    INVALID("\x95\x00\x07\xa4ping\x90\xc0", true, 7, "a request has 4 elements, got 5");
    INVALID("\x91\x00", false, 0, "a request has 4 elements, got 1");
    INVALID("\x93\x01\x07\xc0", true, 7, "a response has 4 elements, got 3");
    INVALID("\x94\x02\xa4ping\x90\xc0", false, 0, "a notification has 3 elements, got 4");
    INVALID("\x93\x02\xa4ping\xc0", false, 0, "params must be an array, got nil");
}
END_TEST

START_TEST(notification)
{
    struct tbuf t;
    tbuf_init(&t);
    msgpack_pack_array(&t.pk, 3);
    msgpack_pack_uint8(&t.pk, 2);
    pk_str(&t.pk, "something-unknown");
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_true(&t.pk);
    struct proto_message m;
    struct proto_error e;
    proto_error_init(&e);
    int rc;
    struct proto_decoder *d = decode_frame(&t, &m, &rc, &e);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(m.type, PROTO_NOTIFY);
    ck_assert(!m.has_msgid);
    ck_assert(proto_method_is(&m, "something-unknown"));
    ck_assert(!proto_method_is(&m, "something"));
    ck_assert_uint_eq(m.params.via.array.size, 1);
    proto_decoder_free(d);
    tbuf_close(&t);
}
END_TEST

/* ---- requests of every method ---------------------------------------- */

static void pack_patient(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 2);
    testutil_pack_example_patient(pk, 0);
    msgpack_pack_map(pk, 1);
    pk_str(pk, "explain");       msgpack_pack_true(pk);
}

static void pack_token(msgpack_packer *pk, void *arg)
{
    msgpack_pack_array(pk, 1);
    pk_str(pk, arg);
}

static void request_round_trip(const char *method, rpc_pack_params_fn fn, void *arg,
                               uint32_t msgid, uint32_t n_params)
{
    struct tbuf t;
    tbuf_init(&t);
    proto_pack_request_header(&t.pk, msgid, method);
    if (fn)
        fn(&t.pk, arg);
    else
        msgpack_pack_array(&t.pk, 0);
    struct proto_message m;
    struct proto_error e;
    proto_error_init(&e);
    int rc;
    struct proto_decoder *d = decode_frame(&t, &m, &rc, &e);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(m.type, PROTO_REQUEST);
    ck_assert(m.has_msgid);
    ck_assert_uint_eq(m.msgid, msgid);
    ck_assert(proto_method_is(&m, method));
    ck_assert_int_eq(m.params.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(m.params.via.array.size, n_params);
    if (strcmp(method, "assess") == 0) {
        struct suit_patient p;
        ck_assert_int_eq(proto_patient_from_params(&m.params, &p, &e), 0);
        ck_assert_int_eq(p.age, 34);
        ck_assert_str_eq(p.indication, "acne-scars");
        ck_assert(p.explain);
        suit_patient_close(&p);
    }
    proto_decoder_free(d);
    tbuf_close(&t);
}

START_TEST(requests_round_trip)
{
    request_round_trip("ping", NULL, NULL, 1, 0);
    request_round_trip("assess", pack_patient, NULL, 2, 2);
    request_round_trip("ruleset", NULL, NULL, 3, 0);
    request_round_trip("stats", NULL, NULL, 4, 0);
    request_round_trip("reload", NULL, NULL, 5, 0);
    request_round_trip("auth", pack_token, "s3cret", 4294967295u, 1);
}
END_TEST

/* ---- responses of every method ---------------------------------------- */

/* Packs a response and returns it decoded (through the streaming decoder)
 * as the result object; caller frees the decoder. */
static struct proto_decoder *response_round_trip(struct tbuf *t, uint32_t msgid,
                                                 msgpack_object *result)
{
    struct proto_message m;
    struct proto_error e;
    proto_error_init(&e);
    int rc;
    struct proto_decoder *d = decode_frame(t, &m, &rc, &e);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(m.type, PROTO_RESPONSE);
    ck_assert_uint_eq(m.msgid, msgid);
    ck_assert_int_eq(m.error.type, MSGPACK_OBJECT_NIL);
    *result = m.result;
    return d;
}

static const struct suit_ruleset_id example_id = {
    "microneedling", "1.0.0", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
};

/* The daemon's own packer, keys in PROTOCOL.md's order. */
START_TEST(ping_response)
{
    struct tbuf t;
    tbuf_init(&t);
    proto_pack_result_header(&t.pk, 1);
    struct proto_ping p = {.version = "0.1.0", .protocol = PROTO_VERSION, .ruleset = &example_id};
    proto_pack_ping_result(&t.pk, &p);
    msgpack_object r;
    struct proto_decoder *d = response_round_trip(&t, 1, &r);
    ck_assert_uint_eq(r.via.map.size, 3);
    ck_assert(obj_str_is(&r.via.map.ptr[0].key, "version"));
    ck_assert(obj_str_is(&r.via.map.ptr[1].key, "protocol"));
    ck_assert(obj_str_is(&r.via.map.ptr[2].key, "ruleset"));
    ck_assert_obj_str(map_get(&r, "version"), "0.1.0");
    ck_assert_obj_str(map_get(&r, "protocol"), PROTO_VERSION);
    ck_assert_obj_str(map_get(map_get(&r, "ruleset"), "name"), "microneedling");
    ck_assert_obj_str(map_get(map_get(&r, "ruleset"), "sha256"), example_id.sha256);
    proto_decoder_free(d);
    tbuf_close(&t);
}
END_TEST

static char *xstrdup(const char *s)
{
    char *c = strdup(s);
    ck_assert_ptr_nonnull(c);
    return c;
}

static char **str_list(size_t n, const char *const *v)
{
    char **a = calloc(n, sizeof(*a));
    ck_assert_ptr_nonnull(a);
    for (size_t i = 0; i < n; i++)
        a[i] = xstrdup(v[i]);
    return a;
}

static void fill_result(struct suit_result *r, bool plan, bool trace)
{
    suit_result_init(r);
    r->verdict = SUIT_VERDICT_DEFER;
    r->defer_days = 152;
    r->n_findings = 2;
    r->findings = calloc(2, sizeof(*r->findings));
    struct suit_finding *f = &r->findings[0];
    f->id = xstrdup("isotretinoin-recent");
    f->category = xstrdup("medication");
    f->severity = SUIT_SEV_DEFER;
    f->summary = xstrdup("Isotretinoin within 6 months");
    f->detail = xstrdup("Wait until 6 months after the last dose.");
    f->source = xstrdup("AAD 2017");
    f->action = xstrdup("Defer treatment.");
    f->defer_days = 152;
    f = &r->findings[1];
    f->id = xstrdup("unknown-term");
    f->category = xstrdup("vocabulary");
    f->severity = SUIT_SEV_CAUTION;
    f->summary = xstrdup("Unknown condition");
    f->detail = xstrdup("");
    f->source = NULL;                       /* packs as nil */
    f->action = xstrdup("Review by hand.");
    f->defer_days = -1;
    r->n_side_effects = 1;
    r->side_effects = calloc(1, sizeof(*r->side_effects));
    r->side_effects[0].effect = xstrdup("erythema");
    r->side_effects[0].kind = xstrdup("expected");
    r->side_effects[0].likelihood = xstrdup("common");
    r->side_effects[0].note = xstrdup("Resolves in 1-3 days.");
    r->plan.present = plan;
    r->plan.sessions_min = 3;
    r->plan.sessions_max = 6;
    r->plan.interval_weeks = 4;
    r->plan.interval_weeks_max = 6;
    r->plan.cost_min = 100;
    r->plan.cost_typical = 250;
    r->plan.cost_max = 700;
    r->plan.course_cost_min = 300;
    r->plan.course_cost_max = 4200;
    static const char *const care[] = { "No make-up for 24 hours.", "Use sunscreen." };
    r->aftercare = str_list(2, care);
    r->n_aftercare = 2;
    static const char *const missing[] = { "fitzpatrick" };
    r->missing = str_list(1, missing);
    r->n_missing = 1;
    r->ruleset.name = xstrdup("microneedling");
    r->ruleset.version = xstrdup("1.0.0");
    r->ruleset.sha256 = xstrdup("00ff");
    r->policy.name = xstrdup("clinic-a");
    r->policy.sha256 = xstrdup("11ee");
    if (trace) {
        static const char *const tr[] = { "FIRE 1 isotretinoin-recent: f-3" };
        r->trace = str_list(1, tr);
        r->n_trace = 1;
        r->has_trace = true;
    }
}

static int64_t int_of(const msgpack_object *o)
{
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    return (int64_t)o->via.u64;
}

START_TEST(assess_response)
{
    for (int variant = 0; variant < 2; variant++) {
        bool full = variant == 0;
        struct suit_result res;
        fill_result(&res, full, full);
        struct tbuf t;
        tbuf_init(&t);
        proto_pack_result_header(&t.pk, 42);
        proto_pack_assess_result(&t.pk, &res);
        suit_result_close(&res);

        msgpack_object r;
        struct proto_decoder *d = response_round_trip(&t, 42, &r);
        ck_assert_uint_eq(r.via.map.size, full ? 10 : 9);
        ck_assert_obj_str(map_get(&r, "verdict"), "defer");
        ck_assert_int_eq(int_of(map_get(&r, "defer_days")), 152);

        const msgpack_object *fs = map_get(&r, "findings");
        ck_assert_uint_eq(fs->via.array.size, 2);
        const msgpack_object *f0 = &fs->via.array.ptr[0], *f1 = &fs->via.array.ptr[1];
        ck_assert_obj_str(map_get(f0, "id"), "isotretinoin-recent");
        ck_assert_obj_str(map_get(f0, "category"), "medication");
        ck_assert_obj_str(map_get(f0, "severity"), "defer");
        ck_assert_obj_str(map_get(f0, "summary"), "Isotretinoin within 6 months");
        ck_assert_obj_str(map_get(f0, "detail"), "Wait until 6 months after the last dose.");
        ck_assert_obj_str(map_get(f0, "source"), "AAD 2017");
        ck_assert_obj_str(map_get(f0, "action"), "Defer treatment.");
        ck_assert_int_eq(int_of(map_get(f0, "defer_days")), 152);
        ck_assert_obj_str(map_get(f1, "severity"), "caution");
        ck_assert_int_eq(map_get(f1, "source")->type, MSGPACK_OBJECT_NIL);
        ck_assert_int_eq(map_get(f1, "defer_days")->type, MSGPACK_OBJECT_NIL);

        const msgpack_object *se = &map_get(&r, "side_effects")->via.array.ptr[0];
        ck_assert_obj_str(map_get(se, "effect"), "erythema");
        ck_assert_obj_str(map_get(se, "kind"), "expected");
        ck_assert_obj_str(map_get(se, "likelihood"), "common");
        ck_assert_obj_str(map_get(se, "note"), "Resolves in 1-3 days.");

        const msgpack_object *plan = map_get(&r, "plan");
        if (full) {
            ck_assert_int_eq(int_of(map_get(plan, "sessions_min")), 3);
            ck_assert_int_eq(int_of(map_get(plan, "sessions_max")), 6);
            ck_assert_int_eq(int_of(map_get(plan, "interval_weeks")), 4);
            ck_assert_int_eq(int_of(map_get(plan, "interval_weeks_max")), 6);
            const msgpack_object *c = map_get(plan, "cost_per_session_usd");
            ck_assert_int_eq(int_of(map_get(c, "min")), 100);
            ck_assert_int_eq(int_of(map_get(c, "typical")), 250);
            ck_assert_int_eq(int_of(map_get(c, "max")), 700);
            c = map_get(plan, "course_cost_usd");
            ck_assert_int_eq(int_of(map_get(c, "min")), 300);
            ck_assert_int_eq(int_of(map_get(c, "max")), 4200);
            const msgpack_object *tr = map_get(&r, "trace");
            ck_assert_uint_eq(tr->via.array.size, 1);
            ck_assert_obj_str(&tr->via.array.ptr[0], "FIRE 1 isotretinoin-recent: f-3");
        } else {
            ck_assert_int_eq(plan->type, MSGPACK_OBJECT_NIL);
            ck_assert_ptr_null(map_get(&r, "trace"));
        }
        ck_assert_obj_str(&map_get(&r, "aftercare")->via.array.ptr[1], "Use sunscreen.");
        ck_assert_obj_str(&map_get(&r, "missing")->via.array.ptr[0], "fitzpatrick");
        ck_assert_obj_str(map_get(map_get(&r, "ruleset"), "version"), "1.0.0");
        /* the policy that decided, right after the ruleset */
        ck_assert_obj_str(&r.via.map.ptr[8].key, "policy");
        ck_assert_uint_eq(map_get(&r, "policy")->via.map.size, 2);
        ck_assert_obj_str(map_get(map_get(&r, "policy"), "name"), "clinic-a");
        ck_assert_obj_str(map_get(map_get(&r, "policy"), "sha256"), "11ee");
        proto_decoder_free(d);
        tbuf_close(&t);
    }
}
END_TEST

START_TEST(empty_assess_result)
{
    struct suit_result res;
    suit_result_init(&res);
    struct tbuf t;
    tbuf_init(&t);
    proto_pack_result_header(&t.pk, 3);
    proto_pack_assess_result(&t.pk, &res);
    suit_result_close(&res);
    msgpack_object r;
    struct proto_decoder *d = response_round_trip(&t, 3, &r);
    ck_assert_obj_str(map_get(&r, "verdict"), "incomplete");
    ck_assert_int_eq(map_get(&r, "defer_days")->type, MSGPACK_OBJECT_NIL);
    ck_assert_uint_eq(map_get(&r, "findings")->via.array.size, 0);
    ck_assert_int_eq(map_get(map_get(&r, "ruleset"), "sha256")->type, MSGPACK_OBJECT_NIL);
    ck_assert_int_eq(map_get(map_get(&r, "policy"), "name")->type, MSGPACK_OBJECT_NIL);
    proto_decoder_free(d);
    tbuf_close(&t);
}
END_TEST

START_TEST(ruleset_stats_reload_auth_responses)
{
    struct tbuf t;
    tbuf_init(&t);
    msgpack_packer *pk = &t.pk;
    /* ruleset */
    struct proto_term areas[] = {{.name = "face", .label = "Face", .cls = "none"},
                                 {.name = "scalp", .label = "Scalp", .cls = "none"}};
    struct proto_policy_value pol[] = {
        {.name = "isotretinoin-washout-days", .description = "d", .unit = "days",
         .value = {.is_int = true, .i = 90}, .dflt = {.is_int = true, .i = 180}},
        {.name = "face-max-depth-mm", .description = "", .unit = "",
         .value = {.d = 1.5}, .dflt = {.d = 1.5}},
    };
    struct proto_source src[] = {{"LBL", "Isotretinoin labelling", false}};
    struct proto_ruleset_info info = {
        .id = &example_id, .loaded_at = 1795482000, .rule_count = 61,
        .policy = pol, .n_policy = 2, .sources = src, .n_sources = 1,
    };
    info.vocabularies[SUIT_VOC_AREAS] = (struct proto_vocabulary){areas, 2};
    proto_pack_result_header(pk, 10);
    proto_pack_ruleset_info(pk, &info);
    msgpack_object r;
    struct proto_decoder *d = response_round_trip(&t, 10, &r);
    ck_assert_obj_str(map_get(&r, "loaded_at"), "2026-11-24T01:00:00Z");
    ck_assert_int_eq(int_of(map_get(&r, "rule_count")), 61);
    ck_assert_int_eq(int_of(map_get(map_get(&r, "policy"), "isotretinoin-washout-days")), 90);
    ck_assert(map_get(map_get(&r, "policy"), "face-max-depth-mm")->via.f64 == 1.5);
    const msgpack_object *iso = map_get(map_get(&r, "policy_details"), "isotretinoin-washout-days");
    ck_assert_int_eq(int_of(map_get(iso, "default")), 180);
    ck_assert_obj_str(map_get(iso, "unit"), "days");
    const msgpack_object *depth = map_get(map_get(&r, "policy_details"), "face-max-depth-mm");
    ck_assert_int_eq(map_get(depth, "unit")->type, MSGPACK_OBJECT_NIL);     /* "" is nil */
    ck_assert_obj_str(&map_get(map_get(&r, "vocabularies"), "areas")->via.array.ptr[1], "scalp");
    ck_assert_uint_eq(map_get(map_get(&r, "vocabularies"), "allergies")->via.array.size, 0);
    const msgpack_object *face = &map_get(map_get(&r, "terms"), "areas")->via.array.ptr[0];
    ck_assert_obj_str(map_get(face, "label"), "Face");
    ck_assert_int_eq(map_get(face, "synonyms")->via.array.size, 0);
    ck_assert_obj_str(map_get(map_get(map_get(&r, "sources"), "LBL"), "citation"),
                      "Isotretinoin labelling");
    const msgpack_object *age = map_get(map_get(&r, "fields"), "age");
    ck_assert_obj_str(map_get(age, "type"), "integer");
    ck_assert_int_eq(int_of(map_get(age, "max")), SUIT_MAX_AGE);
    ck_assert_int_eq(map_get(age, "required")->via.boolean, true);
    proto_decoder_free(d);

    /* stats */
    msgpack_sbuffer_clear(&t.sb);
    struct proto_counter req[] = {{"ping", 2}, {"unknown", 0}}, drop[] = {{"idle", 1}};
    struct proto_stats st = {
        .uptime_s = 3600, .conn_current = 1, .conn_total = 9, .requests = req, .n_requests = 2,
        .p99_ms = 0.25, .ruleset = &example_id, .dropped = drop, .n_dropped = 1,
        .version = "0.1.0",
    };
    st.errors[proto_code_index(PROTO_E_TIMEOUT)] = 4;
    proto_pack_result_header(pk, 11);
    proto_pack_stats_result(pk, &st);
    d = response_round_trip(&t, 11, &r);
    ck_assert_int_eq(int_of(map_get(map_get(&r, "connections"), "total")), 9);
    ck_assert(map_get(map_get(&r, "latency_ms"), "p99")->via.f64 == 0.25);
    ck_assert_int_eq(int_of(map_get(map_get(&r, "requests"), "ping")), 2);
    ck_assert_uint_eq(map_get(&r, "errors")->via.map.size, 1);
    ck_assert_int_eq(int_of(map_get(map_get(&r, "errors"), "timeout")), 4);
    ck_assert_int_eq(int_of(map_get(map_get(&r, "dropped"), "idle")), 1);
    ck_assert_obj_str(map_get(&r, "version"), "0.1.0");
    proto_decoder_free(d);

    /* reload */
    msgpack_sbuffer_clear(&t.sb);
    proto_pack_result_header(pk, 12);
    struct proto_reload rl = {.ruleset = &example_id, .cases_passed = 40};
    proto_pack_reload_result(pk, &rl);
    d = response_round_trip(&t, 12, &r);
    ck_assert_int_eq(int_of(map_get(&r, "cases_passed")), 40);
    ck_assert_obj_str(map_get(map_get(&r, "ruleset"), "version"), "1.0.0");
    proto_decoder_free(d);

    /* auth */
    msgpack_sbuffer_clear(&t.sb);
    proto_pack_result_header(pk, 13);
    proto_pack_auth_result(pk);
    d = response_round_trip(&t, 13, &r);
    ck_assert_int_eq(r.type, MSGPACK_OBJECT_BOOLEAN);
    ck_assert(r.via.boolean);
    proto_decoder_free(d);
    tbuf_close(&t);
}
END_TEST

START_TEST(error_response_round_trip)
{
    struct proto_error e;
    proto_error_init(&e);
    ck_assert_int_eq(proto_error_set(&e, PROTO_E_INVALID_PARAMS, "area: unknown term \"%s\"",
                                     "elbow"), PROTO_E_INVALID_PARAMS);
    ck_assert_int_eq(proto_error_set_field(&e, "area"), 0);
    ck_assert_int_eq(proto_error_add_detail(&e, "face"), 0);
    ck_assert_int_eq(proto_error_add_detail(&e, "scalp %d", 2), 0);
    struct tbuf t;
    tbuf_init(&t);
    proto_pack_error_response(&t.pk, 77, &e);
    proto_error_close(&e);
    ck_assert_ptr_null(e.field);
    ck_assert_int_eq(e.code, PROTO_OK);

    struct proto_message m;
    int rc;
    struct proto_decoder *d = decode_frame(&t, &m, &rc, &e);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(m.type, PROTO_RESPONSE);
    ck_assert_uint_eq(m.msgid, 77);
    ck_assert_int_eq(m.result.type, MSGPACK_OBJECT_NIL);
    const msgpack_object *code = map_get(&m.error, "code");
    ck_assert_int_eq(code->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    ck_assert_int_eq(code->via.i64, -32602);

    struct proto_error back;
    proto_error_init(&back);
    ck_assert_int_eq(rpc_error_from_object(&m.error, &back), PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(back.message, "area: unknown term \"elbow\"");
    ck_assert_str_eq(back.field, "area");
    ck_assert_uint_eq(back.n_details, 2);
    ck_assert_str_eq(back.details[1], "scalp 2");
    proto_error_close(&back);
    proto_decoder_free(d);

    /* without field or details, data is nil */
    msgpack_sbuffer_clear(&t.sb);
    proto_error_set(&e, PROTO_E_OVERLOADED, "queue full");
    proto_pack_error_response(&t.pk, 78, &e);
    d = decode_frame(&t, &m, &rc, &e);
    ck_assert_int_eq(map_get(&m.error, "data")->type, MSGPACK_OBJECT_NIL);
    ck_assert_obj_str(map_get(&m.error, "message"), "queue full");
    proto_decoder_free(d);
    proto_error_close(&e);
    tbuf_close(&t);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(proto_code_name(PROTO_E_PARSE), "parse error");
    ck_assert_str_eq(proto_code_name(PROTO_E_NOT_PERMITTED), "not permitted");
    ck_assert_str_eq(proto_code_name(12345), "unknown error");
    /* The stable keys of `stats.errors` (PROTOCOL.md section 4.4). */
    static const struct {
        int code;
        const char *key;
    } keys[] = {
        {PROTO_E_PARSE, "parse_error"}, {PROTO_E_INVALID_REQUEST, "invalid_request"},
        {PROTO_E_METHOD_NOT_FOUND, "method_not_found"}, {PROTO_E_INVALID_PARAMS, "invalid_params"},
        {PROTO_E_INTERNAL, "internal_error"}, {PROTO_E_TOO_LARGE, "too_large"},
        {PROTO_E_OVERLOADED, "overloaded"}, {PROTO_E_TIMEOUT, "timeout"},
        {PROTO_E_RULESET, "ruleset_error"}, {PROTO_E_NOT_PERMITTED, "not_permitted"},
    };
    ck_assert_int_eq(sizeof keys / sizeof keys[0], PROTO_N_CODES);
    for (int i = 0; i < PROTO_N_CODES; i++) {
        ck_assert_str_eq(proto_code_key(keys[i].code), keys[i].key);
        ck_assert_int_eq(proto_code_at(proto_code_index(keys[i].code)), keys[i].code);
    }
    ck_assert_ptr_null(proto_code_key(12345));
    ck_assert_ptr_null(proto_code_key(PROTO_OK));
    ck_assert_int_eq(proto_code_index(12345), -1);
    static const char *const verdicts[] = { "suitable", "suitable-with-precautions",
                                            "incomplete", "defer", "refer", "contraindicated" };
    for (int i = 0; i < 6; i++) {
        ck_assert_str_eq(suit_verdict_name((enum suit_verdict)i), verdicts[i]);
        ck_assert_int_eq(suit_verdict_parse(verdicts[i]), i);
    }
    static const char *const sevs[] = { "info", "caution", "incomplete", "defer", "refer",
                                        "contraindicated" };
    for (int i = 0; i < 6; i++) {
        ck_assert_str_eq(suit_severity_name((enum suit_severity)i), sevs[i]);
        ck_assert_int_eq(suit_severity_parse(sevs[i]), i);
    }
    ck_assert_int_eq(suit_verdict_parse("Suitable"), -1);
    ck_assert_int_eq(suit_severity_parse(""), -1);
    ck_assert_int_eq(suit_severity_parse(NULL), -1);
    ck_assert_int_eq(SUIT_SEV_CONTRAINDICATED > SUIT_SEV_REFER, 1);
}
END_TEST

static Suite *message_suite(void)
{
    Suite *s = suite_create("proto_message");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, wrong_frames);
    tcase_add_test(tc, notification);
    tcase_add_test(tc, requests_round_trip);
    tcase_add_test(tc, ping_response);
    tcase_add_test(tc, assess_response);
    tcase_add_test(tc, empty_assess_result);
    tcase_add_test(tc, ruleset_stats_reload_auth_responses);
    tcase_add_test(tc, error_response_round_trip);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(message_suite());
}
