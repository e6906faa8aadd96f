/*
 * engine.c: one CLIPS environment built from a ruleset, and assessments.
 *
 * Deffacts facts (data: terms, policy, sources; and constant output such as
 * aftercare) are asserted once by EnvReset and kept: re-asserting them per
 * request costs ten times the assessment itself.  After each run the
 * request's facts and every fact the rules asserted are retracted, and the
 * deffacts facts are checked against the baseline taken after the reset; if
 * a rule disturbed them the environment is reset in full.
 *
 * Request data never becomes CLIPS text: every fact is built slot by slot
 * through EnvCreateFact/EnvPutFactSlot and asserted one at a time, so values
 * from EnvAddSymbol are never left unprotected across a garbage collection.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <clips/clips.h>
#include <clips/tmpltutl.h>

#include "engine_internal.h"
#include "proto_term.h"

/* A client's term or policy name is quoted in an error up to this many
 * bytes (cut on a character boundary). */
#define ENGINE_QUOTE_MAX 64
#define ENGINE_MEM_CAP (256L * 1024L * 1024L)

/* Positions (1-based, as FindSlot gives them) of the output slots read per
 * request: EnvGetFactSlot would hash each slot's name on every call. */
enum { FS_ID, FS_CATEGORY, FS_SEVERITY, FS_SUMMARY, FS_DETAIL, FS_SOURCE, FS_ACTION,
       FS_DEFER_DAYS, FS_N };
enum { SS_EFFECT, SS_KIND, SS_LIKELIHOOD, SS_NOTE, SS_N };
enum { PS_N = 7 };
enum { AS_ORDER, AS_TEXT, AS_N };

static const char *const finding_slots[FS_N] = {
    "id", "category", "severity", "summary", "detail", "source", "action", "defer-days"};
static const char *const side_effect_slots[SS_N] = {"effect", "kind", "likelihood", "note"};
static const char *const plan_slots[PS_N] = {
    "sessions-min", "sessions-max", "interval-weeks", "interval-weeks-max",
    "cost-min", "cost-typical", "cost-max"};
static const char *const aftercare_slots[AS_N] = {"order", "text"};

struct eng_out_slots {
    short finding[FS_N], side_effect[SS_N], plan[PS_N], aftercare[AS_N];
    /* optional slots: 0 when the ruleset's template has none */
    short finding_suggestion;
};

/* What the engine writes into input facts, looked up once per engine:
 * slot positions (EnvPutFactSlot hashes the slot's name on every call) and
 * the symbols of every vocabulary term and fixed value (EnvAddSymbol hashes
 * the text).  Each symbol holds one reference for the environment's life. */
enum { PAT_AGE, PAT_PREGNANT, PAT_BREASTFEEDING, PAT_FITZPATRICK, PAT_AREA, PAT_INDICATION,
       PAT_SETTING, PAT_DEPTH, PAT_N };
static const char *const patient_slots[PAT_N] = {
    "age", "pregnant", "breastfeeding", "fitzpatrick", "area", "indication", "setting",
    "needle-depth-mm"};

struct eng_in {
    short patient[PAT_N];
    /* condition, medication, procedure, allergy: name, days (0: none) */
    short item_name[4], item_days[4];
    short med_class;
    short unrec_kind, unrec_name, unrec_suggestion;   /* suggestion 0: none */
    short missing_fact;
    void **canonical;          /* rs->terms[i]: its canonical name */
    void **cls;                /* rs->terms[i]: its canonical term's class */
    void *yes, *no, *unknown, *nil, *kind[4];
};

struct engine {
    struct ruleset *rs;
    struct engine_limits lim;
    void *env;
    struct eng_capture *cap;
    /* The deffacts facts as the reset left them: how many, and the highest
     * fact index among them.  Every later fact has a higher index and sits
     * after them at the end of the fact list. */
    size_t n_baseline;
    long long last_baseline;
    /* Some rulesets have rules activated by data facts alone; keeping the
     * data facts across requests would fire those only once, so such
     * rulesets are reset before every request instead. */
    bool reset_each;
    bool dirty;                /* the next request must reset first */
    /* The policy values asserted over the deffacts defaults after each
     * reset: the policy file's (serving engines), or none and each case's
     * own (the case runner's). */
    struct eng_pvalue *pol;
    size_t n_pol;
    /* The value each parameter's policy fact holds now (rs->policy order)
     * and that fact, refreshed by every reset. */
    struct rs_number *held;
    void **pfact;
    bool has_unit;             /* the policy template has a `unit` slot */
    /* The named policy this environment is reset under, or NULL for other
     * values (the ruleset's defaults or a case's: the case runner), and
     * the sha256 of the values it holds (results name both). */
    const struct rs_named *named;
    char pol_sha256[65];
    /* In the engine a caller holds (the root, which serves `default`): the
     * environments for the other policies in use, least recently used
     * first to go once there are lim.max_environments in all. */
    struct engine **others;
    size_t n_others;
    uint64_t clock, last_used;
    uint64_t policy_resets;
    bool has_settings;         /* the ruleset has a `setting` vocabulary */
    bool from_image;           /* env was built from the ruleset's image (not parsed) */
    /* The ruleset's `unrecognised` template has a `suggestion` slot (an
     * older ruleset without one sees every unknown term without it). */
    bool has_suggestion;
    void *t_patient, *t_condition, *t_medication, *t_procedure, *t_allergy;
    void *t_unrecognised, *t_missing, *t_policy;
    void *t_finding, *t_side_effect, *t_plan, *t_aftercare;
    struct eng_out_slots slots;
    /* the rules' output, taken without facts (engine_output.c) */
    struct eng_out *out;
    struct eng_in in;
    /* The constant side effects packed (proto_pack_side_effect), once per
     * reset: most of every result's side effects; se_off[i] is where the
     * i-th constant row's bytes start, se_off[se_n] where they end. */
    msgpack_sbuffer se_packed;
    size_t *se_off, se_n;
    bool se_valid;
    /* The caller's deadline for the request being assessed (the daemon's
     * --request-timeout, counted from the request's arrival), CLOCK_MONOTONIC
     * ns; 0: none.  Set on the root for one call (eng_request_assess). */
    uint64_t until_ns;
};

static int resolve_input(struct engine *e, struct proto_error *err);

void engine_limits_default(struct engine_limits *l)
{
    l->max_firings = ENGINE_DEFAULT_MAX_FIRINGS;
    l->deadline_ms = ENGINE_DEFAULT_DEADLINE_MS;
}

struct ruleset *engine_ruleset(const struct engine *e)
{
    return e->rs;
}

void *eng_engine_env(struct engine *e)
{
    return e->env;
}

/* ---- limits ------------------------------------------------------------ */

static void deadline_check(void *env)
{
    struct eng_capture *cap = GetEnvironmentContext(env);
    if (!cap || !cap->armed)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > cap->deadline.tv_sec ||
        (now.tv_sec == cap->deadline.tv_sec && now.tv_nsec >= cap->deadline.tv_nsec))
        cap->deadline_hit = true;
    if (cap->mem_cap && EnvMemUsed(env) + (long)cap->output_bytes > cap->mem_cap)
        cap->mem_hit = true;
    if (cap->deadline_hit || cap->mem_hit) {
        if (cap->deadline_hit)
            eng_blame_running(env, cap);
        SetHaltExecution(env, TRUE);
        EnvSetHaltRules(env, TRUE);
    }
}

/* ---- building facts ------------------------------------------------------ */

