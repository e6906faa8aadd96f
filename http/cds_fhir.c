/*
 * cds_fhir.c: see cds_fhir.h.  Every resource is read defensively: a
 * field of the wrong JSON type is treated as absent, never trusted, and
 * nothing here fails on odd input but the shape of the request itself.
 */
#include "cds_fhir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto_term.h"
#include "suit_types.h"

const char *const cds_fhir_prefetch_keys[] = {
    "patient",   "conditions", "medstatements", "medrequests",  "procedures",
    "allergies", "pregnancy",  "breastfeeding", "fitzpatrick",  "orders",
    NULL,
};

const char *const cds_hook_names[CDS_HOOK_COUNT] = {
    [CDS_HOOK_ORDER_SELECT] = "order-select",
    [CDS_HOOK_ORDER_SIGN] = "order-sign",
    [CDS_HOOK_APPOINTMENT_BOOK] = "appointment-book",
    [CDS_HOOK_PATIENT_VIEW] = "patient-view",
};

int cds_hook_find(const char *name)
{
    for (int h = 0; name && h < CDS_HOOK_COUNT; h++)
        if (!strcmp(cds_hook_names[h], name))
            return h;
    return -1;
}

static const char *const cds_fhir_required[] = {
    "conditions", "medstatements", "medrequests", "procedures", "allergies", NULL,
};

bool cds_fhir_prefetch_required(const char *key)
{
    for (const char *const *k = cds_fhir_required; *k; k++)
        if (!strcmp(*k, key))
            return true;
    return false;
}

#define CDS_LOINC "http://loinc.org"
#define CDS_LOINC_PREGNANCY "82810-3"
#define CDS_LOINC_BREASTFEEDING "63895-7"

/* ---- dates -------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil: exact for every Gregorian date. */
long cds_days(struct cds_date dt)
{
    long y = dt.y - (dt.m <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (dt.m + (dt.m > 2 ? -3 : 9)) + 2) / 5 + dt.d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int cds_month_days(int y, int m)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

static int cds_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int cds_date_parse(const char *s, struct cds_date *first, struct cds_date *last)
{
    if (!s)
        return -1;
    size_t len = strlen(s);
    int y = len >= 4 ? cds_digits(s, 4) : -1;
    if (y < 1)
        return -1;
    if (len == 4) {
        *first = (struct cds_date){y, 1, 1};
        *last = (struct cds_date){y, 12, 31};
        return 0;
    }
    if (s[4] != '-' || len < 7)
        return -1;
    int m = cds_digits(s + 5, 2);
    if (m < 1 || m > 12)
        return -1;
    if (len == 7) {
        *first = (struct cds_date){y, m, 1};
        *last = (struct cds_date){y, m, cds_month_days(y, m)};
        return 0;
    }
    if (s[7] != '-' || len < 10)
        return -1;
    int d = cds_digits(s + 8, 2);
    if (d < 1 || d > cds_month_days(y, m))
        return -1;
    if (len > 10 && s[10] != 'T')
        return -1;
    *first = *last = (struct cds_date){y, m, d};
    return 0;
}

int cds_age_on(struct cds_date b, struct cds_date on)
{
    int age = on.y - b.y;
    if (on.m < b.m || (on.m == b.m && on.d < b.d))
        age--;
    return age;
}

/* ---- JSON helpers ------------------------------------------------------- */

static const char *cds_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool cds_is(const json_t *res, const char *type)
{
    const char *t = cds_str(res, "resourceType");
    return t && !strcmp(t, type);
}

/* A CodeableConcept has a coding with this code (any system). */
static bool cds_cc_has(const json_t *cc, const char *code)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c) {
        const char *v = cds_str(c, "code");
        if (v && !strcmp(v, code))
            return true;
    }
    return false;
}

static bool cds_cc_has_sys(const json_t *cc, const char *system, const char *code)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c) {
        const char *s = cds_str(c, "system"), *v = cds_str(c, "code");
        if (s && v && !strcmp(s, system) && !strcmp(v, code))
            return true;
    }
    return false;
}

/* "SYSTEM|CODE" in list. */
static bool cds_cc_in_list(const json_t *cc, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const char *bar = strrchr(list[k], '|');
        if (!bar)
            continue;
        char sys[512];
        snprintf(sys, sizeof sys, "%.*s", (int)(bar - list[k]), list[k]);
        if (cds_cc_has_sys(cc, sys, bar + 1))
            return true;
    }
    return false;
}

static bool cds_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

/* Text or a coding's display contains needle (ASCII case folded). */
static bool cds_cc_mentions(const json_t *cc, const char *needle)
{
    if (cds_contains_ci(cds_str(cc, "text"), needle))
        return true;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c)
        if (cds_contains_ci(cds_str(c, "display"), needle))
            return true;
    return false;
}

/* The latest day a FHIR date string can mean, in cds_days; false when
 * absent or not a date. */
static bool cds_latest_day(const char *s, long *day)
{
    struct cds_date a, b;
    if (cds_date_parse(s, &a, &b))
        return false;
    *day = cds_days(b);
    return true;
}

/* ---- terms -------------------------------------------------------------- */

static const char *const cds_vocab_key[PROTO_TERM_KIND_COUNT] = {
    [PROTO_TERM_KIND_AREA] = "areas",           [PROTO_TERM_KIND_INDICATION] = "indications",
    [PROTO_TERM_KIND_CONDITION] = "conditions", [PROTO_TERM_KIND_MEDICATION] = "medications",
    [PROTO_TERM_KIND_PROCEDURE] = "procedures", [PROTO_TERM_KIND_ALLERGY] = "allergies",
};

/* The ruleset's term object of this kind named `name`, or NULL. */
static const json_t *cds_term_obj(const struct cds_fhir_opts *o, enum proto_term_kind k, const char *name)
{
    if (!cds_vocab_key[k])
        return NULL;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(json_object_get(o->ruleset, "terms"), cds_vocab_key[k]), i, t) {
        const char *n = cds_str(t, "name");
        if (n && !strcmp(n, name))
            return t;
    }
    return NULL;
}

