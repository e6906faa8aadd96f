/*
 * test_ruleset_info.c: ruleset_describe on the real ruleset (rules/): the
 * form metadata of the `ruleset` method (labels, classes, synonyms, units,
 * defaults, citations) is what the rule files say, and the packed result
 * keeps every key it had before the metadata was added.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "testutil.h"

static char rules[4096];

static struct ruleset *load(const char *policy)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    ck_assert_msg(ruleset_load(rules, policy, &rs, &err) == 0, "%s", err.message);
    proto_error_close(&err);
    return rs;
}

static const struct proto_term *term(const struct proto_ruleset_info *info,
                                     enum suit_vocabulary v, const char *name)
{
    const struct proto_vocabulary *voc = &info->vocabularies[v];
    for (size_t i = 0; i < voc->n_terms; i++)
        if (!strcmp(voc->terms[i].name, name))
            return &voc->terms[i];
    return NULL;
}

static const struct proto_policy_value *policy(const struct proto_ruleset_info *info,
                                               const char *name)
{
    for (size_t i = 0; i < info->n_policy; i++)
        if (!strcmp(info->policy[i].name, name))
            return &info->policy[i];
    return NULL;
}

static const struct proto_source *source(const struct proto_ruleset_info *info, const char *key)
{
    for (size_t i = 0; i < info->n_sources; i++)
        if (!strcmp(info->sources[i].key, key))
            return &info->sources[i];
    return NULL;
}

/* The text of a source's citation as rules/sources.clp writes it. */
static char *citation_in_file(const char *key)
{
    char path[4200], want[64];
    snprintf(path, sizeof path, "%s/sources.clp", rules);
    char *text = testutil_slurp(path);
    ck_assert_ptr_nonnull(text);
    snprintf(want, sizeof want, "(source (key %s) (citation \"", key);
    char *p = strstr(text, want);
    ck_assert_msg(p != NULL, "sources.clp has no source %s", key);
    p += strlen(want);
    char *end = strchr(p, '"');
    ck_assert_ptr_nonnull(end);
    char *c = strndup(p, (size_t)(end - p));
    free(text);
    return c;
}

START_TEST(terms_have_labels_classes_and_synonyms)
{
    struct ruleset *rs = load(NULL);
    struct proto_ruleset_info info;
    ck_assert_int_eq(ruleset_describe(rs, &info), 0);
    size_t canonical = 0;
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++) {
        const struct proto_vocabulary *voc = &info.vocabularies[v];
        ck_assert_msg(voc->n_terms > 0, "%s is empty", suit_vocabulary_name(v));
        for (size_t i = 0; i < voc->n_terms; i++) {
            ck_assert_msg(voc->terms[i].label[0], "%s has no label", voc->terms[i].name);
            if (i)
                ck_assert_int_lt(strcmp(voc->terms[i - 1].name, voc->terms[i].name), 0);
        }
        canonical += voc->n_terms;
    }
    const struct proto_term *iso = term(&info, SUIT_VOC_MEDICATIONS, "isotretinoin");
    ck_assert_ptr_nonnull(iso);
    ck_assert_str_eq(iso->label, "Isotretinoin");
    ck_assert_str_eq(iso->cls, "systemic-retinoid");
    bool accutane = false;
    for (size_t i = 0; i < iso->n_synonyms; i++)
        accutane |= !strcmp(iso->synonyms[i], "accutane");
    ck_assert(accutane);
    const struct proto_term *face = term(&info, SUIT_VOC_AREAS, "face");
    ck_assert_ptr_nonnull(face);
    ck_assert_str_eq(face->label, "Face (full)");
    ck_assert(term(&info, SUIT_VOC_SETTINGS, SUIT_DEFAULT_SETTING) != NULL);

    /* Each synonym belongs to exactly one term, the one it names. */
    size_t listed = 0;
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++)
        for (size_t i = 0; i < info.vocabularies[v].n_terms; i++)
            listed += info.vocabularies[v].terms[i].n_synonyms;
    ck_assert_uint_eq(listed, info.n_synonyms);
    for (size_t i = 0; i < info.n_synonyms; i++) {
        bool found = false;
        for (int v = 0; v < SUIT_N_VOCABULARIES && !found; v++) {
            const struct proto_term *t = term(&info, v, info.synonyms[i].canonical);
            for (size_t k = 0; t && k < t->n_synonyms; k++)
                found |= !strcmp(t->synonyms[k], info.synonyms[i].name);
        }
        ck_assert_msg(found, "synonym %s is not listed under %s", info.synonyms[i].name,
                      info.synonyms[i].canonical);
    }
    ck_assert_uint_gt(canonical + info.n_synonyms, 100);
    proto_ruleset_info_close(&info);
    ruleset_unref(rs);
}
END_TEST