static int put_sym(void *env, void *f, const char *slot, const char *v)
{
    DATA_OBJECT d;
    SetType(d, SYMBOL);
    SetValue(d, EnvAddSymbol(env, v));
    return EnvPutFactSlot(env, f, slot, &d) ? 0 : -1;
}

static int put_str(void *env, void *f, const char *slot, const char *v)
{
    DATA_OBJECT d;
    SetType(d, STRING);
    SetValue(d, EnvAddSymbol(env, v));
    return EnvPutFactSlot(env, f, slot, &d) ? 0 : -1;
}

static int put_int(void *env, void *f, const char *slot, long long v)
{
    DATA_OBJECT d;
    SetType(d, INTEGER);
    SetValue(d, EnvAddLong(env, v));
    return EnvPutFactSlot(env, f, slot, &d) ? 0 : -1;
}

static int put_float(void *env, void *f, const char *slot, double v)
{
    DATA_OBJECT d;
    SetType(d, FLOAT);
    SetValue(d, EnvAddDouble(env, v));
    return EnvPutFactSlot(env, f, slot, &d) ? 0 : -1;
}

static int put_number(void *env, void *f, const char *slot, const struct rs_number *n)
{
    return n->is_int ? put_int(env, f, slot, n->ivalue) : put_float(env, f, slot, n->value);
}

/* Asserts a fully built fact.  A NULL from EnvAssert means a duplicate
 * (e.g. the same medication listed twice), which is harmless. */
static int finish_fact(void *env, void *f, int rc)
{
    if (rc) {
        /* never asserted: release it as CLIPS would a duplicate */
        EnvIncrementFactCount(env, f);
        EnvDecrementFactCount(env, f);
        return -1;
    }
    if (!EnvAssignFactSlotDefaults(env, f))
        return -1;
    EnvAssert(env, f);
    return 0;
}

/* ---- baseline ------------------------------------------------------------ */

static void take_baseline(struct engine *e)
{
    size_t n = 0;
    long long last = -1;
    for (void *f = EnvGetNextFact(e->env, NULL); f; f = EnvGetNextFact(e->env, f)) {
        long long idx = EnvFactIndex(e->env, f);
        if (idx > last)
            last = idx;
        n++;
    }
    e->n_baseline = n;
    e->last_baseline = last;
}

static void clear_halt(void *env)
{
    /* 6.30: EnvRun never clears these itself */
    SetHaltExecution(env, FALSE);
    EnvSetHaltRules(env, FALSE);
    SetEvaluationError(env, FALSE);
}

static bool number_eq(const struct rs_number *a, const struct rs_number *b)
{
    return a->is_int == b->is_int && (a->is_int ? a->ivalue == b->ivalue : a->value == b->value);
}

/* Finds each parameter's policy fact after a reset (they hold the
 * defaults then). */
static int find_policy_facts(struct engine *e)
{
    const struct ruleset *rs = e->rs;
    for (size_t i = 0; i < rs->n_policy; i++) {
        e->pfact[i] = NULL;
        e->held[i] = rs->policy[i].dflt;
    }
    for (void *f = EnvGetNextFactInTemplate(e->env, e->t_policy, NULL); f;
         f = EnvGetNextFactInTemplate(e->env, e->t_policy, f)) {
        DATA_OBJECT d;
        if (!EnvGetFactSlot(e->env, f, "name", &d) || GetType(d) != SYMBOL)
            continue;
        const struct rs_policy *p = eng_policy_find(rs, DOToString(d));
        if (p)
            e->pfact[p - rs->policy] = f;
    }
    return 0;
}

/* Replaces parameter i's policy fact with one holding v. */
static int replace_policy_fact(struct engine *e, size_t i, const struct rs_number *v)
{
    const struct rs_policy *p = &e->rs->policy[i];
    if (!e->pfact[i])
        return -1;
    /* Retract first: a retract may collect garbage, which would take
     * the unprotected symbols of a fact still being built. */
    EnvRetract(e->env, e->pfact[i]);
    e->pfact[i] = NULL;
    /* The new fact keeps the other slots (description, min, max). */
    void *nf = EnvCreateFact(e->env, e->t_policy);
    if (!nf)
        return -1;
    int rc = put_sym(e->env, nf, "name", p->name);
    if (!rc)
        rc = put_number(e->env, nf, "value", v);
    if (!rc)
        rc = put_str(e->env, nf, "description", p->description);
    if (!rc && p->has_min)
        rc = put_number(e->env, nf, "min", &p->min);
    if (!rc && p->has_max)
        rc = put_number(e->env, nf, "max", &p->max);
    if (!rc && p->unit[0] && e->has_unit)
        rc = put_str(e->env, nf, "unit", p->unit);
    if (rc || !EnvAssignFactSlotDefaults(e->env, nf)) {
        EnvIncrementFactCount(e->env, nf);
        EnvDecrementFactCount(e->env, nf);
        return -1;
    }
    e->pfact[i] = EnvAssert(e->env, nf);
    if (!e->pfact[i])
        return -1;
    e->held[i] = *v;
    return 0;
}

/* Makes the policy facts hold the engine's values (e->pol over the
 * defaults), replacing only the facts whose value differs. */
static int apply_policy(struct engine *e)
{
    const struct ruleset *rs = e->rs;
    for (size_t i = 0; i < rs->n_policy; i++) {
        const struct rs_number *want = &rs->policy[i].dflt;
        for (size_t k = 0; k < e->n_pol; k++)
            if (e->pol[k].p == &rs->policy[i])
                want = &e->pol[k].v;
        if (!number_eq(want, &e->held[i]) && replace_policy_fact(e, i, want) < 0)
            return -1;
    }
    return 0;
}

/* The sha256 of the values the engine asserts (its overrides over the
 * ruleset's defaults). */
static int hash_values(struct engine *e)
{
    const struct ruleset *rs = e->rs;
    struct rs_number *v = calloc(rs->n_policy + 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < rs->n_policy; i++)
        v[i] = rs->policy[i].dflt;
    for (size_t k = 0; k < e->n_pol; k++)
        v[e->pol[k].p - rs->policy] = e->pol[k].v;
    eng_policy_hash(rs, v, e->pol_sha256);
    free(v);
    return 0;
}

int eng_engine_set_policy(struct engine *e, const struct eng_pvalue *v, size_t n)
{
    struct eng_pvalue *nv = NULL;
    if (n) {
        nv = malloc(n * sizeof *nv);
        if (!nv)
            return -1;
        memcpy(nv, v, n * sizeof *nv);
    }
    free(e->pol);
    e->pol = nv;
    e->n_pol = n;
    e->named = NULL;
    /* Applied by a full reset before the next assessment, never by
     * replacing facts in place: replaced facts would sit in another order
     * than a reset leaves them, and a result must not depend on which
     * policies an environment held before (BENCHMARKS.md, "Named
     * policies"). */
    e->dirty = true;
    return hash_values(e);
}

/* Puts the engine under the named policy np (applied by the next reset). */
static int engine_use_named(struct engine *e, const struct rs_named *np)
{
    struct eng_pvalue *v;
    size_t n;
    if (eng_named_overrides(e->rs, np, &v, &n) < 0)
        return -1;
    int rc = eng_engine_set_policy(e, v, n);
    free(v);
    if (!rc) {
        e->named = np;
        memcpy(e->pol_sha256, np->sha256, sizeof e->pol_sha256);
    }
    return rc;
}

int eng_engine_serve_policy(struct engine *e)
{
    return e->rs->dflt ? engine_use_named(e, e->rs->dflt) : eng_engine_set_policy(e, NULL, 0);
}

