/*
 * proto_pack.c: packing frames, error objects and the reply bodies of
 * ping, auth, reload and assess.  Key names here are the wire contract
 * documented in PROTOCOL.md; every map is a table of keys (proto_map.h),
 * so its length is counted by the code.
 */
#include "proto.h"

#include <stddef.h>
#include <string.h>

#include "proto_map.h"

void proto_pack_str(msgpack_packer *pk, const char *s)
{
    proto_map_str(pk, s);
}

static void pack_str_list(msgpack_packer *pk, char *const *a, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        proto_pack_str(pk, a[i]);
}

/* ---- frames --------------------------------------------------------- */

void proto_pack_result_header(msgpack_packer *pk, uint32_t msgid)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, PROTO_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    msgpack_pack_nil(pk);
}

void proto_pack_error_response(msgpack_packer *pk, uint32_t msgid,
                               const struct proto_error *e)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, PROTO_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    proto_pack_error(pk, e);
    msgpack_pack_nil(pk);
}

void proto_pack_request_header(msgpack_packer *pk, uint32_t msgid, const char *method)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, PROTO_REQUEST);
    msgpack_pack_uint32(pk, msgid);
    proto_pack_str(pk, method);
}

/* ---- error objects -------------------------------------------------- */

static bool has_field(const void *o)
{
    return ((const struct proto_error *)o)->field != NULL;
}

static bool has_details(const void *o)
{
    return ((const struct proto_error *)o)->n_details != 0;
}

static void pack_details(msgpack_packer *pk, const void *o)
{
    const struct proto_error *e = o;
    pack_str_list(pk, e->details, e->n_details);
}

static void pack_message(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, ((const struct proto_error *)o)->message);
}

static const struct proto_map_key error_data_keys[] = {
    {"field", PROTO_MAP_STR, .off = offsetof(struct proto_error, field), .present = has_field},
    {"details", PROTO_MAP_FN, .fn = pack_details, .present = has_details},
};
static const struct proto_map error_data = PROTO_MAP(error_data_keys);

/* nil unless the error names a field or has details. */
static void pack_error_data(msgpack_packer *pk, const void *o)
{
    if (has_field(o) || has_details(o))
        proto_map_pack(pk, &error_data, o);
    else
        msgpack_pack_nil(pk);
}

static const struct proto_map_key error_keys[] = {
    {"code", PROTO_MAP_INT, .off = offsetof(struct proto_error, code)},
    {"message", PROTO_MAP_FN, .fn = pack_message},
    {"data", PROTO_MAP_FN, .fn = pack_error_data},
};
static const struct proto_map error_map = PROTO_MAP(error_keys);

void proto_pack_error(msgpack_packer *pk, const struct proto_error *e)
{
    proto_map_pack(pk, &error_map, e);
}

/* ---- ruleset identity, ping, auth, reload ----------------------------- */

static const struct proto_map_key ruleset_id_keys[] = {
    {"name", PROTO_MAP_STR, .off = offsetof(struct suit_ruleset_id, name)},
    {"version", PROTO_MAP_STR, .off = offsetof(struct suit_ruleset_id, version)},
    {"sha256", PROTO_MAP_STR, .off = offsetof(struct suit_ruleset_id, sha256)},
};
static const struct proto_map ruleset_id_map = PROTO_MAP(ruleset_id_keys);

void proto_pack_ruleset_id(msgpack_packer *pk, const struct suit_ruleset_id *id)
{
    if (id)
        proto_map_pack(pk, &ruleset_id_map, id);
    else
        msgpack_pack_nil(pk);
}

static void pack_ping_ruleset(msgpack_packer *pk, const void *o)
{
    proto_pack_ruleset_id(pk, ((const struct proto_ping *)o)->ruleset);
}

static const struct proto_map_key ping_keys[] = {
    {"version", PROTO_MAP_STR, .off = offsetof(struct proto_ping, version)},
    {"protocol", PROTO_MAP_STR, .off = offsetof(struct proto_ping, protocol)},
    {"ruleset", PROTO_MAP_FN, .fn = pack_ping_ruleset},
};
static const struct proto_map ping_map = PROTO_MAP(ping_keys);

