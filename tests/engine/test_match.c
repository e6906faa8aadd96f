/*
 * test_match.c: terms as clients send them, through the engine
 * (engine_match.c): normalised before matching in every term field, and
 * unknown terms that look like slips carried to the rules with a
 * suggestion, which reaches the result and the wire.  Uses the small
 * ruleset tests/engine/rulesets/nearmiss (and basic, which has no
 * `suggestion` slot, for rulesets written before it).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "testutil.h"

#define RS(name) ENGINE_TEST_RULESETS "/" name

struct fixture {
    struct ruleset *rs;
    struct engine *e;
};

static void fixture_open(struct fixture *f, const char *dir)
{
    struct proto_error err;
    proto_error_init(&err);
    int rc = ruleset_load(dir, NULL, &f->rs, &err);
    for (size_t i = 0; rc && i < err.n_details; i++)
        fprintf(stderr, "  %s\n", err.details[i]);
    ck_assert_msg(rc == 0, "load %s: %s", dir, err.message);
    ck_assert_int_eq(engine_create(f->rs, NULL, &f->e, &err), 0);
    proto_error_close(&err);
}

static void fixture_close(struct fixture *f)
{
    engine_free(f->e);
    ruleset_unref(f->rs);
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

static void patient(struct suit_patient *p, const char *area, const char *indication)
{
    suit_patient_init(p);
    p->age = 30;
    p->pregnant = SUIT_NO;
    p->breastfeeding = SUIT_NO;
    p->fitzpatrick = 2;
    p->area = strdup(area);
    p->indication = strdup(indication);
}

static void assess_ok(struct fixture *f, const struct suit_patient *p, struct suit_result *r)
{
    struct proto_error err;
    proto_error_init(&err);
    suit_result_init(r);
    int rc = engine_assess(f->e, p, r, &err);
    ck_assert_msg(rc == 0, "assess: %s", err.message);
    proto_error_close(&err);
}

static const struct suit_finding *find(const struct suit_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (!strcmp(r->findings[i].id, id))
            return &r->findings[i];
    return NULL;
}

/* ---- padding and folding ---------------------------------------------- */

START_TEST(test_every_term_field_is_normalised)
{
    struct fixture f;
    fixture_open(&f, RS("nearmiss"));
    struct suit_patient p;
    patient(&p, "  FACE ", "Acne_Scars");
    p.setting = strdup(" home  roller ");
    add_item(&p.conditions, " Active_Acne", -1);
    add_item(&p.medications, "fish oil", 0);
    add_item(&p.medications, " Accutane\xc2\xa0", 10);   /* no-break space */
    add_item(&p.allergies, "LIDOCAINE  ", -1);
    struct suit_result r;
    assess_ok(&f, &p, &r);
    ck_assert_ptr_nonnull(find(&r, "home-roller"));
    ck_assert_ptr_nonnull(find(&r, "condition-active-acne"));
    ck_assert_ptr_nonnull(find(&r, "medication-fish-oil"));
    const struct suit_finding *iso = find(&r, "medication-isotretinoin");
    ck_assert_ptr_nonnull(iso);
    ck_assert_str_eq(iso->summary, "class systemic-retinoid");
    ck_assert_ptr_nonnull(find(&r, "allergy-lidocaine"));
    for (size_t i = 0; i < r.n_findings; i++)
        ck_assert_msg(strcmp(r.findings[i].category, "input") != 0, "unexpected %s",
                      r.findings[i].id);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_SUITABLE);
    suit_result_close(&r);
    suit_patient_close(&p);

    /* an area that is still unknown after normalising stays an error */
    patient(&p, " fase ", "acne-scars");
    struct proto_error err;
    proto_error_init(&err);
    suit_result_init(&r);
    ck_assert_int_eq(engine_assess(f.e, &p, &r, &err), PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(err.field, "area");
    proto_error_close(&err);
    suit_patient_close(&p);
    fixture_close(&f);
}
END_TEST

/* ---- near misses ------------------------------------------------------- */

START_TEST(test_near_miss_carries_the_suggestion)
{
    struct fixture f;
    fixture_open(&f, RS("nearmiss"));
    struct suit_patient p;
    patient(&p, "face", "acne-scars");
    add_item(&p.medications, "isotretinion", 1);
    add_item(&p.conditions, "hsv-histroy", -1);
    add_item(&p.procedures, "Chemical Pell", 3);     /* normalised, then near */
    add_item(&p.allergies, "lidocain", -1);
    struct suit_result r;
    assess_ok(&f, &p, &r);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_INCOMPLETE);
    static const struct {
        const char *id, *suggestion, *raw;
    } want[] = {
        {"near-miss-medication", "isotretinoin", "isotretinion"},
        {"near-miss-condition", "hsv-history", "hsv-histroy"},
        {"near-miss-procedure", "chemical-peel", "Chemical Pell"},
        {"near-miss-allergy", "lidocaine", "lidocain"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct suit_finding *x = find(&r, want[i].id);
        ck_assert_msg(x != NULL, "no %s", want[i].id);
        ck_assert_ptr_nonnull(x->suggestion);
        ck_assert_str_eq(x->suggestion, want[i].suggestion);
        ck_assert_str_eq(x->detail, want[i].raw);   /* the term as sent */
        ck_assert_int_eq(x->severity, SUIT_SEV_INCOMPLETE);
    }
    ck_assert_uint_eq(r.n_findings, 4);
    suit_result_close(&r);
    suit_patient_close(&p);

    /* synonyms are candidates too, and the suggestion is the name matched */
    patient(&p, "face", "acne-scars");
    add_item(&p.medications, "acutane", 0);
    assess_ok(&f, &p, &r);
    ck_assert_str_eq(find(&r, "near-miss-medication")->suggestion, "accutane");
    suit_result_close(&r);
    suit_patient_close(&p);

    /* a known name with more words: whole-word rule */
    patient(&p, "face", "acne-scars");
    add_item(&p.medications, "isotretinoin 20 mg", 0);
    assess_ok(&f, &p, &r);
    ck_assert_str_eq(find(&r, "near-miss-medication")->suggestion, "isotretinoin");
    suit_result_close(&r);
    suit_patient_close(&p);
    fixture_close(&f);
}
END_TEST

