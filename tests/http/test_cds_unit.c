/*
 * test_cds_unit.c: the CDS Hooks service's pure parts, no sockets: the
 * terminology map (the shipped file and every refusal), dates and ages,
 * the FHIR mapper's safety rules with a fixed today (statuses, partial
 * dates, unknown last doses, unsatisfied prefetch, text fallback and pass
 * through), order selection, and the card builder.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cds_card.h"
#include "cds_fhir.h"
#include "cds_jwt.h"
#include "proto_termmap.h"
#include "testutil.h"

#define SCT "http://snomed.info/sct"
#define NCIT "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"

static const char *const ruleset_text =
    "{\"name\":\"microneedling\",\"version\":\"1.0.0\",\"sha256\":\"aaf842cd8e00f051beecf5a1332d0df"
    "66d4466bc43788407ad8e7d9d6368bbdc\","
    "\"policy\":{\"min-age\":18,\"fda-min-age\":22,\"trial-max-age\":60,\"isotretinoin-washout-days\":180},"
    "\"terms\":{"
    "\"areas\":[{\"name\":\"face\",\"label\":\"Face (full)\",\"synonyms\":[]},"
    "{\"name\":\"cheeks\",\"label\":\"Cheeks\",\"synonyms\":[]}],"
    "\"indications\":[{\"name\":\"acne-scars\",\"label\":\"Acne scars\",\"synonyms\":[]},"
    "{\"name\":\"wrinkles\",\"label\":\"Wrinkles / fine lines\",\"synonyms\":[\"fine-lines\"]}],"
    "\"conditions\":[{\"name\":\"sunburn\",\"label\":\"Sunburn\",\"takes_days\":true,\"synonyms\":[\"suntan\"]},"
    "{\"name\":\"rosacea\",\"label\":\"Rosacea, quiescent\",\"takes_days\":false,\"synonyms\":[]},"
    "{\"name\":\"keloid-history\",\"label\":\"Keloid scarring history\",\"takes_days\":false,\"synonyms\":[\"keloid\"]}],"
    "\"medications\":[{\"name\":\"isotretinoin\",\"label\":\"Isotretinoin\",\"synonyms\":[\"accutane\"]},"
    "{\"name\":\"warfarin\",\"label\":\"Warfarin\",\"synonyms\":[]}],"
    "\"procedures\":[{\"name\":\"botulinum-toxin\",\"label\":\"Botulinum toxin\",\"synonyms\":[\"botox\"]}],"
    "\"allergies\":[{\"name\":\"nickel\",\"label\":\"Nickel\",\"synonyms\":[]}]}}";

struct fx {
    struct proto_termmap terms;
    json_t *ruleset;
    struct cds_fhir_opts o;
};

static void fx_init(struct fx *f)
{
    proto_termmap_init(&f->terms);
    char err[512], path[1024];
    const char *src = getenv("SUITD_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/rules/terminology.tsv", src ? src : ".");
    ck_assert_msg(!proto_termmap_load(&f->terms, path, err, sizeof err), "%s", err);
    f->ruleset = json_loads(ruleset_text, 0, NULL);
    ck_assert_ptr_nonnull(f->ruleset);
    f->o = (struct cds_fhir_opts){
        .today = {2026, 6, 15},
        .terms = &f->terms,
        .ruleset = f->ruleset,
        .max_status_age_days = 30,
    };
}

static void fx_close(struct fx *f)
{
    json_decref(f->ruleset);
    proto_termmap_close(&f->terms);
}

static json_t *bundle(json_t *resources)
{
    json_t *b = json_pack("{s:s,s:s,s:[]}", "resourceType", "Bundle", "type", "searchset", "entry");
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r)
        json_array_append_new(json_object_get(b, "entry"), json_pack("{s:O}", "resource", r));
    json_decref(resources);
    return b;
}

static json_t *order(void)
{
    return json_loads(
        "{\"resourceType\":\"ServiceRequest\",\"id\":\"mn1\",\"status\":\"draft\",\"intent\":\"order\","
        "\"code\":{\"text\":\"Microneedling, face\"},"
        "\"bodySite\":[{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"73897004\"}]}],"
        "\"reasonCode\":[{\"text\":\"Acne scars\"}]}", 0, NULL);
}

/* A request with every prefetch key satisfied and empty lists. */
static json_t *request(json_t *sr)
{
    json_t *rq = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:o},s:{s:{s:s,s:s},s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}}", "hook",
        "order-sign", "hookInstance", "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "context", "userId",
        "Practitioner/1", "patientId", "p1", "draftOrders", bundle(json_pack("[o]", sr)),
        "prefetch", "patient", "resourceType", "Patient", "birthDate", "1990-03-01", "conditions",
        bundle(json_array()), "medstatements", bundle(json_array()), "medrequests",
        bundle(json_array()), "procedures", bundle(json_array()), "allergies", bundle(json_array()),
        "pregnancy",
        bundle(json_pack("[{s:s,s:s,s:{s:[{s:s,s:s}]},s:s,s:{s:[{s:s,s:s}]}}]", "resourceType",
                         "Observation", "status", "final", "code", "coding", "system",
                         "http://loinc.org", "code", "82810-3", "effectiveDateTime", "2026-06-01",
                         "valueCodeableConcept", "coding", "system", "http://loinc.org", "code",
                         "LA26683-5")),
        "breastfeeding",
        bundle(json_pack("[{s:s,s:s,s:{s:[{s:s,s:s}]},s:s,s:b}]", "resourceType", "Observation",
                         "status", "final", "code", "coding", "system", "http://loinc.org", "code",
                         "63895-7", "effectiveDateTime", "2026-06-10", "valueBoolean", 0)),
        "fitzpatrick",
        bundle(json_pack("[{s:s,s:s,s:{s:s},s:s,s:{s:[{s:s,s:s}]}}]", "resourceType",
                         "Observation", "status", "final", "code", "text", "Skin type",
                         "effectiveDateTime", "2025-01-01", "valueCodeableConcept", "coding",
                         "system", NCIT, "code", "C74571")));
    ck_assert_ptr_nonnull(rq);
    return rq;
}