void proto_pack_ping_result(msgpack_packer *pk, const struct proto_ping *p)
{
    proto_map_pack(pk, &ping_map, p);
}

void proto_pack_auth_result(msgpack_packer *pk)
{
    msgpack_pack_true(pk);
}

static void pack_reload_ruleset(msgpack_packer *pk, const void *o)
{
    proto_pack_ruleset_id(pk, ((const struct proto_reload *)o)->ruleset);
}

static const struct proto_map_key reload_keys[] = {
    {"ruleset", PROTO_MAP_FN, .fn = pack_reload_ruleset},
    {"cases_passed", PROTO_MAP_INT, .off = offsetof(struct proto_reload, cases_passed)},
};
static const struct proto_map reload_map = PROTO_MAP(reload_keys);

void proto_pack_reload_result(msgpack_packer *pk, const struct proto_reload *r)
{
    proto_map_pack(pk, &reload_map, r);
}

/* ---- assess ----------------------------------------------------------- */

static void pack_severity(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, suit_severity_name(((const struct suit_finding *)o)->severity));
}

/* `suggestion` only on the findings that carry one (a near-miss term):
 * every other finding keeps its eight keys. */
static bool has_suggestion(const void *o)
{
    return ((const struct suit_finding *)o)->suggestion != NULL;
}

static const struct proto_map_key finding_keys[] = {
    {"id", PROTO_MAP_STR, .off = offsetof(struct suit_finding, id)},
    {"category", PROTO_MAP_STR, .off = offsetof(struct suit_finding, category)},
    {"severity", PROTO_MAP_FN, .fn = pack_severity},
    {"summary", PROTO_MAP_STR, .off = offsetof(struct suit_finding, summary)},
    {"detail", PROTO_MAP_STR, .off = offsetof(struct suit_finding, detail)},
    {"source", PROTO_MAP_STR, .off = offsetof(struct suit_finding, source)},
    {"action", PROTO_MAP_STR, .off = offsetof(struct suit_finding, action)},
    {"defer_days", PROTO_MAP_DAYS, .off = offsetof(struct suit_finding, defer_days)},
    {"suggestion", PROTO_MAP_STR, .off = offsetof(struct suit_finding, suggestion),
     .present = has_suggestion},
};
static const struct proto_map finding_map = PROTO_MAP(finding_keys);

static const struct proto_map_key side_effect_keys[] = {
    {"effect", PROTO_MAP_STR, .off = offsetof(struct suit_side_effect, effect)},
    {"kind", PROTO_MAP_STR, .off = offsetof(struct suit_side_effect, kind)},
    {"likelihood", PROTO_MAP_STR, .off = offsetof(struct suit_side_effect, likelihood)},
    {"note", PROTO_MAP_STR, .off = offsetof(struct suit_side_effect, note)},
};
static const struct proto_map side_effect_map = PROTO_MAP(side_effect_keys);

static const struct proto_map_key cost_keys[] = {
    {"min", PROTO_MAP_INT, .off = offsetof(struct suit_plan, cost_min)},
    {"typical", PROTO_MAP_INT, .off = offsetof(struct suit_plan, cost_typical)},
    {"max", PROTO_MAP_INT, .off = offsetof(struct suit_plan, cost_max)},
};
static const struct proto_map cost_map = PROTO_MAP(cost_keys);

static const struct proto_map_key course_cost_keys[] = {
    {"min", PROTO_MAP_INT, .off = offsetof(struct suit_plan, course_cost_min)},
    {"max", PROTO_MAP_INT, .off = offsetof(struct suit_plan, course_cost_max)},
};
static const struct proto_map course_cost_map = PROTO_MAP(course_cost_keys);

static const struct proto_map_key plan_keys[] = {
    {"sessions_min", PROTO_MAP_INT, .off = offsetof(struct suit_plan, sessions_min)},
    {"sessions_max", PROTO_MAP_INT, .off = offsetof(struct suit_plan, sessions_max)},
    {"interval_weeks", PROTO_MAP_INT, .off = offsetof(struct suit_plan, interval_weeks)},
    {"interval_weeks_max", PROTO_MAP_INT, .off = offsetof(struct suit_plan, interval_weeks_max)},
    {"cost_per_session_usd", PROTO_MAP_SUB, .sub = &cost_map},
    {"course_cost_usd", PROTO_MAP_SUB, .sub = &course_cost_map},
};
static const struct proto_map plan_map = PROTO_MAP(plan_keys);

