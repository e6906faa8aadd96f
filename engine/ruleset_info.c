/*
 * ruleset_info.c: describes a loaded ruleset for the `ruleset` method, in
 * proto's data model (struct proto_ruleset_info), so that struct ruleset
 * stays private to the engine and the wire format stays in proto.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

static int name_cmp(const void *a, const void *b)
{
    const struct proto_term *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static bool is_synonym(const struct rs_term *t)
{
    return strcmp(t->name, t->canonical) != 0;
}

/* The canonical terms of one vocabulary, each with its synonyms. */
static int describe_vocabulary(const struct ruleset *rs, enum suit_vocabulary v,
                               struct proto_vocabulary *out)
{
    const char *kind = suit_vocabulary_kind(v);
    size_t n = 0;
    for (size_t i = 0; i < rs->n_terms; i++)
        n += !strcmp(rs->terms[i].kind, kind) && !is_synonym(&rs->terms[i]);
    if (!n)
        return 0;
    out->terms = calloc(n, sizeof *out->terms);
    if (!out->terms)
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < rs->n_terms; i++) {
        const struct rs_term *t = &rs->terms[i];
        if (strcmp(t->kind, kind) || is_synonym(t))
            continue;
        struct proto_term *pt = &out->terms[out->n_terms++];
        pt->name = t->name;
        pt->label = t->label;
        pt->cls = t->cls;
        pt->takes_days = t->takes_days;
        size_t ns = 0;
        for (size_t k = 0; k < rs->n_terms; k++)
            ns += !strcmp(rs->terms[k].kind, kind) && is_synonym(&rs->terms[k]) &&
                  !strcmp(rs->terms[k].canonical, t->name);
        if (!ns)
            continue;
        pt->synonyms = calloc(ns, sizeof *pt->synonyms);
        if (!pt->synonyms)
            return PROTO_E_INTERNAL;
        for (size_t k = 0; k < rs->n_terms; k++)
            if (!strcmp(rs->terms[k].kind, kind) && is_synonym(&rs->terms[k]) &&
                !strcmp(rs->terms[k].canonical, t->name))
                pt->synonyms[pt->n_synonyms++] = rs->terms[k].name;
    }
    qsort(out->terms, out->n_terms, sizeof *out->terms, name_cmp);
    return 0;
}

static int describe(const struct ruleset *rs, struct proto_ruleset_info *info)
{
    info->id = &rs->id;
    info->loaded_at = rs->loaded_at;
    info->rule_count = rs->rule_count;

    if (rs->n_policy && !(info->policy = calloc(rs->n_policy, sizeof *info->policy)))
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < rs->n_policy; i++) {
        const struct rs_policy *p = &rs->policy[i];
        info->policy[i] = (struct proto_policy_value){
            .name = p->name, .description = p->description, .unit = p->unit,
            .value = {.is_int = p->is_int, .i = p->ivalue, .d = p->value},
            .dflt = {.is_int = p->dflt.is_int, .i = p->dflt.ivalue, .d = p->dflt.value},
        };
    }
    info->n_policy = rs->n_policy;

    if (rs->n_named && !(info->policies = calloc(rs->n_named, sizeof *info->policies)))
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < rs->n_named; i++) {
        const struct rs_named *np = &rs->named[i];
        struct proto_named_policy *out = &info->policies[info->n_policies++];
        out->name = np->name;
        out->sha256 = np->sha256;
        out->values = calloc(rs->n_policy + 1, sizeof *out->values);
        out->set = calloc(rs->n_policy + 1, sizeof *out->set);
        if (!out->values || !out->set)
            return PROTO_E_INTERNAL;
        for (size_t k = 0; k < rs->n_policy; k++) {
            const struct rs_number *v = &np->values[k];
            out->values[k] = (struct proto_number){.is_int = v->is_int, .i = v->ivalue,
                                                   .d = v->value};
            out->set[k] = np->set[k];
        }
    }

    for (int v = 0; v < SUIT_N_VOCABULARIES; v++)
        if (describe_vocabulary(rs, (enum suit_vocabulary)v, &info->vocabularies[v]) < 0)
            return PROTO_E_INTERNAL;

    /* Every synonym, in the ruleset's term order (kind, then name). */
    size_t ns = 0;
    for (size_t i = 0; i < rs->n_terms; i++)
        ns += is_synonym(&rs->terms[i]);
    if (ns && !(info->synonyms = calloc(ns, sizeof *info->synonyms)))
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < rs->n_terms; i++)
        if (is_synonym(&rs->terms[i]))
            info->synonyms[info->n_synonyms++] =
                (struct proto_synonym){rs->terms[i].name, rs->terms[i].canonical};

    if (rs->n_sources && !(info->sources = calloc(rs->n_sources, sizeof *info->sources)))
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < rs->n_sources; i++)
        info->sources[i] = (struct proto_source){rs->sources[i].key, rs->sources[i].citation,
                                                 rs->sources[i].weak};
    info->n_sources = rs->n_sources;
    return 0;
}

int ruleset_describe(const struct ruleset *rs, struct proto_ruleset_info *info)
{
    proto_ruleset_info_init(info);
    if (describe(rs, info) == 0)
        return 0;
    proto_ruleset_info_close(info);
    return PROTO_E_INTERNAL;
}

size_t ruleset_policy_count(const struct ruleset *rs)
{
    return rs->n_named;
}

const char *ruleset_policy_name(const struct ruleset *rs, size_t i)
{
    return i < rs->n_named ? rs->named[i].name : NULL;
}

const char *ruleset_policy_sha256(const struct ruleset *rs, size_t i)
{
    return i < rs->n_named ? rs->named[i].sha256 : NULL;
}

size_t ruleset_case_file_count(const struct ruleset *rs)
{
    return rs->n_cases;
}

const char *ruleset_case_file(const struct ruleset *rs, size_t i, const char **name,
                              size_t *len)
{
    if (i >= rs->n_cases)
        return NULL;
    *name = rs->cases[i].name;
    *len = rs->cases[i].len;
    return rs->cases[i].text;
}
