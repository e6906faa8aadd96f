/*
 * proto_info.c: the `ruleset` result (PROTOCOL.md section 4.3), packed
 * from struct proto_ruleset_info, and the patient field schema it carries.
 */
#include "proto.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "proto_map.h"

void proto_ruleset_info_init(struct proto_ruleset_info *info)
{
    memset(info, 0, sizeof *info);
}

void proto_ruleset_info_close(struct proto_ruleset_info *info)
{
    free(info->policy);
    for (size_t i = 0; i < info->n_policies; i++) {
        free(info->policies[i].values);
        free(info->policies[i].set);
    }
    free(info->policies);
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++) {
        struct proto_vocabulary *voc = &info->vocabularies[v];
        for (size_t i = 0; i < voc->n_terms; i++)
            free(voc->terms[i].synonyms);
        free(voc->terms);
    }
    free(info->synonyms);
    free(info->sources);
    proto_ruleset_info_init(info);
}

static void pack_number(msgpack_packer *pk, const struct proto_number *n)
{
    if (n->is_int)
        msgpack_pack_int64(pk, n->i);
    else
        msgpack_pack_double(pk, n->d);
}

/* {name: {...}}: n structs of `size` bytes each, named by the string at
 * name_off, each packed as the map m describes. */
static void pack_named_maps(msgpack_packer *pk, const void *v, size_t n, size_t size,
                            size_t name_off, const struct proto_map *m)
{
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        const char *item = (const char *)v + i * size;
        proto_pack_str(pk, *(const char *const *)(item + name_off));
        proto_map_pack(pk, m, item);
    }
}

/* "" is no unit: nil on the wire. */
static void pack_opt_str(msgpack_packer *pk, const char *s)
{
    proto_pack_str(pk, s && *s ? s : NULL);
}

/* ---- the patient field schema ---------------------------------------- */

static void pack_field(msgpack_packer *pk, const struct proto_field *f);
static const struct proto_map field_map;

static void pack_field_type(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, proto_field_type_name(((const struct proto_field *)o)->type));
}

static void pack_bound(msgpack_packer *pk, const struct proto_field *f, double v)
{
    if (!f->has_range)
        msgpack_pack_nil(pk);
    else if (f->type == PROTO_FIELD_INTEGER)
        msgpack_pack_int64(pk, (int64_t)v);
    else
        msgpack_pack_double(pk, v);
}

static void pack_field_min(msgpack_packer *pk, const void *o)
{
    const struct proto_field *f = o;
    pack_bound(pk, f, f->min);
}

static void pack_field_max(msgpack_packer *pk, const void *o)
{
    const struct proto_field *f = o;
    pack_bound(pk, f, f->max);
}

static void pack_field_vocabulary(msgpack_packer *pk, const void *o)
{
    const struct proto_field *f = o;
    proto_pack_str(pk, f->has_vocabulary ? suit_vocabulary_name(f->vocabulary) : NULL);
}

static void pack_field_items(msgpack_packer *pk, const void *o)
{
    pack_field(pk, ((const struct proto_field *)o)->items);
}

static void pack_field_fields(msgpack_packer *pk, const void *o)
{
    const struct proto_field *f = o;
    pack_named_maps(pk, f->fields, f->n_fields, sizeof *f->fields,
                    offsetof(struct proto_field, name), &field_map);
}

static bool is_number(const void *o)
{
    enum proto_field_type t = ((const struct proto_field *)o)->type;
    return t == PROTO_FIELD_INTEGER || t == PROTO_FIELD_NUMBER;
}

static bool is_string(const void *o)
{
    return ((const struct proto_field *)o)->type == PROTO_FIELD_STRING;
}

static bool is_array(const void *o)
{
    return ((const struct proto_field *)o)->type == PROTO_FIELD_ARRAY;
}

static bool is_map(const void *o)
{
    return ((const struct proto_field *)o)->type == PROTO_FIELD_MAP;
}

/* type, required, description, unit, min, max, vocabulary and default are
 * in every field (nil where they do not apply); the others only for the
 * types they describe. */