static bool cds_norm_eq(const char *a_norm, const char *b)
{
    char nb[PROTO_TERM_MAX_LEN * 2];
    return b && proto_term_normalise(b, nb, sizeof nb) > 0 && !strcmp(a_norm, nb);
}

/* A text matched against the ruleset's names, labels and synonyms of the
 * kind: the canonical name, or NULL.  Whole texts only: "ISOtretinoin 20
 * MG Oral Capsule" is not matched here but reaches suitd as it is, whose
 * near-miss rule asks to confirm isotretinoin (incomplete) -- the same
 * answer the same words get over MessagePack; a site file maps the EHR's
 * drug codes to ingredients. */
static const char *cds_text_term(const struct cds_fhir_opts *o, enum proto_term_kind k, const char *text)
{
    char norm[PROTO_TERM_MAX_LEN * 2];
    if (!text || !cds_vocab_key[k] || proto_term_normalise(text, norm, sizeof norm) <= 0)
        return NULL;
    size_t i, j;
    json_t *t, *syn;
    json_array_foreach(json_object_get(json_object_get(o->ruleset, "terms"), cds_vocab_key[k]), i, t) {
        const char *name = cds_str(t, "name");
        if (!name)
            continue;
        if (cds_norm_eq(norm, name) || cds_norm_eq(norm, cds_str(t, "label")))
            return name;
        json_array_foreach(json_object_get(t, "synonyms"), j, syn)
            if (cds_norm_eq(norm, json_string_value(syn)))
                return name;
    }
    return NULL;
}

/* Copies text as a suitd term: control characters become spaces, white
 * space is trimmed, at most SUIT_MAX_TERM_LEN bytes cut on a UTF-8
 * boundary.  Returns false when nothing is left. */
static bool cds_clean_term(const char *text, char *out, size_t cap)
{
    if (!text || cap < 2)
        return false;
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p == ' ' || *p < 0x20)
        p++;
    size_t max = cap - 1 < SUIT_MAX_TERM_LEN ? cap - 1 : SUIT_MAX_TERM_LEN;
    for (; *p && n < max; p++) {
        unsigned char c = *p;
        if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {    /* C1 control */
            c = ' ';
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            c = ' ';
        }
        out[n++] = (char)c;
    }
    /* back off to the start of a cut sequence */
    if (*p && n) {
        size_t k = n;
        while (k && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
            k--;
        if (k && ((unsigned char)out[k - 1] & 0x80)) {
            unsigned char lead = (unsigned char)out[k - 1];
            size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
            if (n - (k - 1) < need)
                n = k - 1;
        }
    }
    while (n && (out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    return n > 0 && !proto_term_blank(out);
}

/* The term for a CodeableConcept: the map, then text and displays, then
 * the text itself as an unrecognised term.  Returns 1 when recognised
 * (out is a canonical term), 0 when passed through as text, -1 when the
 * concept carries nothing at all. */
static int cds_concept(const struct cds_fhir_opts *o, enum proto_term_kind k, const json_t *cc, char *out,
                       size_t cap)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c) {
        const char *t = proto_termmap_lookup(o->terms, k, cds_str(c, "system"), cds_str(c, "code"));
        if (t) {
            snprintf(out, cap, "%s", t);
            return 1;
        }
    }
    const char *t = cds_text_term(o, k, cds_str(cc, "text"));
    json_array_foreach(json_object_get(cc, "coding"), i, c)
        if (!t)
            t = cds_text_term(o, k, cds_str(c, "display"));
    if (t) {
        snprintf(out, cap, "%s", t);
        return 1;
    }
    if (cds_clean_term(cds_str(cc, "text"), out, cap))
        return 0;
    json_array_foreach(json_object_get(cc, "coding"), i, c)
        if (cds_clean_term(cds_str(c, "display"), out, cap))
            return 0;
    json_array_foreach(json_object_get(cc, "coding"), i, c) {
        const char *s = cds_str(c, "system"), *v = cds_str(c, "code");
        if (v) {
            char both[600];
            snprintf(both, sizeof both, "%.300s|%.200s", s ? s : "", v);
            if (cds_clean_term(both, out, cap))
                return 0;
        }
    }
    return -1;
}

/* ---- notes -------------------------------------------------------------- */

