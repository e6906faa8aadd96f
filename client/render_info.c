/*
 * render_info.c: readable `ruleset` and `ping` results.
 *
 * The policy and vocabulary parts are read tolerantly (a map or a list of
 * objects, plain strings or objects with a name) so that the client keeps
 * working while the daemon's result grows.
 */
#include "render_info.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *info_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : NULL;
}

static void info_scalar(FILE *out, const json_t *v)
{
    if (json_is_string(v))
        fputs(json_string_value(v), out);
    else if (json_is_integer(v))
        fprintf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        fputs(json_is_true(v) ? "yes" : "no", out);
    else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(s ? s : "?", out);
        free(s);
    }
}

/* One policy entry: a number, or {value, description}; with the daemon's
 * policy_details entry ({value, default, unit, description}) the unit
 * follows the value, and a default the clinic changed is shown. */
static void info_policy_entry(FILE *out, int width, const char *name, const json_t *v,
                              const json_t *details)
{
    const json_t *d = json_object_get(details, name);
    if (json_is_object(d))
        v = d;
    fprintf(out, "  %-*s  ", width, name);
    if (json_is_object(v)) {
        info_scalar(out, json_object_get(v, "value"));
        const char *unit = info_str(v, "unit");
        if (unit && *unit)
            fprintf(out, " %s", unit);
        const json_t *dflt = json_object_get(v, "default");
        if (dflt && !json_equal(dflt, json_object_get(v, "value"))) {
            fputs(" (default ", out);
            info_scalar(out, dflt);
            fputc(')', out);
        }
        const char *desc = info_str(v, "description");
        if (desc && *desc)
            fprintf(out, "  %s", desc);
    } else {
        info_scalar(out, v);
    }
    fputc('\n', out);
}

static void info_policy(FILE *out, const json_t *policy, const json_t *details)
{
    if (!policy)
        return;
    fprintf(out, "\nPolicy\n");
    const char *key;
    json_t *v;
    size_t i;
    int width = 0;
    /* Align the values after the longest name. */
    if (json_is_object(policy)) {
        json_object_foreach((json_t *)policy, key, v)
            if ((int)strlen(key) > width)
                width = (int)strlen(key);
        json_object_foreach((json_t *)policy, key, v)
            info_policy_entry(out, width, key, v, details);
    } else if (json_is_array(policy)) {
        json_array_foreach(policy, i, v) {
            const char *name = info_str(v, "name");
            if (name && (int)strlen(name) > width)
                width = (int)strlen(name);
        }
        json_array_foreach(policy, i, v) {
            const char *name = info_str(v, "name");
            info_policy_entry(out, width, name ? name : "?", v, details);
        }
    }
}

/* The named policies: {name: {sha256, values, set}}, each with the values
 * its file sets (the others are the ruleset's defaults). */
static void info_policies(FILE *out, const json_t *policies)
{
    if (!json_is_object(policies) || !json_object_size(policies))
        return;
    fprintf(out, "\nNamed policies (suit check --policy NAME)\n");
    const char *name;
    json_t *p;
    json_object_foreach((json_t *)policies, name, p) {
        const char *sha = info_str(p, "sha256");
        fprintf(out, "  %s (%.12s):", name, sha ? sha : "?");
        const json_t *set = json_object_get(p, "set");
        if (!json_is_object(set) || !json_object_size(set)) {
            fprintf(out, " the ruleset's values\n");
            continue;
        }
        const char *key;
        json_t *v;
        bool first = true;
        json_object_foreach((json_t *)set, key, v) {
            fprintf(out, "%s %s = ", first ? "" : ",", key);
            info_scalar(out, v);
            first = false;
        }
        fputc('\n', out);
    }
}

static const char *info_term_name(const json_t *t)
{
    if (json_is_string(t))
        return json_string_value(t);
    return info_str(t, "name");
}

static void info_vocabularies(FILE *out, const json_t *voc)
{
    if (!json_is_object(voc))
        return;
    fprintf(out, "\nVocabularies\n");
    const char *kind;
    json_t *list;
    json_object_foreach((json_t *)voc, kind, list) {
        fprintf(out, "  %s (%zu):", kind, json_is_array(list) ? json_array_size(list) : 0);
        size_t i;
        json_t *t;
        json_array_foreach(list, i, t) {
            const char *n = info_term_name(t);
            fprintf(out, "%s%s", i ? ", " : " ", n ? n : "?");
        }
        fputc('\n', out);
    }
}

/* Synonyms: {"term as sent": "canonical term"}. */
static void info_synonyms(FILE *out, const json_t *syn)
{
    if (!json_is_object(syn) || json_object_size(syn) == 0)
        return;
    fprintf(out, "\nSynonyms (accepted, and read as)\n");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)syn, key, v) {
        const char *canon = json_string_value(v);
        fprintf(out, "  %s -> %s\n", key, canon ? canon : "?");
    }
}

void info_render(FILE *out, const json_t *rs)
{
    report_ruleset_line(out, rs);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rs, key, v) {
        if (!strcmp(key, "name") || !strcmp(key, "version") || !strcmp(key, "policy") ||
            !strcmp(key, "vocabularies") || !strcmp(key, "synonyms") ||
            !strcmp(key, "policies"))
            continue;
        if (json_is_object(v) || json_is_array(v))
            continue;
        fprintf(out, "  %s: ", key);
        info_scalar(out, v);
        fputc('\n', out);
    }
    info_policy(out, json_object_get(rs, "policy"), json_object_get(rs, "policy_details"));
    info_policies(out, json_object_get(rs, "policies"));
    info_vocabularies(out, json_object_get(rs, "vocabularies"));
    info_synonyms(out, json_object_get(rs, "synonyms"));
}

void info_render_ping(FILE *out, const json_t *ping, double rtt_ms)
{
    const char *version = info_str(ping, "version");
    fprintf(out, "suitd %s is up (round trip %.3f ms)\n", version ? version : "?", rtt_ms);
    const json_t *rs = json_object_get(ping, "ruleset");
    if (json_is_object(rs))
        report_ruleset_line(out, rs);
}

size_t info_vocab_terms(const json_t *rs, const char *kind, const char ***out)
{
    *out = NULL;
    const json_t *voc = json_object_get(rs, "vocabularies");
    if (!json_is_object(voc))
        voc = rs;
    const json_t *list = json_object_get(voc, kind);
    if (!list) {
        char plural[64];
        snprintf(plural, sizeof plural, "%ss", kind);
        list = json_object_get(voc, plural);
    }
    if (!json_is_array(list) || json_array_size(list) == 0)
        return 0;
    const char **terms = calloc(json_array_size(list), sizeof *terms);
    if (!terms)
        return 0;
    size_t n = 0, i;
    json_t *t;
    json_array_foreach(list, i, t) {
        const char *name = info_term_name(t);
        if (name)
            terms[n++] = name;
    }
    if (n == 0) {
        free(terms);
        return 0;
    }
    *out = terms;
    return n;
}