static void add(json_t *rq, const char *key, const char *resource_json)
{
    json_t *r = json_loads(resource_json, 0, NULL);
    ck_assert_msg(r != NULL, "bad fixture %s", resource_json);
    json_t *b = json_object_get(json_object_get(rq, "prefetch"), key);
    json_array_append_new(json_object_get(b, "entry"), json_pack("{s:o}", "resource", r));
}

static enum cds_fhir_status map(struct fx *f, json_t *rq, json_t **p, json_t **notes, char *err)
{
    struct cds_date d;
    json_t *sr = json_array_get(json_object_get(json_object_get(json_object_get(rq, "context"),
                                                                "draftOrders"),
                                                "entry"),
                                0);
    return cds_fhir_patient(rq, json_object_get(sr, "resource"), &f->o, p, notes, &d, err, 512);
}

static bool has_note(json_t *notes, const char *id)
{
    size_t i;
    json_t *n;
    json_array_foreach(notes, i, n)
        if (!strcmp(json_string_value(json_object_get(n, "id")), id))
            return true;
    return false;
}

static json_t *find(json_t *p, const char *list, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(p, list), i, it) {
        const char *n = json_is_string(it) ? json_string_value(it)
                                           : json_string_value(json_object_get(it, "name"));
        if (n && !strcmp(n, name))
            return it;
    }
    return NULL;
}

/* ---- terminology map ------------------------------------------------ */

START_TEST(terms_shipped_file)
{
    struct fx f;
    fx_init(&f);
    ck_assert_uint_ge(f.terms.n, 60);
    ck_assert_str_eq(proto_termmap_lookup(&f.terms, PROTO_TERM_KIND_AREA, SCT, "73897004"), "face");
    ck_assert_str_eq(proto_termmap_lookup(&f.terms, PROTO_TERM_KIND_FITZPATRICK, NCIT, "C74574"), "6");
    ck_assert_str_eq(proto_termmap_lookup(&f.terms, PROTO_TERM_KIND_PREGNANCY, "http://loinc.org", "LA15173-0"),
                     "true");
    /* kind matters: an area code is not a condition */
    ck_assert_ptr_null(proto_termmap_lookup(&f.terms, PROTO_TERM_KIND_CONDITION, SCT, "73897004"));
    /* unverified codes are not shipped */
    ck_assert_ptr_null(proto_termmap_lookup(&f.terms, PROTO_TERM_KIND_CONDITION, SCT, "372130007"));
    fx_close(&f);
}
END_TEST

START_TEST(terms_refusals)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"code\tarea\thttp://x\t1\tface\tS\tFace\n", "source 'S' is not given"},
        {"source\tS\tcite\ncode\tcolour\thttp://x\t1\tface\tS\tx\n", "unknown kind"},
        {"source\tS\tcite\ncode\tarea\tnot-a-uri\t1\tface\tS\tx\n", "not a URI"},
        {"source\tS\tcite\ncode\tarea\thttp://x\t1 2\tface\tS\tx\n", "white space"},
        {"source\tS\tcite\ncode\tfitzpatrick\thttp://x\t1\t7\tS\tx\n", "not valid for kind"},
        {"source\tS\tcite\ncode\tpregnancy\thttp://x\t1\tmaybe\tS\tx\n", "not valid for kind"},
        {"source\tS\tcite\ncode\tarea\thttp://x\t1\tFace Skin\tS\tx\n", "not valid for kind"},
        {"source\tS\tcite\ncode\tarea\thttp://x\t1\tface\tS\n", "fields"},
        {"source\tS\tcite\ncode\tarea\thttp://x\t1\tface\tS\tx\ncode\tarea\thttp://x\t1\tneck\tS\tx\n",
         "maps to face and to neck"},
        {"source\tS\tcite\nsource\tS\tagain\n", "given twice"},
        {"codes\tarea\n", "expected a source or code line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct proto_termmap t;
        proto_termmap_init(&t);
        char err[512] = "";
        ck_assert_int_eq(proto_termmap_load_text(&t, "site.tsv", bad[i].text, strlen(bad[i].text), err,
                                             sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].why) && !strncmp(err, "site.tsv:", 9), "%zu: %s", i, err);
        proto_termmap_close(&t);
    }
    /* a site file adding to the shipped one; the same row twice is fine */
    struct fx f;
    fx_init(&f);
    const char *site = "# site\nsource\tCLINIC\tOur catalogue 2026\n"
                       "code\torder\thttp://clinic.example/codes\tMN-1\tmicroneedling\tCLINIC\tMN\n"
                       "code\tarea\thttp://snomed.info/sct\t73897004\tface\tCLINIC\tFace\n";
    char err[512];
    ck_assert_int_eq(proto_termmap_load_text(&f.terms, "site", site, strlen(site), err, sizeof err), 0);
    ck_assert_str_eq(proto_termmap_lookup(&f.terms, PROTO_TERM_KIND_ORDER, "http://clinic.example/codes", "MN-1"),
                     "microneedling");
    const char *clash = "source\tX\tx\ncode\tarea\thttp://snomed.info/sct\t73897004\tneck\tX\tx\n";
    ck_assert_int_eq(proto_termmap_load_text(&f.terms, "site", clash, strlen(clash), err, sizeof err), -1);
    fx_close(&f);
}
END_TEST

/* ---- dates -------------------------------------------------------------- */