static void cds_note(json_t *notes, const char *id, const char *severity, const char *action,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void cds_note(json_t *notes, const char *id, const char *severity, const char *action,
                     const char *fmt, ...)
{
    char summary[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(summary, sizeof summary, fmt, ap);
    va_end(ap);
    /* One note per id and summary: the same fact twice says nothing new. */
    size_t i;
    json_t *n;
    json_array_foreach(notes, i, n)
        if (!strcmp(cds_str(n, "id"), id) && !strcmp(cds_str(n, "summary"), summary))
            return;
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "category", "input", "severity",
                          severity, "summary", summary, "action", action, "source", "input");
    if (j)
        json_array_append_new(notes, j);
}

/* ---- prefetch ----------------------------------------------------------- */

/* Whether an OperationOutcome reports a failure (error or fatal). */
static bool cds_outcome_failed(const json_t *oo)
{
    size_t i;
    json_t *is;
    json_array_foreach(json_object_get(oo, "issue"), i, is) {
        const char *sev = cds_str(is, "severity");
        if (!sev || !strcmp(sev, "error") || !strcmp(sev, "fatal"))
            return true;
    }
    return !json_array_size(json_object_get(oo, "issue"));
}

/* The resources of a prefetch key, in *out (a new array of borrowed
 * resources).  Returns CDS_FHIR_OK, or the status when the key was not
 * satisfied (err says how) -- for keys that are not required the caller
 * treats that as no data. */
static enum cds_fhir_status cds_prefetch(const json_t *request, const char *key, json_t **out,
                                         char *err, size_t errlen)
{
    *out = json_array();
    json_t *pf = json_object_get(request, "prefetch");
    json_t *v = json_object_get(pf, key);
    if (!v || !json_is_object(pf)) {
        snprintf(err, errlen, "prefetch '%s' was not sent (the client did not satisfy it)", key);
        return CDS_FHIR_UNSATISFIED;
    }
    if (json_is_null(v))
        return CDS_FHIR_OK;     /* the client has no data: an empty list */
    if (!json_is_object(v)) {
        snprintf(err, errlen, "prefetch '%s' is not a FHIR resource", key);
        return CDS_FHIR_BAD_REQUEST;
    }
    if (cds_is(v, "OperationOutcome")) {
        snprintf(err, errlen, "prefetch '%s' is an OperationOutcome (the client could not get it)",
                 key);
        return CDS_FHIR_UNSATISFIED;
    }
    if (!cds_is(v, "Bundle")) {
        json_array_append(*out, v);
        return CDS_FHIR_OK;
    }
    size_t i, data = 0;
    json_t *e, *l;
    json_array_foreach(json_object_get(v, "entry"), i, e) {
        json_t *r = json_object_get(e, "resource");
        if (!json_is_object(r))
            continue;
        if (cds_is(r, "OperationOutcome")) {
            if (cds_outcome_failed(r)) {
                snprintf(err, errlen, "prefetch '%s' holds an OperationOutcome with an error", key);
                return CDS_FHIR_UNSATISFIED;
            }
            continue;
        }
        data++;
        json_array_append(*out, r);
    }
    json_array_foreach(json_object_get(v, "link"), i, l) {
        const char *rel = cds_str(l, "relation");
        if (rel && !strcmp(rel, "next")) {
            snprintf(err, errlen, "prefetch '%s' is one page of a longer result (link next)", key);
            return CDS_FHIR_UNSATISFIED;
        }
    }
    json_t *total = json_object_get(v, "total");
    if (json_is_integer(total) && json_integer_value(total) > (json_int_t)data) {
        snprintf(err, errlen, "prefetch '%s' holds %zu of its %lld entries", key, data,
                 (long long)json_integer_value(total));
        return CDS_FHIR_UNSATISFIED;
    }
    return CDS_FHIR_OK;
}

/* ---- lists -------------------------------------------------------------- */

/* Adds {name, KEY: days} (days < 0: no KEY) to list, merging a name given
 * twice (the nearest days win; a merged entry without days stays without:
 * "ongoing" is the stricter reading). */
static void cds_list_add(json_t *list, const char *name, const char *key, long days)
{
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        if (strcmp(cds_str(it, "name"), name))
            continue;
        if (!key)
            return;
        json_t *had = json_object_get(it, key);
        if (!had)
            return;
        if (days < 0)
            json_object_del(it, key);
        else if (days < json_integer_value(had))
            json_object_set_new(it, key, json_integer(days));
        return;
    }
    json_t *j = json_pack("{s:s}", "name", name);
    if (key && days >= 0)
        json_object_set_new(j, key, json_integer(days > SUIT_MAX_DAYS ? SUIT_MAX_DAYS : days));
    json_array_append_new(list, j);
}

static long cds_days_before(long treat, long day)
{
    return day >= treat ? 0 : treat - day;
}

struct cds_ctx {
    const struct cds_fhir_opts *o;
    long treat;             /* the treatment day, cds_days */
    json_t *notes;
};

static void cds_conditions(struct cds_ctx *c, json_t *entries, json_t *list)
{
    size_t i;
    json_t *r;
    json_array_foreach(entries, i, r) {
        if (!cds_is(r, "Condition"))
            continue;
        json_t *ver = json_object_get(r, "verificationStatus");
        if (cds_cc_has(ver, "refuted") || cds_cc_has(ver, "entered-in-error"))
            continue;
        char term[SUIT_MAX_TERM_LEN + 1];
        int known = cds_concept(c->o, PROTO_TERM_KIND_CONDITION, json_object_get(r, "code"), term,
                                sizeof term);
        if (known < 0) {
            snprintf(term, sizeof term, "uncoded condition");
            known = 0;
        }
        size_t tl = strlen(term);
        bool history = known && tl > 8 && !strcmp(term + tl - 8, "-history");
        json_t *cs = json_object_get(r, "clinicalStatus");
        bool active = !json_array_size(json_object_get(cs, "coding")) || cds_cc_has(cs, "active") ||
                      cds_cc_has(cs, "recurrence") || cds_cc_has(cs, "relapse");
        if (!history && !active)
            continue;
        long days = -1, day;
        const json_t *t = known ? cds_term_obj(c->o, PROTO_TERM_KIND_CONDITION, term) : NULL;
        if (json_is_true(json_object_get(t, "takes_days"))) {
            const char *onset = cds_str(r, "onsetDateTime");
            if (!onset)
                onset = cds_str(json_object_get(r, "onsetPeriod"), "start");
            if (cds_latest_day(onset, &day))
                days = cds_days_before(c->treat, day);
        }
        cds_list_add(list, term, "days_ago", days);
    }
}

/* Medication name of a MedicationStatement or MedicationRequest. */
static void cds_med_name(struct cds_ctx *c, const json_t *r, char *term, size_t cap)
{
    json_t *cc = json_object_get(r, "medicationCodeableConcept");
    if (cc && cds_concept(c->o, PROTO_TERM_KIND_MEDICATION, cc, term, cap) >= 0)
        return;
    const char *disp = cds_str(json_object_get(r, "medicationReference"), "display");
    const char *t = cds_text_term(c->o, PROTO_TERM_KIND_MEDICATION, disp);
    if (t)
        snprintf(term, cap, "%s", t);
    else if (!cds_clean_term(disp, term, cap))
        snprintf(term, cap, "unnamed medication");
}

static void cds_unknown_dose(struct cds_ctx *c, const char *term)
{
    cds_note(c->notes, "cds-last-dose-unknown", "caution",
             "Confirm when the last dose was taken; the assessment counts it as taken today.",
             "Last dose of %s unknown: assumed current", term);
}

