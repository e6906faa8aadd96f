/*
 * suit_types.h: the data that crosses between protocol and engine.
 *
 * A `struct suit_patient` is what an `assess` request says about a patient,
 * already type-checked by the protocol layer (proto_patient.c) but not yet
 * checked against the ruleset's vocabulary (that is the engine's job, since
 * the vocabulary lives in the ruleset).  A `struct suit_result` is what the
 * engine concluded; the protocol layer packs it back to MessagePack.
 *
 * Both structs own every string they point to; free them with the matching
 * _close function.  Strings are NUL-terminated, UTF-8, and never contain an
 * embedded NUL (the decoder rejects those).
 */
#ifndef SUIT_TYPES_H
#define SUIT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tri-state for required booleans: a missing key is not an error, it makes
 * the verdict `incomplete`. */
enum suit_tristate { SUIT_UNKNOWN = -1, SUIT_NO = 0, SUIT_YES = 1 };

/* Hard bounds on what a request may contain; beyond them the request is an
 * `invalid params` error naming the field. */
#define SUIT_MAX_AGE 150
#define SUIT_MAX_DAYS 36500          /* 100 years */
#define SUIT_MAX_ITEMS 64            /* per list: conditions, medications ... */
#define SUIT_MAX_TERM_LEN 128        /* bytes in one term name */
#define SUIT_MAX_DEPTH_MM 10.0
#define SUIT_MIN_FITZPATRICK 1
#define SUIT_MAX_FITZPATRICK 6
/* The patient keys an assessment needs (age, pregnant, breastfeeding,
 * fitzpatrick, area, indication: the `required` fields of
 * proto_patient_fields); each missing one is listed in `missing`. */
#define SUIT_N_REQUIRED 6
/* The setting when a request gives none. */
#define SUIT_DEFAULT_SETTING "clinic"
/* The policy a request runs under when it names none (options.policy),
 * and the longest policy name: lowercase letters, digits and hyphens
 * (suit_policy_name_valid). */
#define SUIT_DEFAULT_POLICY "default"
#define SUIT_MAX_POLICY_NAME 64
/* options.request_id: the clinic's own correlation id, echoed in the
 * result and the decision log: 1 to SUIT_MAX_REQUEST_ID bytes of ASCII
 * letters, digits and - _ . : / (suit_request_id_valid), so that it is
 * safe in logs and never a place for patient text.  128, not 64, so that
 * suit-httpd's CDS Hooks id fits: "cds:" + hook (at most 16) + ":" + the
 * card's uuid (36) + ":" + the EHR's hookInstance (a uuid, 36) = 94. */
#define SUIT_MAX_REQUEST_ID 128

/* The vocabularies of a ruleset: what area, indication, setting and the
 * items of each list may name.  suit_vocabulary_name is the key used on
 * the wire ("areas"), suit_vocabulary_kind the term kind in the ruleset
 * ("area"). */
enum suit_vocabulary {
    SUIT_VOC_AREAS = 0,
    SUIT_VOC_INDICATIONS,
    SUIT_VOC_CONDITIONS,
    SUIT_VOC_MEDICATIONS,
    SUIT_VOC_PROCEDURES,
    SUIT_VOC_ALLERGIES,
    SUIT_VOC_SETTINGS,
    SUIT_N_VOCABULARIES
};
const char *suit_vocabulary_name(enum suit_vocabulary v);
const char *suit_vocabulary_kind(enum suit_vocabulary v);

/* One condition, medication, procedure or allergy as the client named it.
 * `days` is days_ago (conditions, procedures) or days_since_last_dose
 * (medications; 0 = taking now); -1 when not given (allergies never have
 * one; conditions may omit it). */
struct suit_item {
    char *name;
    int64_t days;
};

struct suit_item_list {
    struct suit_item *items;
    size_t len;
};

struct suit_patient {
    int64_t age;                /* -1 when missing */
    enum suit_tristate pregnant;
    enum suit_tristate breastfeeding;
    int fitzpatrick;            /* 1..6, 0 when missing */
    char *area;                 /* NULL when missing */
    char *indication;           /* NULL when missing */
    char *setting;              /* NULL means the default, "clinic" */
    double needle_depth_mm;     /* < 0 when not given */
    struct suit_item_list conditions;
    struct suit_item_list medications;
    struct suit_item_list procedures;
    struct suit_item_list allergies;    /* days always -1 */
    bool explain;               /* options.explain */
    char *policy;               /* options.policy; NULL: the engine's own (SUIT_DEFAULT_POLICY) */
    char *request_id;           /* options.request_id; NULL: none */
};

