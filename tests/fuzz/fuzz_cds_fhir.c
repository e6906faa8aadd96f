/*
 * libFuzzer harness: the CDS Hooks FHIR mapper (http/cds_fhir.c), from the
 * bytes of a request body to the suitd patient, with the shipped
 * terminology map and a fixed ruleset and today.  The first input byte
 * shifts "today" by up to 255 days (partial dates, month ends, leap
 * days); the rest is the JSON body.
 *
 * Checked: the mapper never crashes or leaks on any JSON; every patient
 * it returns is one the gateway's request path accepts, with every term
 * 1..128 bytes of UTF-8 and no control character, every list at most 64
 * entries, every number within suitd's bounds -- so what reaches suitd is
 * never refused for its shape, and nothing is silently dropped for it.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cds_fhir.h"
#include "proto_termmap.h"
#include "httpd_request.h"
#include "proto_term.h"
#include "suit_types.h"

static const char ruleset_text[] =
    "{\"policy\":{\"min-age\":18,\"fda-min-age\":22,\"trial-max-age\":60},"
    "\"terms\":{\"areas\":[{\"name\":\"face\",\"label\":\"Face (full)\",\"synonyms\":[]}],"
    "\"indications\":[{\"name\":\"acne-scars\",\"label\":\"Acne scars\",\"synonyms\":[]}],"
    "\"conditions\":[{\"name\":\"sunburn\",\"label\":\"Sunburn\",\"takes_days\":true,\"synonyms\":[\"suntan\"]},"
    "{\"name\":\"keloid-history\",\"label\":\"Keloid\",\"takes_days\":false,\"synonyms\":[]}],"
    "\"medications\":[{\"name\":\"isotretinoin\",\"label\":\"Isotretinoin\",\"synonyms\":[\"accutane\"]}],"
    "\"procedures\":[{\"name\":\"botulinum-toxin\",\"label\":\"Botox\",\"synonyms\":[]}],"
    "\"allergies\":[{\"name\":\"nickel\",\"label\":\"Nickel\",\"synonyms\":[]}]}}";

static struct proto_termmap terms;
static json_t *ruleset;

static void setup(void)
{
    if (ruleset)
        return;
    char err[512];
    proto_termmap_init(&terms);
    if (proto_termmap_load(&terms, SUITD_FUZZ_RULES "/terminology.tsv", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    ruleset = json_loads(ruleset_text, 0, NULL);
    if (!ruleset)
        abort();
}

static void check_term(const char *s)
{
    if (!s)
        abort();
    size_t n = strlen(s);
    if (n < 1 || n > SUIT_MAX_TERM_LEN || proto_term_control(s, n) >= 0 || proto_term_blank(s))
        abort();
}

static void check_days(const json_t *it, const char *key)
{
    json_t *d = json_object_get(it, key);
    if (d && (!json_is_integer(d) || json_integer_value(d) < 0 ||
              json_integer_value(d) > SUIT_MAX_DAYS))
        abort();
}

static void check_patient(const json_t *p, const json_t *notes)
{
    if (!json_is_object(p) || !json_is_array(notes))
        abort();
    json_t *v;
    if ((v = json_object_get(p, "age")) &&
        (json_integer_value(v) < 0 || json_integer_value(v) > SUIT_MAX_AGE))
        abort();
    if ((v = json_object_get(p, "fitzpatrick")) &&
        (json_integer_value(v) < 1 || json_integer_value(v) > 6))
        abort();
    static const char *const lists[] = {"conditions", "medications", "procedures", "allergies"};
    for (size_t k = 0; k < 4; k++) {
        json_t *l = json_object_get(p, lists[k]);
        if (l && (!json_array_size(l) || json_array_size(l) > SUIT_MAX_ITEMS))
            abort();
        size_t i;
        json_t *it;
        json_array_foreach(l, i, it) {
            check_term(json_is_string(it) ? json_string_value(it)
                                          : json_string_value(json_object_get(it, "name")));
            check_days(it, "days_ago");
            check_days(it, "days_since_last_dose");
        }
    }
    /* the gateway's own request path takes it */
    json_t *wrap = json_pack("{s:O}", "patient", p);
    char *text = json_dumps(wrap, JSON_COMPACT);
    json_decref(wrap);
    if (!text)
        abort();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct proto_error e;
    proto_error_init(&e);
    if (httpd_assess_params(text, strlen(text), -1, &sb, &e))
        abort();
    proto_error_close(&e);
    msgpack_sbuffer_destroy(&sb);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    json_t *rq = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!rq)
        return 0;
    long base = cds_days((struct cds_date){2024, 1, 1}) + data[0];
    /* back from days to a date: walk (at most 255 days) */
    struct cds_date today = {2024, 1, 1};
    while (cds_days(today) < base) {
        static const int md[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (++today.d > md[today.m - 1]) {
            today.d = 1;
            today.m++;
        }
    }
    /* every hook offered, so patient-view's and appointment-book's order
     * picking (and the orders made from appointments) are fuzzed too */
    struct cds_fhir_opts o = {.today = today, .terms = &terms, .ruleset = ruleset,
                              .max_status_age_days = 30,
                              .hooks = (1u << CDS_HOOK_COUNT) - 1};
    json_t *orders = NULL;
    char err[512];
    cds_fhir_orders(rq, &o, &orders, err, sizeof err);
    /* what it picked (an appointment made into an order among them) */
    size_t k;
    json_t *sr;
    json_array_foreach(orders, k, sr) {
        json_t *p = NULL, *notes = NULL;
        struct cds_date d;
        if (cds_fhir_patient(rq, sr, &o, &p, &notes, &d, err, sizeof err) == CDS_FHIR_OK)
            check_patient(p, notes);
        json_decref(p);
        json_decref(notes);
        if (k >= 8)
            break;
    }
    /* every draft order, micro-needling or not, goes through the mapper */
    json_t *entries = json_object_get(json_object_get(json_object_get(rq, "context"), "draftOrders"),
                                      "entry");
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        json_t *p = NULL, *notes = NULL;
        struct cds_date d;
        if (cds_fhir_patient(rq, json_object_get(e, "resource"), &o, &p, &notes, &d, err,
                             sizeof err) == CDS_FHIR_OK)
            check_patient(p, notes);
        json_decref(p);
        json_decref(notes);
        if (i >= 8)
            break;
    }
    json_decref(orders);
    json_decref(rq);
    return 0;
}