START_TEST(dates_and_ages)
{
    struct cds_date a, b;
    ck_assert_int_eq(cds_date_parse("2024", &a, &b), 0);
    ck_assert(a.m == 1 && a.d == 1 && b.m == 12 && b.d == 31);
    ck_assert_int_eq(cds_date_parse("2024-02", &a, &b), 0);
    ck_assert_int_eq(b.d, 29);      /* leap year */
    ck_assert_int_eq(cds_date_parse("2023-02", &a, &b), 0);
    ck_assert_int_eq(b.d, 28);
    ck_assert_int_eq(cds_date_parse("2024-05-17T10:00:00+02:00", &a, &b), 0);
    ck_assert(a.d == 17 && b.d == 17);
    ck_assert_int_eq(cds_date_parse("2023-02-29", &a, &b), -1);
    ck_assert_int_eq(cds_date_parse("2024-13", &a, &b), -1);
    ck_assert_int_eq(cds_date_parse("24-01-01", &a, &b), -1);
    ck_assert_int_eq(cds_date_parse("2024-01-01x", &a, &b), -1);
    ck_assert_int_eq(cds_date_parse("", &a, &b), -1);
    ck_assert_int_eq(cds_days((struct cds_date){1970, 1, 1}), 0);
    ck_assert_int_eq(cds_days((struct cds_date){2026, 6, 15}) - cds_days((struct cds_date){2025, 6, 15}),
                     365);
    ck_assert_int_eq(cds_days((struct cds_date){2024, 3, 1}) - cds_days((struct cds_date){2024, 2, 28}), 2);
    ck_assert_int_eq(cds_age_on((struct cds_date){2008, 6, 15}, (struct cds_date){2026, 6, 15}), 18);
    ck_assert_int_eq(cds_age_on((struct cds_date){2008, 6, 16}, (struct cds_date){2026, 6, 15}), 17);
    ck_assert_int_eq(cds_age_on((struct cds_date){2008, 2, 29}, (struct cds_date){2026, 2, 28}), 17);
}
END_TEST

/* ---- the mapper --------------------------------------------------------- */

START_TEST(mapper_whole_request)
{
    struct fx f;
    fx_init(&f);
    json_t *rq = request(order());
    json_t *p, *notes;
    char err[512];
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_OK);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "age")), 36);
    ck_assert(json_is_false(json_object_get(p, "pregnant")));
    ck_assert(json_is_false(json_object_get(p, "breastfeeding")));
    ck_assert_int_eq(json_integer_value(json_object_get(p, "fitzpatrick")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(p, "area")), "face");
    ck_assert_str_eq(json_string_value(json_object_get(p, "indication")), "acne-scars");
    ck_assert_str_eq(json_string_value(json_object_get(p, "setting")), "clinic");
    /* empty lists are left out, as suitd reads absent lists */
    ck_assert_ptr_null(json_object_get(p, "conditions"));
    ck_assert_uint_eq(json_array_size(notes), 0);
    json_decref(p);
    json_decref(notes);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

START_TEST(mapper_statuses)
{
    struct fx f;
    fx_init(&f);
    json_t *rq = request(order());
    /* refuted and entered-in-error: dropped */
    add(rq, "conditions", "{\"resourceType\":\"Condition\",\"code\":{\"text\":\"Sunburn\"},"
                          "\"verificationStatus\":{\"coding\":[{\"code\":\"refuted\"}]}}");
    add(rq, "conditions", "{\"resourceType\":\"Condition\",\"code\":{\"text\":\"Warfarin\"},"
                          "\"verificationStatus\":{\"coding\":[{\"code\":\"entered-in-error\"}]}}");
    /* resolved, not a history: dropped; resolved history: kept */
    add(rq, "conditions", "{\"resourceType\":\"Condition\",\"code\":{\"coding\":[{\"system\":\"" SCT
                          "\",\"code\":\"398909004\"}]},\"clinicalStatus\":{\"coding\":[{\"code\":\"resolved\"}]}}");
    add(rq, "conditions", "{\"resourceType\":\"Condition\",\"code\":{\"coding\":[{\"system\":\"" SCT
                          "\",\"code\":\"33659008\",\"display\":\"Keloid scar\"}]},"
                          "\"clinicalStatus\":{\"coding\":[{\"code\":\"resolved\"}]}}");
    /* recurrence counts; an unknown one is passed through as its text */
    add(rq, "conditions", "{\"resourceType\":\"Condition\",\"code\":{\"text\":\"Lichen planus\"},"
                          "\"clinicalStatus\":{\"coding\":[{\"code\":\"recurrence\"}]}}");
    /* a takes-days condition gets days_ago from its onset */
    add(rq, "conditions", "{\"resourceType\":\"Condition\",\"code\":{\"text\":\"suntan\"},"
                          "\"clinicalStatus\":{\"coding\":[{\"code\":\"active\"}]},"
                          "\"onsetDateTime\":\"2026-06-05\"}");
    /* allergies: inactive dropped, active kept (text via label) */
    add(rq, "allergies", "{\"resourceType\":\"AllergyIntolerance\",\"code\":{\"text\":\"Nickel\"}}");
    add(rq, "allergies", "{\"resourceType\":\"AllergyIntolerance\",\"code\":{\"text\":\"Latex\"},"
                         "\"clinicalStatus\":{\"coding\":[{\"code\":\"inactive\"}]}}");
    json_t *p, *notes;
    char err[512];
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(json_object_get(p, "conditions")), 3);
    ck_assert_ptr_nonnull(find(p, "conditions", "keloid-history"));
    ck_assert_ptr_nonnull(find(p, "conditions", "Lichen planus"));
    ck_assert_ptr_null(find(p, "conditions", "rosacea"));
    json_t *sb = find(p, "conditions", "sunburn");
    ck_assert_ptr_nonnull(sb);
    ck_assert_int_eq(json_integer_value(json_object_get(sb, "days_ago")), 10);
    ck_assert_ptr_null(json_object_get(find(p, "conditions", "keloid-history"), "days_ago"));
    ck_assert_uint_eq(json_array_size(json_object_get(p, "allergies")), 1);
    ck_assert_ptr_nonnull(find(p, "allergies", "nickel"));
    json_decref(p);
    json_decref(notes);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

