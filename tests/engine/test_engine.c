/*
 * test_engine.c: the engine against small dedicated rulesets in
 * tests/engine/rulesets (not the bundled rules/, which has its own cases).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <nettle/sha2.h>

#include "engine.h"
#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

/* ---- helpers ------------------------------------------------------------ */

static struct ruleset *load_ok(const char *dir, const char *policy)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    int rc = ruleset_load(dir, policy, &rs, &err);
    if (rc) {
        for (size_t i = 0; i < err.n_details; i++)
            fprintf(stderr, "  %s\n", err.details[i]);
    }
    ck_assert_msg(rc == 0, "load %s: %s", dir, err.message);
    ck_assert_ptr_nonnull(rs);
    proto_error_close(&err);
    return rs;
}

static struct engine *engine_ok(struct ruleset *rs, uint64_t max_firings, uint32_t deadline_ms)
{
    struct engine_limits lim;
    engine_limits_default(&lim);
    if (max_firings)
        lim.max_firings = max_firings;
    if (deadline_ms)
        lim.deadline_ms = deadline_ms;
    struct proto_error err;
    proto_error_init(&err);
    struct engine *e = NULL;
    int rc = engine_create(rs, &lim, &e, &err);
    ck_assert_msg(rc == 0, "engine_create: %s", err.message);
    proto_error_close(&err);
    return e;
}

static void add_item(struct suit_item_list *l, const char *name, int64_t days)
{
    struct suit_item *n = realloc(l->items, (l->len + 1) * sizeof *n);
    ck_assert_ptr_nonnull(n);
    l->items = n;
    l->items[l->len].name = strdup(name);
    l->items[l->len].days = days;
    l->len++;
}

/* A complete patient with nothing wrong. */
static void healthy(struct suit_patient *p)
{
    suit_patient_init(p);
    p->age = 30;
    p->pregnant = SUIT_NO;
    p->breastfeeding = SUIT_NO;
    p->fitzpatrick = 2;
    p->area = strdup("face");
    p->indication = strdup("fine-lines");
}

static const struct suit_finding *find(const struct suit_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (!strcmp(r->findings[i].id, id))
            return &r->findings[i];
    return NULL;
}

static void dump_details(const struct proto_error *e)
{
    for (size_t i = 0; i < e->n_details; i++)
        fprintf(stderr, "  detail: %s\n", e->details[i]);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/suitd-engine-test-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}


/* ---- temporary ruleset copies --------------------------------------------- */

/* A private copy of one of the test rulesets; the caller removes it. */
static char *temp_ruleset(const char *name)
{
    char *dir = strdup("/tmp/suitd-engine-rs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char src[512];
    snprintf(src, sizeof src, "%s/%s", ENGINE_TEST_RULESETS, name);
    testutil_copy_tree(src, dir);
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    ck_assert_ptr_nonnull(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(m);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* ---- loading ------------------------------------------------------------ */

START_TEST(test_load_basic)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    const struct suit_ruleset_id *id = ruleset_id(rs);
    ck_assert_str_eq(id->name, "engine-test");
    ck_assert_str_eq(id->version, "0.0.1");
    ck_assert_uint_eq(strlen(id->sha256), 64);
    ck_assert_str_eq(ruleset_dir(rs), RS("basic"));

    /* sha256 = manifest bytes, then each listed file in order */
    static const char *const files[] = {"manifest.ini", "templates.clp", "data.clp",
                                        "rules.clp", "verdict.clp"};
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    for (size_t i = 0; i < 5; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", RS("basic"), files[i]);
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            sha256_update(&ctx, n, (const uint8_t *)buf);
        fclose(f);
    }
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof d, d);
    char hex[65];
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    ck_assert_str_eq(id->sha256, hex);

    ruleset_ref(rs);
    ruleset_unref(rs);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_load_errors_have_file_and_line)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    int rc = ruleset_load(RS("badload"), NULL, &rs, &err);
    dump_details(&err);
    ck_assert_int_eq(rc, PROTO_E_RULESET);
    ck_assert_int_eq(err.code, PROTO_E_RULESET);
    ck_assert_ptr_null(rs);
    ck_assert_uint_eq(err.n_details, 2);
    ck_assert_msg(testutil_has_detail(&err, "bad.clp:4: "), "bad slot reported at bad.clp:4");
    ck_assert_msg(testutil_has_detail(&err, "no-such-slot"), "message names the slot");
    ck_assert_msg(testutil_has_detail(&err, "bad.clp:16: "), "bad function reported at bad.clp:16");
    ck_assert_msg(testutil_has_detail(&err, "no-such-function"), "message names the function");
    ck_assert_msg(!testutil_has_detail(&err, "good.clp"), "the good file has no problem");
    proto_error_close(&err);
}
END_TEST

START_TEST(test_load_missing_file_and_contract)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(RS("no-such-ruleset"), NULL, &rs, &err), PROTO_E_RULESET);
    ck_assert_ptr_null(rs);
    proto_error_close(&err);

    ck_assert_int_eq(ruleset_load(RS("nocontract"), NULL, &rs, &err), PROTO_E_RULESET);
    dump_details(&err);
    ck_assert_ptr_null(rs);
    ck_assert(testutil_has_detail(&err, "deftemplate 'patient' is missing"));
    ck_assert(testutil_has_detail(&err, "deftemplate 'finding' is missing"));
    proto_error_close(&err);
}
END_TEST

START_TEST(test_policy_override)
{
    char *pol = write_temp("; clinic policy\n[policy]\nnsaid-hold-days = 5\n"
                           "home-roller-max-depth-mm = 0.25\n");
    struct ruleset *rs = load_ok(RS("basic"), pol);

    /* reported by the `ruleset` method, ints as ints and reals as floats */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    struct proto_ruleset_info info;
    ck_assert_int_eq(ruleset_describe(rs, &info), 0);
    proto_pack_ruleset_info(&pk, &info);
    proto_ruleset_info_close(&info);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_MAP);
    bool saw_policy = false, saw_vocab = false, saw_syn = false;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        const char *k = kv->key.via.str.ptr;
        size_t kn = kv->key.via.str.size;
        if (kn == 6 && !memcmp(k, "policy", 6)) {
            saw_policy = true;
            for (uint32_t j = 0; j < kv->val.via.map.size; j++) {
                const msgpack_object_kv *p = &kv->val.via.map.ptr[j];
                if (p->key.via.str.size == 15 && !memcmp(p->key.via.str.ptr, "nsaid-hold-days", 15)) {
                    ck_assert_int_eq(p->val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
                    ck_assert_uint_eq(p->val.via.u64, 5);
                }
                if (p->key.via.str.size == 24 &&
                    !memcmp(p->key.via.str.ptr, "home-roller-max-depth-mm", 24)) {
                    ck_assert_int_eq(p->val.type, MSGPACK_OBJECT_FLOAT64);
                    ck_assert(p->val.via.f64 == 0.25);
                }
                if (p->key.via.str.size == 25 &&
                    !memcmp(p->key.via.str.ptr, "isotretinoin-washout-days", 25))
                    ck_assert_uint_eq(p->val.via.u64, 180);
            }
        } else if (kn == 12 && !memcmp(k, "vocabularies", 12)) {
            saw_vocab = true;
            for (uint32_t j = 0; j < kv->val.via.map.size; j++) {
                const msgpack_object_kv *v = &kv->val.via.map.ptr[j];
                if (v->key.via.str.size == 5 && !memcmp(v->key.via.str.ptr, "areas", 5)) {
                    ck_assert_uint_eq(v->val.via.array.size, 3);
                    ck_assert(!memcmp(v->val.via.array.ptr[0].via.str.ptr, "face", 4));
                }
                if (v->key.via.str.size == 10 && !memcmp(v->key.via.str.ptr, "conditions", 10))
                    /* active-acne, cold-sore, sunburn: the synonym acne is not public */
                    ck_assert_uint_eq(v->val.via.array.size, 3);
            }
        } else if (kn == 8 && !memcmp(k, "synonyms", 8)) {
            saw_syn = true;
            ck_assert_uint_eq(kv->val.via.map.size, 2);   /* acne, accutane */
        }
    }
    ck_assert(saw_policy && saw_vocab && saw_syn);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);

    /* and applied to the policy facts the rules read */
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_patient p;
    healthy(&p);
    add_item(&p.medications, "ibuprofen", 4);
    struct suit_result r;
    suit_result_init(&r);
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    ck_assert_ptr_nonnull(find(&r, "nsaid-hold"));   /* 4 < 5; the default 3 would not */
    suit_result_close(&r);
    engine_free(e);
    suit_patient_close(&p);
    ruleset_unref(rs);

    /* the default does not hold at 4 days */
    rs = load_ok(RS("basic"), NULL);
    e = engine_ok(rs, 0, 0);
    healthy(&p);
    add_item(&p.medications, "ibuprofen", 4);
    suit_result_init(&r);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    ck_assert_ptr_null(find(&r, "nsaid-hold"));
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_SUITABLE);
    suit_result_close(&r);
    engine_free(e);
    suit_patient_close(&p);
    ruleset_unref(rs);
    proto_error_close(&err);
    unlink(pol);
    free(pol);
}
END_TEST

