/*
 * cds_fhir.h: FHIR R4 (a CDS Hooks request's context and prefetch) to a
 * suitd patient.  Pure functions of their inputs (no I/O, no clock, no
 * globals: "today" is a parameter), so the unit tests fix the date and the
 * fuzz harness drives exactly what the gateway runs.
 *
 * The safety rules, all here (http/CDS-HOOKS.md repeats them):
 *  - Missing data is not "none".  suitd reads an absent list as empty, so
 *    a prefetch for conditions, medications (statements and requests),
 *    procedures or allergies that was not satisfied (key absent, an
 *    OperationOutcome, an error entry, or a Bundle that says it holds only
 *    part of the result) is CDS_FHIR_UNSATISFIED: the service answers 412.
 *    null (the client has no data) is an empty list, as the spec says.
 *  - Entries: refuted and entered-in-error are dropped; a condition whose
 *    term is a history (its name ends in "-history") counts whatever its
 *    clinical status, any other only when active, recurrence or relapse (or
 *    with no status); allergies when not inactive/resolved.
 *  - Medications active, or without an end date, are taken now (0 days);
 *    completed or stopped ones count from their end; one whose last date
 *    is unknown is current and a note says so; the same for procedures.
 *    A partial date counts at its latest possible day (the nearer the
 *    dose, the stricter the rules).
 *  - Age is computed on the treatment date (the order's occurrence, or
 *    today when it has none or it has passed) from Patient.birthDate; a
 *    partial birth date whose range of ages touches an age limit of the
 *    ruleset (its policy values named *-age) is missing.
 *  - A code maps through the terminology map; else the resource's text or
 *    a coding's display is matched against the ruleset's names, synonyms
 *    and labels; else the text (or system|code) reaches suitd as an
 *    unrecognised term, never dropped.
 *  - An area or indication that matches nothing is left out (suitd says
 *    incomplete and names it) with a note; a pregnancy or breastfeeding
 *    status older than max_status_age_days, or unknown, is left out too.
 */
#ifndef CDS_FHIR_H
#define CDS_FHIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto_termmap.h"

/* A calendar day (proleptic Gregorian). */
struct cds_date {
    int y, m, d;
};

/* Days since 1970-01-01 (negative before). */
long cds_days(struct cds_date d);
/* Parses a FHIR date or dateTime ("2024", "2024-05", "2024-05-17",
 * "2024-05-17T10:00:00Z"): the earliest and latest day it can mean (the
 * time zone is ignored: the day as written).  Returns 0, or -1 when s is
 * not one. */
int cds_date_parse(const char *s, struct cds_date *first, struct cds_date *last);
/* Completed years from birth to on. */
int cds_age_on(struct cds_date birth, struct cds_date on);

/* The hooks the service knows (http/CDS-HOOKS.md "Hooks"); the gateway
 * offers those of its cds_hooks setting. */
enum cds_hook {
    CDS_HOOK_ORDER_SELECT,
    CDS_HOOK_ORDER_SIGN,
    CDS_HOOK_APPOINTMENT_BOOK,
    CDS_HOOK_PATIENT_VIEW,
    CDS_HOOK_COUNT
};
#define CDS_HOOK_BIT(h) (1u << (h))
#define CDS_HOOKS_DEFAULT (CDS_HOOK_BIT(CDS_HOOK_ORDER_SELECT) | CDS_HOOK_BIT(CDS_HOOK_ORDER_SIGN))
extern const char *const cds_hook_names[CDS_HOOK_COUNT];
/* The hook called name, or -1. */
int cds_hook_find(const char *name);

/* What the mapper is given besides the request. */
struct cds_fhir_opts {
    struct cds_date today;
    const struct proto_termmap *terms;
    /* suitd's ruleset result (PROTOCOL.md 4.3): terms (names, labels,
     * synonyms, takes_days) and policy (the age limits). */
    const json_t *ruleset;
    /* ServiceRequest codes that mean micro-needling ("SYSTEM|CODE"),
     * besides the map's order rows. */
    const char *const *order_codes;
    size_t n_order_codes;
    /* Observation codes that mean a Fitzpatrick skin type. */
    const char *const *fitzpatrick_codes;
    size_t n_fitzpatrick_codes;
    unsigned max_status_age_days;
    /* CDS_HOOK_BIT of each hook offered; 0: CDS_HOOKS_DEFAULT. */
    unsigned hooks;
};

enum cds_fhir_status {
    CDS_FHIR_OK = 0,
    CDS_FHIR_BAD_REQUEST,       /* not a CDS Hooks request this service takes (400) */
    CDS_FHIR_UNSATISFIED,       /* a safety-relevant prefetch is missing (412) */
    CDS_FHIR_TOO_MANY,          /* more distinct entries in a list than suitd takes
                                 * (SUIT_MAX_ITEMS): nothing may be dropped, so the
                                 * service answers a card that it could not assess */
};

/* The micro-needling orders of the request, each as a ServiceRequest for
 * cds_fhir_patient:
 *  - order-select, order-sign: from context.draftOrders, for order-select
 *    only those context.selections names;
 *  - patient-view: the draft or active ones of the prefetch "orders"
 *    (unsatisfied: CDS_FHIR_UNSATISFIED, since without it the service
 *    cannot tell whether a card is due);
 *  - appointment-book: one per Appointment of context.appointments whose
 *    serviceType means micro-needling, made into a ServiceRequest: that
 *    serviceType as its code, start as its occurrence, reasonCode, and
 *    the bodySite (and reasonCode, when the appointment has none) of the
 *    order of "orders" its basedOn names.
 * A hook that is not offered (o->hooks) is CDS_FHIR_BAD_REQUEST.  *orders
 * is a new array (maybe empty). */
enum cds_fhir_status cds_fhir_orders(const json_t *request, const struct cds_fhir_opts *o,
                                     json_t **orders, char *err, size_t errlen);

/* The patient for one order.  On CDS_FHIR_OK *patient is the assess
 * patient map and *notes an array of gateway findings ({id, category
 * "input", severity, summary, action}), both new references; *date is
 * the treatment date.  Otherwise err says why (for 412: the prefetch
 * key). */
enum cds_fhir_status cds_fhir_patient(const json_t *request, const json_t *order,
                                      const struct cds_fhir_opts *o, json_t **patient,
                                      json_t **notes, struct cds_date *date, char *err,
                                      size_t errlen);

/* The prefetch keys the service asks for (the last, "orders", only on
 * patient-view and appointment-book), and those whose absence is
 * CDS_FHIR_UNSATISFIED for every hook. */
extern const char *const cds_fhir_prefetch_keys[];
bool cds_fhir_prefetch_required(const char *key);

#endif