START_TEST(mapper_medications_and_procedures)
{
    struct fx f;
    fx_init(&f);
    json_t *rq = request(order());
    /* completed with an end: days from the end */
    add(rq, "medstatements", "{\"resourceType\":\"MedicationStatement\",\"status\":\"completed\","
                             "\"medicationCodeableConcept\":{\"text\":\"Accutane 40 mg\","
                             "\"coding\":[{\"display\":\"Accutane\"}]},"
                             "\"effectivePeriod\":{\"start\":\"2025-06-01\",\"end\":\"2026-02-15\"}}");
    /* active: taken now, whatever the dates */
    add(rq, "medstatements", "{\"resourceType\":\"MedicationStatement\",\"status\":\"active\","
                             "\"medicationCodeableConcept\":{\"text\":\"warfarin\"},"
                             "\"effectivePeriod\":{\"end\":\"2026-01-01\"}}");
    /* stopped without any date: current, and a note */
    add(rq, "medstatements", "{\"resourceType\":\"MedicationStatement\",\"status\":\"stopped\","
                             "\"medicationCodeableConcept\":{\"coding\":[{\"system\":"
                             "\"http://www.nlm.nih.gov/research/umls/rxnorm\",\"code\":\"6851\"}]}}");
    /* not-taken: dropped */
    add(rq, "medstatements", "{\"resourceType\":\"MedicationStatement\",\"status\":\"not-taken\","
                             "\"medicationCodeableConcept\":{\"text\":\"doxycycline\"}}");
    /* a request stopped on a partial date: its latest day (month end) */
    add(rq, "medrequests", "{\"resourceType\":\"MedicationRequest\",\"status\":\"stopped\",\"intent\":\"order\","
                           "\"medicationCodeableConcept\":{\"text\":\"Ibuprofen\"},"
                           "\"dosageInstruction\":[{\"timing\":{\"repeat\":{\"boundsPeriod\":"
                           "{\"end\":\"2026-05\"}}}}]}");
    /* a clinical drug's name is not matched by its leading word: it goes to
     * suitd as written (whose near-miss rule asks to confirm it) */
    add(rq, "medrequests", "{\"resourceType\":\"MedicationRequest\",\"status\":\"active\",\"intent\":\"order\","
                           "\"medicationCodeableConcept\":{\"text\":\"Warfarin Sodium 5 MG Oral Tablet\"}}");
    add(rq, "medrequests", "{\"resourceType\":\"MedicationRequest\",\"status\":\"active\",\"intent\":\"order\","
                           "\"medicationCodeableConcept\":{\"text\":\"warfarinol\"}}");
    add(rq, "medrequests", "{\"resourceType\":\"MedicationRequest\",\"status\":\"cancelled\",\"intent\":\"order\","
                           "\"medicationCodeableConcept\":{\"text\":\"Tretinoin\"}}");
    /* procedures: a date, no date (note), not-done */
    add(rq, "procedures", "{\"resourceType\":\"Procedure\",\"status\":\"completed\","
                          "\"code\":{\"text\":\"Botox\"},\"performedDateTime\":\"2026-06-01T09:00:00Z\"}");
    add(rq, "procedures", "{\"resourceType\":\"Procedure\",\"status\":\"completed\","
                          "\"code\":{\"coding\":[{\"system\":\"" SCT "\",\"code\":\"1287742003\"}]},"
                          "\"performedString\":\"years ago\"}");
    add(rq, "procedures", "{\"resourceType\":\"Procedure\",\"status\":\"not-done\",\"code\":{\"text\":\"peel\"}}");
    json_t *p, *notes;
    char err[512];
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_OK);
    json_t *m = json_object_get(p, "medications");
    ck_assert_uint_eq(json_array_size(m), 6);
    ck_assert_ptr_nonnull(find(p, "medications", "warfarinol"));
    ck_assert_ptr_nonnull(find(p, "medications", "Warfarin Sodium 5 MG Oral Tablet"));
    ck_assert_int_eq(json_integer_value(json_object_get(find(p, "medications", "isotretinoin"),
                                                        "days_since_last_dose")), 120);
    ck_assert_int_eq(json_integer_value(json_object_get(find(p, "medications", "warfarin"),
                                                        "days_since_last_dose")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(find(p, "medications", "methotrexate"),
                                                        "days_since_last_dose")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(find(p, "medications", "Ibuprofen"),
                                                        "days_since_last_dose")), 15);
    ck_assert_ptr_null(find(p, "medications", "tretinoin"));
    ck_assert(has_note(notes, "cds-last-dose-unknown"));
    ck_assert_uint_eq(json_array_size(json_object_get(p, "procedures")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(find(p, "procedures", "botulinum-toxin"),
                                                        "days_ago")), 14);
    ck_assert_int_eq(json_integer_value(json_object_get(find(p, "procedures", "radiotherapy"),
                                                        "days_ago")), 0);
    ck_assert(has_note(notes, "cds-procedure-date-unknown"));
    json_decref(p);
    json_decref(notes);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

START_TEST(mapper_unsatisfied_prefetch)
{
    struct fx f;
    fx_init(&f);
    const char *keys[] = {"conditions", "medstatements", "medrequests", "procedures", "allergies"};
    for (size_t k = 0; k < 5; k++) {
        for (int how = 0; how < 4; how++) {
            json_t *rq = request(order());
            json_t *pf = json_object_get(rq, "prefetch");
            if (how == 0)
                json_object_del(pf, keys[k]);
            else if (how == 1)
                json_object_set_new(pf, keys[k],
                                    json_pack("{s:s,s:[{s:s,s:s}]}", "resourceType",
                                              "OperationOutcome", "issue", "severity", "error",
                                              "code", "timeout"));
            else if (how == 2)
                json_object_set_new(json_object_get(pf, keys[k]), "link",
                                    json_pack("[{s:s,s:s}]", "relation", "next", "url", "http://x/2"));
            else
                json_object_set_new(json_object_get(pf, keys[k]), "total", json_integer(3));
            json_t *p, *notes;
            char err[512];
            ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_UNSATISFIED);
            ck_assert_msg(strstr(err, keys[k]), "%s", err);
            ck_assert_ptr_null(p);
            json_decref(rq);
        }
    }
    /* null: the client has no data -- an empty list, assessed */
    json_t *rq = request(order());
    json_object_set_new(json_object_get(rq, "prefetch"), "conditions", json_null());
    json_t *p, *notes;
    char err[512];
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_OK);
    json_decref(p);
    json_decref(notes);
    /* a Bundle whose OperationOutcome is only a warning is fine */
    add(rq, "medrequests", "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"warning\","
                           "\"code\":\"informational\"}]}");
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_OK);
    json_decref(p);
    json_decref(notes);
    /* another patient's data, or an order for another patient: refused,
     * never assessed as this one's */
    json_t *other = json_deep_copy(rq);
    add(other, "procedures", "{\"resourceType\":\"Procedure\",\"code\":{\"text\":\"x\"},"
                             "\"subject\":{\"reference\":\"https://ehr/fhir/Patient/p2\"}}");
    ck_assert_int_eq(map(&f, other, &p, &notes, err), CDS_FHIR_BAD_REQUEST);
    ck_assert_msg(strstr(err, "another patient (Patient/p2"), "%s", err);
    json_decref(other);
    other = json_deep_copy(rq);
    json_object_set_new(json_object_get(json_object_get(other, "prefetch"), "patient"), "id",
                        json_string("p2"));
    ck_assert_int_eq(map(&f, other, &p, &notes, err), CDS_FHIR_BAD_REQUEST);
    json_decref(other);
    other = json_deep_copy(rq);
    add(other, "procedures", "{\"resourceType\":\"Procedure\",\"code\":{\"text\":\"x\"},"
                             "\"subject\":{\"reference\":\"Patient/p1\"}}");
    ck_assert_int_eq(map(&f, other, &p, &notes, err), CDS_FHIR_OK);
    json_decref(p);
    json_decref(notes);
    json_decref(other);
    /* no prefetch at all */
    json_object_del(rq, "prefetch");
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_UNSATISFIED);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

