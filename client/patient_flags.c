/*
 * patient_flags.c: `suit check` flags to the protocol's patient map.
 */
#include "patient_flags.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum pflags_kind {
    PF_INT,        /* --age */
    PF_BOOL,       /* --pregnant yes|no */
    PF_FITZ,       /* --fitzpatrick 1..6 or I..VI */
    PF_STR,        /* --area, --indication, --setting */
    PF_REAL,       /* --depth */
    PF_COND,       /* --condition NAME[:DAYS] */
    PF_NAMEDAYS,   /* --med / --procedure NAME:DAYS */
    PF_LIST_STR,   /* --allergy NAME */
};

struct pflags_def {
    const char *flag;      /* without "--" */
    const char *key;       /* protocol key */
    enum pflags_kind kind;
    const char *days_key;  /* object key for the day count in lists */
    const char *example;   /* shown in the error for a malformed value */
};

static const struct pflags_def pflags_defs[] = {
    {"age", "age", PF_INT, NULL, "--age 34"},
    {"pregnant", "pregnant", PF_BOOL, NULL, "--pregnant no"},
    {"breastfeeding", "breastfeeding", PF_BOOL, NULL, "--breastfeeding no"},
    {"fitzpatrick", "fitzpatrick", PF_FITZ, NULL, "--fitzpatrick 3"},
    {"area", "area", PF_STR, NULL, "--area face"},
    {"indication", "indication", PF_STR, NULL, "--indication acne-scars"},
    {"setting", "setting", PF_STR, NULL, "--setting clinic"},
    {"depth", "needle_depth_mm", PF_REAL, NULL, "--depth 0.5"},
    {"condition", "conditions", PF_COND, "days_ago", "--condition sunburn:5"},
    {"med", "medications", PF_NAMEDAYS, "days_since_last_dose", "--med isotretinoin:120"},
    {"procedure", "procedures", PF_NAMEDAYS, "days_ago", "--procedure botulinum-toxin:10"},
    {"allergy", "allergies", PF_LIST_STR, NULL, "--allergy nickel"},
};

/* Facts the result's `missing` list may name, and the flag for each. */
static const char *const pflags_fact_flags[][2] = {
    {"age", "--age"}, {"pregnant", "--pregnant"}, {"breastfeeding", "--breastfeeding"},
    {"fitzpatrick", "--fitzpatrick"}, {"area", "--area"}, {"indication", "--indication"},
};

static const struct pflags_def *pflags_find(const char *name)
{
    for (size_t i = 0; i < sizeof pflags_defs / sizeof pflags_defs[0]; i++)
        if (!strcmp(pflags_defs[i].flag, name))
            return &pflags_defs[i];
    return NULL;
}

bool pflags_is_flag(const char *name)
{
    return pflags_find(name) != NULL;
}

const char *pflags_flag_name(size_t i)
{
    return i < sizeof pflags_defs / sizeof pflags_defs[0] ? pflags_defs[i].flag : NULL;
}

const char *pflags_flag_for_fact(const char *fact)
{
    for (size_t i = 0; i < sizeof pflags_fact_flags / sizeof pflags_fact_flags[0]; i++)
        if (!strcmp(pflags_fact_flags[i][0], fact))
            return pflags_fact_flags[i][1];
    return NULL;
}

/* Whole-string non-negative decimal integer; "now" means 0 days (taking the
 * medication now / today) because that reads better than ":0". */
