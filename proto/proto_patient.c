/*
 * proto_patient.c: typed conversion of `assess` params into a
 * struct suit_patient.
 *
 * Only shape, type and range are checked here; whether a term is in the
 * ruleset's vocabulary is the engine's business.  Every refusal names the
 * field by its path ("medications[2].days_since_last_dose") in both
 * e->field and the message, so a client can point at the offending input.
 * A missing (or nil) required key is not an error: the engine reports the
 * verdict `incomplete` and lists it.  Unknown keys are errors, since a typo
 * must not silently drop a fact about the patient.
 */
#include "proto.h"
#include "proto_term.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 160

/* What fail() returns for a NULL path: the caller did not format the path
 * (a list item's "conditions[3].name") because the value was expected to
 * be good, and parses it again with the path to report the error.  Paths
 * are formatted only for errors: snprintf per item and key was 4% of a
 * whole assessment. */
#define PATH_LATER (-2)

static int fail(struct proto_error *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct proto_error *e, const char *path, const char *fmt, ...)
{
    if (!path)
        return PATH_LATER;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (proto_error_set_field(e, path) < 0)
        return proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
    return proto_error_set(e, PROTO_E_INVALID_PARAMS, "%s: %s", path, what);
}

/* A key as it may appear in a path or message: printable ASCII only, since
 * it comes straight from the client and may hold anything. */
static void key_text(const msgpack_object_str *k, char *out, size_t cap)
{
    /* Non-printable bytes become \xNN; the text is cut after 48 input
     * bytes.  Each input byte takes at most 4 output bytes and the "..."
     * marker 3 more, so the loop stops while 4 + 3 + 1 (NUL) still fit: the
     * cut can never overrun `out`. */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    uint32_t i;
    for (i = 0; i < k->size && i < 48 && o + 8 <= cap; i++) {
        unsigned char c = (unsigned char)k->ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (i < k->size && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    if (cap > 0)
        out[o < cap ? o : cap - 1] = '\0';
}

static bool key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2; cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3; cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4; cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* Copies a term: a non-empty UTF-8 string of at most SUIT_MAX_TERM_LEN
 * bytes with no NUL (msgpack strings are not NUL-terminated, and a NUL
 * would cut the term short in C) and no other control character.  The
 * copy is the term as sent; the engine normalises it for matching. */
static int get_term(const msgpack_object *o, const char *path, char **out,
                    struct proto_error *e)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(e, path, "expected a string");
    const char *s = o->via.str.ptr;
    size_t n = o->via.str.size;
    if (n == 0)
        return fail(e, path, "expected a non-empty string");
    if (n > SUIT_MAX_TERM_LEN)
        return fail(e, path, "expected a string of at most %d bytes", SUIT_MAX_TERM_LEN);
    if (memchr(s, '\0', n))
        return fail(e, path, "expected a string without NUL bytes");
    if (!utf8_valid((const unsigned char *)s, n))
        return fail(e, path, "expected a valid UTF-8 string");
    /* A tab, newline or escape in a term is never a typing slip: it comes
     * from a broken export or an attack on whatever shows the term later
     * (a log, a terminal). */
    long ctl = proto_term_control(s, n);
    if (ctl >= 0)
        return fail(e, path, "expected a string without control characters (byte %ld is "
                    "0x%02x)", ctl, (unsigned char)s[ctl]);
    char *copy = malloc(n + 1);
    if (!copy)
        return proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
    memcpy(copy, s, n);
    copy[n] = '\0';
    /* The engine matches the term trimmed (proto_term_normalise): white
     * space alone would be an empty term. */
    if (proto_term_blank(copy)) {
        free(copy);
        return fail(e, path, "expected a non-empty string (got white space only)");
    }
    free(*out);
    *out = copy;
    return 0;
}

/* An integer in [lo, hi]; anything else (negative, 2^63, float, string)
 * gets `expect` as the message. */
static int get_int(const msgpack_object *o, const char *path, int64_t lo, int64_t hi,
                   const char *expect, int64_t *out, struct proto_error *e)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 <= (uint64_t)INT64_MAX && (int64_t)o->via.u64 >= lo &&
            (int64_t)o->via.u64 <= hi) {
            *out = (int64_t)o->via.u64;
            return 0;
        }
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 >= lo && o->via.i64 <= hi) {
            *out = o->via.i64;
            return 0;
        }
    }
    if (expect)
        return fail(e, path, "%s", expect);
    return fail(e, path, "expected an integer from %lld to %lld", (long long)lo, (long long)hi);
}