static void pack_verdict(msgpack_packer *pk, const void *o)
{
    proto_pack_str(pk, suit_verdict_name(((const struct suit_result *)o)->verdict));
}

static void pack_findings(msgpack_packer *pk, const void *o)
{
    const struct suit_result *r = o;
    msgpack_pack_array(pk, r->n_findings);
    for (size_t i = 0; i < r->n_findings; i++)
        proto_map_pack(pk, &finding_map, &r->findings[i]);
}

void proto_pack_side_effect(msgpack_packer *pk, const struct suit_side_effect *s)
{
    proto_map_pack(pk, &side_effect_map, s);
}

static void pack_side_effects(msgpack_packer *pk, const void *o)
{
    const struct suit_result *r = o;
    msgpack_pack_array(pk, r->n_side_effects);
    for (size_t i = 0; i < r->n_side_effects; i++) {
        const struct suit_side_effect *s = &r->side_effects[i];
        if (s->packed)
            pk->callback(pk->data, s->packed, s->packed_len);
        else
            proto_map_pack(pk, &side_effect_map, s);
    }
}

static void pack_plan(msgpack_packer *pk, const void *o)
{
    const struct suit_plan *p = &((const struct suit_result *)o)->plan;
    if (p->present)
        proto_map_pack(pk, &plan_map, p);
    else
        msgpack_pack_nil(pk);
}

static void pack_aftercare(msgpack_packer *pk, const void *o)
{
    const struct suit_result *r = o;
    pack_str_list(pk, r->aftercare, r->n_aftercare);
}

static void pack_missing(msgpack_packer *pk, const void *o)
{
    const struct suit_result *r = o;
    pack_str_list(pk, r->missing, r->n_missing);
}

static void pack_trace(msgpack_packer *pk, const void *o)
{
    const struct suit_result *r = o;
    pack_str_list(pk, r->trace, r->n_trace);
}

static bool has_trace(const void *o)
{
    return ((const struct suit_result *)o)->has_trace;
}

static bool has_request_id(const void *o)
{
    return ((const struct suit_result *)o)->request_id != NULL;
}

static bool has_decision_id(const void *o)
{
    return ((const struct suit_result *)o)->decision_id != NULL;
}

static const struct proto_map_key policy_id_keys[] = {
    {"name", PROTO_MAP_STR, .off = offsetof(struct suit_policy_id, name)},
    {"sha256", PROTO_MAP_STR, .off = offsetof(struct suit_policy_id, sha256)},
};
static const struct proto_map policy_id_map = PROTO_MAP(policy_id_keys);

static const struct proto_map_key assess_keys[] = {
    {"verdict", PROTO_MAP_FN, .fn = pack_verdict},
    {"defer_days", PROTO_MAP_DAYS, .off = offsetof(struct suit_result, defer_days)},
    {"findings", PROTO_MAP_FN, .fn = pack_findings},
    {"side_effects", PROTO_MAP_FN, .fn = pack_side_effects},
    {"plan", PROTO_MAP_FN, .fn = pack_plan},
    {"aftercare", PROTO_MAP_FN, .fn = pack_aftercare},
    {"missing", PROTO_MAP_FN, .fn = pack_missing},
    {"ruleset", PROTO_MAP_SUB, .off = offsetof(struct suit_result, ruleset),
     .sub = &ruleset_id_map},
    {"policy", PROTO_MAP_SUB, .off = offsetof(struct suit_result, policy), .sub = &policy_id_map},
    {"trace", PROTO_MAP_FN, .fn = pack_trace, .present = has_trace},
    {"request_id", PROTO_MAP_STR, .off = offsetof(struct suit_result, request_id),
     .present = has_request_id},
    {"decision_id", PROTO_MAP_STR, .off = offsetof(struct suit_result, decision_id),
     .present = has_decision_id},
};
static const struct proto_map assess_map = PROTO_MAP(assess_keys);

void proto_pack_assess_result(msgpack_packer *pk, const struct suit_result *r)
{
    proto_map_pack(pk, &assess_map, r);
}
