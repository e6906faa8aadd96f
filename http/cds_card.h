/*
 * cds_card.h: a CDS Hooks 2.0 card from suitd's assessment (PROTOCOL.md
 * 4.2) and the mapper's notes (cds_fhir.h).  Pure: the uuid, the
 * treatment date and the override reasons are given.
 *
 *   summary    at most CDS_CARD_SUMMARY_MAX bytes (the spec: "<140
 *              characters"), cut on a UTF-8 boundary, naming the verdict
 *              and the finding that decided it; an incomplete one names
 *              what is missing and never reads like a go-ahead
 *   indicator  critical: contraindicated; warning: refer, defer,
 *              incomplete; info: suitable, suitable-with-precautions
 *   detail     Markdown: every finding (summary, action, sources), the
 *              notes on how the record was read, what is missing, the
 *              serious side effects, the course plan and cost, and that the
 *              decision stays with the clinician.  Text from the record is
 *              escaped, so it cannot add links or markup.
 *   source     label "suitd NAME ruleset VERSION (SHA12)", topic the verdict as
 *              a Coding (system urn:suitd:verdict; not-assessed when none)
 *   uuid, overrideReasons (omitted when empty: the spec's JSON rules)
 */
#ifndef CDS_CARD_H
#define CDS_CARD_H

#include <jansson.h>
#include <stddef.h>

#include "cds_fhir.h"

#define CDS_CARD_SUMMARY_MAX 139

struct cds_card_opts {
    const char *uuid;
    struct cds_date date;               /* the treatment date */
    const json_t *override_reasons;     /* array of Coding, or NULL */
};

/* The card (a new reference), or NULL when out of memory. */
json_t *cds_card(const json_t *result, const json_t *notes, const struct cds_card_opts *o);

/* A warning card for an order that could not be assessed (why: the
 * reason, for people). */
json_t *cds_card_not_assessed(const char *why, const struct cds_card_opts *o);

/* The indicator of a verdict. */
const char *cds_card_indicator(const char *verdict);

/* Cuts s (NUL-terminated) to at most max bytes on a UTF-8 boundary,
 * ending it with an ellipsis when anything was cut. */
void cds_card_cut(char *s, size_t max);

/* Escapes Markdown's special characters in text, appending to buf. */
void cds_card_md_escape(const char *text, char **buf, size_t *len, size_t *cap);

#endif