static const struct proto_map_key field_keys[] = {
    {"type", PROTO_MAP_FN, .fn = pack_field_type},
    {"required", PROTO_MAP_BOOL, .off = offsetof(struct proto_field, required)},
    {"description", PROTO_MAP_STR, .off = offsetof(struct proto_field, description)},
    {"unit", PROTO_MAP_STR, .off = offsetof(struct proto_field, unit)},
    {"min", PROTO_MAP_FN, .fn = pack_field_min},
    {"max", PROTO_MAP_FN, .fn = pack_field_max},
    {"vocabulary", PROTO_MAP_FN, .fn = pack_field_vocabulary},
    {"default", PROTO_MAP_STR, .off = offsetof(struct proto_field, default_value)},
    {"min_exclusive", PROTO_MAP_BOOL, .off = offsetof(struct proto_field, min_exclusive),
     .present = is_number},
    {"max_length", PROTO_MAP_UINT, .off = offsetof(struct proto_field, max_length),
     .present = is_string},
    {"max_items", PROTO_MAP_UINT, .off = offsetof(struct proto_field, max_items),
     .present = is_array},
    {"items", PROTO_MAP_FN, .fn = pack_field_items, .present = is_array},
    {"fields", PROTO_MAP_FN, .fn = pack_field_fields, .present = is_map},
    {"shorthand", PROTO_MAP_STR, .off = offsetof(struct proto_field, shorthand),
     .present = is_map},
};
static const struct proto_map field_map = PROTO_MAP(field_keys);

static void pack_field(msgpack_packer *pk, const struct proto_field *f)
{
    proto_map_pack(pk, &field_map, f);
}

static void pack_fields(msgpack_packer *pk, const void *o)
{
    (void)o;
    size_t n;
    const struct proto_field *f = proto_patient_fields(&n);
    pack_named_maps(pk, f, n, sizeof *f, offsetof(struct proto_field, name), &field_map);
}

/* ---- the ruleset ---------------------------------------------------- */

static void pack_id_name(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, ((const struct proto_ruleset_info *)o)->id->name);
}

static void pack_id_version(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, ((const struct proto_ruleset_info *)o)->id->version);
}

static void pack_id_sha256(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, ((const struct proto_ruleset_info *)o)->id->sha256);
}

/* RFC 3339 in UTC, to the second. */
static void pack_loaded_at(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    char ts[32];
    struct tm tm;
    gmtime_r(&info->loaded_at, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    proto_pack_str(pk, ts);
}

static void pack_rule_count(msgpack_packer *pk, const void *o)
{
    msgpack_pack_int64(pk, ((const struct proto_ruleset_info *)o)->rule_count);
}

/* {name: value in force}: the original form, kept for existing clients. */
static void pack_policy(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    msgpack_pack_map(pk, info->n_policy);
    for (size_t i = 0; i < info->n_policy; i++) {
        proto_pack_str(pk, info->policy[i].name);
        pack_number(pk, &info->policy[i].value);
    }
}

static void pack_policy_value(msgpack_packer *pk, const void *o)
{
    pack_number(pk, &((const struct proto_policy_value *)o)->value);
}

static void pack_policy_default(msgpack_packer *pk, const void *o)
{
    pack_number(pk, &((const struct proto_policy_value *)o)->dflt);
}

static void pack_policy_unit(msgpack_packer *pk, const void *o)
{
    pack_opt_str(pk, ((const struct proto_policy_value *)o)->unit);
}

static const struct proto_map_key policy_value_keys[] = {
    {"value", PROTO_MAP_FN, .fn = pack_policy_value},
    {"default", PROTO_MAP_FN, .fn = pack_policy_default},
    {"unit", PROTO_MAP_FN, .fn = pack_policy_unit},
    {"description", PROTO_MAP_STR, .off = offsetof(struct proto_policy_value, description)},
};
static const struct proto_map policy_value_map = PROTO_MAP(policy_value_keys);

/* {name: {value, default, unit, description}}. */
static void pack_policy_details(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    pack_named_maps(pk, info->policy, info->n_policy, sizeof *info->policy,
                    offsetof(struct proto_policy_value, name), &policy_value_map);
}

/* {param: value} of one named policy: every parameter, or (set_only)
 * those its file sets. */
static void pack_named_values(msgpack_packer *pk, const struct proto_ruleset_info *info,
                              const struct proto_named_policy *np, bool set_only)
{
    size_t n = 0;
    for (size_t i = 0; i < info->n_policy; i++)
        n += !set_only || np->set[i];
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < info->n_policy; i++)
        if (!set_only || np->set[i]) {
            proto_pack_str(pk, info->policy[i].name);
            pack_number(pk, &np->values[i]);
        }
}

/* {name: {sha256, values: {param: value}, set: {param: value}}}: every
 * named policy with all its values and the ones its file sets. */
static void pack_policies(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    msgpack_pack_map(pk, info->n_policies);
    for (size_t i = 0; i < info->n_policies; i++) {
        const struct proto_named_policy *np = &info->policies[i];
        proto_pack_str(pk, np->name);
        msgpack_pack_map(pk, 3);
        proto_pack_str(pk, "sha256");
        proto_pack_str(pk, np->sha256);
        proto_pack_str(pk, "values");
        pack_named_values(pk, info, np, false);
        proto_pack_str(pk, "set");
        pack_named_values(pk, info, np, true);
    }
}

