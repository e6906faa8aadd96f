/*
 * diff_population.c: see diff_population.h.
 */
#include "diff_population.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the set of patients ------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int grow_slots(struct diff_population *p)
{
    size_t n = p->n_slots ? p->n_slots * 2 : 4096;
    size_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        size_t at = fnv1a(p->v[i].json) & (n - 1);
        while (slots[at])
            at = (at + 1) & (n - 1);
        slots[at] = i + 1;
    }
    free(p->slots);
    p->slots = slots;
    p->n_slots = n;
    return 0;
}

/* Adds the patient (a JSON object; the caller keeps it) unless it is there
 * already.  1 added, 0 there already, -1 out of memory or not packable. */
static int add(struct diff_population *p, const json_t *patient, struct proto_error *err)
{
    char *json = json_dumps(patient, JSON_COMPACT | JSON_SORT_KEYS);
    if (!json)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory"), -1;
    if ((p->n + 1) * 2 > p->n_slots && grow_slots(p) < 0) {
        free(json);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory"), -1;
    }
    size_t at = fnv1a(json) & (p->n_slots - 1);
    for (; p->slots[at]; at = (at + 1) & (p->n_slots - 1))
        if (!strcmp(p->v[p->slots[at] - 1].json, json)) {
            free(json);
            return 0;
        }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 1024;
        struct diff_patient *nv = realloc(p->v, nc * sizeof *nv);
        if (!nv) {
            free(json);
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory"), -1;
        }
        p->v = nv;
        p->cap = nc;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (proto_json_to_msgpack(patient, &pk, err) < 0) {
        msgpack_sbuffer_destroy(&sb);
        free(json);
        return -1;
    }
    struct diff_patient *d = &p->v[p->n];
    d->json = json;
    d->packed_len = sb.size;
    d->packed = msgpack_sbuffer_release(&sb);
    p->slots[at] = ++p->n;
    return 1;
}

void diff_population_free(struct diff_population *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].json);
        free(p->v[i].packed);
    }
    free(p->v);
    free(p->slots);
    memset(p, 0, sizeof *p);
}

/* ---- what the two sides know ----------------------------------------- */

/* A sorted list of distinct names (borrowed from the rulesets). */
struct names {
    const char **v;
    bool *takes_days;           /* items: per name */
    bool *canonical;
    size_t n, cap;
};

static int names_add(struct names *l, const char *name, bool takes_days, bool canonical)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], name)) {
            l->takes_days[i] |= takes_days;
            l->canonical[i] |= canonical;
            return 0;
        }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        const char **nv = realloc(l->v, nc * sizeof *nv);
        bool *nt = nv ? realloc(l->takes_days, nc * sizeof *nt) : NULL;
        if (nv)
            l->v = nv;
        if (nt)
            l->takes_days = nt;
        bool *ncn = nt ? realloc(l->canonical, nc * sizeof *ncn) : NULL;
        if (!ncn)
            return -1;
        l->canonical = ncn;
        l->cap = nc;
    }
    /* insertion keeps it sorted */
    size_t at = l->n;
    while (at > 0 && strcmp(l->v[at - 1], name) > 0) {
        l->v[at] = l->v[at - 1];
        l->takes_days[at] = l->takes_days[at - 1];
        l->canonical[at] = l->canonical[at - 1];
        at--;
    }
    l->v[at] = name;
    l->takes_days[at] = takes_days;
    l->canonical[at] = canonical;
    l->n++;
    return 0;
}

static void names_free(struct names *l)
{
    free(l->v);
    free(l->takes_days);
    free(l->canonical);
    memset(l, 0, sizeof *l);
}

/* A sorted set of numbers: the boundary days and depths, three per
 * day-valued (depth-valued) parameter of each side; one beyond the 512th
 * is not added (a ruleset would need 85 such parameters). */
struct numbers {
    double v[512];
    size_t n;
};

static void numbers_add(struct numbers *s, double x)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == x)
            return;
    if (s->n == sizeof s->v / sizeof s->v[0])
        return;
    size_t at = s->n++;
    while (at > 0 && s->v[at - 1] > x) {
        s->v[at] = s->v[at - 1];
        at--;
    }
    s->v[at] = x;
}

struct known {
    struct names voc[SUIT_N_VOCABULARIES];
    struct numbers days, depths;
};

static bool unit_is(const struct proto_policy_value *p, const char *unit, const char *suffix)
{
    if (p->unit && *p->unit)
        return !strcmp(p->unit, unit);
    size_t n = strlen(p->name), k = strlen(suffix);
    return n > k && !strcmp(p->name + n - k, suffix);
}