START_TEST(test_far_terms_have_no_suggestion)
{
    struct fixture f;
    fixture_open(&f, RS("nearmiss"));
    struct suit_patient p;
    patient(&p, "face", "acne-scars");
    add_item(&p.medications, "metformin", 0);
    /* suggestions come from the term's own kind only */
    add_item(&p.conditions, "isotretinion", -1);
    char junk[200];
    memset(junk, 'q', sizeof junk - 1);       /* longer than any wire term */
    junk[sizeof junk - 1] = '\0';
    add_item(&p.allergies, junk, -1);
    add_item(&p.procedures, "   ", 1);        /* the protocol refuses it; the engine copes */
    struct suit_result r;
    assess_ok(&f, &p, &r);
    ck_assert_int_eq(r.verdict, SUIT_VERDICT_PRECAUTIONS);
    static const char *const ids[] = {"unrecognised-medication", "unrecognised-condition",
                                      "unrecognised-allergy", "unrecognised-procedure"};
    for (size_t i = 0; i < 4; i++) {
        const struct suit_finding *x = find(&r, ids[i]);
        ck_assert_msg(x != NULL, "no %s", ids[i]);
        ck_assert_ptr_null(x->suggestion);
    }
    ck_assert_str_eq(find(&r, "unrecognised-allergy")->detail, junk);
    suit_result_close(&r);
    suit_patient_close(&p);
    fixture_close(&f);
}
END_TEST

/* A ruleset written before the `suggestion` slots loads and runs as it
 * did: a slip is an unrecognised term, and no finding has a suggestion. */
START_TEST(test_ruleset_without_suggestion_slots)
{
    struct fixture f;
    fixture_open(&f, RS("basic"));
    struct suit_patient p;
    patient(&p, "face", "acne-scars");
    add_item(&p.medications, "isotretinion", 1);
    add_item(&p.medications, " Accutane ", 100);
    struct suit_result r;
    assess_ok(&f, &p, &r);
    const struct suit_finding *u = find(&r, "unrecognised-medication");
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u->detail, "isotretinion");
    ck_assert_ptr_null(u->suggestion);
    ck_assert_ptr_nonnull(find(&r, "isotretinoin-washout"));   /* padding still matches */
    suit_result_close(&r);
    suit_patient_close(&p);
    fixture_close(&f);
}
END_TEST

/* ---- on the wire --------------------------------------------------------- */

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    ck_assert_int_eq(m->type, MSGPACK_OBJECT_MAP);
    size_t n = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            !memcmp(k->via.str.ptr, key, n))
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

START_TEST(test_suggestion_on_the_wire)
{
    struct fixture f;
    fixture_open(&f, RS("nearmiss"));
    struct suit_patient p;
    patient(&p, "face", "acne-scars");
    add_item(&p.medications, "isotretinion", 1);
    add_item(&p.medications, "fish-oil", 1);
    struct suit_result r;
    assess_ok(&f, &p, &r);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_pack_assess_result(&pk, &r);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *findings = map_get(&up.data, "findings");
    ck_assert_ptr_nonnull(findings);
    ck_assert_uint_eq(findings->via.array.size, 2);
    int seen = 0;
    for (uint32_t i = 0; i < findings->via.array.size; i++) {
        const msgpack_object *x = &findings->via.array.ptr[i];
        const msgpack_object *id = map_get(x, "id");
        const msgpack_object *s = map_get(x, "suggestion");
        if (id->via.str.size == 20 && !memcmp(id->via.str.ptr, "near-miss-medication", 20)) {
            ck_assert_uint_eq(x->via.map.size, 9);
            ck_assert_ptr_nonnull(s);
            ck_assert_int_eq(s->type, MSGPACK_OBJECT_STR);
            ck_assert_uint_eq(s->via.str.size, 12);
            ck_assert(!memcmp(s->via.str.ptr, "isotretinoin", 12));
            seen++;
        } else {
            /* every other finding keeps its eight keys */
            ck_assert_uint_eq(x->via.map.size, 8);
            ck_assert_ptr_null(s);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 2);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    suit_result_close(&r);
    suit_patient_close(&p);
    fixture_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine_match");
    TCase *t = tcase_create("normalise");
    tcase_add_test(t, test_every_term_field_is_normalised);
    suite_add_tcase(s, t);
    t = tcase_create("near miss");
    tcase_add_test(t, test_near_miss_carries_the_suggestion);
    tcase_add_test(t, test_far_terms_have_no_suggestion);
    tcase_add_test(t, test_ruleset_without_suggestion_slots);
    tcase_add_test(t, test_suggestion_on_the_wire);
    suite_add_tcase(s, t);
    return testutil_run(s);
}
