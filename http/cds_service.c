/*
 * cds_service.c: see cds_service.h.
 */
#include "cds_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cds_card.h"
#include "cds_fhir.h"
#include "httpd_metrics.h"
#include "httpd_request.h"
#include "httpd_routes.h"
#include "httpd_server.h"
#include "suit_types.h"

#define CDS_FEEDBACK_SUFFIX "/feedback"
/* Feedback entries taken in one call: the sandbox sends one. */
#define CDS_MAX_FEEDBACK 64

/* ---- start and stop --------------------------------------------------- */

int cds_service_init(struct cds_service *s, const struct httpd_config *cfg, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->hooks = cds_service_hooks(cfg);
    proto_termmap_init(&s->terms);
    if (proto_termmap_load(&s->terms, cfg->cds_terminology, err, errlen))
        return -1;
    if (cfg->cds_terminology_site &&
        proto_termmap_load(&s->terms, cfg->cds_terminology_site, err, errlen))
        return -1;
    if (cds_jwt_init(&s->jwt, (const char *const *)cfg->cds_jwks, cfg->n_cds_jwks,
                     (const char *const *)cfg->cds_algorithms, cfg->n_cds_algorithms,
                     cfg->cds_clock_skew_s, cfg->cds_jti_cache, err, errlen))
        return -1;
    s->jwt_ready = true;
    s->override_reasons = json_array();
    for (size_t i = 0; i < cfg->n_cds_override_reasons; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", cfg->cds_override_reasons[i]);
        char *a = strchr(buf, '|'), *b = a ? strchr(a + 1, '|') : NULL;
        if (!b)
            continue;   /* refused by the config check */
        *a = *b = '\0';
        json_t *c = json_pack("{s:s,s:s,s:s}", "system", buf, "code", a + 1, "display", b + 1);
        if (!c) {
            snprintf(err, errlen, "cds_override_reason: not UTF-8: %.200s", buf);
            return -1;
        }
        json_array_append_new(s->override_reasons, c);
    }
    return 0;
}

void cds_service_close(struct cds_service *s)
{
    proto_termmap_close(&s->terms);
    if (s->jwt_ready)
        cds_jwt_close(&s->jwt);
    json_decref(s->override_reasons);
    memset(s, 0, sizeof *s);
}

/* ---- discovery -------------------------------------------------------- */

#define CDS_PATIENT "{{context.patientId}}"

unsigned cds_service_hooks(const struct httpd_config *cfg)
{
    unsigned hooks = 0;
    for (size_t i = 0; i < cfg->n_cds_hooks; i++) {
        int h = cds_hook_find(cfg->cds_hooks[i]);
        if (h >= 0)     /* the config check refused any other */
            hooks |= CDS_HOOK_BIT(h);
    }
    return hooks ? hooks : CDS_HOOKS_DEFAULT;
}

