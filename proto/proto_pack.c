/*
 * proto_pack.c: packing frames, error objects and the `assess` result.
 * Key names here are the wire contract documented in PROTOCOL.md.
 */
#include "proto.h"

#include <string.h>

static void pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

void proto_pack_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_days(msgpack_packer *pk, int64_t days)
{
    if (days < 0)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_int64(pk, days);
}

static void pack_str_list(msgpack_packer *pk, char *const *a, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        proto_pack_str(pk, a[i]);
}

void proto_pack_result_header(msgpack_packer *pk, uint32_t msgid)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, PROTO_RESPONSE);
    msgpack_pack_uint32(pk, msgid);
    msgpack_pack_nil(pk);
}

void proto_pack_error(msgpack_packer *pk, const struct proto_error *e)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "code");
    msgpack_pack_int(pk, e->code);
    pack_key(pk, "message");
    proto_pack_str(pk, e->message);
    pack_key(pk, "data");
    size_t keys = (e->field ? 1 : 0) + (e->n_details ? 1 : 0);
    if (keys == 0) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_map(pk, keys);
    if (e->field) {
        pack_key(pk, "field");
        proto_pack_str(pk, e->field);
    }
    if (e->n_details) {
        pack_key(pk, "details");
        pack_str_list(pk, e->details, e->n_details);
    }
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

/* `suggestion` only on the findings that carry one (a near-miss term):
 * every other finding keeps its eight keys. */
static void pack_finding(msgpack_packer *pk, const struct suit_finding *f)
{
    msgpack_pack_map(pk, f->suggestion ? 9 : 8);
    pack_key(pk, "id");          proto_pack_str(pk, f->id);
    pack_key(pk, "category");    proto_pack_str(pk, f->category);
    pack_key(pk, "severity");    proto_pack_str(pk, suit_severity_name(f->severity));
    pack_key(pk, "summary");     proto_pack_str(pk, f->summary);
    pack_key(pk, "detail");      proto_pack_str(pk, f->detail);
    pack_key(pk, "source");      proto_pack_str(pk, f->source);
    pack_key(pk, "action");      proto_pack_str(pk, f->action);
    pack_key(pk, "defer_days");  pack_days(pk, f->defer_days);
    if (f->suggestion) {
        pack_key(pk, "suggestion");
        proto_pack_str(pk, f->suggestion);
    }
}

static void pack_side_effect(msgpack_packer *pk, const struct suit_side_effect *s)
{
    msgpack_pack_map(pk, 4);
    pack_key(pk, "effect");      proto_pack_str(pk, s->effect);
    pack_key(pk, "kind");        proto_pack_str(pk, s->kind);
    pack_key(pk, "likelihood");  proto_pack_str(pk, s->likelihood);
    pack_key(pk, "note");        proto_pack_str(pk, s->note);
}

static void pack_plan(msgpack_packer *pk, const struct suit_plan *p)
{
    if (!p->present) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_map(pk, 6);
    pack_key(pk, "sessions_min");        msgpack_pack_int(pk, p->sessions_min);
    pack_key(pk, "sessions_max");        msgpack_pack_int(pk, p->sessions_max);
    pack_key(pk, "interval_weeks");      msgpack_pack_int(pk, p->interval_weeks);
    pack_key(pk, "interval_weeks_max");  msgpack_pack_int(pk, p->interval_weeks_max);
    pack_key(pk, "cost_per_session_usd");
    msgpack_pack_map(pk, 3);
    pack_key(pk, "min");                 msgpack_pack_int(pk, p->cost_min);
    pack_key(pk, "typical");             msgpack_pack_int(pk, p->cost_typical);
    pack_key(pk, "max");                 msgpack_pack_int(pk, p->cost_max);
    pack_key(pk, "course_cost_usd");
    msgpack_pack_map(pk, 2);
    pack_key(pk, "min");                 msgpack_pack_int(pk, p->course_cost_min);
    pack_key(pk, "max");                 msgpack_pack_int(pk, p->course_cost_max);
}

void proto_pack_ruleset_id(msgpack_packer *pk, const struct suit_ruleset_id *id)
{
    msgpack_pack_map(pk, 3);
    pack_key(pk, "name");     proto_pack_str(pk, id->name);
    pack_key(pk, "version");  proto_pack_str(pk, id->version);
    pack_key(pk, "sha256");   proto_pack_str(pk, id->sha256);
}

void proto_pack_assess_result(msgpack_packer *pk, const struct suit_result *r)
{
    msgpack_pack_map(pk, r->has_trace ? 9 : 8);
    pack_key(pk, "verdict");
    proto_pack_str(pk, suit_verdict_name(r->verdict));
    pack_key(pk, "defer_days");
    pack_days(pk, r->defer_days);
    pack_key(pk, "findings");
    msgpack_pack_array(pk, r->n_findings);
    for (size_t i = 0; i < r->n_findings; i++)
        pack_finding(pk, &r->findings[i]);
    pack_key(pk, "side_effects");
    msgpack_pack_array(pk, r->n_side_effects);
    for (size_t i = 0; i < r->n_side_effects; i++)
        pack_side_effect(pk, &r->side_effects[i]);
    pack_key(pk, "plan");
    pack_plan(pk, &r->plan);
    pack_key(pk, "aftercare");
    pack_str_list(pk, r->aftercare, r->n_aftercare);
    pack_key(pk, "missing");
    pack_str_list(pk, r->missing, r->n_missing);
    pack_key(pk, "ruleset");
    proto_pack_ruleset_id(pk, &r->ruleset);
    if (r->has_trace) {
        pack_key(pk, "trace");
        pack_str_list(pk, r->trace, r->n_trace);
    }
}