static json_t *map_birth(struct fx *f, const char *bd, json_t **notes)
{
    json_t *rq = request(order());
    json_object_set_new(json_object_get(json_object_get(rq, "prefetch"), "patient"), "birthDate",
                        json_string(bd));
    json_t *p;
    char err[512];
    ck_assert_int_eq(map(f, rq, &p, notes, err), CDS_FHIR_OK);
    json_decref(rq);
    return p;
}

START_TEST(mapper_partial_birth_dates)
{
    struct fx f;
    fx_init(&f);
    json_t *notes;
    /* 2008 on 2026-06-15: 17 or 18, across min-age 18 -> missing */
    json_t *p = map_birth(&f, "2008", &notes);
    ck_assert_ptr_null(json_object_get(p, "age"));
    ck_assert(has_note(notes, "cds-birth-date-partial"));
    json_decref(p);
    json_decref(notes);
    /* 2004-06: 22 either way?  born June 2004: 22 (before the 15th) or 21 */
    p = map_birth(&f, "2004-06", &notes);
    ck_assert_ptr_null(json_object_get(p, "age"));
    json_decref(p);
    json_decref(notes);
    /* 1980: 45 or 46, no limit between: the lower age */
    p = map_birth(&f, "1980", &notes);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "age")), 45);
    ck_assert_uint_eq(json_array_size(notes), 0);
    json_decref(p);
    json_decref(notes);
    /* a whole month before the 15th: known exactly */
    p = map_birth(&f, "2000-03", &notes);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "age")), 26);
    json_decref(p);
    json_decref(notes);
    /* 1966 on 2026-06-15: 59 or 60, touching trial-max-age 60 */
    p = map_birth(&f, "1966", &notes);
    ck_assert_ptr_null(json_object_get(p, "age"));
    json_decref(p);
    json_decref(notes);
    /* after the treatment date: missing with a note */
    p = map_birth(&f, "2027-01-01", &notes);
    ck_assert_ptr_null(json_object_get(p, "age"));
    ck_assert(has_note(notes, "cds-birth-date-invalid"));
    json_decref(p);
    json_decref(notes);
    fx_close(&f);
}
END_TEST

START_TEST(mapper_observations_and_order_terms)
{
    struct fx f;
    fx_init(&f);
    json_t *rq = request(order());
    json_t *pf = json_object_get(rq, "prefetch");
    /* a newer pregnancy observation wins; an older one is stale */
    add(rq, "pregnancy", "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":"
                         "[{\"system\":\"http://loinc.org\",\"code\":\"82810-3\"}]},\"effectiveDateTime\":"
                         "\"2026-06-14\",\"valueCodeableConcept\":{\"coding\":[{\"system\":\"http://snomed.info/sct\","
                         "\"code\":\"77386006\"}]}}");
    /* entered-in-error ignored even when newest */
    add(rq, "pregnancy", "{\"resourceType\":\"Observation\",\"status\":\"entered-in-error\",\"code\":{\"coding\":"
                         "[{\"system\":\"http://loinc.org\",\"code\":\"82810-3\"}]},\"effectiveDateTime\":"
                         "\"2026-06-15\",\"valueBoolean\":false}");
    json_object_set_new(json_object_get(json_array_get(json_object_get(json_object_get(pf, "breastfeeding"),
                                                                        "entry"), 0), "resource"),
                        "effectiveDateTime", json_string("2026-01-01"));
    /* Fitzpatrick by text with an integer; the newer one wins */
    add(rq, "fitzpatrick", "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
                           "\"Fitzpatrick skin type\"},\"effectiveDateTime\":\"2026-05-01\",\"valueInteger\":5}");
    add(rq, "fitzpatrick", "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
                           "\"Fitzpatrick skin type\"},\"effectiveDateTime\":\"2026-06-01\",\"valueInteger\":9}");
    json_t *sr = json_array_get(json_object_get(json_object_get(json_object_get(rq, "context"),
                                                                "draftOrders"), "entry"), 0);
    json_t *o = json_object_get(sr, "resource");
    json_object_set_new(o, "bodySite", json_pack("[{s:s},{s:s}]", "text", "Face", "text", "cheeks"));
    json_object_set_new(o, "reasonCode", json_pack("[{s:s}]", "text", "something odd"));
    json_t *p, *notes;
    char err[512];
    ck_assert_int_eq(map(&f, rq, &p, &notes, err), CDS_FHIR_OK);
    ck_assert(json_is_true(json_object_get(p, "pregnant")));
    ck_assert_ptr_null(json_object_get(p, "breastfeeding"));
    ck_assert(has_note(notes, "cds-status-stale"));
    ck_assert_int_eq(json_integer_value(json_object_get(p, "fitzpatrick")), 5);
    ck_assert(has_note(notes, "cds-fitzpatrick-not-understood"));
    ck_assert_ptr_null(json_object_get(p, "area"));
    ck_assert(has_note(notes, "cds-several-terms"));
    ck_assert_ptr_null(json_object_get(p, "indication"));
    ck_assert(has_note(notes, "cds-term-not-recognised"));
    json_decref(p);
    json_decref(notes);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

START_TEST(mapper_order_selection)
{
    struct fx f;
    fx_init(&f);
    json_t *other = json_pack("{s:s,s:s,s:s,s:{s:s}}", "resourceType", "ServiceRequest", "id", "x1",
                              "status", "draft", "code", "text", "Chest X-ray");
    json_t *cit = json_pack("{s:s,s:s,s:{s:[{s:s,s:s,s:s}]}}", "resourceType", "ServiceRequest",
                            "id", "c1", "code", "coding", "system", "http://clinic.example", "code",
                            "Z9", "display", "Collagen Induction Therapy");
    json_t *rq = request(order());
    json_t *entries = json_object_get(json_object_get(json_object_get(rq, "context"), "draftOrders"),
                                      "entry");
    json_array_append_new(entries, json_pack("{s:o}", "resource", other));
    json_array_append_new(entries, json_pack("{s:o}", "resource", cit));
    json_t *orders;
    char err[512];
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(orders), 2);
    json_decref(orders);
    /* order-select: only the selections */
    json_object_set_new(rq, "hook", json_string("order-select"));
    json_object_set_new(json_object_get(rq, "context"), "selections",
                        json_pack("[s,s]", "ServiceRequest/c1", "ServiceRequest/x1"));
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(orders), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(orders, 0), "id")), "c1");
    json_decref(orders);
    json_object_del(json_object_get(rq, "context"), "selections");
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_BAD_REQUEST);
    json_decref(orders);
    json_object_set_new(rq, "hook", json_string("patient-view"));
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_BAD_REQUEST);
    json_decref(orders);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

