/*
 * suit_types.c: lifetime of the patient and result structs, and the names
 * of severities and verdicts as they appear on the wire and in rulesets.
 */
#include "suit_types.h"

#include <stdlib.h>
#include <string.h>

static void item_list_free(struct suit_item_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i].name);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

void suit_patient_init(struct suit_patient *p)
{
    memset(p, 0, sizeof(*p));
    p->age = -1;
    p->pregnant = SUIT_UNKNOWN;
    p->breastfeeding = SUIT_UNKNOWN;
    p->fitzpatrick = 0;
    p->needle_depth_mm = -1.0;
}

void suit_patient_close(struct suit_patient *p)
{
    free(p->area);
    free(p->indication);
    free(p->setting);
    free(p->policy);
    free(p->request_id);
    item_list_free(&p->conditions);
    item_list_free(&p->medications);
    item_list_free(&p->procedures);
    item_list_free(&p->allergies);
    suit_patient_init(p);
}

static const char *const severity_names[] = {
    [SUIT_SEV_INFO] = "info",
    [SUIT_SEV_CAUTION] = "caution",
    [SUIT_SEV_INCOMPLETE] = "incomplete",
    [SUIT_SEV_DEFER] = "defer",
    [SUIT_SEV_REFER] = "refer",
    [SUIT_SEV_CONTRAINDICATED] = "contraindicated",
};

static const char *const verdict_names[] = {
    [SUIT_VERDICT_SUITABLE] = "suitable",
    [SUIT_VERDICT_PRECAUTIONS] = "suitable-with-precautions",
    [SUIT_VERDICT_INCOMPLETE] = "incomplete",
    [SUIT_VERDICT_DEFER] = "defer",
    [SUIT_VERDICT_REFER] = "refer",
    [SUIT_VERDICT_CONTRAINDICATED] = "contraindicated",
};

#define N_NAMES(a) (sizeof(a) / sizeof((a)[0]))

const char *suit_severity_name(enum suit_severity s)
{
    if ((unsigned)s >= N_NAMES(severity_names))
        return "unknown";
    return severity_names[s];
}

int suit_severity_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < N_NAMES(severity_names); i++)
        if (strcmp(name, severity_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *suit_verdict_name(enum suit_verdict v)
{
    if ((unsigned)v >= N_NAMES(verdict_names))
        return "unknown";
    return verdict_names[v];
}

int suit_verdict_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < N_NAMES(verdict_names); i++)
        if (strcmp(name, verdict_names[i]) == 0)
            return (int)i;
    return -1;
}

static const struct {
    const char *name, *kind;
} vocabularies[SUIT_N_VOCABULARIES] = {
    [SUIT_VOC_AREAS] = {"areas", "area"},
    [SUIT_VOC_INDICATIONS] = {"indications", "indication"},
    [SUIT_VOC_CONDITIONS] = {"conditions", "condition"},
    [SUIT_VOC_MEDICATIONS] = {"medications", "medication"},
    [SUIT_VOC_PROCEDURES] = {"procedures", "procedure"},
    [SUIT_VOC_ALLERGIES] = {"allergies", "allergy"},
    [SUIT_VOC_SETTINGS] = {"settings", "setting"},
};

const char *suit_vocabulary_name(enum suit_vocabulary v)
{
    return (unsigned)v < SUIT_N_VOCABULARIES ? vocabularies[v].name : "unknown";
}

const char *suit_vocabulary_kind(enum suit_vocabulary v)
{
    return (unsigned)v < SUIT_N_VOCABULARIES ? vocabularies[v].kind : "unknown";
}

static void str_array_free(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

void suit_result_init(struct suit_result *r)
{
    memset(r, 0, sizeof(*r));
    r->verdict = SUIT_VERDICT_INCOMPLETE;
    r->defer_days = -1;
    r->plan.present = false;
}

void suit_result_close(struct suit_result *r)
{
    if (r->pool) {
        free(r->findings);
        free(r->side_effects);
        free(r->aftercare);
        for (char *b = r->pool; b;) {
            char *next;
            memcpy(&next, b, sizeof next);
            free(b);
            b = next;
        }
        str_array_free(r->missing, r->n_missing);
        str_array_free(r->trace, r->n_trace);
        free(r->request_id);
        free(r->decision_id);
        suit_result_init(r);
        return;
    }
    for (size_t i = 0; i < r->n_findings; i++) {
        struct suit_finding *f = &r->findings[i];
        free(f->id);
        free(f->category);
        free(f->summary);
        free(f->detail);
        free(f->source);
        free(f->action);
        free(f->suggestion);
    }
    free(r->findings);
    for (size_t i = 0; i < r->n_side_effects; i++) {
        struct suit_side_effect *s = &r->side_effects[i];
        free(s->effect);
        free(s->kind);
        free(s->likelihood);
        free(s->note);
    }
    free(r->side_effects);
    str_array_free(r->aftercare, r->n_aftercare);
    str_array_free(r->missing, r->n_missing);
    str_array_free(r->trace, r->n_trace);
    free(r->ruleset.name);
    free(r->ruleset.version);
    free(r->ruleset.sha256);
    free(r->policy.name);
    free(r->policy.sha256);
    free(r->request_id);
    free(r->decision_id);
    suit_result_init(r);
}

bool suit_request_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > SUIT_MAX_REQUEST_ID)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '/'))
            return false;
    }
    return true;
}

bool suit_policy_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > SUIT_MAX_POLICY_NAME || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}