int eng_engine_use_policy(struct engine *e, size_t i)
{
    return i < e->rs->n_named ? engine_use_named(e, &e->rs->named[i]) : -1;
}

/* Full reset: data facts re-asserted, the engine's policy values, new
 * baseline. */
static int engine_reset(struct engine *e)
{
    clear_halt(e->env);
    eng_out_reset_begin(e->out);
    e->se_valid = false;
    EnvReset(e->env);
    eng_out_reset_end(e->out);
    clear_halt(e->env);
    if (find_policy_facts(e) < 0 || apply_policy(e) < 0)
        return -1;
    take_baseline(e);
    e->dirty = false;
    return 0;
}

/* Removes the request's facts and every fact the rules asserted; returns
 * true when the deffacts facts and an empty agenda are left exactly as after
 * the reset. */
static bool engine_cleanup(struct engine *e)
{
    void *env = e->env;
    size_t n = 0, cap = 0;
    void **gone = NULL;
    bool ok = true;
    /* Walks back from the end over the request's facts only: the baseline,
     * about 200 facts, is never visited.  A fact that replaced a baseline
     * fact has a new index, so it is removed here and the count below
     * comes out short. */
    for (struct fact *f = FactData(env)->LastFact; f && f->factIndex > e->last_baseline;
         f = f->previousFact) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            void **ng = realloc(gone, cap * sizeof *ng);
            if (!ng) {
                ok = false;
                break;
            }
            gone = ng;
        }
        /* keeps the fact's memory valid if a logical dependency retracts
         * it before we get to it */
        EnvIncrementFactCount(env, f);
        gone[n++] = f;
    }
    /* in assertion order, as they were made */
    for (size_t i = n; i-- > 0;)
        EnvRetract(env, gone[i]);
    for (size_t i = 0; i < n; i++)
        EnvDecrementFactCount(env, gone[i]);
    free(gone);
    eng_out_request_end(e->out);
    clear_halt(env);
    if (ok && GetNumberOfFacts(env) != e->n_baseline)
        ok = false;
    if (ok && EnvGetNextActivation(env, NULL) != NULL)
        ok = false;
    return ok;
}

static int find_slots(void *env, void *tmpl, const char *tname, const char *const *names,
                      size_t n, short *pos, struct proto_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!FindSlot(tmpl, EnvAddSymbol(env, names[i]), &pos[i]) || pos[i] < 1)
            return proto_error_set(err, PROTO_E_RULESET, "deftemplate '%s' has no slot '%s'",
                                   tname, names[i]);
    return 0;
}

static int resolve_out_slots(struct engine *e, struct proto_error *err)
{
    struct eng_out_slots *s = &e->slots;
    if (!FindSlot(e->t_finding, EnvAddSymbol(e->env, "suggestion"), &s->finding_suggestion) ||
        s->finding_suggestion < 1)
        s->finding_suggestion = 0;
    int rc = find_slots(e->env, e->t_finding, "finding", finding_slots, FS_N, s->finding, err);
    if (!rc)
        rc = find_slots(e->env, e->t_side_effect, "side-effect", side_effect_slots, SS_N,
                        s->side_effect, err);
    if (!rc)
        rc = find_slots(e->env, e->t_plan, "plan", plan_slots, PS_N, s->plan, err);
    if (!rc)
        rc = find_slots(e->env, e->t_aftercare, "aftercare", aftercare_slots, AS_N,
                        s->aftercare, err);
    return rc;
}

/* ---- create / free ------------------------------------------------------ */

void engine_free(struct engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_others; i++)
        engine_free(e->others[i]);
    free(e->others);
    eng_out_free(e->out);
    eng_env_destroy(e->env, e->cap);
    ruleset_unref(e->rs);
    free(e->pol);
    free(e->held);
    free(e->pfact);
    free(e->in.canonical);
    free(e->in.cls);
    msgpack_sbuffer_destroy(&e->se_packed);
    free(e->se_off);
    free(e);
}

bool eng_engine_from_image(const struct engine *e)
{
    return e->from_image;
}

int eng_engine_reset(struct engine *e)
{
    return engine_reset(e);
}