START_TEST(policy_values_have_units_and_defaults)
{
    char pol[] = "/tmp/suitd-policy-XXXXXX";
    int fd = mkstemp(pol);
    ck_assert_int_ge(fd, 0);
    const char *text = "[policy]\nisotretinoin-washout-days = 90\nface-max-depth-mm = 1.0\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct ruleset *plain = load(NULL), *clinic = load(pol);
    unlink(pol);
    struct proto_ruleset_info a, b;
    ck_assert_int_eq(ruleset_describe(plain, &a), 0);
    ck_assert_int_eq(ruleset_describe(clinic, &b), 0);
    ck_assert_uint_eq(a.n_policy, b.n_policy);
    ck_assert_uint_ge(a.n_policy, 20);
    for (size_t i = 0; i < a.n_policy; i++) {
        const struct proto_policy_value *p = &a.policy[i];
        ck_assert_msg(p->unit[0], "%s has no unit", p->name);
        ck_assert_msg(p->description[0], "%s has no description", p->name);
        /* Without a policy file the value in force is the default. */
        ck_assert_int_eq(p->value.is_int, p->dflt.is_int);
        ck_assert(p->value.is_int ? p->value.i == p->dflt.i : p->value.d == p->dflt.d);
    }
    const struct proto_policy_value *iso = policy(&b, "isotretinoin-washout-days");
    ck_assert_ptr_nonnull(iso);
    ck_assert_str_eq(iso->unit, "days");
    ck_assert(iso->value.is_int && iso->value.i == 90);
    ck_assert(iso->dflt.is_int && iso->dflt.i == 180);
    const struct proto_policy_value *depth = policy(&b, "face-max-depth-mm");
    ck_assert_str_eq(depth->unit, "mm");
    ck_assert(depth->value.d == 1.0 && !depth->dflt.is_int && depth->dflt.d == 1.5);
    ck_assert_str_eq(policy(&a, "min-age")->unit, "years");
    proto_ruleset_info_close(&a);
    proto_ruleset_info_close(&b);
    ruleset_unref(plain);
    ruleset_unref(clinic);
}
END_TEST

/* A page can expand "LBL, SPR, WAL" into the full citations. */
START_TEST(sources_carry_their_citations)
{
    struct ruleset *rs = load(NULL);
    struct proto_ruleset_info info;
    ck_assert_int_eq(ruleset_describe(rs, &info), 0);
    static const char *const keys[] = {"LBL", "SPR", "WAL", "FDA", "SP", "clinic"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct proto_source *s = source(&info, keys[i]);
        ck_assert_msg(s != NULL, "no source %s", keys[i]);
        char *want = citation_in_file(keys[i]);
        ck_assert_str_eq(s->citation, want);
        free(want);
        ck_assert(s->weak == !strcmp(keys[i], "clinic"));
    }
    for (size_t i = 1; i < info.n_sources; i++)
        ck_assert_int_lt(strcmp(info.sources[i - 1].key, info.sources[i].key), 0);
    proto_ruleset_info_close(&info);
    ruleset_unref(rs);
}
END_TEST

static const msgpack_object *get(const msgpack_object *o, const char *key)
{
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            !memcmp(k->via.str.ptr, key, k->via.str.size))
            return &o->via.map.ptr[i].val;
    }
    return NULL;
}

/* The result keeps its original keys, in their order, and adds the form
 * metadata after them. */
START_TEST(packed_result_is_additive)
{
    struct ruleset *rs = load(NULL);
    struct proto_ruleset_info info;
    ck_assert_int_eq(ruleset_describe(rs, &info), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    proto_pack_ruleset_info(&pk, &info);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    static const char *const keys[] = {"name", "version", "sha256", "loaded_at", "rule_count",
                                       "policy", "vocabularies", "synonyms", "terms", "fields",
                                       "policy_details", "sources", "policies"};
    const msgpack_object *o = &u.data;
    ck_assert_uint_eq(o->via.map.size, sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        ck_assert_msg(k->via.str.size == strlen(keys[i]) &&
                      !memcmp(k->via.str.ptr, keys[i], k->via.str.size), "key %zu", i);
    }
    /* policy stays {name: number}; vocabularies stay lists of names. */
    const msgpack_object *iso = get(get(o, "policy"), "isotretinoin-washout-days");
    ck_assert(iso && iso->type == MSGPACK_OBJECT_POSITIVE_INTEGER && iso->via.u64 == 180);
    const msgpack_object *areas = get(get(o, "vocabularies"), "areas");
    ck_assert(areas && areas->type == MSGPACK_OBJECT_ARRAY &&
              areas->via.array.ptr[0].type == MSGPACK_OBJECT_STR);
    const msgpack_object *syn = get(get(o, "synonyms"), "accutane");
    ck_assert(syn && syn->type == MSGPACK_OBJECT_STR);
    const msgpack_object *det = get(get(o, "policy_details"), "isotretinoin-washout-days");
    ck_assert(det && get(det, "unit") && get(det, "default") && get(det, "description"));
    ck_assert_ptr_nonnull(get(get(get(o, "fields"), "age"), "max"));
    ck_assert_ptr_nonnull(get(get(get(o, "sources"), "WAL"), "citation"));
    const msgpack_object *meds = get(get(o, "terms"), "medications");
    ck_assert(meds && meds->type == MSGPACK_OBJECT_ARRAY && meds->via.array.size > 10);
    ck_assert_ptr_nonnull(get(&meds->via.array.ptr[0], "label"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    proto_ruleset_info_close(&info);
    ruleset_unref(rs);
}
END_TEST

int main(void)
{
    const char *src = getenv("SUITD_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "SUITD_SOURCE_DIR is not set (run through ctest)\n");
        return EXIT_FAILURE;
    }
    snprintf(rules, sizeof rules, "%s/rules", src);
    const struct testutil_case cases[] = {
        {"terms", terms_have_labels_classes_and_synonyms},
        {"policy", policy_values_have_units_and_defaults},
        {"sources", sources_carry_their_citations},
        {"additive", packed_result_is_additive},
    };
    return testutil_run(testutil_suite("ruleset_info", cases, sizeof cases / sizeof cases[0], 60,
                                       NULL));
}