static int get_days(const msgpack_object *o, const char *path, int64_t *out,
                    struct proto_error *e)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 > SUIT_MAX_DAYS)
        return fail(e, path, "expected a non-negative integer of at most %d", SUIT_MAX_DAYS);
    return get_int(o, path, 0, SUIT_MAX_DAYS, "expected a non-negative integer", out, e);
}

static int get_tristate(const msgpack_object *o, const char *path, enum suit_tristate *out,
                        struct proto_error *e)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return fail(e, path, "expected true or false");
    *out = o->via.boolean ? SUIT_YES : SUIT_NO;
    return 0;
}

enum item_shape {
    ITEM_CONDITION,     /* str, or {name, days_ago?} */
    ITEM_MEDICATION,    /* {name, days_since_last_dose} */
    ITEM_PROCEDURE,     /* {name, days_ago} */
    ITEM_ALLERGY,       /* str */
};

static int get_item(const msgpack_object *o, const char *path, enum item_shape shape,
                    struct suit_item *it, struct proto_error *e)
{
    it->days = -1;
    if (o->type == MSGPACK_OBJECT_STR && (shape == ITEM_CONDITION || shape == ITEM_ALLERGY))
        return get_term(o, path, &it->name, e);
    const char *days_key = shape == ITEM_MEDICATION ? "days_since_last_dose" : "days_ago";
    if (shape == ITEM_ALLERGY)
        return fail(e, path, "expected a string");
    if (o->type != MSGPACK_OBJECT_MAP) {
        if (shape == ITEM_CONDITION)
            return fail(e, path, "expected a string or a map {name, days_ago}");
        return fail(e, path, "expected a map {name, %s}", days_key);
    }
    char sub[2 * PATH_MAX_LEN + 32];
    bool seen_name = false, seen_days = false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int rc;
        if (key_is(&kv->key, "name")) {
            if (path)
                snprintf(sub, sizeof(sub), "%s.name", path);
            if (seen_name)
                return fail(e, path ? sub : NULL, "expected each key once, got a duplicate key");
            seen_name = true;
            if (kv->val.type == MSGPACK_OBJECT_NIL)
                continue;
            rc = get_term(&kv->val, path ? sub : NULL, &it->name, e);
        } else if (key_is(&kv->key, days_key)) {
            if (path)
                snprintf(sub, sizeof(sub), "%s.%s", path, days_key);
            if (seen_days)
                return fail(e, path ? sub : NULL, "expected each key once, got a duplicate key");
            seen_days = true;
            if (kv->val.type == MSGPACK_OBJECT_NIL)
                continue;
            rc = get_days(&kv->val, path ? sub : NULL, &it->days, e);
        } else {
            char k[PATH_MAX_LEN];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return fail(e, path, "expected string keys (name, %s)", days_key);
            if (!path)
                return PATH_LATER;
            key_text(&kv->key.via.str, k, sizeof(k));
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            return fail(e, sub, "expected no such key (allowed: name, %s)", days_key);
        }
        if (rc < 0)
            return rc;
    }
    if (!it->name) {
        if (!path)
            return PATH_LATER;
        snprintf(sub, sizeof(sub), "%s.name", path);
        return fail(e, sub, "expected a string (the key is required)");
    }
    if (it->days < 0 && shape != ITEM_CONDITION) {
        if (!path)
            return PATH_LATER;
        snprintf(sub, sizeof(sub), "%s.%s", path, days_key);
        return fail(e, sub, "expected a non-negative integer (the key is required)");
    }
    return 0;
}