static int engine_create_env(struct ruleset *rs, const struct engine_limits *lim,
                             struct eng_env *from, bool served, bool parse,
                             struct engine **out, struct proto_error *err)
{
    *out = NULL;
    eng_rand_keep();
    struct engine *e = calloc(1, sizeof *e);
    if (!e) {
        if (from)
            eng_env_destroy(from->env, from->cap);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    e->rs = ruleset_ref(rs);
    msgpack_sbuffer_init(&e->se_packed);
    e->dirty = true;           /* never reset yet */
    if (lim)
        e->lim = *lim;
    else
        engine_limits_default(&e->lim);
    if (!e->lim.max_firings)
        e->lim.max_firings = ENGINE_DEFAULT_MAX_FIRINGS;
    if (!e->lim.deadline_ms)
        e->lim.deadline_ms = ENGINE_DEFAULT_DEADLINE_MS;
    int rc = 0;
    if (from) {
        /* The load's own environment: the text is already in it. */
        e->env = from->env;
        e->cap = from->cap;
        e->from_image = from->imaged;
        from->env = NULL;
        from->cap = NULL;
    } else if (parse) {
        rc = eng_env_build_parsed(rs, &e->env, &e->cap, err);
    } else {
        rc = eng_env_build(rs, &e->env, &e->cap, &e->from_image, err);
    }
    if (rc) {
        engine_free(e);
        return rc;
    }
    if ((served ? eng_engine_serve_policy(e) : eng_engine_set_policy(e, NULL, 0)) < 0) {
        engine_free(e);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    e->cap->mem_cap = ENGINE_MEM_CAP;
    if (!EnvAddPeriodicFunction(e->env, "suitd-deadline", deadline_check, 0)) {
        engine_free(e);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot install the deadline check");
    }
    struct { void **slot; const char *name; } t[] = {
        {&e->t_patient, "patient"}, {&e->t_condition, "condition"},
        {&e->t_medication, "medication"}, {&e->t_procedure, "procedure"},
        {&e->t_allergy, "allergy"}, {&e->t_unrecognised, "unrecognised"},
        {&e->t_missing, "missing"}, {&e->t_policy, "policy"},
        {&e->t_finding, "finding"}, {&e->t_side_effect, "side-effect"},
        {&e->t_plan, "plan"}, {&e->t_aftercare, "aftercare"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        *t[i].slot = EnvFindDeftemplate(e->env, t[i].name);
        if (!*t[i].slot) {
            engine_free(e);
            return proto_error_set(err, PROTO_E_RULESET, "ruleset has no deftemplate '%s'",
                                   t[i].name);
        }
    }
    rc = resolve_out_slots(e, err);
    if (rc) {
        engine_free(e);
        return rc;
    }
    void *const out_t[ENG_OUT_N] = {e->t_finding, e->t_side_effect, e->t_plan, e->t_aftercare};
    if (eng_out_create(e->env, e->cap, out_t, &e->out) < 0) {
        engine_free(e);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot take the rules' output");
    }
    e->has_suggestion = EnvDeftemplateSlotExistP(e->env, e->t_unrecognised, "suggestion");
    e->has_unit = EnvDeftemplateSlotExistP(e->env, e->t_policy, "unit");
    rc = resolve_input(e, err);
    if (rc) {
        engine_free(e);
        return rc;
    }
    if (rs->n_policy && (!(e->held = calloc(rs->n_policy, sizeof *e->held)) ||
                         !(e->pfact = calloc(rs->n_policy, sizeof *e->pfact)))) {
        engine_free(e);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    if (engine_reset(e) < 0) {
        engine_free(e);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot reset the engine");
    }
    e->reset_each = EnvGetNextActivation(e->env, NULL) != NULL;
    for (size_t i = 0; i < rs->n_terms && !e->has_settings; i++)
        e->has_settings = !strcmp(rs->terms[i].kind, "setting");
    eng_buf_clear(&e->cap->err);
    eng_buf_clear(&e->cap->out);
    *out = e;
    return 0;
}

int eng_engine_create(struct ruleset *rs, const struct engine_limits *lim, struct eng_env *from,
                      bool served, struct engine **out, struct proto_error *err)
{
    return engine_create_env(rs, lim, from, served, false, out, err);
}

int eng_engine_create_parsed(struct ruleset *rs, const struct engine_limits *lim,
                             struct engine **out, struct proto_error *err)
{
    return engine_create_env(rs, lim, NULL, false, true, out, err);
}

int engine_create(struct ruleset *rs, const struct engine_limits *lim, struct engine **out,
                  struct proto_error *err)
{
    return eng_engine_create(rs, lim, NULL, true, out, err);
}

void engine_counters(const struct engine *e, struct engine_counters *c)
{
    c->environments = 1 + (unsigned)e->n_others;
    c->policy_resets = e->policy_resets;
    c->from_image = e->from_image;
    for (size_t i = 0; i < e->n_others; i++)
        c->from_image += e->others[i]->from_image;
}

/* The environment for the named policy np: one that holds it (the root's
 * own, or one built for it before), else a new one while there are fewer
 * than max_environments, else the least recently used one (the root
 * included), reset under np's values.  NULL with err set when none can be
 * built. */
static struct engine *engine_for(struct engine *root, const struct rs_named *np,
                                 struct proto_error *err)
{
    root->clock++;
    struct engine *lru = NULL;
    for (size_t i = 0; i <= root->n_others; i++) {
        struct engine *x = i ? root->others[i - 1] : root;
        if (x->named == np) {
            x->last_used = root->clock;
            return x;
        }
        /* a root holding its own values (the case runner's) keeps them */
        if (x->named && (!lru || x->last_used < lru->last_used))
            lru = x;
    }
    unsigned cap = root->lim.max_environments ? root->lim.max_environments
                                              : ENGINE_DEFAULT_MAX_ENVIRONMENTS;
    if (lru && 1 + root->n_others >= cap) {
        if (engine_use_named(lru, np) < 0) {
            proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            return NULL;
        }
        root->policy_resets++;
        lru->last_used = root->clock;
        return lru;
    }
    struct engine **grown = realloc(root->others, (root->n_others + 1) * sizeof *grown);
    if (!grown) {
        proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        return NULL;
    }
    root->others = grown;
    struct engine *x = NULL;
    if (eng_engine_create(root->rs, &root->lim, NULL, false, &x, err) < 0)
        return NULL;
    if (engine_use_named(x, np) < 0 || engine_reset(x) < 0) {
        engine_free(x);
        proto_error_set(err, PROTO_E_INTERNAL, "cannot reset an engine for policy '%s'",
                        np->name);
        return NULL;
    }
    x->last_used = root->clock;
    root->others[root->n_others++] = x;
    return x;
}

/* options.policy names no policy of the ruleset. */
static int unknown_policy(const struct ruleset *rs, const char *name, struct proto_error *err)
{
    char msg[400];
    int off = snprintf(msg, sizeof msg, "options.policy: unknown policy '%.*s'; known:",
                       (int)proto_term_utf8_cut(name, strnlen(name, ENGINE_QUOTE_MAX)), name);
    proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s", "");
    for (size_t i = 0; i < rs->n_named; i++) {
        proto_error_add_detail(err, "%s", rs->named[i].name);
        if (off > 0 && (size_t)off < sizeof msg)
            off += snprintf(msg + off, sizeof msg - (size_t)off, "%s %s", i ? "," : "",
                            rs->named[i].name);
    }
    if (off >= (int)sizeof msg) {
        size_t keep = proto_term_utf8_cut(msg, sizeof msg - 5);
        memcpy(msg + keep, "...", 4);
    }
    proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s", msg);
    proto_error_set_field(err, "options.policy");
    return PROTO_E_INVALID_PARAMS;
}

/* ---- assess ------------------------------------------------------------- */

static int unknown_term(const struct ruleset *rs, const char *field, const char *kind,
                        const char *value, struct proto_error *err)
{
    char msg[400];
    /* The client's term, cut on a character boundary (terms are UTF-8). */
    int off = snprintf(msg, sizeof msg, "%s: unknown term '%.*s'; allowed:", field,
                       (int)proto_term_utf8_cut(value, strnlen(value, ENGINE_QUOTE_MAX)), value);
    proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s", "");
    bool first = true;
    for (size_t i = 0; i < rs->n_terms; i++) {
        const struct rs_term *t = &rs->terms[i];
        if (strcmp(t->kind, kind) != 0 || strcmp(t->name, t->canonical) != 0)
            continue;
        proto_error_add_detail(err, "%s", t->name);
        if (off > 0 && (size_t)off < sizeof msg)
            off += snprintf(msg + off, sizeof msg - (size_t)off, "%s %s", first ? "" : ",",
                            t->name);
        first = false;
    }
    if (off >= (int)sizeof msg) {
        size_t keep = proto_term_utf8_cut(msg, sizeof msg - 5);
        memcpy(msg + keep, "...", 4);
    }
    proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s", msg);
    proto_error_set_field(err, field);
    return PROTO_E_INVALID_PARAMS;
}

/* Resolves area/indication/setting to canonical names; NULL out = missing. */
static int resolve_required(const struct ruleset *rs, const char *field, const char *kind,
                            const char *value, const char **out, struct proto_error *err)
{
    *out = NULL;
    if (!value)
        return 0;
    const struct rs_term *t = eng_term_match(rs, kind, value, NULL);
    if (!t)
        return unknown_term(rs, field, kind, value, err);
    *out = t->canonical;
    return 0;
}

/* A slot's value written in place, as EnvPutFactSlot would write it (at a
 * position known in advance, the value not type-checked: the engine
 * writes only the contract's types). */
static void put_at(void *f, short pos, unsigned short type, void *value)
{
    struct field *x = &((struct fact *)f)->theProposition.theFields[pos - 1];
    x->type = type;
    x->value = value;
}

static int assert_patient(struct engine *e, const struct suit_patient *p, const char *area,
                          const char *indication, const char *setting)
{
    void *env = e->env;
    const struct eng_in *in = &e->in;
    void *f = EnvCreateFact(env, e->t_patient);
    if (!f)
        return -1;
    void *tri_preg = p->pregnant == SUIT_UNKNOWN ? in->unknown
                     : p->pregnant == SUIT_YES  ? in->yes : in->no;
    void *tri_bf = p->breastfeeding == SUIT_UNKNOWN ? in->unknown
                   : p->breastfeeding == SUIT_YES  ? in->yes : in->no;
    put_at(f, in->patient[PAT_AGE], INTEGER, EnvAddLong(env, p->age >= 0 ? p->age : -1));
    put_at(f, in->patient[PAT_PREGNANT], SYMBOL, tri_preg);
    put_at(f, in->patient[PAT_BREASTFEEDING], SYMBOL, tri_bf);
    put_at(f, in->patient[PAT_FITZPATRICK], INTEGER, EnvAddLong(env, p->fitzpatrick));
    put_at(f, in->patient[PAT_AREA], SYMBOL, area ? EnvAddSymbol(env, area) : in->unknown);
    put_at(f, in->patient[PAT_INDICATION], SYMBOL,
           indication ? EnvAddSymbol(env, indication) : in->unknown);
    put_at(f, in->patient[PAT_SETTING], SYMBOL, EnvAddSymbol(env, setting));
    put_at(f, in->patient[PAT_DEPTH], FLOAT,
           EnvAddDouble(env, p->needle_depth_mm >= 0 ? p->needle_depth_mm : -1.0));
    return finish_fact(env, f, 0);
}

/* `suggestion` is the nearest vocabulary name (NULL: nothing is near);
 * the slot stays nil without one. */
static int assert_unrecognised(struct engine *e, int kind, const char *raw,
                               const struct rs_term *suggestion)
{
    const struct eng_in *in = &e->in;
    void *f = EnvCreateFact(e->env, e->t_unrecognised);
    if (!f)
        return -1;
    put_at(f, in->unrec_kind, SYMBOL, in->kind[kind]);
    put_at(f, in->unrec_name, STRING, EnvAddSymbol(e->env, raw));
    if (suggestion && in->unrec_suggestion)
        put_at(f, in->unrec_suggestion, SYMBOL, EnvAddSymbol(e->env, suggestion->name));
    return finish_fact(e->env, f, 0);
}

static const char *const item_kinds[4] = {"condition", "medication", "procedure", "allergy"};
enum { ITEM_MEDICATION = 1 };

static int assert_items(struct engine *e, const struct suit_item_list *l, int kind, void *tmpl)
{
    const struct eng_in *in = &e->in;
    for (size_t i = 0; i < l->len; i++) {
        const struct suit_item *it = &l->items[i];
        const struct rs_term *near;
        const struct rs_term *t = eng_term_match(e->rs, item_kinds[kind], it->name, &near);
        if (!t) {
            if (assert_unrecognised(e, kind, it->name, near) < 0)
                return -1;
            continue;
        }
        void *f = EnvCreateFact(e->env, tmpl);
        if (!f)
            return -1;
        size_t ti = (size_t)(t - e->rs->terms);
        put_at(f, in->item_name[kind], SYMBOL, in->canonical[ti]);
        /* the class belongs to the canonical term */
        if (kind == ITEM_MEDICATION)
            put_at(f, in->med_class, SYMBOL, in->cls[ti]);
        if (in->item_days[kind] && it->days >= 0)
            put_at(f, in->item_days[kind], INTEGER, EnvAddLong(e->env, it->days));
        if (finish_fact(e->env, f, 0) < 0)
            return -1;
    }
    return 0;
}

static int add_missing(struct engine *e, struct suit_result *r, const char *what)
{
    char *s = eng_strdup(what);
    if (!s)
        return -1;
    r->missing[r->n_missing++] = s;
    void *f = EnvCreateFact(e->env, e->t_missing);
    if (!f)
        return -1;
    put_at(f, e->in.missing_fact, SYMBOL, EnvAddSymbol(e->env, what));
    return finish_fact(e->env, f, 0);
}

/* Slot positions and symbols for the input facts (struct eng_in). */
static int slot_pos(void *env, void *tmpl, const char *name, short *pos)
{
    if (!FindSlot(tmpl, EnvAddSymbol(env, name), pos) || *pos < 1) {
        *pos = 0;
        return -1;
    }
    return 0;
}

static void *held_symbol(void *env, const char *s)
{
    void *sym = EnvAddSymbol(env, s);
    IncrementSymbolCount(sym);
    return sym;
}

static int resolve_input(struct engine *e, struct proto_error *err)
{
    void *env = e->env;
    struct eng_in *in = &e->in;
    const struct ruleset *rs = e->rs;
    for (size_t i = 0; i < PAT_N; i++)
        if (slot_pos(env, e->t_patient, patient_slots[i], &in->patient[i]) < 0)
            return proto_error_set(err, PROTO_E_RULESET, "deftemplate 'patient' has no slot "
                                   "'%s'", patient_slots[i]);
    void *items[4] = {e->t_condition, e->t_medication, e->t_procedure, e->t_allergy};
    static const char *const days[4] = {"days-ago", "days-since-last-dose", "days-ago", NULL};
    for (size_t k = 0; k < 4; k++) {
        if (slot_pos(env, items[k], "name", &in->item_name[k]) < 0)
            return proto_error_set(err, PROTO_E_RULESET, "deftemplate '%s' has no slot 'name'",
                                   item_kinds[k]);
        in->item_days[k] = 0;
        if (days[k] && slot_pos(env, items[k], days[k], &in->item_days[k]) < 0)
            return proto_error_set(err, PROTO_E_RULESET, "deftemplate '%s' has no slot '%s'",
                                   item_kinds[k], days[k]);
        in->kind[k] = held_symbol(env, item_kinds[k]);
    }
    if (slot_pos(env, e->t_medication, "class", &in->med_class) < 0 ||
        slot_pos(env, e->t_unrecognised, "kind", &in->unrec_kind) < 0 ||
        slot_pos(env, e->t_unrecognised, "name", &in->unrec_name) < 0 ||
        slot_pos(env, e->t_missing, "fact", &in->missing_fact) < 0)
        return proto_error_set(err, PROTO_E_RULESET, "an input template lacks a contract slot");
    if (!e->has_suggestion || slot_pos(env, e->t_unrecognised, "suggestion",
                                       &in->unrec_suggestion) < 0)
        in->unrec_suggestion = 0;
    in->yes = held_symbol(env, "yes");
    in->no = held_symbol(env, "no");
    in->unknown = held_symbol(env, "unknown");
    in->nil = held_symbol(env, "nil");
    if (rs->n_terms && (!(in->canonical = calloc(rs->n_terms, sizeof *in->canonical)) ||
                        !(in->cls = calloc(rs->n_terms, sizeof *in->cls))))
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < rs->n_terms; i++) {
        const struct rs_term *t = &rs->terms[i];
        const struct rs_term *c = ruleset_find_term(rs, t->kind, t->canonical);
        in->canonical[i] = held_symbol(env, t->canonical);
        in->cls[i] = held_symbol(env, c ? c->cls : t->cls);
    }
    return 0;
}

/* ---- reading results ------------------------------------------------------ */

/* The slot's value in an output row (engine_output.c). */
static const struct field *slot_at(const struct field *f, short pos)
{
    return &f[pos - 1];
}

static int slot_int(const struct field *f, short pos, long long *v)
{
    const struct field *x = slot_at(f, pos);
    if (x->type == INTEGER) {
        *v = ValueToLong(x->value);
        return 0;
    }
    if (x->type == FLOAT) {
        *v = (long long)ValueToDouble(x->value);
        return 0;
    }
    return -1;
}

static int finding_cmp(const void *a, const void *b)
{
    const struct suit_finding *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    return strcmp(x->id, y->id);
}

struct aftercare_item {
    long long order;
    const char *text;
};

static int aftercare_cmp(const void *a, const void *b)
{
    const struct aftercare_item *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->text, y->text);
}

static int side_effect_rank(const struct suit_side_effect *x)
{
    if (!strcmp(x->kind, "expected"))
        return 0;
    return strcmp(x->kind, "serious") ? 2 : 1;
}

/* Expected before serious, otherwise in fact order: constant deffacts first
 * in the order written, then the rules' in firing order.  Insertion sort
 * because it is stable and the lists are short. */
static void sort_side_effects(struct suit_side_effect *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct suit_side_effect x = v[i];
        int rank = side_effect_rank(&x);
        size_t j = i;
        for (; j > 0 && side_effect_rank(&v[j - 1]) > rank; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static const char *const out_names[ENG_OUT_N] = {"finding", "side-effect", "plan", "aftercare"};

/* The text of a STRING or SYMBOL slot; "" for nil and anything else. */
static const char *slot_text(const void *nil, const struct field *f, short pos)
{
    const struct field *v = slot_at(f, pos);
    if (v->type == STRING)
        return ValueToString(v->value);
    if (v->type == SYMBOL)   /* symbols are unique: nil is this one */
        return v->value != nil ? ValueToString(v->value) : "";
    return "";
}

/* The result's strings, copied into a chain of blocks (r->pool, see
 * suit_types.h; one block for almost every result) rather than one
 * allocation each: ~40 mallocs and frees per assessment were 9% of it. */
#define POOL_BLOCK 4096

struct pool {
    char **tail;               /* where the next block's address goes */
    char *p, *end;
    bool failed;
};

static char *pool_put(struct pool *pl, const char *s)
{
    size_t n = strlen(s) + 1;
    if ((size_t)(pl->end - pl->p) < n) {
        size_t cap = n > POOL_BLOCK ? n : POOL_BLOCK;
        char *b = malloc(sizeof(char *) + cap);
        if (!b) {
            pl->failed = true;
            return NULL;
        }
        char *none = NULL;
        memcpy(b, &none, sizeof none);
        *pl->tail = b;
        pl->tail = (char **)(void *)b;
        pl->p = b + sizeof(char *);
        pl->end = pl->p + cap;
    }
    char *d = pl->p;
    memcpy(d, s, n);
    pl->p += n;
    return d;
}

/* Points the result's constant side effects (the first n) at their bytes
 * packed once per reset. */
static int prepack_side_effects(struct engine *e, struct suit_result *r, size_t n)
{
    if (!e->se_valid) {
        size_t *off = realloc(e->se_off, (n + 1) * sizeof *off);
        if (!off)
            return -1;
        e->se_off = off;
        msgpack_sbuffer_clear(&e->se_packed);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &e->se_packed, msgpack_sbuffer_write);
        for (size_t i = 0; i < n; i++) {
            off[i] = e->se_packed.size;
            proto_pack_side_effect(&pk, &r->side_effects[i]);
        }
        off[n] = e->se_packed.size;
        e->se_n = n;
        e->se_valid = true;
    }
    if (e->se_n != n)
        return 0;      /* never: the constant rows change only with a reset */
    for (size_t i = 0; i < n; i++) {
        r->side_effects[i].packed = e->se_packed.data + e->se_off[i];
        r->side_effects[i].packed_len = e->se_off[i + 1] - e->se_off[i];
    }
    return 0;
}

void eng_result_unborrow(struct suit_result *r)
{
    for (size_t i = 0; i < r->n_side_effects; i++) {
        r->side_effects[i].packed = NULL;
        r->side_effects[i].packed_len = 0;
    }
}

static int read_results(struct engine *e, struct suit_result *r, bool packing,
                        struct proto_error *err)
{
    const struct eng_out *o = e->out;
    const void *nil = e->in.nil;
    if (eng_out_collect(e->out) < 0)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    int stray = eng_out_stray_facts(o);
    if (stray >= 0)
        return proto_error_set(err, PROTO_E_RULESET, "ruleset error: %s facts made other than "
                               "by assert (output templates are write-only)",
                               out_names[stray]);
    const struct ruleset *rs = e->rs;
    const char *pol_name = e->named ? e->named->name : "custom";
    const short *fs = e->slots.finding, *ss = e->slots.side_effect;
    size_t nf = eng_out_count(o, ENG_OUT_FINDING), ns = eng_out_count(o, ENG_OUT_SIDE_EFFECT);
    size_t np = eng_out_count(o, ENG_OUT_PLAN), na = eng_out_count(o, ENG_OUT_AFTERCARE);
    if (np > 1)
        return proto_error_set(err, PROTO_E_RULESET, "ruleset error: %zu plan facts (at most "
                               "one allowed)", np);

    struct pool pl = {.tail = &r->pool};
    r->ruleset.name = pool_put(&pl, rs->id.name);
    r->ruleset.version = pool_put(&pl, rs->id.version);
    r->ruleset.sha256 = pool_put(&pl, rs->id.sha256);
    r->policy.name = pool_put(&pl, pol_name);
    r->policy.sha256 = pool_put(&pl, e->pol_sha256);

    if (nf) {
        r->findings = calloc(nf, sizeof *r->findings);
        if (!r->findings)
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < nf; i++) {
        const struct field *f = eng_out_row(o, ENG_OUT_FINDING, i);
        struct suit_finding *x = &r->findings[r->n_findings++];
        x->defer_days = -1;
        x->id = pool_put(&pl, slot_text(nil, f, fs[FS_ID]));
        x->category = pool_put(&pl, slot_text(nil, f, fs[FS_CATEGORY]));
        x->summary = pool_put(&pl, slot_text(nil, f, fs[FS_SUMMARY]));
        x->detail = pool_put(&pl, slot_text(nil, f, fs[FS_DETAIL]));
        x->source = pool_put(&pl, slot_text(nil, f, fs[FS_SOURCE]));
        x->action = pool_put(&pl, slot_text(nil, f, fs[FS_ACTION]));
        if (e->slots.finding_suggestion) {
            x->suggestion = pool_put(&pl, slot_text(nil, f, e->slots.finding_suggestion));
            if (x->suggestion && !x->suggestion[0])   /* nil: no suggestion */
                x->suggestion = NULL;
        }
        const char *sev = slot_text(nil, f, fs[FS_SEVERITY]);
        int sv = suit_severity_parse(sev);
        if (sv < 0)
            return proto_error_set(err, PROTO_E_RULESET, "ruleset error: finding '%s' has "
                                   "severity '%s'", x->id, sev);
        x->severity = (enum suit_severity)sv;
        long long dd;
        if (slot_int(f, fs[FS_DEFER_DAYS], &dd) == 0)
            x->defer_days = dd < 0 ? 0 : dd;
    }
    if (r->n_findings > 1)
        qsort(r->findings, r->n_findings, sizeof *r->findings, finding_cmp);

    if (ns) {
        r->side_effects = calloc(ns, sizeof *r->side_effects);
        if (!r->side_effects)
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < ns; i++) {
        const struct field *f = eng_out_row(o, ENG_OUT_SIDE_EFFECT, i);
        struct suit_side_effect *x = &r->side_effects[r->n_side_effects++];
        x->effect = pool_put(&pl, slot_text(nil, f, ss[SS_EFFECT]));
        x->kind = pool_put(&pl, slot_text(nil, f, ss[SS_KIND]));
        x->likelihood = pool_put(&pl, slot_text(nil, f, ss[SS_LIKELIHOOD]));
        x->note = pool_put(&pl, slot_text(nil, f, ss[SS_NOTE]));
    }
    if (packing && prepack_side_effects(e, r, eng_out_const_count(o, ENG_OUT_SIDE_EFFECT)) < 0)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    sort_side_effects(r->side_effects, r->n_side_effects);

    const struct field *pf = np ? eng_out_row(o, ENG_OUT_PLAN, 0) : NULL;
    if (pf) {
        struct suit_plan *pln = &r->plan;
        /* in the order of plan_slots */
        int *dst[PS_N] = {&pln->sessions_min, &pln->sessions_max, &pln->interval_weeks,
                          &pln->interval_weeks_max, &pln->cost_min, &pln->cost_typical,
                          &pln->cost_max};
        for (size_t i = 0; i < PS_N; i++) {
            long long v;
            if (slot_int(pf, e->slots.plan[i], &v) < 0 || v < 0 || v > 1000000)
                return proto_error_set(err, PROTO_E_RULESET, "ruleset error: plan slot '%s' "
                                       "is not a sane integer", plan_slots[i]);
            *dst[i] = (int)v;
        }
        pln->present = true;
        pln->course_cost_min = pln->sessions_min * pln->cost_min;
        pln->course_cost_max = pln->sessions_max * pln->cost_max;
    }

    if (na) {
        struct aftercare_item *a = calloc(na, sizeof *a);
        r->aftercare = calloc(na, sizeof *r->aftercare);
        if (!a || !r->aftercare) {
            free(a);
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        }
        bool sorted = true;
        for (size_t i = 0; i < na; i++) {
            const struct field *f = eng_out_row(o, ENG_OUT_AFTERCARE, i);
            a[i].order = 0;
            (void)slot_int(f, e->slots.aftercare[AS_ORDER], &a[i].order);
            a[i].text = pool_put(&pl, slot_text(nil, f, e->slots.aftercare[AS_TEXT]));
            if (i && aftercare_cmp(&a[i - 1], &a[i]) > 0)
                sorted = false;
        }
        if (!sorted)
            qsort(a, na, sizeof *a, aftercare_cmp);
        for (size_t i = 0; i < na; i++)
            r->aftercare[r->n_aftercare++] = (char *)a[i].text;
        free(a);
    }
    if (pl.failed)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    return 0;
}

void eng_fired_free(struct eng_fired *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->len; i++)
        free(f->names[i]);
    free(f->names);
    f->names = NULL;
    f->len = f->cap = 0;
}

/* Parses "FIRE    1 rule-name: f-1,f-2" lines from the watch output. */
static int parse_fired(const char *trace, struct eng_fired *out)
{
    for (const char *p = trace; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > 4 && !strncmp(p, "FIRE", 4)) {
            const char *q = p + 4, *end = p + len;
            while (q < end && *q == ' ')
                q++;
            while (q < end && *q >= '0' && *q <= '9')
                q++;
            while (q < end && *q == ' ')
                q++;
            const char *name = q;
            while (q < end && *q != ':' && *q != ' ')
                q++;
            /* "MODULE::rule" keeps its colons */
            while (q + 1 < end && q[0] == ':' && q[1] == ':') {
                q += 2;
                while (q < end && *q != ':' && *q != ' ')
                    q++;
            }
            if (q > name) {
                if (out->len == out->cap) {
                    size_t nc = out->cap ? out->cap * 2 : 32;
                    char **nn = realloc(out->names, nc * sizeof *nn);
                    if (!nn)
                        return -1;
                    out->names = nn;
                    out->cap = nc;
                }
                out->names[out->len] = eng_strndup(name, (size_t)(q - name));
                if (!out->names[out->len])
                    return -1;
                out->len++;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

static void first_line_of(const char *s, char *out, size_t outsz)
{
    while (s && (*s == '\n' || *s == '\r' || *s == ' '))
        s++;
    size_t n = s ? strcspn(s, "\r\n") : 0;
    if (n >= outsz)
        n = outsz - 1;
    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
}

static int assess_facts(struct engine *e, const struct suit_patient *p, struct suit_result *r,
                        const char *area, const char *indication, const char *setting)
{
    /* One slot per required patient key, the most that can be missing. */
    r->missing = calloc(SUIT_N_REQUIRED, sizeof *r->missing);
    if (!r->missing)
        return -1;
    if (p->age < 0 && add_missing(e, r, "age") < 0)
        return -1;
    if (p->pregnant == SUIT_UNKNOWN && add_missing(e, r, "pregnant") < 0)
        return -1;
    if (p->breastfeeding == SUIT_UNKNOWN && add_missing(e, r, "breastfeeding") < 0)
        return -1;
    if (p->fitzpatrick <= 0 && add_missing(e, r, "fitzpatrick") < 0)
        return -1;
    if (!area && add_missing(e, r, "area") < 0)
        return -1;
    if (!indication && add_missing(e, r, "indication") < 0)
        return -1;
    if (assert_patient(e, p, area, indication, setting) < 0)
        return -1;
    if (assert_items(e, &p->conditions, 0, e->t_condition) < 0 ||
        assert_items(e, &p->medications, ITEM_MEDICATION, e->t_medication) < 0 ||
        assert_items(e, &p->procedures, 2, e->t_procedure) < 0 ||
        assert_items(e, &p->allergies, 3, e->t_allergy) < 0)
        return -1;
    return 0;
}

/* The setting through the ruleset's vocabulary; a ruleset without one
 * gets the patient template's two values. */
static int resolve_setting(const struct engine *e, const char *value, const char **out,
                           struct proto_error *err)
{
    const char *s = value ? value : SUIT_DEFAULT_SETTING;
    if (e->has_settings)
        return resolve_required(e->rs, "setting", "setting", s, out, err);
    static const char *const builtin[] = {"clinic", "home-roller"};
    char norm[32];
    *out = NULL;
    for (size_t i = 0; i < 2; i++)
        if (proto_term_normalise(s, norm, sizeof norm) > 0 && !strcmp(norm, builtin[i]))
            *out = builtin[i];
    if (*out)
        return 0;
    proto_error_set(err, PROTO_E_INVALID_PARAMS,
                    "setting: unknown term '%.*s'; allowed: clinic, home-roller",
                    (int)proto_term_utf8_cut(s, strnlen(s, ENGINE_QUOTE_MAX)), s);
    proto_error_set_field(err, "setting");
    proto_error_add_detail(err, "clinic");
    proto_error_add_detail(err, "home-roller");
    return PROTO_E_INVALID_PARAMS;
}

/* Copies the fired rules' names into the result's trace. */
static int copy_trace(struct suit_result *r, const struct eng_fired *fired)
{
    r->has_trace = true;
    if (!fired->len)
        return 0;
    r->trace = calloc(fired->len, sizeof *r->trace);
    if (!r->trace)
        return -1;
    for (size_t i = 0; i < fired->len; i++) {
        r->trace[i] = eng_strdup(fired->names[i]);
        if (!r->trace[i])
            return -1;
        r->n_trace++;
    }
    return 0;
}

static int assess(struct engine *root, const struct suit_patient *p, struct suit_result *r,
                  struct eng_fired *fired, bool packing, struct proto_error *err)
{
    /* A serving engine decides under a named policy: the one asked for,
     * else `default` (the root may hold another when environments are
     * shared); the case runner's root holds its own values, used as they
     * are when no policy is named. */
    struct engine *e = root;
    if (p->policy || root->named) {
        const struct rs_named *np = p->policy ? eng_named_find(root->rs, p->policy,
                                                               strlen(p->policy))
                                              : root->rs->dflt;
        if (!np)
            return unknown_policy(root->rs, p->policy, err);
        if (!(e = engine_for(root, np, err)))
            return err->code ? err->code : PROTO_E_INTERNAL;
    }
    const struct ruleset *rs = e->rs;
    const char *area, *indication, *setting;
    int rc = resolve_required(rs, "area", "area", p->area, &area, err);
    if (!rc)
        rc = resolve_required(rs, "indication", "indication", p->indication, &indication, err);
    if (!rc)
        rc = resolve_setting(e, p->setting, &setting, err);
    if (rc)
        return rc;

    void *env = e->env;
    struct eng_capture *cap = e->cap;
    eng_buf_clear(&cap->err);
    eng_buf_clear(&cap->out);
    eng_buf_clear(&cap->trace);
    cap->exit_called = false;
    cap->deadline_hit = cap->mem_hit = false;
    cap->culprit[0] = '\0';
    /* Armed from here to the end: asserting and retracting evaluate
     * left-hand sides too, and a (test ...) can call a looping function. */
    clock_gettime(CLOCK_MONOTONIC, &cap->deadline);
    cap->deadline.tv_sec += e->lim.deadline_ms / 1000;
    cap->deadline.tv_nsec += (long)(e->lim.deadline_ms % 1000) * 1000000L;
    if (cap->deadline.tv_nsec >= 1000000000L) {
        cap->deadline.tv_sec++;
        cap->deadline.tv_nsec -= 1000000000L;
    }
    /* The request's own deadline, when it comes first: then passing it is
     * the caller's timeout, not a ruleset that did not settle. */
    bool request_bound = false;
    if (root->until_ns) {
        uint64_t rule_ns = (uint64_t)cap->deadline.tv_sec * 1000000000u +
                           (uint64_t)cap->deadline.tv_nsec;
        if (root->until_ns < rule_ns) {
            cap->deadline.tv_sec = (time_t)(root->until_ns / 1000000000u);
            cap->deadline.tv_nsec = (long)(root->until_ns % 1000000000u);
            request_bound = true;
        }
    }
    cap->armed = true;
    if ((e->reset_each || e->dirty) && engine_reset(e) < 0) {
        cap->armed = false;
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot reset the engine");
    }
    e->dirty = true;   /* until cleanup proves otherwise */

    bool watch = p->explain || fired;
    /* One garbage collection for the request's facts instead of one per
     * assert (the rules' firings collect their own garbage regardless). */
    EnvIncrementGCLocks(env);
    bool gc_locked = true;
    if (assess_facts(e, p, r, area, indication, setting) < 0 || cap->deadline_hit ||
        cap->mem_hit) {
        if (cap->deadline_hit && request_bound)
            rc = proto_error_set(err, PROTO_E_TIMEOUT, "request deadline passed while "
                                 "asserting the patient's facts");
        else if (cap->deadline_hit || cap->mem_hit)
            rc = proto_error_set(err, PROTO_E_RULESET, "ruleset did not settle: %s while "
                                 "asserting the patient's facts",
                                 cap->deadline_hit ? "deadline passed" : "memory cap reached");
        else
            rc = proto_error_set(err, PROTO_E_INTERNAL, "cannot assert the patient's facts");
        goto out;
    }
    EnvDecrementGCLocks(env);
    gc_locked = false;
    if (watch)
        EnvWatch(env, "rules");
    clear_halt(env);
    long long max = e->lim.max_firings > (uint64_t)LLONG_MAX ? LLONG_MAX
                                                            : (long long)e->lim.max_firings;
    long long n_fired = EnvRun(env, max);
    bool halted = GetHaltExecution(env) || EnvGetHaltRules(env);
    clear_halt(env);
    if (watch)
        EnvUnwatch(env, "rules");

    char why[300];
    struct eng_blame blame;
    if (cap->deadline_hit && request_bound) {
        rc = proto_error_set(err, PROTO_E_TIMEOUT, "request deadline passed after %lld rule "
                             "firings", n_fired);
    } else if (cap->deadline_hit) {
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset did not settle: deadline of %u ms "
                             "passed after %lld rule firings", e->lim.deadline_ms, n_fired);
        if (!eng_blame(env, cap, false, &blame))
            eng_blame_report(rs, &blame, err);
    } else if (cap->mem_hit) {
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset did not settle: memory use above "
                             "%ld bytes", cap->mem_cap);
    } else if (n_fired >= max && EnvGetNextActivation(env, NULL) != NULL) {
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset did not settle: firing cap of "
                             "%lld rule firings reached", max);
        if (!eng_blame(env, cap, true, &blame))
            eng_blame_report(rs, &blame, err);
    } else if (cap->err.len) {
        first_line_of(cap->err.data, why, sizeof why);
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset error during run: %s", why);
    } else if (halted) {
        rc = proto_error_set(err, PROTO_E_RULESET, "ruleset error: the run was halted");
    }
    if (!rc && watch) {
        struct eng_fired local = {0};
        struct eng_fired *dst = fired ? fired : &local;
        if (parse_fired(cap->trace.data, dst) < 0) {
            eng_fired_free(&local);
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            goto out;
        }
        int trc = p->explain ? copy_trace(r, dst) : 0;
        eng_fired_free(&local);
        if (trc < 0) {
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            goto out;
        }
    }
    if (!rc)
        rc = read_results(e, r, packing, err);
    if (!rc)
        engine_verdict(r);
out:
    if (gc_locked)
        EnvDecrementGCLocks(env);
    if (engine_cleanup(e) && !cap->deadline_hit && !cap->mem_hit)
        e->dirty = false;
    cap->armed = false;
    clear_halt(env);
    eng_buf_clear(&cap->trace);
    eng_buf_clear(&cap->out);
    eng_buf_clear(&cap->err);
    if (rc) {
        suit_result_close(r);
        if (fired)
            eng_fired_free(fired);
    }
    return rc;
}

int engine_assess_fired(struct engine *root, const struct suit_patient *p,
                        struct suit_result *r, struct eng_fired *fired, struct proto_error *err)
{
    return assess(root, p, r, fired, false, err);
}

int eng_assess_packing(struct engine *e, const struct suit_patient *p, struct suit_result *r,
                       uint64_t until_ns, struct eng_fired *fired, struct proto_error *err)
{
    e->until_ns = until_ns;
    int rc = assess(e, p, r, fired, true, err);
    e->until_ns = 0;
    return rc;
}

int engine_assess(struct engine *e, const struct suit_patient *p, struct suit_result *r,
                  struct proto_error *err)
{
    return engine_assess_fired(e, p, r, NULL, err);
}

void engine_verdict(struct suit_result *r)
{
    int heaviest = -1;
    bool any_defer = false, defer_open = false;
    int64_t defer_max = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct suit_finding *f = &r->findings[i];
        if ((int)f->severity > heaviest)
            heaviest = (int)f->severity;
        if (f->severity == SUIT_SEV_DEFER) {
            any_defer = true;
            if (f->defer_days < 0)
                defer_open = true;
            else if (f->defer_days > defer_max)
                defer_max = f->defer_days;
        }
    }
    enum suit_verdict v;
    switch (heaviest) {
    case SUIT_SEV_CONTRAINDICATED: v = SUIT_VERDICT_CONTRAINDICATED; break;
    case SUIT_SEV_REFER:           v = SUIT_VERDICT_REFER; break;
    case SUIT_SEV_DEFER:           v = SUIT_VERDICT_DEFER; break;
    case SUIT_SEV_INCOMPLETE:      v = SUIT_VERDICT_INCOMPLETE; break;
    case SUIT_SEV_CAUTION:         v = SUIT_VERDICT_PRECAUTIONS; break;
    default:                       v = SUIT_VERDICT_SUITABLE; break;
    }
    /* a missing required fact is never `suitable`, whatever the rules said */
    if (r->n_missing > 0 && v < SUIT_VERDICT_INCOMPLETE)
        v = SUIT_VERDICT_INCOMPLETE;
    r->verdict = v;
    r->defer_days = (v == SUIT_VERDICT_DEFER && any_defer && !defer_open) ? defer_max : -1;
}