START_TEST(test_policy_unknown_name_refused)
{
    char *pol = write_temp("[policy]\nnsaid-hold-days = 5\nno-such-policy = 3\n"
                           "isotretinoin-washout-days = soon\n");
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(RS("basic"), pol, &rs, &err), PROTO_E_RULESET);
    dump_details(&err);
    ck_assert_ptr_null(rs);
    char want[600];
    snprintf(want, sizeof want, "%s:3: unknown policy 'no-such-policy'", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    snprintf(want, sizeof want, "%s:4: isotretinoin-washout-days: 'soon' is not a number", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    proto_error_close(&err);
    unlink(pol);
    free(pol);
}
END_TEST

/* ---- assessments ---------------------------------------------------------- */

START_TEST(test_assess_basic_and_synonyms)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    ck_assert_ptr_eq(engine_ruleset(e), rs);
    struct proto_error err;
    proto_error_init(&err);
    for (int round = 0; round < 3; round++) {
        struct suit_patient p;
        healthy(&p);
        free(p.area);
        p.area = strdup("FACE");
        free(p.indication);
        p.indication = strdup("Acne-Scars");
        add_item(&p.conditions, "Acne", -1);                /* synonym of active-acne */
        add_item(&p.medications, "ACCUTANE", 100);          /* synonym of isotretinoin */
        p.explain = true;
        struct suit_result r;
        suit_result_init(&r);
        ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
        ck_assert_int_eq(r.verdict, SUIT_VERDICT_DEFER);
        /* active acne has no fixed end, so it decides defer_days */
        ck_assert_int_eq(r.defer_days, -1);
        ck_assert_ptr_nonnull(find(&r, "active-acne"));
        const struct suit_finding *w = find(&r, "isotretinoin-washout");
        ck_assert_ptr_nonnull(w);
        ck_assert_int_eq(w->defer_days, 80);
        ck_assert_str_eq(w->source, "DP");
        ck_assert_str_eq(w->category, "medication");
        ck_assert(r.plan.present);
        ck_assert_int_eq(r.plan.course_cost_min, 300);
        ck_assert_int_eq(r.plan.course_cost_max, 4200);
        ck_assert_uint_eq(r.n_aftercare, 2);
        ck_assert_str_eq(r.aftercare[0], "No makeup for 24 hours");   /* order 1 first */
        ck_assert_uint_eq(r.n_side_effects, 1);
        ck_assert_str_eq(r.ruleset.name, "engine-test");
        ck_assert_str_eq(r.ruleset.sha256, ruleset_id(rs)->sha256);
        ck_assert(r.has_trace);
        ck_assert_uint_eq(r.n_trace, 3);
        bool saw_plan = false;
        for (size_t i = 0; i < r.n_trace; i++)
            saw_plan |= !strcmp(r.trace[i], "plan-acne-scars");
        ck_assert(saw_plan);
        suit_result_close(&r);
        suit_patient_close(&p);
    }
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_findings_sorted_heaviest_first)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_patient p;
    healthy(&p);
    p.pregnant = SUIT_YES;
    add_item(&p.conditions, "cold-sore", -1);
    add_item(&p.medications, "ibuprofen", 0);
    add_item(&p.medications, "unheard-of-pill", 0);
    struct suit_result r;
    suit_result_init(&r);
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    ck_assert_uint_eq(r.n_findings, 4);
    ck_assert_str_eq(r.findings[0].id, "pregnancy");
    ck_assert_str_eq(r.findings[1].id, "cold-sore");
    ck_assert_str_eq(r.findings[2].id, "nsaid-hold");               /* caution, by id */
    ck_assert_str_eq(r.findings[3].id, "unrecognised-medication");
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_CONTRAINDICATED);
    ck_assert_int_eq(r.defer_days, -1);
    suit_result_close(&r);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_unknown_area_invalid_params)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_patient p;
    healthy(&p);
    free(p.area);
    p.area = strdup("elbow");
    struct suit_result r;
    suit_result_init(&r);
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), PROTO_E_INVALID_PARAMS);
    ck_assert_int_eq(err.code, PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(err.message, "area: unknown term 'elbow'; allowed: face, forehead, scalp");
    ck_assert_str_eq(err.field, "area");
    ck_assert_uint_eq(err.n_details, 3);
    ck_assert_str_eq(err.details[0], "face");
    ck_assert_str_eq(err.details[2], "scalp");
    ck_assert_uint_eq(r.n_findings, 0);
    proto_error_close(&err);
    suit_result_close(&r);

    free(p.area);
    p.area = strdup("face");
    free(p.setting);
    p.setting = strdup("bathroom");
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(err.field, "setting");
    ck_assert(testutil_has_detail(&err, "home-roller"));
    proto_error_close(&err);
    suit_result_close(&r);

    /* A long term is quoted up to 64 bytes, never cut inside a character:
     * U+00E8 at bytes 63-64, U+1F600 at bytes 62-65. */
    free(p.setting);
    p.setting = strdup("face");
    static const char *const longs[] = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa8xyz",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf0\x9f\x98\x80xyz",
    };
    for (int i = 0; i < 2; i++) {
        free(p.area);
        p.area = strdup(longs[i]);
        ck_assert_int_eq(engine_assess(e, &p, &r, &err), PROTO_E_INVALID_PARAMS);
        char want[100];
        snprintf(want, sizeof want, "area: unknown term '%.*s'; allowed:", 63 - i, longs[i]);
        ck_assert_msg(!strncmp(err.message, want, strlen(want)), "%s", err.message);
        proto_error_close(&err);
        suit_result_close(&r);
    }
    free(p.area);
    p.area = strdup("face");
    free(p.setting);
    p.setting = strdup("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa8xyz");
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), PROTO_E_INVALID_PARAMS);
    ck_assert_msg(strstr(err.message, "aaa'; allowed"), "%s", err.message);
    proto_error_close(&err);
    suit_result_close(&r);

    /* the engine is still fine afterwards */
    free(p.setting);
    p.setting = strdup("Home-Roller");
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_SUITABLE);
    suit_result_close(&r);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_missing_facts_incomplete)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_patient p;
    suit_patient_init(&p);
    p.area = strdup("face");
    struct suit_result r;
    suit_result_init(&r);
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_INCOMPLETE);
    static const char *const want[] = {"age", "pregnant", "breastfeeding", "fitzpatrick",
                                       "indication"};
    ck_assert_uint_eq(r.n_missing, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(r.missing[i], want[i]);
    ck_assert_ptr_nonnull(find(&r, "missing-age"));
    ck_assert_ptr_nonnull(find(&r, "missing-indication"));
    ck_assert_ptr_null(find(&r, "missing-area"));
    suit_result_close(&r);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_hostile_strings_stay_values)
{
    char marker[128];
    snprintf(marker, sizeof marker, "/tmp/suitd-engine-pwned-%ld", (long)getpid());
    unlink(marker);
    char hostile[256];
    snprintf(hostile, sizeof hostile, "x) (system \"touch %s\") (", marker);
    char hostile2[256];
    snprintf(hostile2, sizeof hostile2, "\") (assert (finding (id pwned))) (\"");

    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_patient p;
    healthy(&p);
    add_item(&p.conditions, hostile, 3);
    add_item(&p.medications, hostile2, 0);
    add_item(&p.allergies, "(exit)", -1);
    struct suit_result r;
    suit_result_init(&r);
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    const struct suit_finding *c = find(&r, "unrecognised-condition");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->detail, hostile);
    const struct suit_finding *m = find(&r, "unrecognised-medication");
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->detail, hostile2);
    const struct suit_finding *a = find(&r, "unrecognised-allergy");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->detail, "(exit)");
    ck_assert_ptr_null(find(&r, "pwned"));
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_PRECAUTIONS);
    ck_assert_int_ne(access(marker, F_OK), 0);
    suit_result_close(&r);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_gc_many_facts)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    /* A long deadline: 256 items, half of them unknown (each scanned for a
     * near miss), must not trip the 1 s default on a loaded machine under
     * the sanitizers (seen once); this test is about garbage, not time. */
    struct engine *e = engine_ok(rs, 0, 60000);
    struct suit_patient p;
    healthy(&p);
    static const char *const known[] = {"acne", "cold-sore", "sunburn", "active-acne"};
    for (int i = 0; i < SUIT_MAX_ITEMS; i++) {
        char name[64];
        if (i % 2) {
            add_item(&p.conditions, known[i % 4], i);
        } else {
            snprintf(name, sizeof name, "unknown-condition-%d", i);
            add_item(&p.conditions, name, i);
        }
        snprintf(name, sizeof name, i % 3 ? "drug \"%d\" )(" : "ibuprofen", i);
        add_item(&p.medications, name, i % 5);
        snprintf(name, sizeof name, i % 2 ? "chemical-peel" : "procedure %d", i);
        add_item(&p.procedures, name, i);
        snprintf(name, sizeof name, i % 2 ? "lidocaine" : "allergen %d", i);
        add_item(&p.allergies, name, -1);
    }
    struct proto_error err;
    proto_error_init(&err);
    size_t first_n = 0;
    for (int round = 0; round < 2000; round++) {
        struct suit_result r;
        suit_result_init(&r);
        ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
        if (round == 0)
            first_n = r.n_findings;
        ck_assert_uint_eq(r.n_findings, first_n);
        ck_assert_int_eq(r.verdict, SUIT_VERDICT_DEFER);
        ck_assert_int_eq(r.defer_days, -1);    /* cold sore has no fixed end */
        suit_result_close(&r);
    }
    ck_assert_uint_gt(first_n, 60);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

/* ---- misbehaving rules ----------------------------------------------------- */

static int assess_condition(struct engine *e, const char *condition, const char *area,
                            struct suit_result *r, struct proto_error *err)
{
    struct suit_patient p;
    healthy(&p);
    if (area) {
        free(p.area);
        p.area = strdup(area);
    }
    if (condition)
        add_item(&p.conditions, condition, -1);
    suit_result_init(r);
    int rc = engine_assess(e, &p, r, err);
    suit_patient_close(&p);
    return rc;
}

static void assert_still_works(struct engine *e)
{
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(assess_condition(e, "cold-sore", NULL, &r, &err), 0);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_DEFER);
    ck_assert_ptr_nonnull(find(&r, "cold-sore"));
    suit_result_close(&r);
    proto_error_close(&err);
}