/* patient-view: the pending micro-needling orders of the prefetch
 * "orders", and 412 without it; appointment-book: each micro-needling
 * appointment as an order (serviceType, start, the bodySite of its
 * basedOn order); both only when offered. */
START_TEST(mapper_patient_view_and_appointments)
{
    struct fx f;
    fx_init(&f);
    json_t *rq = request(order());
    json_t *ctx = json_object_get(rq, "context"), *pf = json_object_get(rq, "prefetch");
    json_object_del(ctx, "draftOrders");
    json_object_set_new(rq, "hook", json_string("patient-view"));
    json_t *orders;
    char err[512];
    /* not offered by default */
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_BAD_REQUEST);
    ck_assert_msg(strstr(err, "(order-select, order-sign); the gateway's cds_hooks"), "%s", err);
    json_decref(orders);
    f.o.hooks = CDS_HOOK_BIT(CDS_HOOK_PATIENT_VIEW) | CDS_HOOK_BIT(CDS_HOOK_APPOINTMENT_BOOK);
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_UNSATISFIED);
    ck_assert_msg(strstr(err, "'orders'"), "%s", err);
    json_decref(orders);
    json_t *active = order(), *done = order(), *xray = order();
    json_object_set_new(active, "status", json_string("active"));
    json_object_set_new(done, "status", json_string("completed"));
    json_object_set_new(xray, "code", json_pack("{s:s}", "text", "Chest X-ray"));
    json_object_set_new(pf, "orders", bundle(json_pack("[o,o,o]", done, xray, active)));
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(orders), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(orders, 0), "status")), "active");
    json_decref(orders);
    json_object_set_new(pf, "orders", json_null());
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(orders), 0);
    json_decref(orders);

    /* appointment-book */
    json_object_set_new(rq, "hook", json_string("appointment-book"));
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_BAD_REQUEST);
    ck_assert_msg(strstr(err, "context.appointments"), "%s", err);
    json_decref(orders);
    json_object_set_new(pf, "orders", bundle(json_pack("[o]", order())));
    json_t *appt = json_loads(
        "{\"resourceType\":\"Appointment\",\"id\":\"ap1\",\"status\":\"proposed\","
        "\"serviceType\":[{\"text\":\"Facial\"},{\"coding\":[{\"system\":\"http://clinic.example\","
        "\"code\":\"MN\",\"display\":\"Micro-needling\"}]}],"
        "\"start\":\"2026-07-01T09:00:00+02:00\",\"basedOn\":[{\"reference\":\"ServiceRequest/mn1\"}],"
        "\"participant\":[{\"actor\":{\"reference\":\"Practitioner/1\"}},"
        "{\"actor\":{\"reference\":\"Patient/p1\"}}]}", 0, NULL);
    json_t *cancelled = json_deep_copy(appt), *coded = json_deep_copy(appt);
    json_object_set_new(cancelled, "status", json_string("cancelled"));
    json_object_set_new(coded, "serviceType", json_loads(
        "[{\"coding\":[{\"system\":\"http://clinic.example\",\"code\":\"APPT-MN\"}]}]", 0, NULL));
    json_object_del(coded, "basedOn");
    json_object_set_new(ctx, "appointments", bundle(json_pack("[o,o,o]", appt, cancelled, coded)));
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(orders), 1);      /* APPT-MN is not configured */
    json_t *sr = json_array_get(orders, 0);
    ck_assert(json_equal(json_object_get(sr, "code"),
                         json_array_get(json_object_get(appt, "serviceType"), 1)));
    json_t *p, *notes;
    struct cds_date d;
    ck_assert_int_eq(cds_fhir_patient(rq, sr, &f.o, &p, &notes, &d, err, sizeof err), CDS_FHIR_OK);
    ck_assert_str_eq(json_string_value(json_object_get(p, "area")), "face");
    ck_assert_str_eq(json_string_value(json_object_get(p, "indication")), "acne-scars");
    ck_assert(d.y == 2026 && d.m == 7 && d.d == 1);
    json_decref(p);
    json_decref(notes);
    json_decref(orders);
    /* a configured code; no order to take the area from: left out */
    static const char *const codes[] = {"http://clinic.example|APPT-MN"};
    f.o.order_codes = codes;
    f.o.n_order_codes = 1;
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_uint_eq(json_array_size(orders), 2);
    ck_assert_int_eq(cds_fhir_patient(rq, json_array_get(orders, 1), &f.o, &p, &notes, &d, err,
                                      sizeof err), CDS_FHIR_OK);
    ck_assert_ptr_null(json_object_get(p, "area"));
    ck_assert_ptr_null(json_object_get(p, "indication"));
    json_decref(p);
    json_decref(notes);
    json_decref(orders);
    /* another patient among the participants: refused */
    json_t *part = json_object_get(appt, "participant");
    json_object_set_new(json_object_get(json_array_get(part, 0), "actor"), "reference",
                        json_string("Patient/p2"));
    ck_assert_int_eq(cds_fhir_orders(rq, &f.o, &orders, err, sizeof err), CDS_FHIR_OK);
    ck_assert_int_eq(cds_fhir_patient(rq, json_array_get(orders, 0), &f.o, &p, &notes, &d, err,
                                      sizeof err), CDS_FHIR_BAD_REQUEST);
    ck_assert_msg(strstr(err, "Patient/p2"), "%s", err);
    json_decref(orders);
    json_decref(rq);
    fx_close(&f);
}
END_TEST