static void cds_medstatements(struct cds_ctx *c, json_t *entries, json_t *list)
{
    size_t i;
    json_t *r;
    json_array_foreach(entries, i, r) {
        if (!cds_is(r, "MedicationStatement"))
            continue;
        const char *st = cds_str(r, "status");
        if (st && (!strcmp(st, "entered-in-error") || !strcmp(st, "not-taken")))
            continue;
        char term[SUIT_MAX_TERM_LEN + 1];
        cds_med_name(c, r, term, sizeof term);
        long days = 0, day;
        if (st && (!strcmp(st, "completed") || !strcmp(st, "stopped"))) {
            const char *end = cds_str(json_object_get(r, "effectivePeriod"), "end");
            if (!end)
                end = cds_str(r, "effectiveDateTime");
            if (cds_latest_day(end, &day))
                days = cds_days_before(c->treat, day);
            else
                cds_unknown_dose(c, term);
        } else if (!st || !strcmp(st, "unknown")) {
            cds_unknown_dose(c, term);
        }
        cds_list_add(list, term, "days_since_last_dose", days);
    }
}

static void cds_medrequests(struct cds_ctx *c, json_t *entries, json_t *list)
{
    size_t i, j;
    json_t *r, *di;
    json_array_foreach(entries, i, r) {
        if (!cds_is(r, "MedicationRequest") || json_is_true(json_object_get(r, "doNotPerform")))
            continue;
        const char *st = cds_str(r, "status");
        /* cancelled: withdrawn before any administration (R4) */
        if (st && (!strcmp(st, "entered-in-error") || !strcmp(st, "cancelled")))
            continue;
        char term[SUIT_MAX_TERM_LEN + 1];
        cds_med_name(c, r, term, sizeof term);
        long days = 0;
        if (st && (!strcmp(st, "completed") || !strcmp(st, "stopped"))) {
            long end = 0, day;
            bool have = false;
            json_array_foreach(json_object_get(r, "dosageInstruction"), j, di) {
                const char *e = cds_str(
                    json_object_get(json_object_get(json_object_get(di, "timing"), "repeat"),
                                    "boundsPeriod"),
                    "end");
                if (cds_latest_day(e, &day) && (!have || day > end)) {
                    end = day;
                    have = true;
                }
            }
            if (!have && cds_latest_day(cds_str(json_object_get(json_object_get(r, "dispenseRequest"),
                                                                "validityPeriod"),
                                                "end"),
                                        &day)) {
                end = day;
                have = true;
            }
            if (have)
                days = cds_days_before(c->treat, end);
            else
                cds_unknown_dose(c, term);
        } else if (!st || !strcmp(st, "unknown")) {
            cds_unknown_dose(c, term);
        }
        cds_list_add(list, term, "days_since_last_dose", days);
    }
}

static void cds_procedures(struct cds_ctx *c, json_t *entries, json_t *list)
{
    size_t i;
    json_t *r;
    json_array_foreach(entries, i, r) {
        if (!cds_is(r, "Procedure"))
            continue;
        const char *st = cds_str(r, "status");
        if (st && (!strcmp(st, "entered-in-error") || !strcmp(st, "not-done") ||
                   !strcmp(st, "preparation")))
            continue;
        char term[SUIT_MAX_TERM_LEN + 1];
        if (cds_concept(c->o, PROTO_TERM_KIND_PROCEDURE, json_object_get(r, "code"), term, sizeof term) < 0)
            snprintf(term, sizeof term, "uncoded procedure");
        long days = 0, day;
        const char *when = cds_str(r, "performedDateTime");
        if (!when)
            when = cds_str(json_object_get(r, "performedPeriod"), "end");
        if (!when)
            when = cds_str(json_object_get(r, "performedPeriod"), "start");
        if (st && !strcmp(st, "in-progress"))
            days = 0;
        else if (cds_latest_day(when, &day))
            days = cds_days_before(c->treat, day);
        else
            cds_note(c->notes, "cds-procedure-date-unknown", "caution",
                     "Confirm when the procedure was done; the assessment counts it as done today.",
                     "Date of %s unknown: assumed today", term);
        cds_list_add(list, term, "days_ago", days);
    }
}

static void cds_allergies(struct cds_ctx *c, json_t *entries, json_t *list)
{
    size_t i;
    json_t *r;
    json_array_foreach(entries, i, r) {
        if (!cds_is(r, "AllergyIntolerance"))
            continue;
        json_t *ver = json_object_get(r, "verificationStatus");
        json_t *cs = json_object_get(r, "clinicalStatus");
        if (cds_cc_has(ver, "refuted") || cds_cc_has(ver, "entered-in-error") ||
            cds_cc_has(cs, "inactive") || cds_cc_has(cs, "resolved"))
            continue;
        char term[SUIT_MAX_TERM_LEN + 1];
        if (cds_concept(c->o, PROTO_TERM_KIND_ALLERGY, json_object_get(r, "code"), term, sizeof term) < 0)
            snprintf(term, sizeof term, "uncoded allergy");
        bool dup = false;
        size_t k;
        json_t *it;
        json_array_foreach(list, k, it)
            dup |= !strcmp(json_string_value(it), term);
        if (!dup)
            json_array_append_new(list, json_string(term));
    }
}

/* ---- observations ------------------------------------------------------- */

static bool cds_obs_usable(const json_t *r)
{
    const char *st = cds_str(r, "status");
    return cds_is(r, "Observation") && st &&
           (!strcmp(st, "final") || !strcmp(st, "amended") || !strcmp(st, "corrected") ||
            !strcmp(st, "preliminary"));
}

/* The day an observation speaks of (its effective time, else issued);
 * LONG_MIN-ish when none. */
static long cds_obs_day(const json_t *r)
{
    long day;
    const char *s = cds_str(r, "effectiveDateTime");
    if (!s)
        s = cds_str(json_object_get(r, "effectivePeriod"), "end");
    if (!s)
        s = cds_str(r, "effectiveInstant");
    if (!s)
        s = cds_str(r, "issued");
    return cds_latest_day(s, &day) ? day : -100000000L;
}