START_TEST(test_firing_cap)
{
    struct ruleset *rs = load_ok(RS("hostile"), NULL);
    struct engine *e = engine_ok(rs, 500, 5000);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(assess_condition(e, "fire-forever", NULL, &r, &err), PROTO_E_RULESET);
    ck_assert_msg(strstr(err.message, "did not settle"), "%s", err.message);
    ck_assert_msg(strstr(err.message, "firing cap"), "%s", err.message);
    ck_assert_uint_eq(r.n_findings, 0);      /* never a partial verdict */
    suit_result_close(&r);
    proto_error_close(&err);
    assert_still_works(e);
    assert_still_works(e);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_deadline_endless_loop)
{
    struct ruleset *rs = load_ok(RS("hostile"), NULL);
    struct engine *e = engine_ok(rs, 0, 200);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    time_t start = time(NULL);
    ck_assert_int_eq(assess_condition(e, "loop-forever", NULL, &r, &err), PROTO_E_RULESET);
    /* generous bound: only proves the loop was stopped at all */
    ck_assert_int_lt(time(NULL) - start, 30);
    ck_assert_msg(strstr(err.message, "did not settle"), "%s", err.message);
    ck_assert_msg(strstr(err.message, "deadline"), "%s", err.message);
    ck_assert_uint_eq(r.n_findings, 0);
    suit_result_close(&r);
    proto_error_close(&err);
    assert_still_works(e);
    /* and again: the halt flags were cleared */
    ck_assert_int_eq(assess_condition(e, "loop-forever", NULL, &r, &err), PROTO_E_RULESET);
    suit_result_close(&r);
    proto_error_close(&err);
    assert_still_works(e);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_deadline_loop_in_lhs)
{
    /* a (test ...) runs while the patient's facts are asserted, before
     * EnvRun: the deadline must cover that too */
    struct ruleset *rs = load_ok(RS("hostile"), NULL);
    struct engine *e = engine_ok(rs, 0, 200);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(assess_condition(e, "lhs-loop", NULL, &r, &err), PROTO_E_RULESET);
    ck_assert_msg(strstr(err.message, "did not settle"), "%s", err.message);
    suit_result_close(&r);
    proto_error_close(&err);
    assert_still_works(e);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_exit_is_neutralised)
{
    struct ruleset *rs = load_ok(RS("hostile"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    int rc = assess_condition(e, "call-exit", NULL, &r, &err);
    /* still here: (exit) returned to the rule, which went on */
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(find(&r, "after-exit"));
    suit_result_close(&r);
    proto_error_close(&err);
    assert_still_works(e);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

START_TEST(test_data_facts_restored)
{
    struct ruleset *rs = load_ok(RS("hostile"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(assess_condition(e, NULL, "scalp", &r, &err), 0);
    ck_assert_ptr_nonnull(find(&r, "area-known"));
    suit_result_close(&r);
    /* a rule retracts the scalp term ... */
    ck_assert_int_eq(assess_condition(e, "touch-data", "scalp", &r, &err), 0);
    suit_result_close(&r);
    /* ... and the next request sees the data facts intact */
    ck_assert_int_eq(assess_condition(e, NULL, "scalp", &r, &err), 0);
    ck_assert_ptr_nonnull(find(&r, "area-known"));
    suit_result_close(&r);
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

/* Output templates may have deffacts (the same for every patient): they stay
 * across requests, appear in every result, and side effects come expected
 * first, deffacts before the rules' own. */
START_TEST(test_constant_output)
{
    struct ruleset *rs = load_ok(RS("constant"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(assess_condition(e, NULL, "forehead", &r, &err), 0);
        ck_assert_uint_eq(r.n_side_effects, 3);
        ck_assert_str_eq(r.side_effects[0].effect, "redness");
        ck_assert_str_eq(r.side_effects[0].note, "everyone");
        ck_assert_str_eq(r.side_effects[1].effect, "bruising");
        ck_assert_str_eq(r.side_effects[2].effect, "scarring");
        ck_assert_str_eq(r.side_effects[2].kind, "serious");
        ck_assert_uint_eq(r.n_aftercare, 2);
        ck_assert_str_eq(r.aftercare[0], "No makeup for 24 hours");
        ck_assert_str_eq(r.aftercare[1], "Sunscreen");
        suit_result_close(&r);

        ck_assert_int_eq(assess_condition(e, NULL, "face", &r, &err), 0);
        ck_assert_uint_eq(r.n_side_effects, 1);
        ck_assert_str_eq(r.side_effects[0].effect, "redness");
        ck_assert_uint_eq(r.n_aftercare, 2);
        suit_result_close(&r);

        /* a rule retracts the constant side effect for this patient only */
        ck_assert_int_eq(assess_condition(e, "sunburn", "face", &r, &err), 0);
        ck_assert_uint_eq(r.n_side_effects, 0);
        ck_assert_uint_eq(r.n_aftercare, 2);
        suit_result_close(&r);
    }
    proto_error_close(&err);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

/* Output taken without facts (engine_output.c) must give exactly what
 * output facts gave: the same ruleset with one rule that matches an output
 * template (which makes the engine read facts instead) is the reference.
 * Duplicates (of a deffacts row, of another rule's row) are dropped as
 * CLIPS drops duplicate facts; rows keep assertion order; a computed
 * string (str-cat) outlives the garbage collections of later firings. */
static const char *const output_rules =
    "(deffacts constant-output\n"
    "  (side-effect (effect \"redness\") (kind expected) (likelihood common) (note \"everyone\"))\n"
    "  (aftercare (order 2) (text \"Sunscreen\")))\n"
    "(defrule same-as-constant (patient (area forehead)) =>\n"
    "  (assert (side-effect (effect \"redness\") (kind expected) (likelihood common) (note \"everyone\"))))\n"
    "(defrule serious-1 (patient (area forehead)) =>\n"
    "  (assert (side-effect (effect \"scarring\") (kind serious) (likelihood rare))))\n"
    "(defrule serious-2 (patient (area forehead)) =>\n"
    "  (assert (side-effect (effect \"scarring\") (kind serious) (likelihood rare))))\n"
    "(defrule computed (condition (name ?c)) =>\n"
    "  (assert (finding (id (sym-cat cond- ?c)) (category candidacy) (severity caution)\n"
    "    (summary (str-cat \"Condition \" ?c)) (source \"SP\"))))\n"
    "(defrule twice-a (condition (name sunburn)) =>\n"
    "  (assert (finding (id burnt) (category candidacy) (severity defer) (summary \"Burnt\")\n"
    "    (source \"SP\") (defer-days 14))))\n"
    "(defrule twice-b (condition (name sunburn)) =>\n"
    "  (assert (finding (id burnt) (category candidacy) (severity defer) (summary \"Burnt\")\n"
    "    (source \"SP\") (defer-days 14))))\n"
    "(defrule assert-value (condition (name cold-sore)) =>\n"
    "  (bind ?v (assert (aftercare (order 1) (text \"Antiviral\"))))\n"
    "  (assert (finding (id asserted) (category input) (severity info)\n"
    "    (summary (str-cat \"value \" (if ?v then \"kept\" else \"dropped\"))) (source \"SP\"))))\n";

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = path_in(dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    free(path);
}

static void results_same(const struct suit_result *a, const struct suit_result *b)
{
    ck_assert_int_eq(a->verdict, b->verdict);
    ck_assert_int_eq(a->defer_days, b->defer_days);
    ck_assert_uint_eq(a->n_findings, b->n_findings);
    for (size_t i = 0; i < a->n_findings; i++) {
        ck_assert_str_eq(a->findings[i].id, b->findings[i].id);
        ck_assert_str_eq(a->findings[i].summary, b->findings[i].summary);
        ck_assert_int_eq(a->findings[i].defer_days, b->findings[i].defer_days);
    }
    ck_assert_uint_eq(a->n_side_effects, b->n_side_effects);
    for (size_t i = 0; i < a->n_side_effects; i++) {
        ck_assert_str_eq(a->side_effects[i].effect, b->side_effects[i].effect);
        ck_assert_str_eq(a->side_effects[i].note, b->side_effects[i].note);
    }
    ck_assert_uint_eq(a->n_aftercare, b->n_aftercare);
    for (size_t i = 0; i < a->n_aftercare; i++)
        ck_assert_str_eq(a->aftercare[i], b->aftercare[i]);
}

START_TEST(test_output_without_facts)
{
    char *dir = temp_ruleset("constant");
    write_file(dir, "constant.clp", output_rules);
    char *ref = temp_ruleset("constant");
    char *facts = malloc(strlen(output_rules) + 200);
    ck_assert_ptr_nonnull(facts);
    sprintf(facts, "%s(defrule reads-output (finding (id never-there)) =>)\n", output_rules);
    write_file(ref, "constant.clp", facts);
    free(facts);
    struct ruleset *rs = load_ok(dir, NULL), *rs_ref = load_ok(ref, NULL);
    struct engine *e = engine_ok(rs, 0, 0), *e_ref = engine_ok(rs_ref, 0, 0);
    struct proto_error err;
    proto_error_init(&err);
    static const char *const conds[][2] = {
        {NULL, "forehead"}, {"sunburn", "forehead"}, {"cold-sore", "face"},
        {"active-acne", "scalp"}, {NULL, "face"}, {"sunburn", "face"}};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
            struct suit_result r, r_ref;
            ck_assert_int_eq(assess_condition(e, conds[i][0], conds[i][1], &r, &err), 0);
            ck_assert_int_eq(assess_condition(e_ref, conds[i][0], conds[i][1], &r_ref, &err),
                             0);
            results_same(&r, &r_ref);
            if (i == 0) {
                /* the deffacts row and the rule's equal one: one redness */
                ck_assert_uint_eq(r.n_side_effects, 2);
                ck_assert_str_eq(r.side_effects[0].effect, "redness");
                ck_assert_str_eq(r.side_effects[1].effect, "scarring");
            }
            if (i == 1) {
                ck_assert_ptr_nonnull(find(&r, "burnt"));
                ck_assert_ptr_nonnull(find(&r, "cond-sunburn"));
                ck_assert_str_eq(find(&r, "cond-sunburn")->summary, "Condition sunburn");
                ck_assert_uint_eq(r.n_findings, 2);
                ck_assert_int_eq(r.defer_days, 14);
            }
            if (i == 2) {
                ck_assert_str_eq(find(&r, "asserted")->summary, "value kept");
                ck_assert_uint_eq(r.n_aftercare, 2);
                ck_assert_str_eq(r.aftercare[0], "Antiviral");
            }
            suit_result_close(&r);
            suit_result_close(&r_ref);
        }
    proto_error_close(&err);
    engine_free(e);
    engine_free(e_ref);
    ruleset_unref(rs);
    ruleset_unref(rs_ref);
    testutil_remove_tree(dir);
    testutil_remove_tree(ref);
    free(dir);
    free(ref);
}
END_TEST


START_TEST(test_runtime_error_is_ruleset_error)
{
    struct ruleset *rs = load_ok(RS("hostile"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_result r;
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(assess_condition(e, "runtime-error", NULL, &r, &err), PROTO_E_RULESET);
    suit_result_close(&r);
    proto_error_close(&err);
    assert_still_works(e);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

/* One ruleset shared read-only, one engine per thread. */
static void *assess_worker(void *arg)
{
    struct ruleset *rs = arg;
    struct engine_limits lim;
    engine_limits_default(&lim);
    struct proto_error err;
    proto_error_init(&err);
    struct engine *e = NULL;
    long bad = 0;
    if (engine_create(rs, &lim, &e, &err) != 0)
        return (void *)1;
    for (int i = 0; i < 500; i++) {
        struct suit_patient p;
        healthy(&p);
        add_item(&p.medications, "accutane", i % 200);
        struct suit_result r;
        suit_result_init(&r);
        if (engine_assess(e, &p, &r, &err) != 0)
            bad++;
        else if (i % 200 < 180 ? r.defer_days != 180 - i % 200
                               : r.verdict != SUIT_VERDICT_SUITABLE)
            bad++;
        suit_result_close(&r);
        suit_patient_close(&p);
    }
    engine_free(e);
    proto_error_close(&err);
    return (void *)bad;
}

START_TEST(test_threads_share_ruleset)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, assess_worker, ruleset_ref(rs)), 0);
    for (int i = 0; i < 3; i++) {
        void *bad;
        ck_assert_int_eq(pthread_join(t[i], &bad), 0);
        ck_assert_ptr_null(bad);
        ruleset_unref(rs);
    }
    ruleset_unref(rs);
}
END_TEST

/* ---- verdict policy ---------------------------------------------------------- */

static void verdict_of(const enum suit_severity *sev, const int64_t *days, size_t n,
                       size_t missing, struct suit_result *r)
{
    static struct suit_finding f[8];
    static char *miss[1] = {"age"};
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        f[i].severity = sev[i];
        f[i].defer_days = days ? days[i] : -1;
    }
    r->findings = f;
    r->n_findings = n;
    r->missing = miss;
    r->n_missing = missing;
    engine_verdict(r);
}

START_TEST(test_verdict_table)
{
    static const enum suit_verdict of[] = {
        [SUIT_SEV_INFO] = SUIT_VERDICT_SUITABLE,
        [SUIT_SEV_CAUTION] = SUIT_VERDICT_PRECAUTIONS,
        [SUIT_SEV_INCOMPLETE] = SUIT_VERDICT_INCOMPLETE,
        [SUIT_SEV_DEFER] = SUIT_VERDICT_DEFER,
        [SUIT_SEV_REFER] = SUIT_VERDICT_REFER,
        [SUIT_SEV_CONTRAINDICATED] = SUIT_VERDICT_CONTRAINDICATED,
    };
    struct suit_result r;
    verdict_of(NULL, NULL, 0, 0, &r);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_SUITABLE);
    ck_assert_int_eq(r.defer_days, -1);
    verdict_of(NULL, NULL, 0, 1, &r);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_INCOMPLETE);
    /* every pair, in both orders: the heavier decides */
    for (int a = SUIT_SEV_INFO; a <= SUIT_SEV_CONTRAINDICATED; a++)
        for (int b = SUIT_SEV_INFO; b <= SUIT_SEV_CONTRAINDICATED; b++) {
            enum suit_severity s[2] = {(enum suit_severity)a, (enum suit_severity)b};
            int64_t d[2] = {10, 10};
            verdict_of(s, d, 2, 0, &r);
            int heavy = a > b ? a : b;
            ck_assert_int_eq(r.verdict, of[heavy]);
            ck_assert_int_eq(r.defer_days, heavy == SUIT_SEV_DEFER ? 10 : -1);
            /* a missing fact lifts anything below incomplete to incomplete */
            verdict_of(s, d, 2, 1, &r);
            ck_assert_int_eq(r.verdict, heavy < SUIT_SEV_INCOMPLETE ? SUIT_VERDICT_INCOMPLETE
                                                                    : of[heavy]);
        }
    /* defer_days: the largest; nil (no fixed end) wins */
    enum suit_severity d3[3] = {SUIT_SEV_DEFER, SUIT_SEV_DEFER, SUIT_SEV_CAUTION};
    int64_t days[3] = {14, 60, -1};
    verdict_of(d3, days, 3, 0, &r);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_DEFER);
    ck_assert_int_eq(r.defer_days, 60);
    int64_t open[3] = {14, -1, 200};
    verdict_of(d3, open, 3, 0, &r);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_DEFER);
    ck_assert_int_eq(r.defer_days, -1);
    int64_t zero[3] = {0, 0, 5};
    verdict_of(d3, zero, 3, 0, &r);
    ck_assert_int_eq(r.defer_days, 0);
}
END_TEST

/* ---- lint and cases ------------------------------------------------------------ */

/* Loads dir (the plain load) and lints it; returns the problems as
 * "file:line: message" lines. */
static char *lint_output(const char *dir, int *problems, struct engine_lint *lint)
{
    struct ruleset *rs = load_ok(dir, NULL);
    engine_lint_init(lint);
    *problems = engine_lint(rs, lint);
    ck_assert_int_eq((size_t)*problems, lint->n_problems);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < lint->n_problems; i++) {
        char line[1200];
        engine_problem_format(&lint->problems[i], line, sizeof line);
        fprintf(out, "%s\n", line);
    }
    fclose(out);
    fprintf(stderr, "%s", buf);
    ruleset_unref(rs);
    return buf;
}

static bool has_problem(const struct engine_lint *l, const char *file, long line,
                        const char *message)
{
    for (size_t i = 0; i < l->n_problems; i++)
        if (!strcmp(l->problems[i].file, file) && l->problems[i].line == line &&
            !strcmp(l->problems[i].message, message))
            return true;
    return false;
}

START_TEST(test_lint)
{
    int n;
    struct engine_lint lint;
    char *out = lint_output(RS("basic"), &n, &lint);
    ck_assert_int_eq(n, 0);
    free(out);
    engine_lint_close(&lint);

    /* structured: file, line and message, never text to parse back */
    out = lint_output(RS("lintbad"), &n, &lint);
    ck_assert_int_eq(n, 3);
    ck_assert(has_problem(&lint, "lintbad.clp", 5, "forbidden function or construct 'system'"));
    ck_assert(has_problem(&lint, "lintbad.clp", 10,
                          "rule finding-without-source: finding has no source"));
    ck_assert(has_problem(&lint, "lintbad.clp", 16,
                          "rule cites-unknown-source: source 'NOSUCH' is not a source fact"));
    ck_assert(strstr(out, "lintbad.clp:5: forbidden function or construct 'system'"));
    free(out);
    engine_lint_close(&lint);

    /* (exit) and friends are flagged even though they load */
    out = lint_output(RS("hostile"), &n, &lint);
    ck_assert_int_ge(n, 1);
    ck_assert(strstr(out, "hostile.clp:32: forbidden function or construct 'exit'"));
    free(out);
    engine_lint_close(&lint);
}
END_TEST

/* The domain reference's rule on weak evidence: a finding that cites clinic
 * or vendor pages (sources with `weak yes`) says "weak evidence" in its
 * detail.  Ruleset weakevidence: three offenders, three findings that pass. */
START_TEST(test_lint_weak_evidence)
{
    int n;
    struct engine_lint lint;
    char *out = lint_output(RS("weakevidence"), &n, &lint);
    ck_assert_int_eq(n, 3);
    ck_assert(strstr(out, "weak.clp:8: rule clinic-only-silent: finding cites only weak "
                          "sources (\"clinic\"): its detail must say \"weak evidence\"\n"));
    ck_assert(strstr(out, "weak.clp:14: rule weak-only-no-detail: finding cites only weak "
                          "sources (\"clinic, vendor\"): its detail must say \"weak evidence\"\n"));
    ck_assert(strstr(out, "weak.clp:22: rule mixed-silent: finding cites weak sources among "
                          "others (\"SP, clinic\"): its detail must say so (e.g. \"partly weak "
                          "evidence\")\n"));
    ck_assert_ptr_null(strstr(out, "clinic-only-says-so"));
    ck_assert_ptr_null(strstr(out, "mixed-says-so"));
    ck_assert_ptr_null(strstr(out, "strong-or-input"));
    engine_lint_close(&lint);
    free(out);
}
END_TEST

static char *cases_output(struct ruleset *rs, const char *dir, int coverage, int *rc,
                          struct proto_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    struct engine_cases_opts o = {.dir = dir, .coverage = coverage, .out = out};
    *rc = engine_run_cases(rs, &o, NULL, err);
    fclose(out);
    fprintf(stderr, "%s", buf);
    return buf;
}

START_TEST(test_cases_runner)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct proto_error err;
    proto_error_init(&err);
    int rc;
    char *out = cases_output(rs, NULL, 1, &rc, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert(strstr(out, "\n7 passed, 0 failed\n"));
    ck_assert(strstr(out, "PASS pregnancy contraindicates\n"));
    free(out);
    proto_error_close(&err);

    out = cases_output(rs, RS("basic/mixed-cases"), 1, &rc, &err);
    /* one failed case + finding rules no case in this directory fires */
    ck_assert_int_gt(rc, 1);
    ck_assert(strstr(out, "PASS passes: pregnancy\n"));
    ck_assert(strstr(out, "FAIL fails on purpose: wrong verdict\n"));
    ck_assert(strstr(out, "verdict: expected defer, got suitable"));
    ck_assert(strstr(out, "defer_days: expected 3, got nil"));
    ck_assert(strstr(out, "missing findings: nsaid-hold"));
    ck_assert(strstr(out, "\n2 passed, 1 failed\n"));
    ck_assert(strstr(out, "not fired by any case: cold-sore (rules.clp:30)"));
    ck_assert(testutil_has_detail(&err, "fails on purpose: wrong verdict"));
    free(out);
    proto_error_close(&err);

    /* without --coverage only the failed case counts */
    out = cases_output(rs, RS("basic/mixed-cases"), 0, &rc, &err);
    ck_assert_int_eq(rc, 1);
    ck_assert(!strstr(out, "not fired"));
    free(out);
    proto_error_close(&err);
    ruleset_unref(rs);
}
END_TEST


/* ---- the servable-ruleset check, and reading a folder ------------------------ */

static int check_dir(const char *dir, const char *policy, unsigned flags,
                     struct ruleset_report *rep, struct proto_error *err)
{
    struct ruleset_check_opts o;
    ruleset_check_opts_init(&o, dir, policy);
    o.flags = flags;
    ruleset_report_init(rep);
    proto_error_init(err);
    struct ruleset *rs = NULL;
    int rc = ruleset_check(&o, &rs, rep, err);
    dump_details(err);
    if (rc == 0)
        ck_assert_ptr_nonnull(rs);
    else
        ck_assert_ptr_null(rs);
    if (rs)
        ruleset_unref(rs);
    return rc;
}

/* ruleset_check with o.previous: the rule files' parse is taken from the
 * previous ruleset's image only when they are byte for byte its files;
 * everything else is checked again, and the results are the same as a
 * parse's. */
static struct ruleset *check_prev(const char *dir, const struct ruleset *prev, bool no_image,
                                  struct ruleset_report *rep, int want_rc)
{
    struct ruleset_check_opts o;
    ruleset_check_opts_init(&o, dir, NULL);
    o.previous = prev;
    o.src.no_image = no_image;
    ruleset_report_init(rep);
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    int rc = ruleset_check(&o, &rs, rep, &err);
    dump_details(&err);
    ck_assert_int_eq(rc, want_rc);
    proto_error_close(&err);
    return rs;
}

static void assess_summary(struct ruleset *rs, const char *condition, const char *id,
                           const char *want)
{
    struct engine *e = engine_ok(rs, 0, 0);
    struct suit_patient p;
    healthy(&p);
    add_item(&p.conditions, condition, -1);
    struct suit_result r;
    suit_result_init(&r);
    struct proto_error err;
    proto_error_init(&err);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    const struct suit_finding *f = find(&r, id);
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(f->summary, want);
    suit_result_close(&r);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
}

START_TEST(test_check_reuses_previous_image)
{
    char *dir = temp_ruleset("basic");
    struct ruleset_report rep;
    struct ruleset *first = check_prev(dir, NULL, false, &rep, 0);
    ck_assert_uint_eq(rep.parses, 1);
    ruleset_report_close(&rep);
    ck_assert(ruleset_has_image(first));

    /* the same files: no parse, one environment (the probe is the load's,
     * loaded from the image), the cases run and pass as before */
    struct ruleset *same = check_prev(dir, first, false, &rep, 0);
    ck_assert_uint_eq(rep.parses, 0);
    ck_assert_uint_eq(rep.environments, 1);
    ck_assert_int_eq(rep.cases_passed, 7);
    ruleset_report_close(&rep);
    ck_assert(ruleset_has_image(same));
    ck_assert_str_eq(ruleset_id(same)->sha256, ruleset_id(first)->sha256);
    assess_summary(same, "active-acne", "active-acne", "Active acne");

    /* only a case file changed: still no parse, and the new case runs */
    char *cases_path = path_in(dir, "tests/cases.json");
    char *cases = read_text(cases_path);
    char *more = malloc(strlen(cases) + 300);
    ck_assert_ptr_nonnull(more);
    strcpy(more, cases);
    char *end = strrchr(more, ']');
    ck_assert_ptr_nonnull(end);
    strcpy(end, ", {\"name\": \"added\", \"patient\": {\"age\": 30, \"pregnant\": true, "
                "\"breastfeeding\": false, \"fitzpatrick\": 2, \"area\": \"face\", "
                "\"indication\": \"fine-lines\"}, \"expect\": {\"verdict\": "
                "\"contraindicated\"}}]\n");
    write_file(dir, "tests/cases.json", more);
    struct ruleset *cases_only = check_prev(dir, same, false, &rep, 0);
    ck_assert_uint_eq(rep.parses, 0);
    ck_assert_int_eq(rep.cases_passed, 8);
    ruleset_report_close(&rep);

    /* a rule changed: parsed, and the change is what serves */
    char *rules_path = path_in(dir, "rules.clp");
    char *rules = read_text(rules_path);
    char *changed = strdup(rules);
    char *at = strstr(changed, "\"Active acne\"");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "\"Active ACNE\"", 13);
    write_file(dir, "rules.clp", changed);
    struct ruleset *edited = check_prev(dir, cases_only, false, &rep, 0);
    ck_assert_uint_eq(rep.parses, 1);
    ruleset_report_close(&rep);
    ck_assert_str_ne(ruleset_id(edited)->sha256, ruleset_id(first)->sha256);
    assess_summary(edited, "active-acne", "active-acne", "Active ACNE");

    /* a broken rule file is refused as without a previous ruleset */
    char *broken = malloc(strlen(rules) + 64);
    ck_assert_ptr_nonnull(broken);
    sprintf(broken, "%s\n(defrule broken (patient (no-such-slot 1)) =>)\n", rules);
    write_file(dir, "rules.clp", broken);
    ck_assert_ptr_null(check_prev(dir, edited, false, &rep, PROTO_E_RULESET));
    ck_assert_uint_eq(rep.parses, 1);
    ruleset_report_close(&rep);

    /* back to the first files, but the previous ruleset has no image:
     * parsed (and no_image never takes one) */
    write_file(dir, "rules.clp", rules);
    struct ruleset *plain = check_prev(dir, NULL, true, &rep, 0);
    ruleset_report_close(&rep);
    ck_assert(!ruleset_has_image(plain));
    struct ruleset *again = check_prev(dir, plain, false, &rep, 0);
    ck_assert_uint_eq(rep.parses, 1);
    ruleset_report_close(&rep);
    struct ruleset *never = check_prev(dir, again, true, &rep, 0);
    ck_assert_uint_eq(rep.parses, 1);
    ck_assert(!ruleset_has_image(never));
    ruleset_report_close(&rep);

    /* a ruleset outlives the one whose image it shares */
    ruleset_unref(first);
    ruleset_unref(cases_only);
    assess_summary(same, "active-acne", "active-acne", "Active acne");
    for (struct ruleset **r = (struct ruleset *[]){same, edited, plain, again, never, NULL}; *r;
         r++)
        ruleset_unref(*r);
    testutil_remove_tree(dir);
    free(broken);
    free(changed);
    free(rules);
    free(rules_path);
    free(more);
    free(cases);
    free(cases_path);
    free(dir);
}
END_TEST