json_t *cds_service_discovery(const struct httpd_config *cfg)
{
    char fitz[2048];
    if (cfg->n_cds_fitzpatrick_codes) {
        int n = snprintf(fitz, sizeof fitz, "Observation?patient=" CDS_PATIENT "&code=");
        for (size_t i = 0; i < cfg->n_cds_fitzpatrick_codes && n < (int)sizeof fitz; i++)
            n += snprintf(fitz + n, sizeof fitz - n, "%s%s", i ? "," : "",
                          cfg->cds_fitzpatrick_codes[i]);
        if (n < (int)sizeof fitz)
            snprintf(fitz + n, sizeof fitz - n, "&_sort=-date&_count=1");
    } else {
        /* the verified NCIt values (rules/terminology.tsv), as a token
         * search with OR'ed values: within the spec's recommended subset */
        snprintf(fitz, sizeof fitz,
                 "Observation?patient=" CDS_PATIENT "&value-concept="
                 "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl|C74569,"
                 "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl|C74570,"
                 "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl|C74571,"
                 "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl|C74572,"
                 "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl|C74573,"
                 "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl|C74574&_sort=-date&_count=1");
    }
    json_t *prefetch = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "patient", "Patient/" CDS_PATIENT, "conditions",
        "Condition?patient=" CDS_PATIENT, "medstatements", "MedicationStatement?patient=" CDS_PATIENT,
        "medrequests", "MedicationRequest?patient=" CDS_PATIENT, "procedures",
        "Procedure?patient=" CDS_PATIENT, "allergies", "AllergyIntolerance?patient=" CDS_PATIENT,
        "pregnancy",
        "Observation?patient=" CDS_PATIENT "&code=http://loinc.org|82810-3&_sort=-date&_count=1",
        "breastfeeding",
        "Observation?patient=" CDS_PATIENT "&code=http://loinc.org|63895-7&_sort=-date&_count=1",
        "fitzpatrick", fitz);
    /* patient-view and appointment-book also need the chart's pending
     * orders: the one to assess, or the one an appointment is based on */
    json_t *with_orders = json_copy(prefetch);
    json_object_set_new(with_orders, "orders",
                        json_string("ServiceRequest?patient=" CDS_PATIENT "&status=draft,active"));
    static const char desc[] =
        "Checks a micro-needling order against suitd's ruleset: contraindications, waiting "
        "periods after medications and procedures, referrals, precautions, the serious side "
        "effects that apply and the course plan. Missing data is never read as none: an "
        "unsatisfied conditions, medications, procedures or allergies prefetch is answered "
        "with 412.";
    static const char order_usage[] =
        "Needs the prefetch listed (conditions, medications, procedures and allergies at "
        "least). An order is micro-needling when its code is one configured, or its text or a "
        "display says microneedling, micro-needling or collagen induction; bodySite gives the "
        "area and reasonCode the indication.";
    static const char appt_usage[] =
        "Needs the prefetch listed (conditions, medications, procedures and allergies at "
        "least). An appointment is micro-needling when a serviceType is a configured order "
        "code, or its text or a display says microneedling, micro-needling or collagen "
        "induction; start gives the treatment date, reasonCode the indication, and the "
        "bodySite of the order its basedOn names (from the orders prefetch) the area.";
    static const char view_usage[] =
        "Needs the prefetch listed (orders, and conditions, medications, procedures and "
        "allergies at least). Answers a card only when the chart has a draft or active "
        "micro-needling ServiceRequest; none: no card.";
    static const char *const usage[CDS_HOOK_COUNT] = {
        [CDS_HOOK_ORDER_SELECT] = order_usage, [CDS_HOOK_ORDER_SIGN] = order_usage,
        [CDS_HOOK_APPOINTMENT_BOOK] = appt_usage, [CDS_HOOK_PATIENT_VIEW] = view_usage};
    unsigned hooks = cds_service_hooks(cfg);
    json_t *services = json_array();
    for (int h = 0; h < CDS_HOOK_COUNT; h++) {
        if (!(hooks & CDS_HOOK_BIT(h)))
            continue;
        bool orders = h == CDS_HOOK_APPOINTMENT_BOOK || h == CDS_HOOK_PATIENT_VIEW;
        json_array_append_new(
            services, json_pack("{s:s,s:s,s:s,s:s,s:O,s:s}", "hook", cds_hook_names[h], "title",
                                "Micro-needling suitability", "description", desc, "id",
                                CDS_SERVICE_ID, "prefetch", orders ? with_orders : prefetch,
                                "usageRequirements", usage[h]));
    }
    json_decref(prefetch);
    json_decref(with_orders);
    return json_pack("{s:o}", "services", services);
}

void cds_discovery_handler(const struct httpd_request *rq, struct httpd_reply *out)
{
    json_t *d = rq->srv->cds_ready ? cds_service_discovery(rq->srv->cfg)
                                   : json_pack("{s:[]}", "services");
    httpd_reply_json(out, 200, d);
    json_decref(d);
}