void suit_patient_init(struct suit_patient *p);   /* all fields "missing" */
void suit_patient_close(struct suit_patient *p);  /* frees, leaves p init'ed */

/* Severities in increasing order of weight; the verdict is decided by the
 * heaviest finding (see engine_verdict). */
enum suit_severity {
    SUIT_SEV_INFO = 0,
    SUIT_SEV_CAUTION,
    SUIT_SEV_INCOMPLETE,
    SUIT_SEV_DEFER,
    SUIT_SEV_REFER,
    SUIT_SEV_CONTRAINDICATED,
};
const char *suit_severity_name(enum suit_severity s);      /* "info" ... */
int suit_severity_parse(const char *name);                 /* -1 if unknown */

enum suit_verdict {
    SUIT_VERDICT_SUITABLE = 0,
    SUIT_VERDICT_PRECAUTIONS,      /* "suitable-with-precautions" */
    SUIT_VERDICT_INCOMPLETE,
    SUIT_VERDICT_DEFER,
    SUIT_VERDICT_REFER,
    SUIT_VERDICT_CONTRAINDICATED,
};
const char *suit_verdict_name(enum suit_verdict v);
int suit_verdict_parse(const char *name);                  /* -1 if unknown */

struct suit_finding {
    char *id, *category, *summary, *detail, *source, *action;
    enum suit_severity severity;
    int64_t defer_days;         /* -1 = nil (no fixed end, or not a deferral) */
    char *suggestion;           /* a near-miss term's likely meaning; NULL: none */
};

struct suit_side_effect {
    char *effect;
    char *kind;                 /* "expected" | "serious" */
    char *likelihood;           /* "common" | "uncommon" | "rare" */
    char *note;
    /* Non-NULL: the item already packed, exactly as proto_pack_side_effect
     * writes it (an engine's constant output, packed once per engine).
     * Borrowed from the engine and valid only until its next assessment:
     * the request pipeline alone sets it, and clears it after packing. */
    const char *packed;
    size_t packed_len;
};

struct suit_plan {
    bool present;               /* false: plan is nil in the result */
    int sessions_min, sessions_max;
    int interval_weeks, interval_weeks_max;
    int cost_min, cost_typical, cost_max;           /* per session, USD */
    int course_cost_min, course_cost_max;           /* USD */
};

struct suit_ruleset_id {
    char *name, *version, *sha256;    /* sha256: 64 lowercase hex digits */
};

/* The policy that decided: its name and the sha256 of its values (every
 * parameter of the ruleset, PROTOCOL.md section 4.2), so that two results
 * with the same hash were decided with the same numbers. */
struct suit_policy_id {
    char *name, *sha256;
};

/* A policy name is 1 to SUIT_MAX_POLICY_NAME bytes of lowercase ASCII
 * letters, digits and hyphens, starting and ending with a letter or a
 * digit ("clinic-a", "2024-rules"): safe as a file name (NAME.ini) and in
 * logs.  len is the name's length (the text need not be NUL-terminated). */
bool suit_policy_name_valid(const char *s, size_t len);
bool suit_request_id_valid(const char *s, size_t len);

struct suit_result {
    enum suit_verdict verdict;
    int64_t defer_days;         /* -1 = nil */
    struct suit_finding *findings;  size_t n_findings;
    struct suit_side_effect *side_effects; size_t n_side_effects;
    struct suit_plan plan;
    char **aftercare;           size_t n_aftercare;
    char **missing;             size_t n_missing;
    struct suit_ruleset_id ruleset;
    struct suit_policy_id policy;
    char **trace;               size_t n_trace;
    bool has_trace;             /* options.explain was set */
    /* Non-NULL: the strings of findings, side_effects, aftercare, ruleset
     * and policy all live in this chain of blocks (the engine's results;
     * each block starts with the address of the next, NULL in the last),
     * and suit_result_close frees the blocks instead of each string.
     * NULL: each string is its own allocation. */
    char *pool;
    char *request_id;           /* options.request_id, echoed; NULL: none sent */
    char *decision_id;          /* the decision log's id of this decision; NULL: no log */
};

void suit_result_init(struct suit_result *r);
void suit_result_close(struct suit_result *r);

#endif