/* pregnancy / breastfeeding: sets key in patient to true/false, or leaves
 * it out (suitd: incomplete) with a note. */
static void cds_status_obs(struct cds_ctx *c, const json_t *request, const char *key,
                           const char *loinc, enum proto_term_kind kind, json_t *patient)
{
    json_t *entries;
    char err[200];
    cds_prefetch(request, key, &entries, err, sizeof err);
    const json_t *best = NULL;
    long best_day = 0;
    size_t i;
    json_t *r;
    json_array_foreach(entries, i, r) {
        if (!cds_obs_usable(r) || !cds_cc_has_sys(json_object_get(r, "code"), CDS_LOINC, loinc))
            continue;
        long d = cds_obs_day(r);
        if (!best || d > best_day) {
            best = r;
            best_day = d;
        }
    }
    int value = -1;
    if (best) {
        json_t *vb = json_object_get(best, "valueBoolean");
        json_t *cc = json_object_get(best, "valueCodeableConcept");
        if (json_is_boolean(vb))
            value = json_is_true(vb);
        json_t *cd;
        json_array_foreach(json_object_get(cc, "coding"), i, cd) {
            const char *t = proto_termmap_lookup(c->o->terms, kind, cds_str(cd, "system"),
                                             cds_str(cd, "code"));
            if (t && value < 0)
                value = !strcmp(t, "true") ? 1 : !strcmp(t, "false") ? 0 : -2;
        }
        /* The answers' own words when no code is known: LOINC's displays
         * ("Pregnant", "Not pregnant", "Currently breastfeeding", "Not
         * currently breastfeeding"). */
        static const char *const yes[] = {"pregnant", "currently-breastfeeding", "breastfeeding",
                                          "yes", NULL};
        static const char *const no[] = {"not-pregnant", "not-currently-breastfeeding",
                                         "not-breastfeeding", "no", NULL};
        const char *texts[8] = {cds_str(cc, "text")};
        size_t nt = 1;
        json_array_foreach(json_object_get(cc, "coding"), i, cd)
            if (nt < 8)
                texts[nt++] = cds_str(cd, "display");
        for (size_t k = 0; k < nt && value == -1; k++) {
            char norm[128];
            if (!texts[k] || proto_term_normalise(texts[k], norm, sizeof norm) <= 0)
                continue;
            for (const char *const *y = yes; *y; y++)
                if (!strcmp(norm, *y))
                    value = 1;
            for (const char *const *n = no; *n; n++)
                if (!strcmp(norm, *n))
                    value = 0;
        }
    }
    if (!best)
        ;   /* nothing recorded: suitd lists the key as missing */
    else if (value < 0)
        cds_note(c->notes, "cds-status-unknown", "incomplete", "Ask the patient and record it.",
                 "The latest %s status is unknown or not understood", key);
    else if (c->treat - best_day > (long)c->o->max_status_age_days)
        cds_note(c->notes, "cds-status-stale", "incomplete", "Ask the patient and record it again.",
                 "The latest %s status is older than %u days", key, c->o->max_status_age_days);
    else
        json_object_set_new(patient, key, json_boolean(value));
    json_decref(entries);
}

static void cds_fitzpatrick(struct cds_ctx *c, const json_t *request, json_t *patient)
{
    json_t *entries;
    char err[200];
    cds_prefetch(request, "fitzpatrick", &entries, err, sizeof err);
    long best_day = 0;
    int best = 0;
    size_t i, j;
    json_t *r, *cd;
    json_array_foreach(entries, i, r) {
        if (!cds_obs_usable(r))
            continue;
        json_t *code = json_object_get(r, "code");
        json_t *vi = json_object_get(r, "valueInteger");
        int v = 0;
        json_array_foreach(json_object_get(json_object_get(r, "valueCodeableConcept"), "coding"), j, cd) {
            const char *t = proto_termmap_lookup(c->o->terms, PROTO_TERM_KIND_FITZPATRICK, cds_str(cd, "system"),
                                             cds_str(cd, "code"));
            if (t && !v)
                v = t[0] - '0';
        }
        bool is_fitz = v || cds_cc_in_list(code, c->o->fitzpatrick_codes, c->o->n_fitzpatrick_codes) ||
                       cds_cc_mentions(code, "fitzpatrick");
        if (!is_fitz)
            continue;
        if (!v && json_is_integer(vi) && json_integer_value(vi) >= 1 && json_integer_value(vi) <= 6)
            v = (int)json_integer_value(vi);
        if (!v) {
            cds_note(c->notes, "cds-fitzpatrick-not-understood", "incomplete",
                     "Record the skin type as a whole number 1 to 6 or an NCIt code.",
                     "A Fitzpatrick observation has no value 1 to 6 this service understands");
            continue;
        }
        long d = cds_obs_day(r);
        if (!best || d > best_day) {
            best = v;
            best_day = d;
        }
    }
    if (best)
        json_object_set_new(patient, "fitzpatrick", json_integer(best));
    json_decref(entries);
}

/* ---- age ---------------------------------------------------------------- */

static void cds_age(struct cds_ctx *c, const json_t *request, struct cds_date on, json_t *patient)
{
    json_t *entries;
    char err[200];
    cds_prefetch(request, "patient", &entries, err, sizeof err);
    const json_t *p = json_array_get(entries, 0);
    const char *bd = cds_is(p, "Patient") ? cds_str(p, "birthDate") : NULL;
    struct cds_date first, last;
    if (!bd) {
        json_decref(entries);
        return;     /* suitd lists age as missing */
    }
    if (cds_date_parse(bd, &first, &last) || cds_days(first) > cds_days(on)) {
        cds_note(c->notes, "cds-birth-date-invalid", "incomplete", "Correct the birth date.",
                 "The birth date is not a date before the treatment date");
        json_decref(entries);
        return;
    }
    if (cds_days(last) > cds_days(on))
        last = on;
    int amax = cds_age_on(first, on), amin = cds_age_on(last, on);
    if (amin != amax) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(c->o->ruleset, "policy"), key, v) {
            size_t kl = strlen(key);
            if (kl < 4 || strcmp(key + kl - 4, "-age") || !json_is_number(v))
                continue;
            double lim = json_number_value(v);
            if (lim >= amin && lim <= amax) {
                cds_note(c->notes, "cds-birth-date-partial", "incomplete",
                         "Record the full birth date.",
                         "The birth date is only partly known: the age could be %d or %d, on "
                         "either side of an age limit (%s)", amin, amax, key);
                json_decref(entries);
                return;
            }
        }
    }
    if (amin > SUIT_MAX_AGE) {
        cds_note(c->notes, "cds-birth-date-invalid", "incomplete", "Correct the birth date.",
                 "The birth date gives an age over %d", SUIT_MAX_AGE);
    } else {
        json_object_set_new(patient, "age", json_integer(amin));
    }
    json_decref(entries);
}