/* Adds one side's vocabularies and the day and depth values of the policy
 * its requests use. */
static int learn(struct known *k, const struct proto_ruleset_info *info, const char *policy)
{
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++) {
        const struct proto_vocabulary *voc = &info->vocabularies[v];
        for (size_t i = 0; i < voc->n_terms; i++) {
            const struct proto_term *t = &voc->terms[i];
            bool days = t->takes_days || v == SUIT_VOC_MEDICATIONS;
            if (names_add(&k->voc[v], t->name, days, true) < 0)
                return -1;
            for (size_t s = 0; s < t->n_synonyms; s++)
                if (names_add(&k->voc[v], t->synonyms[s], days, false) < 0)
                    return -1;
        }
    }
    const struct proto_named_policy *np = NULL;
    for (size_t i = 0; i < info->n_policies; i++)
        if (!strcmp(info->policies[i].name, policy ? policy : SUIT_DEFAULT_POLICY))
            np = &info->policies[i];
    for (size_t i = 0; i < info->n_policy; i++) {
        const struct proto_number *n = np ? &np->values[i] : &info->policy[i].value;
        double x = n->is_int ? (double)n->i : n->d;
        if (unit_is(&info->policy[i], "days", "-days")) {
            for (int d = -1; d <= 1; d++)
                if (x + d >= 0 && x + d <= SUIT_MAX_DAYS)
                    numbers_add(&k->days, floor(x) + d);
        } else if (unit_is(&info->policy[i], "mm", "-mm")) {
            static const double step[] = {-0.1, 0, 0.1};
            for (size_t d = 0; d < 3; d++) {
                double y = round((x + step[d]) * 1000) / 1000;
                if (y > 0 && y <= SUIT_MAX_DEPTH_MM)
                    numbers_add(&k->depths, y);
            }
        }
    }
    return 0;
}

static void known_free(struct known *k)
{
    for (int v = 0; v < SUIT_N_VOCABULARIES; v++)
        names_free(&k->voc[v]);
}

/* ---- generating ---------------------------------------------------------- */

struct gen {
    struct diff_population *p;
    const struct known *k;
    json_t *base;
    struct proto_error *err;
    int rc;
};