/* Issue 11 item 3 / issue 13 item 10: one read of every file and one CLIPS
 * environment per check (a reload read every file twice and built five). */
START_TEST(test_check_reads_once_one_environment)
{
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(RS("basic"), NULL, 0, &rep, &err), 0);
    /* manifest.ini, the four files it lists, tests/cases.json */
    ck_assert_uint_eq(rep.files_read, 6);
    ck_assert_uint_eq(rep.parses, 1);
    ck_assert_uint_eq(rep.environments, 2);      /* the probe from the image */
    ck_assert_int_eq(rep.cases_passed, 7);
    ck_assert_int_eq(rep.cases_failed, 0);
    ck_assert_uint_eq(rep.lint.n_problems, 0);
    ruleset_report_close(&rep);
    proto_error_close(&err);

    char *pol = write_temp("[policy]\nnsaid-hold-days = 5\n");
    ck_assert_int_eq(check_dir(RS("basic"), pol, 0, &rep, &err), 0);
    ck_assert_uint_eq(rep.files_read, 7);        /* and the policy file, once */
    ck_assert_uint_eq(rep.parses, 1);
    ck_assert_uint_eq(rep.environments, 2);
    ruleset_report_close(&rep);
    proto_error_close(&err);
    unlink(pol);
    free(pol);
}
END_TEST