/* ---- the order ---------------------------------------------------------- */

/* area (bodySite) or indication (reasonCode): one term, or left out with
 * a note. */
static void cds_order_term(struct cds_ctx *c, const json_t *order, const char *field,
                           enum proto_term_kind kind, const char *key, json_t *patient)
{
    json_t *arr = json_object_get(order, field);
    char first[SUIT_MAX_TERM_LEN + 1] = "", term[SUIT_MAX_TERM_LEN + 1];
    bool several = false, unknown = false;
    size_t i;
    json_t *cc;
    json_array_foreach(arr, i, cc) {
        if (cds_concept(c->o, kind, cc, term, sizeof term) != 1) {
            unknown = true;
            continue;
        }
        if (!first[0])
            snprintf(first, sizeof first, "%s", term);
        else if (strcmp(first, term))
            several = true;
    }
    if (several)
        cds_note(c->notes, "cds-several-terms", "incomplete",
                 "Place one order per treatment area and indication.",
                 "The order names more than one %s", key);
    else if (first[0])
        json_object_set_new(patient, key, json_string(first));
    else if (unknown)
        cds_note(c->notes, "cds-term-not-recognised", "incomplete",
                 "Code it with a code the service knows or name it as the ruleset does.",
                 "The order's %s is not one the ruleset knows", key);
}

/* The patient id a reference names ("Patient/p1", or an absolute URL
 * ending in it), or NULL when it names no Patient. */
static const char *cds_ref_patient(const json_t *ref)
{
    const char *r = cds_str(ref, "reference");
    if (!r)
        return NULL;
    const char *p = NULL;
    for (const char *q = r; (q = strstr(q, "Patient/")); q += 8)
        p = q + 8;
    return p;
}

/* Whether a resource belongs to a patient other than pid: a Patient with
 * another id, or a subject/patient reference to another one.  Data of the
 * wrong patient must never be assessed as this one's. */
static const char *cds_other_patient(const json_t *res, const char *pid)
{
    if (cds_is(res, "Patient")) {
        const char *id = cds_str(res, "id");
        return id && strcmp(id, pid) ? id : NULL;
    }
    static const char *const keys[] = {"subject", "patient"};
    for (size_t k = 0; k < 2; k++) {
        const char *id = cds_ref_patient(json_object_get(res, keys[k]));
        if (id && strcmp(id, pid))
            return id;
    }
    return NULL;
}

/* Whether a CodeableConcept (ServiceRequest.code, Appointment.serviceType)
 * means micro-needling: a coding of the map's order rows or of
 * cds_order_code, or text or a display saying so. */
static bool cds_code_is_microneedling(const struct cds_fhir_opts *o, const json_t *code)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(code, "coding"), i, c)
        if (proto_termmap_lookup(o->terms, PROTO_TERM_KIND_ORDER, cds_str(c, "system"), cds_str(c, "code")))
            return true;
    return cds_cc_in_list(code, o->order_codes, o->n_order_codes) ||
           cds_cc_mentions(code, "microneedling") || cds_cc_mentions(code, "micro-needling") ||
           cds_cc_mentions(code, "collagen induction");
}

static bool cds_status_in(const json_t *r, const char *const *list)
{
    const char *st = cds_str(r, "status");
    for (; st && *list; list++)
        if (!strcmp(st, *list))
            return true;
    return false;
}

static enum cds_fhir_status cds_draft_orders(const json_t *ctx, bool select,
                                             const struct cds_fhir_opts *o, json_t *orders,
                                             char *err, size_t errlen)
{
    json_t *drafts = json_object_get(ctx, "draftOrders");
    if (!cds_is(drafts, "Bundle")) {
        snprintf(err, errlen, "context.draftOrders must be a FHIR Bundle");
        return CDS_FHIR_BAD_REQUEST;
    }
    json_t *sel = json_object_get(ctx, "selections");
    if (select && !json_is_array(sel)) {
        snprintf(err, errlen, "order-select needs context.selections");
        return CDS_FHIR_BAD_REQUEST;
    }
    static const char *const dropped[] = {"entered-in-error", "revoked", NULL};
    size_t i, j;
    json_t *e, *s;
    json_array_foreach(json_object_get(drafts, "entry"), i, e) {
        json_t *r = json_object_get(e, "resource");
        if (!cds_is(r, "ServiceRequest") || cds_status_in(r, dropped))
            continue;
        if (select) {
            const char *id = cds_str(r, "id");
            bool chosen = false;
            char ref[300];
            snprintf(ref, sizeof ref, "ServiceRequest/%.200s", id ? id : "");
            json_array_foreach(sel, j, s) {
                const char *v = json_string_value(s);
                chosen |= id && v && !strcmp(v, ref);
            }
            if (!chosen)
                continue;
        }
        if (cds_code_is_microneedling(o, json_object_get(r, "code")))
            json_array_append(orders, r);
    }
    return CDS_FHIR_OK;
}

/* patient-view: the micro-needling orders still to be done, from the
 * prefetch "orders".  Without it the service cannot tell whether there is
 * one, so it is unsatisfied (412), never "no card". */