/* Adds patient (a new reference, consumed) as generated. */
static void emit(struct gen *g, json_t *patient)
{
    if (!patient) {
        g->rc = proto_error_set(g->err, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    if (!g->rc) {
        int r = add(g->p, patient, g->err);
        if (r < 0)
            g->rc = g->err->code ? g->err->code : PROTO_E_INTERNAL;
        else
            g->p->generated += (size_t)r;
    }
    json_decref(patient);
}

static json_t *base_with(const struct gen *g, const char *key, json_t *value)
{
    json_t *p = json_deep_copy(g->base);
    if (p && value && json_object_set_new(p, key, value) < 0) {
        json_decref(p);
        return NULL;
    }
    if (!value && p)
        json_object_del(p, key);
    return p;
}

static const char *const list_key[SUIT_N_VOCABULARIES] = {
    [SUIT_VOC_CONDITIONS] = "conditions", [SUIT_VOC_MEDICATIONS] = "medications",
    [SUIT_VOC_PROCEDURES] = "procedures", [SUIT_VOC_ALLERGIES] = "allergies"};

static const char *days_key(int voc)
{
    return voc == SUIT_VOC_MEDICATIONS ? "days_since_last_dose" : "days_ago";
}

/* One list item; days < 0: none. */
static json_t *item(int voc, const char *name, long long days)
{
    if (days < 0)
        return json_pack("{s:s}", "name", name);
    return json_pack("{s:s,s:I}", "name", name, days_key(voc), (json_int_t)days);
}

static void add_item(json_t *patient, int voc, json_t *it)
{
    json_t *list = json_object_get(patient, list_key[voc]);
    if (!list) {
        list = json_array();
        json_object_set_new(patient, list_key[voc], list);
    }
    json_array_append_new(list, it);
}

static const int item_vocs[] = {SUIT_VOC_CONDITIONS, SUIT_VOC_MEDICATIONS, SUIT_VOC_PROCEDURES,
                                SUIT_VOC_ALLERGIES};
#define N_ITEM_VOCS (sizeof item_vocs / sizeof item_vocs[0])

/* A term alone, at every boundary day when it takes days. */
static void gen_terms_alone(struct gen *g)
{
    for (size_t t = 0; t < N_ITEM_VOCS; t++) {
        int v = item_vocs[t];
        const struct names *l = &g->k->voc[v];
        for (size_t i = 0; i < l->n; i++) {
            /* a condition may omit its days */
            if (!l->takes_days[i] || v == SUIT_VOC_CONDITIONS) {
                json_t *p = json_deep_copy(g->base);
                if (p)
                    add_item(p, v, item(v, l->v[i], -1));
                emit(g, p);
            }
            if (!l->takes_days[i])
                continue;
            for (size_t d = 0; d < g->k->days.n; d++) {
                json_t *p = json_deep_copy(g->base);
                if (p)
                    add_item(p, v, item(v, l->v[i], (long long)g->k->days.v[d]));
                emit(g, p);
            }
        }
    }
}

/* Every pair of canonical terms, each taken now or 1 day ago. */
static void gen_pairs(struct gen *g)
{
    struct one {
        int voc;
        const char *name;
        bool days;
    } *all;
    size_t n = 0, total = 0;
    for (size_t t = 0; t < N_ITEM_VOCS; t++)
        total += g->k->voc[item_vocs[t]].n;
    if (!(all = calloc(total + 1, sizeof *all))) {
        g->rc = proto_error_set(g->err, PROTO_E_INTERNAL, "out of memory");
        return;
    }
    for (size_t t = 0; t < N_ITEM_VOCS; t++) {
        const struct names *l = &g->k->voc[item_vocs[t]];
        for (size_t i = 0; i < l->n; i++)
            if (l->canonical[i]) {
                all[n].voc = item_vocs[t];
                all[n].name = l->v[i];
                all[n].days = l->takes_days[i];
                n++;
            }
    }
    for (size_t i = 0; i < n && !g->rc; i++)
        for (size_t j = i + 1; j < n && !g->rc; j++) {
            json_t *p = json_deep_copy(g->base);
            if (p) {
                long long di = all[i].voc == SUIT_VOC_MEDICATIONS ? 0 : 1;
                long long dj = all[j].voc == SUIT_VOC_MEDICATIONS ? 0 : 1;
                add_item(p, all[i].voc, item(all[i].voc, all[i].name, all[i].days ? di : -1));
                add_item(p, all[j].voc, item(all[j].voc, all[j].name, all[j].days ? dj : -1));
            }
            emit(g, p);
        }
    free(all);
}

static void gen_person(struct gen *g)
{
    emit(g, json_deep_copy(g->base));
    static const char *const required[] = {"age", "pregnant", "breastfeeding", "fitzpatrick",
                                           "area", "indication"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        emit(g, base_with(g, required[i], NULL));
    emit(g, base_with(g, "pregnant", json_true()));
    emit(g, base_with(g, "breastfeeding", json_true()));
    for (int age = 0; age <= SUIT_MAX_AGE; age++)
        emit(g, base_with(g, "age", json_integer(age)));
    for (int f = SUIT_MIN_FITZPATRICK; f <= SUIT_MAX_FITZPATRICK; f++)
        emit(g, base_with(g, "fitzpatrick", json_integer(f)));
}

static void gen_areas(struct gen *g)
{
    const struct names *areas = &g->k->voc[SUIT_VOC_AREAS];
    const struct names *ind = &g->k->voc[SUIT_VOC_INDICATIONS];
    const struct names *set = &g->k->voc[SUIT_VOC_SETTINGS];
    for (size_t a = 0; a < areas->n; a++) {
        if (!areas->canonical[a])
            continue;
        for (size_t i = 0; i < ind->n; i++) {
            if (!ind->canonical[i])
                continue;
            json_t *p = base_with(g, "area", json_string(areas->v[a]));
            if (p)
                json_object_set_new(p, "indication", json_string(ind->v[i]));
            emit(g, p);
        }
        for (size_t s = 0; s < set->n; s++) {
            if (!set->canonical[s])
                continue;
            for (size_t d = 0; d <= g->k->depths.n; d++) {
                json_t *p = base_with(g, "area", json_string(areas->v[a]));
                if (p)
                    json_object_set_new(p, "setting", json_string(set->v[s]));
                if (p && d < g->k->depths.n)
                    json_object_set_new(p, "needle_depth_mm", json_real(g->k->depths.v[d]));
                emit(g, p);
            }
        }
    }
}

/* ---- the cases' and the file's patients --------------------------------- */

static int add_counted(struct diff_population *p, const json_t *patient, size_t *count,
                       struct proto_error *err)
{
    int r = add(p, patient, err);
    if (r < 0)
        return err->code ? err->code : PROTO_E_INTERNAL;
    *count += (size_t)r;
    return 0;
}

/* The patients of a side's case files; a file that does not parse is the
 * ruleset check's business, not the diff's. */
static int from_cases(struct diff_population *p, const struct ruleset *rs,
                      struct proto_error *err)
{
    for (size_t f = 0; f < ruleset_case_file_count(rs); f++) {
        const char *name;
        size_t len;
        const char *text = ruleset_case_file(rs, f, &name, &len);
        json_t *root = json_loadb(text, len, 0, NULL);
        size_t i;
        json_t *c;
        int rc = 0;
        json_array_foreach(root, i, c) {
            const json_t *patient = json_object_get(c, "patient");
            if (json_is_object(patient) && (rc = add_counted(p, patient, &p->from_cases, err)))
                break;
        }
        json_decref(root);
        if (rc)
            return rc;
    }
    return 0;
}

static int from_file(struct diff_population *p, const char *path, struct proto_error *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return proto_error_set(err, PROTO_E_INVALID_PARAMS, "--cases %s: %s", path,
                               strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    long n = 0;
    for (ssize_t len; !rc && (len = getline(&line, &cap, f)) >= 0;) {
        n++;
        size_t k = (size_t)len;
        while (k && (line[k - 1] == '\n' || line[k - 1] == '\r' || line[k - 1] == ' '))
            k--;
        if (!k)
            continue;
        json_error_t jerr;
        json_t *j = json_loadb(line, k, JSON_REJECT_DUPLICATES, &jerr);
        const json_t *patient = json_is_object(json_object_get(j, "patient"))
                                    ? json_object_get(j, "patient")
                                    : j;
        if (!j)
            rc = proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s:%ld: %s", path, n, jerr.text);
        else if (!json_is_object(patient))
            rc = proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s:%ld: expected a patient "
                                 "object, or an object with a \"patient\" key", path, n);
        else
            rc = add_counted(p, patient, &p->from_file, err);
        json_decref(j);
    }
    if (!rc && ferror(f))
        rc = proto_error_set(err, PROTO_E_INVALID_PARAMS, "--cases %s: read error", path);
    free(line);
    fclose(f);
    return rc;
}

int diff_population_build(struct diff_population *p, const struct diff_side_ref sides[2],
                          const char *cases_file, struct proto_error *err)
{
    memset(p, 0, sizeof *p);
    struct known k;
    memset(&k, 0, sizeof k);
    int rc = 0;
    for (int s = 0; s < 2 && !rc; s++) {
        struct proto_ruleset_info info;
        if (ruleset_describe(sides[s].rs, &info) < 0)
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        if (learn(&k, &info, sides[s].policy) < 0)
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        proto_ruleset_info_close(&info);
    }
    numbers_add(&k.days, 0);
    numbers_add(&k.days, 1);
    numbers_add(&k.days, SUIT_MAX_DAYS);
    for (int s = 0; s < 2 && !rc; s++)
        rc = from_cases(p, sides[s].rs, err);

    const struct names *areas = &k.voc[SUIT_VOC_AREAS], *ind = &k.voc[SUIT_VOC_INDICATIONS];
    struct gen g = {.p = p, .k = &k, .err = err, .rc = rc};
    g.base = json_pack("{s:i,s:b,s:b,s:i}", "age", 35, "pregnant", 0, "breastfeeding", 0,
                       "fitzpatrick", 2);
    if (!g.base)
        g.rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    for (size_t i = 0; !g.rc && i < areas->n; i++)
        if (areas->canonical[i]) {
            json_object_set_new(g.base, "area", json_string(areas->v[i]));
            break;
        }
    for (size_t i = 0; !g.rc && i < ind->n; i++)
        if (ind->canonical[i]) {
            json_object_set_new(g.base, "indication", json_string(ind->v[i]));
            break;
        }
    if (!g.rc)
        gen_person(&g);
    if (!g.rc)
        gen_terms_alone(&g);
    if (!g.rc)
        gen_pairs(&g);
    if (!g.rc)
        gen_areas(&g);
    json_decref(g.base);
    rc = g.rc;
    if (!rc && cases_file)
        rc = from_file(p, cases_file, err);
    known_free(&k);
    if (rc)
        diff_population_free(p);
    return rc;
}
