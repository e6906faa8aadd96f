/*
 * diff_population.h: the patients `suitd diff` runs both sides over.
 *
 * Deterministic: the same rulesets, policies and --cases file give the
 * same patients in the same order.  In order:
 *   1. the patients of both rulesets' own case files;
 *   2. generated from the vocabularies and policy values of both sides (a
 *      term only one side knows is in it too):
 *      - a base patient (complete, nothing wrong: age 35, not pregnant or
 *        breastfeeding, Fitzpatrick 2, the first area and indication by
 *        name), and each required key missing from it alone;
 *      - every term (conditions, medications, procedures, allergies, and
 *        their synonyms) alone on the base patient; one that takes days at
 *        each of the boundary days: 0, 1, the day before, on and after every
 *        day-valued policy value either side uses, and SUIT_MAX_DAYS;
 *      - every pair of canonical terms (taking now, or 1 day ago);
 *      - every age from 0 to SUIT_MAX_AGE (so every age boundary a rule can
 *        test), each Fitzpatrick type, pregnant, breastfeeding;
 *      - every area with every indication; every area with every setting at
 *        each needle depth around every depth-valued policy value;
 *   3. the patients of the --cases file (JSON lines: a patient object, or a
 *      case object with a "patient" key).
 * A patient that is already in the population is not added again.
 */
#ifndef DIFF_POPULATION_H
#define DIFF_POPULATION_H

#include <stddef.h>

#include "engine.h"

struct diff_patient {
    char *json;                 /* compact, keys sorted: its identity and how it is shown */
    char *packed;               /* the patient map as MessagePack */
    size_t packed_len;
};

struct diff_population {
    struct diff_patient *v;
    size_t n, cap;
    size_t from_cases, generated, from_file;
    /* dedup: open addressing over v's indexes + 1 (0: empty) */
    size_t *slots;
    size_t n_slots;
};

/* One side of a diff as the population sees it: its ruleset and the name
 * of the policy its requests use (NULL: default). */
struct diff_side_ref {
    struct ruleset *rs;
    const char *policy;
};

/* Builds the population for sides[0] and sides[1]; cases_file (NULL:
 * none) adds its patients.  0, or PROTO_E_INVALID_PARAMS (a bad --cases
 * line: err says file:line) or PROTO_E_INTERNAL. */
int diff_population_build(struct diff_population *p, const struct diff_side_ref sides[2],
                          const char *cases_file, struct proto_error *err);
void diff_population_free(struct diff_population *p);

#endif