/* Issue 11 item 1: failing cases refuse (with their names), unless the
 * operator said to start anyway; a lint problem always refuses. */
START_TEST(test_check_refuses_failing_cases_and_lint)
{
    char *dir = temp_ruleset("basic");
    char *cases = path_in(dir, "tests/wrong.json");
    testutil_write_file(cases, "w",
               "[{\"name\": \"pregnancy is fine (wrong on purpose)\",\n"
               "  \"patient\": {\"age\": 30, \"pregnant\": true, \"breastfeeding\": false,\n"
               "   \"fitzpatrick\": 2, \"area\": \"face\", \"indication\": \"fine-lines\"},\n"
               "  \"expect\": {\"verdict\": \"suitable\"}}]\n");
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(dir, NULL, 0, &rep, &err), PROTO_E_RULESET);
    ck_assert_msg(strstr(err.message, "1 test case failed"), "%s", err.message);
    ck_assert(testutil_has_detail(&err, "pregnancy is fine (wrong on purpose)"));
    ck_assert_int_eq(rep.cases_failed, 1);
    ck_assert_int_eq(rep.cases_passed, 7);
    ruleset_report_close(&rep);
    proto_error_close(&err);

    ck_assert_int_eq(check_dir(dir, NULL, RULESET_CHECK_FAILING_CASES_OK, &rep, &err), 0);
    ck_assert_int_eq(rep.cases_failed, 1);
    ck_assert_uint_eq(rep.n_failed_cases, 1);
    ck_assert_str_eq(rep.failed_cases[0], "pregnancy is fine (wrong on purpose)");
    ruleset_report_close(&rep);
    proto_error_close(&err);

    ck_assert_int_eq(check_dir(RS("lintbad"), NULL, RULESET_CHECK_FAILING_CASES_OK, &rep, &err),
                     PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "lintbad.clp:5: forbidden function or construct 'system'"));
    ck_assert(has_problem(&rep.lint, "lintbad.clp", 5, "forbidden function or construct 'system'"));
    ruleset_report_close(&rep);
    proto_error_close(&err);

    /* load errors: file and line, from the same check */
    ck_assert_int_eq(check_dir(RS("badload"), NULL, 0, &rep, &err), PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "bad.clp:4: "));
    ck_assert(testutil_has_detail(&err, "bad.clp:16: "));
    ruleset_report_close(&rep);
    proto_error_close(&err);
    unlink(cases);
    free(cases);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* CLIPS evaluates a defglobal's expression while loading: a forbidden call
 * there ran before the old lint (which linted after loading) could refuse
 * it.  The pre-check refuses it before CLIPS sees the text. */