static enum cds_fhir_status cds_pending_orders(const json_t *request, const struct cds_fhir_opts *o,
                                               json_t *orders, char *err, size_t errlen)
{
    json_t *list;
    enum cds_fhir_status st = cds_prefetch(request, "orders", &list, err, errlen);
    static const char *const pending[] = {"draft", "active", NULL};
    size_t i;
    json_t *r;
    if (st == CDS_FHIR_OK)
        json_array_foreach(list, i, r)
            if (cds_is(r, "ServiceRequest") && cds_status_in(r, pending) &&
                cds_code_is_microneedling(o, json_object_get(r, "code")))
                json_array_append(orders, r);
    json_decref(list);
    return st;
}

/* The ServiceRequest of pending (the prefetch "orders") that one of the
 * appointment's basedOn references names, or NULL. */
static const json_t *cds_based_on(const json_t *appt, const json_t *pending)
{
    size_t i, j;
    json_t *ref, *r;
    json_array_foreach(json_object_get(appt, "basedOn"), i, ref) {
        const char *s = cds_str(ref, "reference");
        const char *id = s ? strstr(s, "ServiceRequest/") : NULL;
        if (!id)
            continue;
        id += strlen("ServiceRequest/");
        json_array_foreach(pending, j, r) {
            const char *rid = cds_str(r, "id");
            if (cds_is(r, "ServiceRequest") && rid && !strcmp(rid, id) &&
                strcmp(cds_str(r, "status") ? cds_str(r, "status") : "", "entered-in-error"))
                return r;
        }
    }
    return NULL;
}

/* An appointment as the order cds_fhir_patient reads (a new reference). */
static json_t *cds_appointment_order(const json_t *appt, const json_t *service,
                                     const json_t *pending, const char *pid)
{
    json_t *sr = json_pack("{s:s,s:s,s:s,s:O}", "resourceType", "ServiceRequest", "status",
                           "draft", "intent", "order", "code", service);
    if (!sr)
        return NULL;
    const json_t *based = cds_based_on(appt, pending);
    json_t *v;
    if ((v = json_object_get(appt, "id")) && json_is_string(v))
        json_object_set(sr, "id", v);
    if ((v = json_object_get(appt, "start")) && json_is_string(v))
        json_object_set(sr, "occurrenceDateTime", v);
    if ((v = json_object_get(appt, "reasonCode")) && json_array_size(v))
        json_object_set(sr, "reasonCode", v);
    else if (based && (v = json_object_get(based, "reasonCode")))
        json_object_set(sr, "reasonCode", v);
    if (based && (v = json_object_get(based, "bodySite")))
        json_object_set(sr, "bodySite", v);
    /* The patient: another one than context.patientId among the
     * participants or on the order wins, so cds_fhir_patient refuses it. */
    const char *who = based && pid ? cds_other_patient(based, pid) : NULL;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(appt, "participant"), i, p) {
        const char *id = cds_ref_patient(json_object_get(p, "actor"));
        if (id && (!who || (pid && strcmp(id, pid))))
            who = id;
    }
    if (who) {
        char ref[300];
        snprintf(ref, sizeof ref, "Patient/%.200s", who);
        json_object_set_new(sr, "subject", json_pack("{s:s}", "reference", ref));
    }
    return sr;
}

/* appointment-book: the appointments being booked whose serviceType means
 * micro-needling, each as an order. */
static enum cds_fhir_status cds_appointments(const json_t *request, const json_t *ctx,
                                             const struct cds_fhir_opts *o, json_t *orders,
                                             char *err, size_t errlen)
{
    json_t *appts = json_object_get(ctx, "appointments");
    if (!cds_is(appts, "Bundle")) {
        snprintf(err, errlen, "context.appointments must be a FHIR Bundle");
        return CDS_FHIR_BAD_REQUEST;
    }
    /* The orders are optional here: without the one an appointment is
     * based on its area is missing, which suitd reads as incomplete. */
    json_t *pending;
    char ignored[256];
    if (cds_prefetch(request, "orders", &pending, ignored, sizeof ignored) != CDS_FHIR_OK)
        json_array_clear(pending);
    const char *pid = cds_str(ctx, "patientId");
    static const char *const dropped[] = {"cancelled", "noshow", "entered-in-error", "fulfilled",
                                          NULL};
    size_t i, j;
    json_t *e, *svc;
    json_array_foreach(json_object_get(appts, "entry"), i, e) {
        json_t *r = json_object_get(e, "resource");
        if (!cds_is(r, "Appointment") || cds_status_in(r, dropped))
            continue;
        json_array_foreach(json_object_get(r, "serviceType"), j, svc) {
            if (!cds_code_is_microneedling(o, svc))
                continue;
            json_t *sr = cds_appointment_order(r, svc, pending, pid);
            if (sr)
                json_array_append_new(orders, sr);
            break;
        }
    }
    json_decref(pending);
    return CDS_FHIR_OK;
}

static void cds_hook_list(unsigned hooks, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int h = 0; h < CDS_HOOK_COUNT; h++)
        if (hooks & CDS_HOOK_BIT(h) && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", cds_hook_names[h]);
}

enum cds_fhir_status cds_fhir_orders(const json_t *request, const struct cds_fhir_opts *o,
                                     json_t **orders, char *err, size_t errlen)
{
    *orders = json_array();
    const char *hook = cds_str(request, "hook");
    json_t *ctx = json_object_get(request, "context");
    if (!hook || !json_is_object(ctx)) {
        snprintf(err, errlen, "a CDS Hooks request needs hook and context");
        return CDS_FHIR_BAD_REQUEST;
    }
    unsigned offered = o->hooks ? o->hooks : CDS_HOOKS_DEFAULT;
    int h = cds_hook_find(hook);
    if (h < 0 || !(offered & CDS_HOOK_BIT(h))) {
        char list[128];
        cds_hook_list(offered, list, sizeof list);
        snprintf(err, errlen, "hook '%.60s' is not one this service is offered on (%s)%s", hook,
                 list, h < 0 ? "" : "; the gateway's cds_hooks setting lists the hooks offered");
        return CDS_FHIR_BAD_REQUEST;
    }
    switch ((enum cds_hook)h) {
    case CDS_HOOK_PATIENT_VIEW:
        return cds_pending_orders(request, o, *orders, err, errlen);
    case CDS_HOOK_APPOINTMENT_BOOK:
        return cds_appointments(request, ctx, o, *orders, err, errlen);
    case CDS_HOOK_ORDER_SELECT:
    case CDS_HOOK_ORDER_SIGN:
    case CDS_HOOK_COUNT:
        break;
    }
    return cds_draft_orders(ctx, h == CDS_HOOK_ORDER_SELECT, o, *orders, err, errlen);
}

