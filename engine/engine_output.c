/*
 * engine_output.c: the rules' output (findings, side effects, plan,
 * aftercare) taken as the rules assert it, without becoming facts.
 *
 * An output fact costs CLIPS a hash of every string slot, character by
 * character, on assert and again on retract, plus the reading back; that
 * was the largest single cost of an assessment (BENCHMARKS.md, section 8).
 * Output templates are write-only in the contract (no rule matches them),
 * so an output fact would never do anything in the Rete network: this
 * module replaces the environment's `assert` function with one that, for
 * the four output templates, evaluates the slot values exactly as
 * AssertCommand does and keeps them here.  Every other template goes to
 * CLIPS's own AssertCommand.  The rule text stays as authors write it.
 *
 * Semantics kept: the values of a row are those a fact would have held
 * (the parser fills defaults in slot order), a row equal in every slot to
 * one already taken is dropped as CLIPS drops a duplicate fact, and rows
 * keep assertion order (constant output from deffacts first, then the
 * rules' in firing order).  Each kept value holds a reference on its CLIPS
 * atom, so garbage collection cannot free a string a row points to.
 *
 * When a ruleset breaks the precondition (a rule pattern on an output
 * template, a logical CE, a multislot in an output template), nothing is
 * intercepted and rows are read from the facts after the run instead: the
 * same result, at the old cost.
 */
#include <stdlib.h>
#include <string.h>

#include <clips/clips.h>
#include <clips/factcom.h>
#include <clips/tmpltutl.h>

#include "engine_internal.h"

/* Fields are taken from blocks that are kept and rewound, never realloc'd:
 * a row's pointer stays valid until its list is dropped. */
#define OUT_BLOCK_FIELDS 512

struct out_block {
    struct out_block *next;
    size_t used;
    struct field f[OUT_BLOCK_FIELDS];
};

struct out_arena {
    struct out_block *first, *cur;
};

struct out_rows {
    const struct field **v;
    size_t n, cap;
};

struct eng_out {
    void *env;
    struct eng_capture *cap;
    bool intercept;
    bool in_reset;             /* asserts now are constant output */
    bool failed;               /* out of memory while taking a row */
    struct deftemplate *tmpl[ENG_OUT_N];
    unsigned short nslots[ENG_OUT_N];
    /* constant rows (deffacts, taken by the last reset) and the request's */
    struct out_rows cst[ENG_OUT_N], req[ENG_OUT_N];
    struct out_arena cst_arena, req_arena;
    size_t req_bytes;
};

static struct field *arena_take(struct out_arena *a, size_t n)
{
    if (n > OUT_BLOCK_FIELDS)
        return NULL;
    if (a->cur && a->cur->used + n > OUT_BLOCK_FIELDS) {
        if (!a->cur->next) {
            struct out_block *b = malloc(sizeof *b);
            if (!b)
                return NULL;
            b->next = NULL;
            a->cur->next = b;
        }
        a->cur = a->cur->next;
        a->cur->used = 0;
    }
    if (!a->cur) {
        struct out_block *b = malloc(sizeof *b);
        if (!b)
            return NULL;
        b->next = NULL;
        a->first = a->cur = b;
        b->used = 0;
    }
    struct field *f = &a->cur->f[a->cur->used];
    a->cur->used += n;
    return f;
}

/* Back to empty; keeps the first block and frees the rest (a request that
 * took many rows does not keep its peak). */