/* ---- cards -------------------------------------------------------------- */

static json_t *result(const char *verdict, const char *findings_json, const char *missing_json)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"verdict\":\"%s\",\"defer_days\":%s,\"findings\":%s,\"side_effects\":["
             "{\"effect\":\"infection\",\"kind\":\"serious\",\"likelihood\":\"rare\",\"note\":\"See a doctor.\"},"
             "{\"effect\":\"redness\",\"kind\":\"expected\",\"likelihood\":\"common\",\"note\":\"1-3 days\"}],"
             "\"plan\":{\"sessions_min\":3,\"sessions_max\":6,\"interval_weeks\":4,\"interval_weeks_max\":6,"
             "\"cost_per_session_usd\":{\"min\":100,\"typical\":300,\"max\":700},"
             "\"course_cost_usd\":{\"min\":300,\"max\":4200}},\"aftercare\":[],\"missing\":%s,"
             "\"ruleset\":{\"name\":\"microneedling\",\"version\":\"1.0.0\",\"sha256\":"
             "\"aaf842cd8e00f051beecf5a1332d0df66d4466bc43788407ad8e7d9d6368bbdc\"}}",
             verdict, !strcmp(verdict, "defer") ? "60" : "null", findings_json, missing_json);
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const struct cds_card_opts card_opts = {"0f8fad5b-d9cb-469f-a165-70867728950e", {2026, 6, 15},
                                               NULL};

START_TEST(card_indicators_and_summaries)
{
    static const struct {
        const char *verdict, *indicator, *summary_has;
    } v[] = {
        {"contraindicated", "critical", "Micro-needling contraindicated: Pregnant"},
        {"refer", "warning", "refer to a physician first: Pregnant"},
        {"defer", "warning", "defer 60 days: Pregnant"},
        {"incomplete", "warning", "NOT assessed, not a go-ahead: missing age, fitzpatrick"},
        {"suitable-with-precautions", "info", "suitable with precautions: Pregnant"},
        {"suitable", "info", "Micro-needling suitable"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char f[512];
        snprintf(f, sizeof f, "[{\"id\":\"x\",\"category\":\"candidacy\",\"severity\":\"%s\",\"summary\":"
                 "\"Pregnant\",\"detail\":\"\",\"source\":\"SP\",\"action\":\"Wait.\",\"defer_days\":null}]",
                 !strcmp(v[i].verdict, "suitable-with-precautions") ? "caution"
                 : !strcmp(v[i].verdict, "suitable") ? "info" : v[i].verdict);
        json_t *r = result(v[i].verdict, f,
                           !strcmp(v[i].verdict, "incomplete") ? "[\"age\",\"fitzpatrick\"]" : "[]");
        json_t *c = cds_card(r, NULL, &card_opts);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(json_string_value(json_object_get(c, "indicator")), v[i].indicator);
        const char *s = json_string_value(json_object_get(c, "summary"));
        ck_assert_msg(strstr(s, v[i].summary_has), "%s: %s", v[i].verdict, s);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "source"), "label")),
                         "suitd microneedling ruleset 1.0.0 (aaf842cd8e00)");
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(c, "source"),
                                                                           "topic"), "code")),
                         v[i].verdict);
        ck_assert_str_eq(json_string_value(json_object_get(c, "uuid")), card_opts.uuid);
        /* no override reasons configured: the member is left out, not [] */
        ck_assert_ptr_null(json_object_get(c, "overrideReasons"));
        const char *d = json_string_value(json_object_get(c, "detail"));
        ck_assert_ptr_nonnull(strstr(d, "The decision stays with the clinician"));
        ck_assert_ptr_nonnull(strstr(d, "- **Pregnant**"));
        ck_assert_ptr_nonnull(strstr(d, "Sources: SP."));
        ck_assert_ptr_nonnull(strstr(d, "infection (rare): See a doctor."));
        ck_assert_ptr_null(strstr(d, "redness"));    /* only the serious side effects */
        ck_assert_ptr_nonnull(strstr(d, "3 to 6 sessions, 4 to 6 weeks apart; US$100 to 700"));
        ck_assert_ptr_nonnull(strstr(d, "for treatment on 2026-06-15"));
        if (!strcmp(v[i].verdict, "suitable"))
            ck_assert_ptr_null(strstr(s, "NOT"));
        json_decref(c);
        json_decref(r);
    }
}
END_TEST