START_TEST(test_check_precheck_before_clips)
{
    char *dir = temp_ruleset("basic");
    char mark[] = "/tmp/suitd-engine-precheck-XXXXXX";
    int fd = mkstemp(mark);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(mark);
    char *rules = path_in(dir, "rules.clp");
    char text[512];
    snprintf(text, sizeof text, "\n(defglobal ?*pwn* = (open \"%s\" pwn \"w\"))\n", mark);
    testutil_write_file(rules, "a", text);
    struct ruleset_report rep;
    struct proto_error err;
    ck_assert_int_eq(check_dir(dir, NULL, 0, &rep, &err), PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "forbidden function or construct 'open'"));
    ck_assert_uint_eq(rep.environments, 0);   /* CLIPS never saw it */
    ck_assert_msg(access(mark, F_OK) != 0, "the defglobal's (open ...) ran");
    ruleset_report_close(&rep);
    proto_error_close(&err);
    free(rules);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Issue 13 item 10: the lint checks the bytes that serve.  A file whose
 * content differs on a second read used to put a forbidden call into the
 * served ruleset while the lint (reading the folder again) saw clean text. */
START_TEST(test_lint_checks_the_served_bytes)
{
    char *dir = temp_ruleset("basic");
    char *rules = path_in(dir, "rules.clp");
    char *clean = testutil_slurp(rules);
    ck_assert_ptr_nonnull(clean);
    testutil_write_file(rules, "a", "\n(defrule sneaky (condition (name sunburn)) =>\n"
                           "  (open \"/etc/hostname\" h \"r\"))\n");
    struct ruleset *rs = load_ok(dir, NULL);
    testutil_write_file(rules, "w", clean);             /* the "second read" is clean */
    struct engine_lint lint;
    engine_lint_init(&lint);
    ck_assert_int_eq(engine_lint(rs, &lint), 1);
    ck_assert_str_eq(lint.problems[0].file, "rules.clp");
    ck_assert_str_eq(lint.problems[0].message, "forbidden function or construct 'open'");
    engine_lint_close(&lint);
    ruleset_unref(rs);
    free(clean);
    free(rules);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Issue 13 item 9: a FIFO among the rule files used to block the load for
 * ever (open(2) waits for a writer); it is refused at once. */
START_TEST(test_fifo_refused)
{
    char *dir = temp_ruleset("basic");
    char *data = path_in(dir, "data.clp");
    ck_assert_int_eq(unlink(data), 0);
    ck_assert_int_eq(mkfifo(data, 0600), 0);
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(dir, NULL, &rs, &err), PROTO_E_RULESET);
    dump_details(&err);
    ck_assert(testutil_has_detail(&err, "data.clp:1: a FIFO: only regular files are read"));
    proto_error_close(&err);
    /* a directory where a file should be, and a FIFO as the policy file */
    ck_assert_int_eq(unlink(data), 0);
    ck_assert_int_eq(mkdir(data, 0700), 0);
    ck_assert_int_eq(ruleset_load(dir, NULL, &rs, &err), PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "data.clp:1: a directory"));
    proto_error_close(&err);
    rmdir(data);
    char *fifo = path_in(dir, "policy.fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(ruleset_load(RS("basic"), fifo, &rs, &err), PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "a FIFO"));
    proto_error_close(&err);
    free(fifo);
    free(data);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Issue 13 item 12: a file rewritten while the load reads the folder. */
struct rewrite_hook {
    const char *when;           /* the file being read */
    char *path;                 /* the file to change then */
    const char *how;            /* "append", "truncate", "replace" */
    int calls;
};

static void rewrite_during_read(void *arg, const char *file)
{
    struct rewrite_hook *h = arg;
    if (strcmp(file, h->when) != 0)
        return;
    h->calls++;
    if (!strcmp(h->how, "replace")) {
        /* a new file renamed over the old one: a different inode */
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.new", h->path);
        char *text = testutil_slurp(h->path);
        testutil_write_file(tmp, "w", text);
        free(text);
        ck_assert_int_eq(rename(tmp, h->path), 0);
    } else if (!strcmp(h->how, "truncate")) {
        ck_assert_int_eq(truncate(h->path, 0), 0);
    } else {
        testutil_write_file(h->path, "a", "\n; edited\n");
    }
}

static int load_with_hook(const char *dir, struct rewrite_hook *h, struct proto_error *err)
{
    struct ruleset_check_opts o;
    ruleset_check_opts_init(&o, dir, NULL);
    o.src.after_read = rewrite_during_read;
    o.src.after_read_arg = h;
    proto_error_init(err);
    struct ruleset *rs = NULL;
    int rc = ruleset_check(&o, &rs, NULL, err);
    dump_details(err);
    if (rs)
        ruleset_unref(rs);
    return rc;
}

START_TEST(test_torn_read_refused)
{
    char *dir = temp_ruleset("basic");
    struct proto_error err;
    /* the file itself, while it is read (an in-place rewrite) */
    struct rewrite_hook h = {.when = "rules.clp", .path = path_in(dir, "rules.clp"),
                             .how = "truncate"};
    ck_assert_int_eq(load_with_hook(dir, &h, &err), PROTO_E_RULESET);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_msg(strstr(err.message, "rules.clp: changed while it was read"), "%s",
                  err.message);
    ck_assert(strstr(err.message, "deploy a ruleset atomically"));
    proto_error_close(&err);
    free(h.path);
    testutil_remove_tree(dir);
    free(dir);

    /* an earlier file, while a later one is read: caught by the second
     * look at the whole folder */
    dir = temp_ruleset("basic");
    h = (struct rewrite_hook){.when = "verdict.clp", .path = path_in(dir, "templates.clp"),
                              .how = "append"};
    ck_assert_int_eq(load_with_hook(dir, &h, &err), PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "templates.clp:1: rewritten while the ruleset was read"));
    proto_error_close(&err);
    free(h.path);

    /* replaced by rename (what an editor's save does) */
    h = (struct rewrite_hook){.when = "tests/cases.json", .path = path_in(dir, "data.clp"),
                              .how = "replace"};
    ck_assert_int_eq(load_with_hook(dir, &h, &err), PROTO_E_RULESET);
    ck_assert(testutil_has_detail(&err, "data.clp:1: replaced by another file"));
    proto_error_close(&err);
    free(h.path);

    /* nothing changes: the same hook, a file it never touches */
    h = (struct rewrite_hook){.when = "no-such-file", .path = NULL, .how = "append"};
    ck_assert_int_eq(load_with_hook(dir, &h, &err), 0);
    proto_error_close(&err);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Issue 13 item 4 (the loader half): CLIPS 6.30 never finishes loading a
 * 41-branch (if ... else (if ...)) chain; deep nesting is refused first. */
START_TEST(test_deep_nesting_refused)
{
    char *dir = temp_ruleset("basic");
    char *rules = path_in(dir, "rules.clp");
    struct eng_text {
        char buf[8192];
        size_t n;
    } t = {.n = 0};
    t.n += (size_t)snprintf(t.buf + t.n, sizeof t.buf - t.n,
                            "\n(defrule deep-if (patient (age ?a))\n =>\n");
    for (int i = 0; i < 41; i++)
        t.n += (size_t)snprintf(t.buf + t.n, sizeof t.buf - t.n,
                                "(if (= ?a %d) then (bind ?x %d) else\n", i, i);
    t.n += (size_t)snprintf(t.buf + t.n, sizeof t.buf - t.n, "(bind ?x 0)");
    for (int i = 0; i < 42; i++)
        t.buf[t.n++] = ')';
    t.buf[t.n++] = '\n';
    t.buf[t.n] = '\0';
    long first = 0;
    char *before = testutil_slurp(rules);
    for (const char *p = before; *p; p++)
        first += *p == '\n';
    free(before);
    testutil_write_file(rules, "a", t.buf);
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(dir, NULL, &rs, &err), PROTO_E_RULESET);
    dump_details(&err);
    /* After the original text: an empty line, the defrule, its "=>", then
     * one if per line; the defrule is level 1, so if number 30 (from 0) is
     * level 32 and its test (= ?a 30) level 33, on line first + 4 + 30. */
    char want[200];
    snprintf(want, sizeof want, "rules.clp:%ld: nested deeper than 32 levels", first + 4 + 30);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    proto_error_close(&err);
    free(rules);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

/* Issue 11 item 2: cases run under the ruleset's defaults, never the
 * clinic's file; a case states the policy it assumes, for itself only. */
START_TEST(test_cases_run_under_defaults)
{
    /* 5 days for NSAIDs: the first case (no hold at 4 days under the
     * default 3) would fail under it */
    char *pol = write_temp("[policy]\nnsaid-hold-days = 5\n");
    struct ruleset *rs = load_ok(RS("basic"), pol);
    struct proto_error err;
    proto_error_init(&err);
    int rc;
    char *out = cases_output(rs, RS("basic/policy-cases"), 0, &rc, &err);
    ck_assert_int_eq(rc, 0);
    ck_assert(strstr(out, "\n4 passed, 0 failed\n"));
    free(out);
    proto_error_close(&err);

    /* suitd test --policy: the preview under the clinic's values */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct engine_cases_opts o = {.dir = RS("basic/policy-cases"), .served_policy = true,
                                  .out = f};
    rc = engine_run_cases(rs, &o, NULL, &err);
    fclose(f);
    fprintf(stderr, "%s", buf);
    ck_assert_int_eq(rc, 2);
    ck_assert(strstr(buf, "FAIL ibuprofen 4 days ago: no hold under the default 3 days\n"));
    ck_assert(strstr(buf, "PASS ibuprofen 4 days ago under a stated 5-day hold: caution\n"));
    free(buf);
    proto_error_close(&err);
    ruleset_unref(rs);

    /* and the whole check, with that file, still passes */
    struct ruleset_report rep;
    ck_assert_int_eq(check_dir(RS("basic"), pol, 0, &rep, &err), 0);
    ruleset_report_close(&rep);
    proto_error_close(&err);
    unlink(pol);
    free(pol);
}
END_TEST

START_TEST(test_case_policy_checked)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct proto_error err;
    proto_error_init(&err);
    int rc;
    char *out = cases_output(rs, RS("basic/bad-policy-cases"), 0, &rc, &err);
    ck_assert_int_eq(rc, 4);
    ck_assert(strstr(out, "policy: unknown policy 'nsaid-hold-dayz' (known: "
                          "home-roller-max-depth-mm, isotretinoin-washout-days, nsaid-hold-days)"));
    ck_assert(strstr(out, "policy: nsaid-hold-days: must be a whole number (its default is 3)"));
    ck_assert(strstr(out, "policy: nsaid-hold-days: must be between 0 and 30"));
    ck_assert(strstr(out, "policy.nsaid-hold-days: expected a number"));
    free(out);
    proto_error_close(&err);
    ruleset_unref(rs);
}
END_TEST