/* ---- helpers --------------------------------------------------------------- */

static void cds_uuid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* getrandom on Linux >= 3.17 does not fail for 16 bytes once the
         * pool is ready; should it, the card still gets a distinct id */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(b, &ts, sizeof ts < sizeof b ? sizeof ts : sizeof b);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* A client-given id, code, URI or time as it may appear in a log line:
 * letters, digits and : / . _ + - only (so nothing a person typed, and
 * nothing that could forge a line), else "(not an id)". */
static const char *cds_log_id(const char *s)
{
    if (!s || !*s || strlen(s) > 100)
        return "(not an id)";
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(":/._+-", *p)))
            return "(not an id)";
    return s;
}

static void cds_refuse(struct httpd_reply *out, unsigned status, int code, const char *msg)
{
    httpd_reply_errorf(out, status, code, "%s", msg);
}

static struct cds_date cds_today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return (struct cds_date){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

/* The JWT check for the endpoint at path.  Returns true when the call may
 * go on; else out holds the 401. */
static bool cds_authorised(const struct httpd_request *rq, struct httpd_reply *out, char *iss,
                           size_t isslen)
{
    struct httpd_server *srv = rq->srv;
    char why[512], aud[1024];
    enum cds_jwt_reason r;
    if (!srv->cfg->public_url) {
        r = CDS_JWT_AUDIENCE;
        snprintf(why, sizeof why, "the gateway has no public_url, so no token can name it as "
                                  "its aud (the operator must set public_url)");
    } else {
        snprintf(aud, sizeof aud, "%s%s", srv->cfg->public_url, rq->path);
        r = cds_jwt_verify(&srv->cds.jwt, httpd_request_header(rq, "Authorization"), aud,
                           (int64_t)time(NULL), why, sizeof why, iss, isslen);
    }
    if (r == CDS_JWT_OK)
        return true;
    httpd_metrics_cds_refusal(&srv->metrics, r);
    /* the reason's name only: the message may quote the token's own
     * claims, which are the caller's text */
    httpd_info(srv->log, "cds: refused %s: %s", rq->path, cds_jwt_reason_name(r));
    char msg[700];
    snprintf(msg, sizeof msg, "not permitted: %s", why);
    httpd_reply_errorf(out, 401, PROTO_E_NOT_PERMITTED, "%s", msg);
    httpd_reply_header(out, "WWW-Authenticate", "Bearer realm=\"suit-httpd\", error=\"invalid_token\"");
    return false;
}

static json_t *cds_body(const struct httpd_request *rq, struct httpd_reply *out)
{
    json_error_t je;
    json_t *j = rq->body ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(j)) {
        char msg[300];
        snprintf(msg, sizeof msg, "the body must be a JSON object%s%s", j || !rq->body ? "" : ": ",
                 j || !rq->body ? "" : je.text);
        cds_refuse(out, 400, PROTO_E_INVALID_REQUEST, msg);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- feedback ------------------------------------------------------------- */

static void cds_feedback(const struct httpd_request *rq, const json_t *body, const char *iss,
                         struct httpd_reply *out)
{
    json_t *fb = json_object_get(body, "feedback");
    if (!json_is_array(fb) || !json_array_size(fb) || json_array_size(fb) > CDS_MAX_FEEDBACK) {
        cds_refuse(out, 400, PROTO_E_INVALID_PARAMS,
                   "feedback: expected an array of 1 to 64 entries");
        return;
    }
    size_t i;
    json_t *f;
    json_array_foreach(fb, i, f) {
        const char *card = json_string_value(json_object_get(f, "card"));
        const char *outcome = json_string_value(json_object_get(f, "outcome"));
        const char *ts = json_string_value(json_object_get(f, "outcomeTimestamp"));
        char msg[200];
        const char *bad = NULL;
        if (!card || !*card)
            bad = "card (the card's uuid) is required";
        else if (!outcome || (strcmp(outcome, "accepted") && strcmp(outcome, "overridden")))
            bad = "outcome must be accepted or overridden";
        else if (!ts)
            bad = "outcomeTimestamp is required";
        else if (!strcmp(outcome, "accepted") &&
                 !json_is_array(json_object_get(f, "acceptedSuggestions")))
            bad = "an accepted outcome needs acceptedSuggestions";
        else if (json_object_get(f, "overrideReason") &&
                 !json_is_object(json_object_get(f, "overrideReason")))
            bad = "overrideReason must be an object";
        struct cds_date a, b;
        if (!bad && cds_date_parse(ts, &a, &b))
            bad = "outcomeTimestamp must be an RFC 3339 time";
        if (bad) {
            snprintf(msg, sizeof msg, "feedback[%zu]: %s", i, bad);
            cds_refuse(out, 400, PROTO_E_INVALID_PARAMS, msg);
            return;
        }
    }
    /* Valid: one line per entry.  The comment a user typed may hold
     * anything, so it is never logged; the reason is a code. */
    json_array_foreach(fb, i, f) {
        json_t *reason = json_object_get(json_object_get(f, "overrideReason"), "reason");
        const char *rs = json_string_value(json_object_get(reason, "system"));
        const char *rc = json_string_value(json_object_get(reason, "code"));
        httpd_info(rq->srv->log, "cds feedback: card=%s outcome=%s reason=%s|%s at=%s iss=%.200s",
                   cds_log_id(json_string_value(json_object_get(f, "card"))),
                   json_string_value(json_object_get(f, "outcome")),
                   rs ? cds_log_id(rs) : "-", rc ? cds_log_id(rc) : "-",
                   cds_log_id(json_string_value(json_object_get(f, "outcomeTimestamp"))), iss);
    }
    json_t *ok = json_object();
    httpd_reply_json(out, 200, ok);
    json_decref(ok);
}

/* ---- the service ----------------------------------------------------------- */

static void cds_pack_raw(msgpack_packer *pk, void *arg)
{
    const msgpack_sbuffer *sb = arg;
    pk->callback(pk->data, sb->data, sb->size);
}

/* The log line of a card: what the decision log of suitd records, plus
 * the card and the hook instance; no patient fact. */
static void cds_log_card(const struct httpd_request *rq, const char *uuid, const char *hook,
                         const char *instance, const json_t *result, const json_t *notes)
{
    char ids[1024] = "";
    const json_t *lists[2] = {json_object_get(result, "findings"), notes};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *f;
        json_array_foreach(lists[l], i, f) {
            size_t n = strlen(ids);
            snprintf(ids + n, sizeof ids - n, "%s%s", n ? "," : "",
                     cds_log_id(json_string_value(json_object_get(f, "id"))));
        }
    }
    const char *sha = json_string_value(json_object_get(json_object_get(result, "ruleset"), "sha256"));
    httpd_info(rq->srv->log,
               "cds card: uuid=%s hook=%s hookInstance=%s ruleset=%s verdict=%s findings=%s", uuid,
               hook, cds_log_id(instance), sha ? cds_log_id(sha) : "-",
               result ? cds_log_id(json_string_value(json_object_get(result, "verdict")))
                      : "not-assessed",
               ids[0] ? ids : "-");
}

/* 412: a prefetch the service cannot do without was not satisfied. */
static void cds_unsatisfied(const struct httpd_request *rq, struct httpd_reply *out,
                            const char *why)
{
    httpd_metrics_cds_unsatisfied(&rq->srv->metrics);
    char msg[700];
    snprintf(msg, sizeof msg, "precondition failed: %s; the service never reads missing data "
                              "as none", why);
    cds_refuse(out, 412, PROTO_E_INVALID_PARAMS, msg);
}

/* The request_id sent to suitd with a card's assessment, so that suitd's
 * own decision log record names the card and the EHR's call:
 * "cds:HOOK:CARD-UUID:HOOK-INSTANCE", or without ":HOOK-INSTANCE" when
 * the client's hookInstance is not 1 to what is left of
 * SUIT_MAX_REQUEST_ID of suit_request_id_valid's characters (a UUID
 * always is; anything else never reaches a log).  hook is one of
 * cds_hook_names, so what is built is always a valid id. */
static void cds_request_id(char out[SUIT_MAX_REQUEST_ID + 1], const char *hook,
                           const char *uuid, const char *instance)
{
    int n = snprintf(out, SUIT_MAX_REQUEST_ID + 1, "cds:%s:%s", hook, uuid);
    size_t len = instance ? strlen(instance) : 0;
    if (n > 0 && (size_t)n + 1 + len <= SUIT_MAX_REQUEST_ID && suit_request_id_valid(instance, len))
        snprintf(out + n, SUIT_MAX_REQUEST_ID + 1 - (size_t)n, ":%s", instance);
}

/* One order: its card (a new reference), or NULL with out holding the
 * answer for the whole call (412, or suitd unavailable). */
static json_t *cds_order_card(const struct httpd_request *rq, const json_t *body,
                              const json_t *order, const struct cds_fhir_opts *o,
                              struct httpd_reply *out)
{
    struct cds_service *svc = &rq->srv->cds;
    const char *hook = json_string_value(json_object_get(body, "hook"));
    const char *instance = json_string_value(json_object_get(body, "hookInstance"));
    json_t *patient = NULL, *notes = NULL;
    struct cds_date date;
    char err[512], uuid[37];
    cds_uuid(uuid);
    enum cds_fhir_status st = cds_fhir_patient(body, order, o, &patient, &notes, &date, err,
                                               sizeof err);
    struct cds_card_opts co = {.uuid = uuid, .date = date, .override_reasons = svc->override_reasons};
    if (st == CDS_FHIR_UNSATISFIED) {
        cds_unsatisfied(rq, out, err);
        return NULL;
    }
    if (st == CDS_FHIR_BAD_REQUEST) {
        cds_refuse(out, 400, PROTO_E_INVALID_PARAMS, err);
        return NULL;
    }
    if (st == CDS_FHIR_TOO_MANY) {
        co.date = o->today;
        json_t *card = cds_card_not_assessed(err, &co);
        cds_log_card(rq, uuid, hook, instance, NULL, NULL);
        return card;
    }
    char rid[SUIT_MAX_REQUEST_ID + 1];
    cds_request_id(rid, hook, uuid, instance);
    json_t *wrap = json_pack("{s:O,s:{s:s}}", "patient", patient, "options", "request_id", rid);
    char *text = json_dumps(wrap, JSON_COMPACT);
    json_decref(wrap);
    json_decref(patient);
    msgpack_sbuffer params;
    msgpack_sbuffer_init(&params);
    struct proto_error e;
    proto_error_init(&e);
    json_t *card = NULL;
    if (!text || httpd_assess_params(text, strlen(text), -1, &params, &e)) {
        snprintf(err, sizeof err, "the record could not be turned into an assessment: %.300s",
                 text ? e.message : "out of memory");
        card = cds_card_not_assessed(err, &co);
        cds_log_card(rq, uuid, hook, instance, NULL, notes);
    } else {
        struct httpd_reply failed;
        httpd_reply_init(&failed);
        json_t *result = httpd_call(rq, "assess", cds_pack_raw, &params, &failed);
        if (!result && failed.status != 400) {
            /* suitd away or overloaded: the whole call fails as the API's
             * would (503/504), so the EHR shows no stale card */
            httpd_reply_close(out);
            *out = failed;
        } else if (!result) {
            card = cds_card_not_assessed("suitd refused the facts read from the record", &co);
            cds_log_card(rq, uuid, hook, instance, NULL, notes);
            httpd_reply_close(&failed);
        } else {
            card = cds_card(result, notes, &co);
            cds_log_card(rq, uuid, hook, instance, result, notes);
            httpd_reply_close(&failed);
        }
        json_decref(result);
    }
    proto_error_close(&e);
    msgpack_sbuffer_destroy(&params);
    free(text);
    json_decref(notes);
    if (card)
        httpd_metrics_cds_card(&rq->srv->metrics,
                               json_string_value(json_object_get(card, "indicator")));
    else if (!out->status)
        httpd_reply_errorf(out, 500, PROTO_E_INTERNAL, "the card could not be made");
    return card;
}

static void cds_service_call(const struct httpd_request *rq, const json_t *body,
                             struct httpd_reply *out)
{
    struct cds_service *svc = &rq->srv->cds;
    const char *hook = json_string_value(json_object_get(body, "hook"));
    const char *instance = json_string_value(json_object_get(body, "hookInstance"));
    if (!hook || !instance || !*instance || !json_is_object(json_object_get(body, "context"))) {
        cds_refuse(out, 400, PROTO_E_INVALID_PARAMS,
                   "a CDS Hooks request needs hook, hookInstance and context");
        return;
    }
    json_t *ruleset = httpd_call(rq, "ruleset", NULL, NULL, out);
    if (!ruleset)
        return;
    struct cds_fhir_opts o = {
        .today = cds_today(),
        .terms = &svc->terms,
        .ruleset = ruleset,
        .order_codes = (const char *const *)svc->cfg->cds_order_codes,
        .n_order_codes = svc->cfg->n_cds_order_codes,
        .fitzpatrick_codes = (const char *const *)svc->cfg->cds_fitzpatrick_codes,
        .n_fitzpatrick_codes = svc->cfg->n_cds_fitzpatrick_codes,
        .max_status_age_days = svc->cfg->cds_status_max_age_days,
        .hooks = svc->hooks,
    };
    json_t *orders = NULL;
    char err[512];
    enum cds_fhir_status st = cds_fhir_orders(body, &o, &orders, err, sizeof err);
    json_t *cards = json_array();
    if (st == CDS_FHIR_UNSATISFIED) {
        cds_unsatisfied(rq, out, err);
    } else if (st != CDS_FHIR_OK) {
        cds_refuse(out, 400, PROTO_E_INVALID_PARAMS, err);
    } else {
        size_t i;
        json_t *order;
        json_array_foreach(orders, i, order) {
            json_t *card = cds_order_card(rq, body, order, &o, out);
            if (!card)
                break;
            json_array_append_new(cards, card);
        }
        if (!out->status) {
            json_t *resp = json_pack("{s:O}", "cards", cards);
            httpd_reply_json(out, 200, resp);
            json_decref(resp);
        }
    }
    json_decref(cards);
    json_decref(orders);
    json_decref(ruleset);
}

void cds_call_handler(const struct httpd_request *rq, struct httpd_reply *out)
{
#define CDS_BASE "/cds-services/" CDS_SERVICE_ID
    bool feedback = !strcmp(rq->path, CDS_BASE CDS_FEEDBACK_SUFFIX);
    if (!feedback && strcmp(rq->path, CDS_BASE)) {
        httpd_reply_errorf(out, 404, PROTO_E_METHOD_NOT_FOUND,
                           "no such CDS service: %.200s (this gateway serves " CDS_SERVICE_ID ")",
                           rq->path);
        return;
    }
    if (!rq->srv->cds_ready) {
        httpd_reply_errorf(out, 503, PROTO_E_INTERNAL,
                           "the CDS Hooks service is off: the gateway could not read its "
                           "terminology map (see its log)");
        return;
    }
    char iss[CDS_JWT_MAX_CLAIM + 1] = "";
    if (!cds_authorised(rq, out, iss, sizeof iss))
        return;
    json_t *body = cds_body(rq, out);
    if (!body)
        return;
    if (feedback)
        cds_feedback(rq, body, iss, out);
    else
        cds_service_call(rq, body, out);
    json_decref(body);
}