static void arena_rewind(struct out_arena *a)
{
    if (!a->first)
        return;
    struct out_block *b = a->first->next;
    while (b) {
        struct out_block *nx = b->next;
        free(b);
        b = nx;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->cur = a->first;
}

static void arena_free(struct out_arena *a)
{
    arena_rewind(a);
    free(a->first);
    a->first = a->cur = NULL;
}

/* AtomInstall and AtomDeinstall without their call and switch for the
 * types output slots hold (the same counts they keep); anything else
 * goes through them. */
static void atom_hold(void *env, unsigned short type, void *v)
{
    if (type == SYMBOL || type == STRING)
        IncrementSymbolCount(v);
    else if (type == INTEGER)
        IncrementIntegerCount(v);
    else if (type == FLOAT)
        IncrementFloatCount(v);
    else
        AtomInstall(env, type, v);
}

static void atom_release(void *env, unsigned short type, void *v)
{
    if (type == SYMBOL || type == STRING)
        DecrementSymbolCount(env, v);
    else if (type == INTEGER)
        DecrementIntegerCount(env, v);
    else if (type == FLOAT)
        DecrementFloatCount(env, v);
    else
        AtomDeinstall(env, type, v);
}

static void rows_drop(struct eng_out *o, struct out_rows *r, int k, bool installed)
{
    if (installed)
        for (size_t i = 0; i < r->n; i++)
            for (unsigned short s = 0; s < o->nslots[k]; s++)
                atom_release(o->env, r->v[i][s].type, r->v[i][s].value);
    r->n = 0;
}

static int rows_push(struct out_rows *r, const struct field *f)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        const struct field **nv = realloc(r->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        r->v = nv;
        r->cap = nc;
    }
    r->v[r->n++] = f;
    return 0;
}

static bool rows_have(const struct out_rows *r, const struct field *f, unsigned short n)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct field *g = r->v[i];
        unsigned short s = 0;
        while (s < n && g[s].type == f[s].type && g[s].value == f[s].value)
            s++;
        if (s == n)
            return true;
    }
    return false;
}

static int kind_of(const struct eng_out *o, const void *tmpl)
{
    for (int k = 0; k < ENG_OUT_N; k++)
        if (o->tmpl[k] == tmpl)
            return k;
    return -1;
}

/* The environment's `assert`: see the top of the file. */
static void out_assert(void *theEnv, DATA_OBJECT *rv)
{
    void *env = theEnv;   /* GetFirstArgument() names it theEnv */
    struct eng_capture *cap = GetEnvironmentContext(env);
    struct eng_out *o = cap ? cap->output : NULL;
    struct expr *arg = GetFirstArgument();
    int k = o && o->intercept && arg && !EngineData(env)->JoinOperationInProgress
                ? kind_of(o, arg->value) : -1;
    if (k < 0) {
        AssertCommand(env, rv);
        return;
    }
    SetpType(rv, SYMBOL);
    SetpValue(rv, EnvFalseSymbol(env));
    struct deftemplate *t = o->tmpl[k];
    unsigned short n = o->nslots[k];
    struct out_arena *a = o->in_reset ? &o->cst_arena : &o->req_arena;
    struct out_block *mark_b = a->cur;
    size_t mark_used = a->cur ? a->cur->used : 0;
    struct field *f = arena_take(a, n);
    if (!f) {
        o->failed = true;
        SetEvaluationError(env, TRUE);
        SetHaltExecution(env, TRUE);
        return;
    }
    bool error = false;
    struct templateSlot *sp = t->slotList;
    unsigned short i = 0;
    for (arg = arg->nextArg; arg && i < n; arg = arg->nextArg, i++) {
        DATA_OBJECT v;
        EvaluateExpression(env, arg, &v);
        if (v.type == MULTIFIELD) {
            MultiIntoSingleFieldSlotError(env, sp, t);
            v.type = SYMBOL;
            v.value = EnvFalseSymbol(env);
            error = true;
        }
        f[i].type = v.type;
        f[i].value = v.value;
        if (sp)
            sp = sp->next;
    }
    for (; i < n; i++) {       /* never: the parser gives every slot a value */
        f[i].type = SYMBOL;
        f[i].value = EnvAddSymbol(env, "nil");
    }
    bool dup = !error && !EnvGetFactDuplication(env) &&
               (rows_have(&o->cst[k], f, n) || rows_have(&o->req[k], f, n));
    if (error || dup) {
        /* the fields just taken go back */
        if (mark_b) {
            a->cur = mark_b;
            a->cur->used = mark_used;
        } else {
            a->cur->used = 0;
        }
        return;
    }
    struct out_rows *r = o->in_reset ? &o->cst[k] : &o->req[k];
    if (rows_push(r, f) < 0) {
        o->failed = true;
        SetEvaluationError(env, TRUE);
        SetHaltExecution(env, TRUE);
        return;
    }
    for (i = 0; i < n; i++)
        atom_hold(env, f[i].type, f[i].value);
    if (!o->in_reset) {
        o->req_bytes += n * sizeof *f + sizeof *r->v;
        cap->output_bytes = o->req_bytes;
    }
    SetpValue(rv, EnvTrueSymbol(env));
}