/* A policy file: names, whole numbers, ranges, each with file:line. */
START_TEST(test_policy_types_and_ranges)
{
    char *pol = write_temp("[policy]\nnsaid-hold-days = 4.5\nnsaid-hold-days2 = 1\n"
                           "isotretinoin-washout-days = -1\n\n"
                           "home-roller-max-depth-mm = 1\n"
                           "[clinic]\nnsaid-hold-days = 31\n");
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_int_eq(ruleset_load(RS("basic"), pol, &rs, &err), PROTO_E_RULESET);
    dump_details(&err);
    char want[600];
    snprintf(want, sizeof want, "%s:2: nsaid-hold-days: must be a whole number", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    snprintf(want, sizeof want, "%s:3: unknown policy 'nsaid-hold-days2'", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    snprintf(want, sizeof want, "%s:4: isotretinoin-washout-days: must not be negative", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    snprintf(want, sizeof want, "%s:8: unknown section [clinic]", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    snprintf(want, sizeof want, "%s:6:", pol);      /* 1 becomes 1.0: accepted */
    ck_assert(!testutil_has_detail(&err, want));
    proto_error_close(&err);
    unlink(pol);
    free(pol);

    pol = write_temp("[policy]\nnsaid-hold-days = 31\n");
    ck_assert_int_eq(ruleset_load(RS("basic"), pol, &rs, &err), PROTO_E_RULESET);
    snprintf(want, sizeof want, "%s:2: nsaid-hold-days: must be between 0 and 30", pol);
    ck_assert_msg(testutil_has_detail(&err, want), "want %s", want);
    proto_error_close(&err);
    unlink(pol);
    free(pol);
}
END_TEST

/* The request pipeline on its own: one reply per request, addressed to
 * its msgid, the result kept only when asked. */
static int pipeline(struct engine *e, const char *json, uint32_t msgid, struct suit_result *keep,
                    msgpack_sbuffer *reply, struct proto_error *err)
{
    json_error_t jerr;
    json_t *j = json_loads(json, 0, &jerr);
    ck_assert_ptr_nonnull(j);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    ck_assert_int_eq(proto_json_to_msgpack(j, &pk, err), 0);
    json_decref(j);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    msgpack_packer_init(&pk, reply, msgpack_sbuffer_write);
    struct engine_request q = {.msgid = msgid, .params = &up.data, .result = keep};
    int rc = engine_request_assess(e, &q, &pk, err);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void reply_check(const msgpack_sbuffer *reply, uint32_t msgid, bool is_error, int code)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&up, reply->data, reply->size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, reply->size);        /* exactly one reply */
    const msgpack_object *a = up.data.via.array.ptr;
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(up.data.via.array.size, 4);
    ck_assert_uint_eq(a[0].via.u64, 1);
    ck_assert_uint_eq(a[1].via.u64, msgid);
    ck_assert_int_eq(a[2].type == MSGPACK_OBJECT_NIL, !is_error);
    ck_assert_int_eq(a[3].type == MSGPACK_OBJECT_NIL, is_error);
    if (is_error) {
        const msgpack_object_kv *kv = a[2].via.map.ptr;
        ck_assert_int_eq(kv[0].val.via.i64, code);
    }
    msgpack_unpacked_destroy(&up);
}

START_TEST(test_request_pipeline)
{
    struct ruleset *rs = load_ok(RS("basic"), NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_sbuffer reply;
    msgpack_sbuffer_init(&reply);
    struct suit_result r;
    suit_result_init(&r);
    ck_assert_int_eq(pipeline(e, "[{\"age\": 30, \"pregnant\": true, \"breastfeeding\": false,"
                                 " \"fitzpatrick\": 2, \"area\": \"face\","
                                 " \"indication\": \"fine-lines\"}]", 7, &r, &reply, &err), 0);
    reply_check(&reply, 7, false, 0);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_CONTRAINDICATED);   /* kept for the caller */
    suit_result_close(&r);

    reply.size = 0;
    ck_assert_int_eq(pipeline(e, "[{\"age\": \"old\"}]", 8, &r, &reply, &err),
                     PROTO_E_INVALID_PARAMS);
    reply_check(&reply, 8, true, PROTO_E_INVALID_PARAMS);
    ck_assert_uint_eq(r.n_findings, 0);                          /* nothing left */
    proto_error_close(&err);

    reply.size = 0;
    ck_assert_int_eq(pipeline(e, "[{\"area\": \"elbow\"}]", 9, NULL, &reply, &err),
                     PROTO_E_INVALID_PARAMS);
    reply_check(&reply, 9, true, PROTO_E_INVALID_PARAMS);
    proto_error_close(&err);

    reply.size = 0;
    ck_assert_int_eq(pipeline(NULL, "[{}]", 10, NULL, &reply, &err), PROTO_E_INTERNAL);
    reply_check(&reply, 10, true, PROTO_E_INTERNAL);
    proto_error_close(&err);
    msgpack_sbuffer_destroy(&reply);
    engine_free(e);
    ruleset_unref(rs);
}
END_TEST

/* ---- the binary image ------------------------------------------------------ */

static struct ruleset *load_src_ok(const char *dir, const char *policy_dir, bool no_image)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset_source src = {.dir = dir, .policy_dir = policy_dir, .no_image = no_image};
    struct ruleset *rs = NULL;
    int rc = ruleset_load_source(&src, &rs, &err);
    ck_assert_msg(rc == 0, "load %s: %s", dir, err.message);
    proto_error_close(&err);
    return rs;
}

static unsigned engine_from_image(const struct engine *e)
{
    struct engine_counters c;
    engine_counters(e, &c);
    return c.from_image;
}

/* Engines built from the image answer every case of the bundled ruleset
 * with the same bytes as engines built by parsing the text, in two passes
 * (state one request leaves cannot hide), under every named policy of the
 * examples. */
START_TEST(test_image_same_replies)
{
    const char *rules = getenv("SUITD_RULES") ? getenv("SUITD_RULES") : "rules";
    char policies[1024];
    snprintf(policies, sizeof policies, "%s/../examples/policies", rules);
    struct ruleset *rs_img = load_src_ok(rules, policies, false);
    struct ruleset *rs_txt = load_src_ok(rules, policies, true);
    ck_assert(ruleset_has_image(rs_img));
    ck_assert(!ruleset_has_image(rs_txt));
    struct engine *e_img = engine_ok(rs_img, 0, 0), *e_txt = engine_ok(rs_txt, 0, 0);
    ck_assert_uint_eq(engine_from_image(e_img), 1);
    ck_assert_uint_eq(engine_from_image(e_txt), 0);
    struct proto_error err;
    proto_error_init(&err);
    msgpack_sbuffer a, b;
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    size_t compared = 0, n_named = ruleset_policy_count(rs_img);
    ck_assert_uint_ge(n_named, 3);
    for (int pass = 0; pass < 2; pass++)
        for (size_t f = 0; f < ruleset_case_file_count(rs_img); f++) {
            const char *name;
            size_t len;
            const char *text = ruleset_case_file(rs_img, f, &name, &len);
            json_error_t jerr;
            json_t *cases = json_loadb(text, len, 0, &jerr);
            ck_assert_ptr_nonnull(cases);
            size_t i;
            json_t *c;
            json_array_foreach(cases, i, c) {
                json_t *patient = json_object_get(c, "patient");
                if (!patient)
                    continue;
                const char *pol = ruleset_policy_name(rs_img, compared % n_named);
                char *pj = json_dumps(patient, JSON_COMPACT);
                char *params = malloc(strlen(pj) + strlen(pol) + 32);
                ck_assert_ptr_nonnull(params);
                sprintf(params, "[%s, {\"policy\": \"%s\"}]", pj, pol);
                a.size = b.size = 0;
                int ra = pipeline(e_img, params, (uint32_t)compared, NULL, &a, &err);
                proto_error_close(&err);
                int rb = pipeline(e_txt, params, (uint32_t)compared, NULL, &b, &err);
                proto_error_close(&err);
                ck_assert_int_eq(ra, rb);
                ck_assert_msg(a.size == b.size && !memcmp(a.data, b.data, a.size),
                              "%s case %zu: replies differ", name, i);
                compared++;
                free(params);
                free(pj);
            }
            json_decref(cases);
        }
    ck_assert_uint_ge(compared, 2 * 150);
    /* every policy's environment came from the image too */
    struct engine_counters c;
    engine_counters(e_img, &c);
    ck_assert_uint_eq(c.environments, n_named);
    ck_assert_uint_eq(c.from_image, n_named);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    engine_free(e_img);
    engine_free(e_txt);
    ruleset_unref(rs_img);
    ruleset_unref(rs_txt);
}
END_TEST

/* What the bundled rules do not use survives the image: a deffunction, a
 * defglobal (its initial value, then what a rule binds: kept across
 * requests, which reset nothing but the request's facts, as after a
 * parse; the lint refuses defglobal in a served ruleset), computed output
 * strings. */
static const char image_extra[] =
    "(defglobal ?*suffix* = \" (global)\")\n"
    "(deffunction note-for (?a) (str-cat \"age \" ?a ?*suffix*))\n"
    "(defrule age-note (patient (age ?a&:(> ?a 60)))\n"
    "  => (assert (finding (id age-note) (category candidacy) (severity caution)\n"
    "                   (summary (note-for ?a)) (source \"SP\")))\n"
    "  (bind ?*suffix* \" (changed)\"))\n";

START_TEST(test_image_deffunction_and_globals)
{
    char *dir = temp_ruleset("basic");
    char *path = path_in(dir, "rules.clp");
    char *text = read_text(path);
    char *all = malloc(strlen(text) + sizeof image_extra);
    ck_assert_ptr_nonnull(all);
    sprintf(all, "%s%s", text, image_extra);
    write_file(dir, "rules.clp", all);
    struct ruleset *rs_img = load_src_ok(dir, NULL, false), *rs_txt = load_src_ok(dir, NULL, true);
    ck_assert(ruleset_has_image(rs_img));
    struct engine *e_img = engine_ok(rs_img, 0, 0), *e_txt = engine_ok(rs_txt, 0, 0);
    ck_assert_uint_eq(engine_from_image(e_img), 1);
    struct proto_error err;
    proto_error_init(&err);
    for (int round = 0; round < 3; round++) {
        struct suit_patient p;
        healthy(&p);
        p.age = 61 + round;
        struct suit_result r, r_txt;
        suit_result_init(&r);
        suit_result_init(&r_txt);
        ck_assert_int_eq(engine_assess(e_img, &p, &r, &err), 0);
        ck_assert_int_eq(engine_assess(e_txt, &p, &r_txt, &err), 0);
        results_same(&r, &r_txt);
        const struct suit_finding *f = find(&r, "age-note");
        ck_assert_ptr_nonnull(f);
        char want[64];
        snprintf(want, sizeof want, "age %d %s", 61 + round, round ? "(changed)" : "(global)");
        ck_assert_str_eq(f->summary, want);
        suit_result_close(&r);
        suit_result_close(&r_txt);
        suit_patient_close(&p);
    }
    proto_error_close(&err);
    engine_free(e_img);
    engine_free(e_txt);
    ruleset_unref(rs_img);
    ruleset_unref(rs_txt);
    testutil_remove_tree(dir);
    free(all);
    free(text);
    free(path);
    free(dir);
}
END_TEST

/* When the image cannot be loaded (here: no descriptor left for
 * EnvBload's fopen of /proc/self/fd/N, as when a daemon runs out of
 * descriptors), engine_create parses the text instead, with the same
 * results. */
START_TEST(test_image_falls_back_to_parsing)
{
    struct ruleset *rs = load_src_ok(RS("basic"), NULL, false);
    ck_assert(ruleset_has_image(rs));
    struct engine *ref = engine_ok(rs, 0, 0);
    ck_assert_uint_eq(engine_from_image(ref), 1);
    /* the lowest free descriptor; a limit there leaves none to open */
    int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(lowest, 0);
    close(lowest);
    struct rlimit old, tight;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)lowest;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
    struct engine *e = NULL;
    struct proto_error err;
    proto_error_init(&err);
    int rc = engine_create(rs, NULL, &e, &err);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert_msg(rc == 0, "engine_create: %s", err.message);
    ck_assert_uint_eq(engine_from_image(e), 0);
    struct suit_patient p;
    healthy(&p);
    p.pregnant = SUIT_YES;
    add_item(&p.conditions, "active-acne", -1);
    struct suit_result r, r_ref;
    suit_result_init(&r);
    suit_result_init(&r_ref);
    ck_assert_int_eq(engine_assess(e, &p, &r, &err), 0);
    ck_assert_int_eq(engine_assess(ref, &p, &r_ref, &err), 0);
    results_same(&r, &r_ref);
    ck_assert_ptr_nonnull(find(&r, "pregnancy"));
    ck_assert_ptr_nonnull(find(&r, "active-acne"));
    suit_result_close(&r);
    suit_result_close(&r_ref);
    suit_patient_close(&p);
    proto_error_close(&err);
    engine_free(e);
    engine_free(ref);
    ruleset_unref(rs);
}
END_TEST

/* Coverage reads the rules' text forms, which an image does not carry:
 * engine_run_cases parses for it (and reports the same coverage as with
 * no image), and engine_run_cases_on refuses it on an engine built from
 * the image instead of calling every rule one that makes no finding. */
START_TEST(test_image_coverage)
{
    struct ruleset *rs_img = load_src_ok(RS("basic"), NULL, false);
    struct ruleset *rs_txt = load_src_ok(RS("basic"), NULL, true);
    struct proto_error err;
    proto_error_init(&err);
    int rc_img, rc_txt;
    char *out_img = cases_output(rs_img, NULL, 1, &rc_img, &err);
    proto_error_close(&err);
    char *out_txt = cases_output(rs_txt, NULL, 1, &rc_txt, &err);
    proto_error_close(&err);
    ck_assert_int_eq(rc_img, rc_txt);
    ck_assert_str_eq(out_img, out_txt);
    ck_assert_ptr_nonnull(strstr(out_img, "coverage:"));
    struct engine *e = engine_ok(rs_img, 0, 0);
    struct engine_cases_opts o = {.coverage = true};
    ck_assert_int_eq(engine_run_cases_on(e, &o, NULL, &err), PROTO_E_INTERNAL);
    ck_assert_ptr_nonnull(strstr(err.message, "coverage"));
    proto_error_close(&err);
    engine_free(e);
    free(out_img);
    free(out_txt);
    ruleset_unref(rs_img);
    ruleset_unref(rs_txt);
}
END_TEST


/* The pipeline packs constant side effects from bytes packed once per
 * engine: its reply must equal, byte for byte, the same result packed
 * field by field, request after request; a result the
 * caller keeps borrows nothing from the engine. */
START_TEST(test_prepacked_side_effects)
{
    char *dir = temp_ruleset("constant");
    write_file(dir, "constant.clp", output_rules);
    struct ruleset *rs = load_ok(dir, NULL);
    struct engine *e = engine_ok(rs, 0, 0);
    static const char *const patients[] = {
        "[{\"age\": 30, \"pregnant\": false, \"breastfeeding\": false, \"fitzpatrick\": 2, "
        "\"area\": \"forehead\", \"indication\": \"fine-lines\"}]",
        "[{\"age\": 30, \"pregnant\": false, \"breastfeeding\": false, \"fitzpatrick\": 2, "
        "\"area\": \"face\", \"indication\": \"fine-lines\", \"conditions\": [\"cold-sore\"]}]",
    };
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < 2; i++) {
            struct proto_error err;
            proto_error_init(&err);
            struct suit_result keep;
            suit_result_init(&keep);
            msgpack_sbuffer reply, ref;
            msgpack_sbuffer_init(&reply);
            msgpack_sbuffer_init(&ref);
            ck_assert_int_eq(pipeline(e, patients[i], 7, &keep, &reply, &err), 0);
            ck_assert_uint_ge(keep.n_side_effects, 1);
            for (size_t k = 0; k < keep.n_side_effects; k++)
                ck_assert_ptr_null(keep.side_effects[k].packed);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &ref, msgpack_sbuffer_write);
            proto_pack_result_header(&pk, 7);
            proto_pack_assess_result(&pk, &keep);
            ck_assert_uint_eq(reply.size, ref.size);
            ck_assert_int_eq(memcmp(reply.data, ref.data, ref.size), 0);
            msgpack_sbuffer_destroy(&reply);
            msgpack_sbuffer_destroy(&ref);
            suit_result_close(&keep);
            proto_error_close(&err);
        }
    }
    engine_free(e);
    ruleset_unref(rs);
    testutil_remove_tree(dir);
    free(dir);
}
END_TEST