static int get_list(const msgpack_object *o, const char *path, enum item_shape shape,
                    struct suit_item_list *l, struct proto_error *e)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(e, path, "expected an array");
    uint32_t n = o->via.array.size;
    if (n > SUIT_MAX_ITEMS)
        return fail(e, path, "expected an array of at most %d items, got %u",
                    SUIT_MAX_ITEMS, n);
    /* A duplicate key would leave a list behind: replace it. */
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i].name);
    free(l->items);
    l->items = NULL;
    l->len = 0;
    if (n == 0)
        return 0;
    l->items = calloc(n, sizeof(*l->items));
    if (!l->items)
        return proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        l->len = i + 1;   /* so that close frees a half-built item */
        int rc = get_item(&o->via.array.ptr[i], NULL, shape, &l->items[i], e);
        if (rc == PATH_LATER) {
            /* again, with the path the error names */
            char sub[PATH_MAX_LEN];
            snprintf(sub, sizeof(sub), "%s[%u]", path, i);
            free(l->items[i].name);
            l->items[i].name = NULL;
            rc = get_item(&o->via.array.ptr[i], sub, shape, &l->items[i], e);
            if (rc == PATH_LATER)   /* never: a path is given */
                rc = proto_error_set(e, PROTO_E_INTERNAL, "item error without a path");
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

enum patient_key {
    K_AGE, K_PREGNANT, K_BREASTFEEDING, K_FITZPATRICK, K_AREA, K_INDICATION,
    K_CONDITIONS, K_MEDICATIONS, K_PROCEDURES, K_ALLERGIES, K_SETTING,
    K_NEEDLE_DEPTH, K_COUNT
};

/* ---- the schema ----------------------------------------------------- */

#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))
#define TERM(voc) .type = PROTO_FIELD_STRING, .has_vocabulary = true, .vocabulary = (voc), \
                  .max_length = SUIT_MAX_TERM_LEN
#define DAYS .type = PROTO_FIELD_INTEGER, .unit = "days", .has_range = true, .min = 0, \
             .max = SUIT_MAX_DAYS

static const struct proto_field condition_keys[] = {
    {"name", TERM(SUIT_VOC_CONDITIONS), .required = true, .description = "the condition"},
    {"days_ago", DAYS, .description = "days since it ended or was diagnosed (0 = now); omit "
                                      "when it is ongoing or the date is unknown"},
};
static const struct proto_field medication_keys[] = {
    {"name", TERM(SUIT_VOC_MEDICATIONS), .required = true, .description = "the medication"},
    {"days_since_last_dose", DAYS, .required = true,
     .description = "days since the last dose (0 = taking it now)"},
};
static const struct proto_field procedure_keys[] = {
    {"name", TERM(SUIT_VOC_PROCEDURES), .required = true, .description = "the procedure"},
    {"days_ago", DAYS, .required = true, .description = "days since the procedure"},
};

static const struct proto_field condition_item = {
    "condition", .type = PROTO_FIELD_MAP,
    .fields = condition_keys, .n_fields = N_KEYS(condition_keys),
    .shorthand = "name", .description = "a condition: {name, days_ago}, or its name alone",
};
static const struct proto_field medication_item = {
    "medication", .type = PROTO_FIELD_MAP,
    .fields = medication_keys, .n_fields = N_KEYS(medication_keys),
    .description = "a medication: {name, days_since_last_dose}",
};
static const struct proto_field procedure_item = {
    "procedure", .type = PROTO_FIELD_MAP,
    .fields = procedure_keys, .n_fields = N_KEYS(procedure_keys),
    .description = "a procedure: {name, days_ago}",
};
static const struct proto_field allergy_item = {
    "allergy", TERM(SUIT_VOC_ALLERGIES), .description = "an allergy",
};

#define LIST(item) .type = PROTO_FIELD_ARRAY, .max_items = SUIT_MAX_ITEMS, .items = &(item)

/* The patient map, one row per key, in the order PROTOCOL.md lists them. */
static const struct proto_field patient_fields[K_COUNT] = {
    [K_AGE] = {"age", PROTO_FIELD_INTEGER, .required = true, .unit = "years", .has_range = true,
               .min = 0, .max = SUIT_MAX_AGE, .description = "age in whole years"},
    [K_PREGNANT] = {"pregnant", PROTO_FIELD_BOOLEAN, .required = true,
                    .description = "pregnant now"},
    [K_BREASTFEEDING] = {"breastfeeding", PROTO_FIELD_BOOLEAN, .required = true,
                         .description = "breastfeeding now"},
    [K_FITZPATRICK] = {"fitzpatrick", PROTO_FIELD_INTEGER, .required = true, .has_range = true,
                       .min = SUIT_MIN_FITZPATRICK, .max = SUIT_MAX_FITZPATRICK,
                       .description = "Fitzpatrick skin type"},
    [K_AREA] = {"area", TERM(SUIT_VOC_AREAS), .required = true,
                .description = "the treatment area"},
    [K_INDICATION] = {"indication", TERM(SUIT_VOC_INDICATIONS), .required = true,
                      .description = "what is treated"},
    [K_CONDITIONS] = {"conditions", LIST(condition_item),
                      .description = "current or past conditions"},
    [K_MEDICATIONS] = {"medications", LIST(medication_item),
                       .description = "medications taken now or recently"},
    [K_PROCEDURES] = {"procedures", LIST(procedure_item),
                      .description = "recent cosmetic or medical procedures"},
    [K_ALLERGIES] = {"allergies", LIST(allergy_item), .description = "known allergies"},
    [K_SETTING] = {"setting", TERM(SUIT_VOC_SETTINGS), .default_value = SUIT_DEFAULT_SETTING,
                   .description = "where the treatment happens"},
    [K_NEEDLE_DEPTH] = {"needle_depth_mm", PROTO_FIELD_NUMBER, .unit = "mm", .has_range = true,
                        .min = 0, .max = SUIT_MAX_DEPTH_MM, .min_exclusive = true,
                        .description = "needle length (home rollers)"},
};

const struct proto_field *proto_patient_fields(size_t *n)
{
    *n = K_COUNT;
    return patient_fields;
}

const char *proto_field_type_name(enum proto_field_type t)
{
    static const char *const names[] = {
        [PROTO_FIELD_INTEGER] = "integer", [PROTO_FIELD_NUMBER] = "number",
        [PROTO_FIELD_BOOLEAN] = "boolean", [PROTO_FIELD_STRING] = "string",
        [PROTO_FIELD_ARRAY] = "array", [PROTO_FIELD_MAP] = "map",
    };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* ---- the patient ---------------------------------------------------- */

static int get_depth(const msgpack_object *o, const char *path, double *out,
                     struct proto_error *e)
{
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v = o->via.f64;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v = o->via.u64 > 1000 ? 1e9 : (double)o->via.u64;
        break;
    default:
        v = -1.0;
        break;
    }
    if (!isfinite(v) || v <= 0.0 || v > SUIT_MAX_DEPTH_MM)
        return fail(e, path, "expected a number greater than 0 and at most %g",
                    SUIT_MAX_DEPTH_MM);
    *out = v;
    return 0;
}

/* An integer in the field's range, refused with "expected an integer
 * from MIN to MAX". */
static int get_ranged(enum patient_key k, const msgpack_object *v, int64_t *out,
                      struct proto_error *e)
{
    const struct proto_field *f = &patient_fields[k];
    return get_int(v, f->name, (int64_t)f->min, (int64_t)f->max, NULL, out, e);
}

static int patient_value(enum patient_key k, const msgpack_object *v,
                         struct suit_patient *p, struct proto_error *e)
{
    const char *path = patient_fields[k].name;
    int64_t n = 0;
    int rc;
    switch (k) {
    case K_AGE:
        rc = get_ranged(k, v, &n, e);
        if (rc == 0)
            p->age = n;
        return rc;
    case K_PREGNANT:
        return get_tristate(v, path, &p->pregnant, e);
    case K_BREASTFEEDING:
        return get_tristate(v, path, &p->breastfeeding, e);
    case K_FITZPATRICK:
        rc = get_ranged(k, v, &n, e);
        if (rc == 0)
            p->fitzpatrick = (int)n;
        return rc;
    case K_AREA:
        return get_term(v, path, &p->area, e);
    case K_INDICATION:
        return get_term(v, path, &p->indication, e);
    case K_SETTING:
        return get_term(v, path, &p->setting, e);
    case K_CONDITIONS:
        return get_list(v, path, ITEM_CONDITION, &p->conditions, e);
    case K_MEDICATIONS:
        return get_list(v, path, ITEM_MEDICATION, &p->medications, e);
    case K_PROCEDURES:
        return get_list(v, path, ITEM_PROCEDURE, &p->procedures, e);
    case K_ALLERGIES:
        return get_list(v, path, ITEM_ALLERGY, &p->allergies, e);
    case K_NEEDLE_DEPTH:
        return get_depth(v, path, &p->needle_depth_mm, e);
    case K_COUNT:
        break;
    }
    return proto_error_set(e, PROTO_E_INTERNAL, "unhandled patient key");
}

static int unknown_key(const msgpack_object *key, const char *prefix, const char *allowed,
                       struct proto_error *e)
{
    char k[PATH_MAX_LEN], path[2 * PATH_MAX_LEN + 16];
    if (key->type != MSGPACK_OBJECT_STR)
        return fail(e, prefix[0] ? prefix : "patient", "expected string keys");
    key_text(&key->via.str, k, sizeof(k));
    snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", k);
    return fail(e, path, "expected no such key (allowed: %s)", allowed);
}

static int get_patient(const msgpack_object *o, struct suit_patient *p, struct proto_error *e)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail(e, "patient", "expected a map");
    bool seen[K_COUNT] = { false };
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int k = -1;
        for (int j = 0; j < K_COUNT; j++)
            if (key_is(&kv->key, patient_fields[j].name)) {
                k = j;
                break;
            }
        if (k < 0) {
            char allowed[256];
            size_t len = 0;
            for (int j = 0; j < K_COUNT && len < sizeof allowed; j++)
                len += (size_t)snprintf(allowed + len, sizeof allowed - len, "%s%s",
                                        j ? ", " : "", patient_fields[j].name);
            return unknown_key(&kv->key, "", allowed, e);
        }
        if (seen[k])
            return fail(e, patient_fields[k].name, "expected each key once, got a duplicate key");
        seen[k] = true;
        if (kv->val.type == MSGPACK_OBJECT_NIL)
            continue;   /* nil is "not given": required keys become missing */
        int rc = patient_value((enum patient_key)k, &kv->val, p, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* options.policy: a policy name as suit_policy_name_valid defines it;
 * whether the daemon has that policy is the engine's business. */
static int get_policy_name(const msgpack_object *v, struct suit_patient *p,
                           struct proto_error *e)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return fail(e, "options.policy", "expected a policy name (a string)");
    if (!suit_policy_name_valid(v->via.str.ptr, v->via.str.size))
        return fail(e, "options.policy", "expected a policy name: 1 to %d lowercase letters, "
                    "digits and hyphens, starting and ending with a letter or a digit",
                    SUIT_MAX_POLICY_NAME);
    p->policy = malloc(v->via.str.size + 1);
    if (!p->policy)
        return proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
    memcpy(p->policy, v->via.str.ptr, v->via.str.size);
    p->policy[v->via.str.size] = '\0';
    return 0;
}

/* options.request_id: suit_request_id_valid. */
static int get_request_id(const msgpack_object *v, struct suit_patient *p,
                          struct proto_error *e)
{
    if (v->type != MSGPACK_OBJECT_STR)
        return fail(e, "options.request_id", "expected a string");
    if (!suit_request_id_valid(v->via.str.ptr, v->via.str.size))
        return fail(e, "options.request_id", "expected 1 to %d ASCII letters, digits and "
                    "- _ . : /", SUIT_MAX_REQUEST_ID);
    p->request_id = malloc(v->via.str.size + 1);
    if (!p->request_id)
        return proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
    memcpy(p->request_id, v->via.str.ptr, v->via.str.size);
    p->request_id[v->via.str.size] = '\0';
    return 0;
}

enum option_key { OPT_EXPLAIN, OPT_POLICY, OPT_REQUEST_ID, OPT_COUNT };
static const char *const option_names[OPT_COUNT] = {"explain", "policy", "request_id"};

static int get_options(const msgpack_object *o, struct suit_patient *p, struct proto_error *e)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail(e, "options", "expected a map");
    bool seen[OPT_COUNT] = {false};
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int k = 0;
        while (k < OPT_COUNT && !key_is(&kv->key, option_names[k]))
            k++;
        if (k == OPT_COUNT)
            return unknown_key(&kv->key, "options", "explain, policy, request_id", e);
        if (seen[k]) {
            char field[32];
            snprintf(field, sizeof field, "options.%s", option_names[k]);
            return fail(e, field, "expected each key once, got a duplicate key");
        }
        seen[k] = true;
        if (kv->val.type == MSGPACK_OBJECT_NIL)
            continue;
        int rc = 0;
        switch ((enum option_key)k) {
        case OPT_POLICY:
            rc = get_policy_name(&kv->val, p, e);
            break;
        case OPT_REQUEST_ID:
            rc = get_request_id(&kv->val, p, e);
            break;
        case OPT_EXPLAIN:
            if (kv->val.type != MSGPACK_OBJECT_BOOLEAN)
                return fail(e, "options.explain", "expected true or false");
            p->explain = kv->val.via.boolean;
            break;
        case OPT_COUNT:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int proto_patient_from_params(const msgpack_object *params, struct suit_patient *p,
                              struct proto_error *e)
{
    suit_patient_init(p);
    if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size < 1 ||
        params->via.array.size > 2)
        return fail(e, "params", "expected [patient] or [patient, options]");
    int rc = get_patient(&params->via.array.ptr[0], p, e);
    if (rc == 0 && params->via.array.size == 2)
        rc = get_options(&params->via.array.ptr[1], p, e);
    if (rc < 0)
        suit_patient_close(p);
    return rc;
}