/* Whether taking output without facts keeps the results exactly: no rule
 * pattern on an output template (its pattern network is empty), no
 * logical CE (output would not be retracted with its support), no
 * multislot (rows hold single values). */
static bool can_intercept(void *env, struct deftemplate *const *tmpl)
{
    for (int k = 0; k < ENG_OUT_N; k++) {
        if (tmpl[k]->patternNetwork || tmpl[k]->implied)
            return false;
        for (struct templateSlot *s = tmpl[k]->slotList; s; s = s->next)
            if (s->multislot)
                return false;
    }
    for (void *r = EnvGetNextDefrule(env, NULL); r; r = EnvGetNextDefrule(env, r))
        for (struct defrule *d = r; d; d = d->disjunct)
            if (d->logicalJoin)
                return false;
    return true;
}

int eng_out_create(void *env, struct eng_capture *cap, void *const tmpl[ENG_OUT_N],
                   struct eng_out **out)
{
    *out = NULL;
    struct eng_out *o = calloc(1, sizeof *o);
    if (!o)
        return -1;
    o->env = env;
    o->cap = cap;
    for (int k = 0; k < ENG_OUT_N; k++) {
        o->tmpl[k] = tmpl[k];
        o->nslots[k] = o->tmpl[k]->numberOfSlots;
    }
    o->intercept = can_intercept(env, o->tmpl);
    if (o->intercept) {
        struct FunctionDefinition *fd = FindFunction(env, "assert");
        if (!fd) {
            free(o);
            return -1;
        }
        /* Only this environment's definition: each environment has its
         * own function table, and the rules' compiled actions point at it. */
        fd->functionPointer = PTIF out_assert;
        fd->environmentAware = TRUE;
    }
    cap->output = o;
    *out = o;
    return 0;
}

void eng_out_free(struct eng_out *o)
{
    if (!o)
        return;
    for (int k = 0; k < ENG_OUT_N; k++) {
        free(o->cst[k].v);
        free(o->req[k].v);
    }
    arena_free(&o->cst_arena);
    arena_free(&o->req_arena);
    if (o->cap && o->cap->output == o)
        o->cap->output = NULL;
    free(o);
}

bool eng_out_intercepts(const struct eng_out *o)
{
    return o->intercept;
}

void eng_out_reset_begin(struct eng_out *o)
{
    eng_out_request_end(o);
    for (int k = 0; k < ENG_OUT_N; k++)
        rows_drop(o, &o->cst[k], k, o->intercept);
    arena_rewind(&o->cst_arena);
    o->in_reset = true;
}

void eng_out_reset_end(struct eng_out *o)
{
    o->in_reset = false;
}

int eng_out_collect(struct eng_out *o)
{
    if (o->failed)
        return -1;
    if (o->intercept)
        return 0;
    for (int k = 0; k < ENG_OUT_N; k++)
        for (void *f = EnvGetNextFactInTemplate(o->env, o->tmpl[k], NULL); f;
             f = EnvGetNextFactInTemplate(o->env, o->tmpl[k], f))
            if (rows_push(&o->req[k], ((struct fact *)f)->theProposition.theFields) < 0)
                return -1;
    return 0;
}

int eng_out_stray_facts(const struct eng_out *o)
{
    if (!o->intercept)
        return -1;
    for (int k = 0; k < ENG_OUT_N; k++)
        if (o->tmpl[k]->factList)
            return k;
    return -1;
}

void eng_out_request_end(struct eng_out *o)
{
    for (int k = 0; k < ENG_OUT_N; k++)
        rows_drop(o, &o->req[k], k, o->intercept);
    arena_rewind(&o->req_arena);
    o->req_bytes = 0;
    o->failed = false;
    if (o->cap)
        o->cap->output_bytes = 0;
}

size_t eng_out_const_count(const struct eng_out *o, int kind)
{
    return o->cst[kind].n;
}

size_t eng_out_count(const struct eng_out *o, int kind)
{
    return o->cst[kind].n + o->req[kind].n;
}

const struct field *eng_out_row(const struct eng_out *o, int kind, size_t i)
{
    return i < o->cst[kind].n ? o->cst[kind].v[i] : o->req[kind].v[i - o->cst[kind].n];
}