/* The treatment day: the order's occurrence, never before today. */
static struct cds_date cds_treatment_date(const json_t *order, struct cds_date today)
{
    const char *s = cds_str(order, "occurrenceDateTime");
    if (!s)
        s = cds_str(json_object_get(order, "occurrencePeriod"), "start");
    struct cds_date first, last;
    if (!cds_date_parse(s, &first, &last) && cds_days(first) > cds_days(today))
        return first;
    return today;
}

static bool cds_prefetch_mixed(const json_t *request, char *err, size_t errlen)
{
    const char *pid = cds_str(json_object_get(request, "context"), "patientId");
    if (!pid)
        return false;
    json_t *pf = json_object_get(request, "prefetch");
    for (const char *const *k = cds_fhir_prefetch_keys; *k; k++) {
        json_t *v = json_object_get(pf, *k);
        const char *other = NULL;
        if (cds_is(v, "Bundle")) {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(v, "entry"), i, e)
                if (!other)
                    other = cds_other_patient(json_object_get(e, "resource"), pid);
        } else if (json_is_object(v)) {
            other = cds_other_patient(v, pid);
        }
        if (other) {
            snprintf(err, errlen, "prefetch '%s' holds a resource of another patient "
                     "(Patient/%.60s, not context.patientId)", *k, other);
            return true;
        }
    }
    return false;
}

enum cds_fhir_status cds_fhir_patient(const json_t *request, const json_t *order,
                                      const struct cds_fhir_opts *o, json_t **patient,
                                      json_t **notes, struct cds_date *date, char *err,
                                      size_t errlen)
{
    *patient = NULL;
    *notes = NULL;
    if (!json_is_object(json_object_get(request, "prefetch"))) {
        snprintf(err, errlen, "no prefetch was sent: the service needs its conditions, "
                              "medications, procedures and allergies");
        return CDS_FHIR_UNSATISFIED;
    }
    if (cds_prefetch_mixed(request, err, errlen))
        return CDS_FHIR_BAD_REQUEST;
    const char *pid = cds_str(json_object_get(request, "context"), "patientId");
    const char *other = pid ? cds_other_patient(order, pid) : NULL;
    if (other) {
        snprintf(err, errlen, "the order is for another patient (Patient/%.60s, not "
                 "context.patientId)", other);
        return CDS_FHIR_BAD_REQUEST;
    }
    json_t *lists[5] = {NULL};
    enum cds_fhir_status st = CDS_FHIR_OK;
    for (size_t k = 0; cds_fhir_required[k]; k++) {
        st = cds_prefetch(request, cds_fhir_required[k], &lists[k], err, errlen);
        if (st != CDS_FHIR_OK)
            break;
    }
    if (st != CDS_FHIR_OK) {
        for (size_t k = 0; k < 5; k++)
            json_decref(lists[k]);
        return st;
    }
    *date = cds_treatment_date(order, o->today);
    struct cds_ctx c = {.o = o, .treat = cds_days(*date), .notes = json_array()};
    json_t *p = json_object();
    cds_age(&c, request, *date, p);
    cds_status_obs(&c, request, "pregnancy", CDS_LOINC_PREGNANCY, PROTO_TERM_KIND_PREGNANCY, p);
    cds_status_obs(&c, request, "breastfeeding", CDS_LOINC_BREASTFEEDING, PROTO_TERM_KIND_BREASTFEEDING, p);
    /* suitd's key names */
    json_t *v;
    if ((v = json_object_get(p, "pregnancy"))) {
        json_object_set(p, "pregnant", v);
        json_object_del(p, "pregnancy");
    }
    cds_fitzpatrick(&c, request, p);
    cds_order_term(&c, order, "bodySite", PROTO_TERM_KIND_AREA, "area", p);
    cds_order_term(&c, order, "reasonCode", PROTO_TERM_KIND_INDICATION, "indication", p);
    json_t *conds = json_array(), *meds = json_array(), *procs = json_array(),
           *alls = json_array();
    cds_conditions(&c, lists[0], conds);
    cds_medstatements(&c, lists[1], meds);
    cds_medrequests(&c, lists[2], meds);
    cds_procedures(&c, lists[3], procs);
    cds_allergies(&c, lists[4], alls);
    struct {
        const char *key;
        json_t *list;
    } out[] = {{"conditions", conds}, {"medications", meds}, {"procedures", procs},
               {"allergies", alls}};
    for (size_t k = 0; k < sizeof out / sizeof out[0]; k++) {
        if (json_array_size(out[k].list) > SUIT_MAX_ITEMS && st == CDS_FHIR_OK) {
            snprintf(err, errlen, "%zu distinct %s: more than the %d one assessment takes",
                     json_array_size(out[k].list), out[k].key, SUIT_MAX_ITEMS);
            st = CDS_FHIR_TOO_MANY;
        }
        if (json_array_size(out[k].list))
            json_object_set(p, out[k].key, out[k].list);
        json_decref(out[k].list);
    }
    json_object_set_new(p, "setting", json_string("clinic"));
    for (size_t k = 0; k < 5; k++)
        json_decref(lists[k]);
    if (st != CDS_FHIR_OK) {
        json_decref(p);
        json_decref(c.notes);
        return st;
    }
    *patient = p;
    *notes = c.notes;
    return CDS_FHIR_OK;
}