START_TEST(card_summary_cut_and_escaping)
{
    /* 200 bytes of 3-byte characters: cut to <= 139 bytes on a boundary */
    char longsum[700] = "";
    for (int i = 0; i < 60; i++)
        strcat(longsum, "\xe2\x82\xac");    /* U+20AC */
    char f[1200];
    snprintf(f, sizeof f, "[{\"id\":\"x\",\"category\":\"input\",\"severity\":\"contraindicated\","
             "\"summary\":\"%s [click](http://evil.example) <b>*x*</b>\",\"detail\":\"\","
             "\"source\":\"input\",\"action\":\"\",\"defer_days\":null}]", longsum);
    json_t *r = result("contraindicated", f, "[]");
    json_t *notes = json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s}]", "id", "cds-last-dose-unknown",
                              "category", "input", "severity", "caution", "summary",
                              "Last dose of isotretinoin unknown: assumed current", "action",
                              "Confirm.", "source", "input");
    json_t *reasons = json_pack("[{s:s,s:s,s:s}]", "system", "urn:x", "code", "a", "display", "A");
    struct cds_card_opts o = card_opts;
    o.override_reasons = reasons;
    json_t *c = cds_card(r, notes, &o);
    ck_assert_ptr_nonnull(c);
    const char *s = json_string_value(json_object_get(c, "summary"));
    ck_assert_uint_le(strlen(s), CDS_CARD_SUMMARY_MAX);
    ck_assert_ptr_nonnull(strstr(s, "\xe2\x80\xa6"));   /* ends with an ellipsis */
    /* jansson accepted it: valid UTF-8 */
    const char *d = json_string_value(json_object_get(c, "detail"));
    ck_assert_ptr_null(strstr(d, "[click]("));
    ck_assert_ptr_nonnull(strstr(d, "\\[click\\](http://evil.example) \\<b\\>\\*x\\*\\</b\\>"));
    ck_assert_ptr_nonnull(strstr(d, "**How the record was read**"));
    ck_assert_ptr_nonnull(strstr(d, "Last dose of isotretinoin unknown: assumed current"));
    ck_assert_uint_eq(json_array_size(json_object_get(c, "overrideReasons")), 1);
    json_decref(c);
    /* a finding with an empty detail and action: no empty member anywhere */
    char cut[16] = "abcdef";
    cds_card_cut(cut, 5);
    ck_assert_str_eq(cut, "ab\xe2\x80\xa6");
    char two[16] = "a\xc3\xa9\xc3\xa9z";    /* "aééz", 6 bytes */
    cds_card_cut(two, 5);
    ck_assert_str_eq(two, "a\xe2\x80\xa6");
    json_t *na = cds_card_not_assessed("12 distinct conditions", &o);
    ck_assert_str_eq(json_string_value(json_object_get(na, "indicator")), "warning");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(na, "summary")), "NOT assessed"));
    json_decref(na);
    json_decref(reasons);
    json_decref(notes);
    json_decref(r);
}
END_TEST

/* ---- JWT: what is refused before any key is touched -------------------- */

START_TEST(jwt_config_refusals)
{
    struct cds_jwt j;
    char err[512];
    const char *hs[] = {"HS256"};
    ck_assert_int_eq(cds_jwt_init(&j, NULL, 0, hs, 1, 60, 10, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "never none or HS*"));
    const char *none[] = {"none"};
    ck_assert_int_eq(cds_jwt_init(&j, NULL, 0, none, 1, 60, 10, err, sizeof err), -1);
    ck_assert_int_eq(cds_jwt_init(&j, NULL, 0, NULL, 0, 60, 10, err, sizeof err), 0);
    ck_assert_uint_eq(j.n_algs, 2);
    static const struct {
        const char *set, *why;
    } bad[] = {
        {"{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\",\"k\":\"eA\"}]}", "symmetric"},
        {"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"eA\",\"y\":\"eA\"}]}", "no kid"},
        {"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"a\",\"d\":\"eA\"}]}", "private key"},
        {"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"alg\":\"HS256\"}]}", "algorithm"},
        {"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\"},{\"kty\":\"RSA\",\"kid\":\"a\"}]}", "kid another"},
        {"{\"keys\":[]}", "not a JWK Set"},
        {"[1]", "not a JWK Set"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cds_jwt_add_issuer(&j, "https://ehr", bad[i].set, "jwks.json", err,
                                            sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].why), "%zu: %s", i, err);
    }
    char why[512];
    ck_assert_int_eq(cds_jwt_verify(&j, NULL, "https://x", 0, why, sizeof why, NULL, 0),
                     CDS_JWT_MISSING);
    ck_assert_int_eq(cds_jwt_verify(&j, "Bearer a.b", "https://x", 0, why, sizeof why, NULL, 0),
                     CDS_JWT_MALFORMED);
    /* {"alg":"none"} . {} . (nothing) */
    ck_assert_int_eq(cds_jwt_verify(&j, "Bearer eyJhbGciOiJub25lIn0.e30.", "https://x", 0, why,
                                    sizeof why, NULL, 0), CDS_JWT_ALGORITHM);
    /* {"alg":"ES384","alg":"none"}: a key given twice is not JSON here */
    ck_assert_int_eq(cds_jwt_verify(&j, "Bearer eyJhbGciOiJFUzM4NCIsImFsZyI6Im5vbmUifQ.e30.eA",
                                    "https://x", 0, why, sizeof why, NULL, 0), CDS_JWT_MALFORMED);
    cds_jwt_close(&j);
}
END_TEST


int main(void)
{
    const struct testutil_case cases[] = {
        {"terms_shipped_file", terms_shipped_file},
        {"terms_refusals", terms_refusals},
        {"dates_and_ages", dates_and_ages},
        {"mapper_whole_request", mapper_whole_request},
        {"mapper_statuses", mapper_statuses},
        {"mapper_medications_and_procedures", mapper_medications_and_procedures},
        {"mapper_unsatisfied_prefetch", mapper_unsatisfied_prefetch},
        {"mapper_partial_birth_dates", mapper_partial_birth_dates},
        {"mapper_observations_and_order_terms", mapper_observations_and_order_terms},
        {"mapper_order_selection", mapper_order_selection},
        {"mapper_patient_view_and_appointments", mapper_patient_view_and_appointments},
        {"card_indicators_and_summaries", card_indicators_and_summaries},
        {"card_summary_cut_and_escaping", card_summary_cut_and_escaping},
        {"jwt_config_refusals", jwt_config_refusals},
    };
    return testutil_run(testutil_suite("cds_unit", cases, sizeof cases / sizeof cases[0], 30,
                                       NULL));
}