static int pflags_parse_count(const char *s, long long *out, bool allow_now)
{
    if (allow_now && !strcasecmp(s, "now")) {
        *out = 0;
        return 0;
    }
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int pflags_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "y", "true", "1"};
    static const char *const no[] = {"no", "n", "false", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Fitzpatrick types are often written in Roman numerals. */
static int pflags_parse_fitz(const char *s, long long *out)
{
    static const char *const roman[] = {"I", "II", "III", "IV", "V", "VI"};
    for (int i = 0; i < 6; i++)
        if (!strcasecmp(s, roman[i])) {
            *out = i + 1;
            return 0;
        }
    return pflags_parse_count(s, out, false);
}

static json_t *pflags_list(json_t *patient, const char *key)
{
    json_t *list = json_object_get(patient, key);
    if (json_is_array(list))
        return list;
    list = json_array();
    if (!list || json_object_set_new(patient, key, list))
        return NULL;
    return list;
}

/* Splits NAME:DAYS at the last colon.  Returns 0 with the name copied into
 * `name`, 1 when there is no colon, -1 when malformed. */
static int pflags_split(const char *value, char *name, size_t n, long long *days,
                        bool allow_now)
{
    const char *colon = strrchr(value, ':');
    if (!colon) {
        if (!*value || strlen(value) >= n)
            return -1;
        memcpy(name, value, strlen(value) + 1);
        return 1;
    }
    size_t len = (size_t)(colon - value);
    if (len == 0 || len >= n)
        return -1;
    if (pflags_parse_count(colon + 1, days, allow_now))
        return -1;
    memcpy(name, value, len);
    name[len] = '\0';
    return 0;
}

static json_t *pflags_named(const char *name, const char *days_key, long long days)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (json_object_set_new(o, "name", json_string(name)) ||
        json_object_set_new(o, days_key, json_integer(days))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int pflags_apply(json_t *patient, const char *name, const char *value, char *err,
                 size_t errlen)
{
    const struct pflags_def *d = pflags_find(name);
    if (!d) {
        snprintf(err, errlen, "unknown option '--%s'", name);
        return -1;
    }
    if (!value || !*value) {
        snprintf(err, errlen, "--%s needs a value, e.g. %s", d->flag, d->example);
        return -1;
    }
    long long n;
    bool b;
    char term[256];
    json_t *v = NULL;
    int rc;

    switch (d->kind) {
    case PF_INT:
        if (pflags_parse_count(value, &n, false)) {
            snprintf(err, errlen, "--%s expects a whole number of years, e.g. %s", d->flag,
                     d->example);
            return -1;
        }
        v = json_integer(n);
        break;
    case PF_FITZ:
        if (pflags_parse_fitz(value, &n)) {
            snprintf(err, errlen, "--%s expects a skin type 1-6 (or I-VI), e.g. %s", d->flag,
                     d->example);
            return -1;
        }
        v = json_integer(n);
        break;
    case PF_BOOL:
        if (pflags_parse_bool(value, &b)) {
            snprintf(err, errlen, "--%s expects yes or no, e.g. %s", d->flag, d->example);
            return -1;
        }
        v = json_boolean(b);
        break;
    case PF_STR:
        v = json_string(value);
        if (!v) {
            snprintf(err, errlen, "--%s: value is not valid UTF-8", d->flag);
            return -1;
        }
        break;
    case PF_REAL: {
        char *end;
        errno = 0;
        double x = strtod(value, &end);
        if (errno || *end || end == value || !isfinite(x) || x < 0) {
            snprintf(err, errlen, "--%s expects a needle depth in millimetres, e.g. %s",
                     d->flag, d->example);
            return -1;
        }
        v = json_real(x);
        break;
    }
    case PF_LIST_STR: {
        json_t *s = json_string(value);
        json_t *list = s ? pflags_list(patient, d->key) : NULL;
        if (!s || !list || json_array_append_new(list, s)) {
            if (!list)
                json_decref(s);
            snprintf(err, errlen, "--%s: value is not valid UTF-8", d->flag);
            return -1;
        }
        return 0;
    }
    case PF_COND:
    case PF_NAMEDAYS:
        rc = pflags_split(value, term, sizeof term, &n, d->kind == PF_NAMEDAYS);
        if (rc < 0 || (rc == 1 && d->kind == PF_NAMEDAYS)) {
            if (d->kind == PF_COND)
                snprintf(err, errlen, "--%s expects NAME or NAME:DAYS, e.g. %s", d->flag,
                         d->example);
            else
                snprintf(err, errlen, "--%s expects NAME:DAYS, e.g. %s", d->flag,
                         d->example);
            return -1;
        }
        /* A condition without a day count goes as a plain string, exactly
         * as the protocol allows; with one, as {name, days_ago}. */
        v = rc == 1 ? json_string(term) : pflags_named(term, d->days_key, n);
        json_t *list = v ? pflags_list(patient, d->key) : NULL;
        if (!v || !list || json_array_append_new(list, v)) {
            if (!list)
                json_decref(v);
            snprintf(err, errlen, "--%s: value is not valid UTF-8", d->flag);
            return -1;
        }
        return 0;
    }
    if (!v || json_object_set_new(patient, d->key, v)) {
        snprintf(err, errlen, "--%s: out of memory", d->flag);
        return -1;
    }
    return 0;
}

int pflags_merge(json_t *base, const json_t *flags, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)flags, key, v) {
        json_t *have = json_object_get(base, key);
        if (json_is_array(v) && have) {
            if (!json_is_array(have)) {
                snprintf(err, errlen, "'%s' in the patient file is not a list", key);
                return -1;
            }
            if (json_array_extend(have, v)) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            continue;
        }
        if (json_object_set(base, key, v)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}