static Suite *engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *t = tcase_create("load");
    tcase_add_test(t, test_load_basic);
    tcase_add_test(t, test_load_errors_have_file_and_line);
    tcase_add_test(t, test_load_missing_file_and_contract);
    tcase_add_test(t, test_policy_override);
    tcase_add_test(t, test_policy_unknown_name_refused);
    suite_add_tcase(s, t);

    t = tcase_create("assess");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_assess_basic_and_synonyms);
    tcase_add_test(t, test_findings_sorted_heaviest_first);
    tcase_add_test(t, test_unknown_area_invalid_params);
    tcase_add_test(t, test_missing_facts_incomplete);
    tcase_add_test(t, test_hostile_strings_stay_values);
    tcase_add_test(t, test_gc_many_facts);
    tcase_add_test(t, test_threads_share_ruleset);
    suite_add_tcase(s, t);

    t = tcase_create("limits");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_firing_cap);
    tcase_add_test(t, test_deadline_endless_loop);
    tcase_add_test(t, test_deadline_loop_in_lhs);
    tcase_add_test(t, test_exit_is_neutralised);
    tcase_add_test(t, test_data_facts_restored);
    tcase_add_test(t, test_constant_output);
    tcase_add_test(t, test_output_without_facts);
    tcase_add_test(t, test_prepacked_side_effects);
    tcase_add_test(t, test_runtime_error_is_ruleset_error);
    suite_add_tcase(s, t);

    t = tcase_create("verdict");
    tcase_add_test(t, test_verdict_table);
    suite_add_tcase(s, t);

    t = tcase_create("tools");
    tcase_add_test(t, test_lint);
    tcase_add_test(t, test_lint_weak_evidence);
    tcase_add_test(t, test_cases_runner);
    tcase_add_test(t, test_cases_run_under_defaults);
    tcase_add_test(t, test_case_policy_checked);
    tcase_add_test(t, test_policy_types_and_ranges);
    tcase_add_test(t, test_request_pipeline);
    suite_add_tcase(s, t);

    t = tcase_create("image");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_image_same_replies);
    tcase_add_test(t, test_image_deffunction_and_globals);
    tcase_add_test(t, test_image_coverage);
    tcase_add_test(t, test_image_falls_back_to_parsing);
    suite_add_tcase(s, t);

    /* Some of these hung for ever before their fix: a bounded timeout. */
    t = tcase_create("check");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_check_reads_once_one_environment);
    tcase_add_test(t, test_check_reuses_previous_image);
    tcase_add_test(t, test_check_refuses_failing_cases_and_lint);
    tcase_add_test(t, test_check_precheck_before_clips);
    tcase_add_test(t, test_lint_checks_the_served_bytes);
    tcase_add_test(t, test_fifo_refused);
    tcase_add_test(t, test_torn_read_refused);
    tcase_add_test(t, test_deep_nesting_refused);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(engine_suite());
}