/* {areas: [name], ...}: the canonical terms, the original form. */
static void pack_vocabularies(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    msgpack_pack_map(pk, SUIT_N_VOCABULARIES);
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++) {
        const struct proto_vocabulary *voc = &info->vocabularies[v];
        proto_pack_str(pk, suit_vocabulary_name((enum suit_vocabulary)v));
        msgpack_pack_array(pk, voc->n_terms);
        for (size_t i = 0; i < voc->n_terms; i++)
            proto_pack_str(pk, voc->terms[i].name);
    }
}

static void pack_synonyms(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    msgpack_pack_map(pk, info->n_synonyms);
    for (size_t i = 0; i < info->n_synonyms; i++) {
        proto_pack_str(pk, info->synonyms[i].name);
        proto_pack_str(pk, info->synonyms[i].canonical);
    }
}

static void pack_term_synonyms(msgpack_packer *pk, const void *o)
{
    const struct proto_term *t = o;
    msgpack_pack_array(pk, t->n_synonyms);
    for (size_t i = 0; i < t->n_synonyms; i++)
        proto_pack_str(pk, t->synonyms[i]);
}

static const struct proto_map_key term_keys[] = {
    {"name", PROTO_MAP_STR, .off = offsetof(struct proto_term, name)},
    {"label", PROTO_MAP_STR, .off = offsetof(struct proto_term, label)},
    {"class", PROTO_MAP_STR, .off = offsetof(struct proto_term, cls)},
    {"takes_days", PROTO_MAP_BOOL, .off = offsetof(struct proto_term, takes_days)},
    {"synonyms", PROTO_MAP_FN, .fn = pack_term_synonyms},
};
static const struct proto_map term_map = PROTO_MAP(term_keys);

/* {areas: [{name, label, class, takes_days, synonyms}], ...}. */
static void pack_terms(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    msgpack_pack_map(pk, SUIT_N_VOCABULARIES);
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++) {
        const struct proto_vocabulary *voc = &info->vocabularies[v];
        proto_pack_str(pk, suit_vocabulary_name((enum suit_vocabulary)v));
        msgpack_pack_array(pk, voc->n_terms);
        for (size_t i = 0; i < voc->n_terms; i++)
            proto_map_pack(pk, &term_map, &voc->terms[i]);
    }
}

static const struct proto_map_key source_keys[] = {
    {"citation", PROTO_MAP_STR, .off = offsetof(struct proto_source, citation)},
    {"weak", PROTO_MAP_BOOL, .off = offsetof(struct proto_source, weak)},
};
static const struct proto_map source_map = PROTO_MAP(source_keys);

/* {key: {citation, weak}}. */
static void pack_sources(msgpack_packer *pk, const void *o)
{
    const struct proto_ruleset_info *info = o;
    pack_named_maps(pk, info->sources, info->n_sources, sizeof *info->sources,
                    offsetof(struct proto_source, key), &source_map);
}

/* The first eight keys are the result as it was before the form metadata;
 * terms, fields, policy_details and sources were added after them, then
 * the named policies. */
static const struct proto_map_key info_keys[] = {
    {"name", PROTO_MAP_FN, .fn = pack_id_name},
    {"version", PROTO_MAP_FN, .fn = pack_id_version},
    {"sha256", PROTO_MAP_FN, .fn = pack_id_sha256},
    {"loaded_at", PROTO_MAP_FN, .fn = pack_loaded_at},
    {"rule_count", PROTO_MAP_FN, .fn = pack_rule_count},
    {"policy", PROTO_MAP_FN, .fn = pack_policy},
    {"vocabularies", PROTO_MAP_FN, .fn = pack_vocabularies},
    {"synonyms", PROTO_MAP_FN, .fn = pack_synonyms},
    {"terms", PROTO_MAP_FN, .fn = pack_terms},
    {"fields", PROTO_MAP_FN, .fn = pack_fields},
    {"policy_details", PROTO_MAP_FN, .fn = pack_policy_details},
    {"sources", PROTO_MAP_FN, .fn = pack_sources},
    {"policies", PROTO_MAP_FN, .fn = pack_policies},
};
static const struct proto_map info_map = PROTO_MAP(info_keys);

void proto_pack_ruleset_info(msgpack_packer *pk, const struct proto_ruleset_info *info)
{
    proto_map_pack(pk, &info_map, info);
}
