/*
 * diff.c: `suitd diff OLD NEW`: every decision that would change.
 *
 * Both sides (a ruleset folder and a policy: a file, or a name of a policy
 * folder) are checked as the daemon checks a ruleset before serving it
 * (ruleset_check; failing cases are reported, not refused), then every
 * patient of the population (diff_population.h) is assessed on both,
 * through the request pipeline the daemon runs (engine_request_assess, with
 * options.explain for the rules fired), on one thread per core, each with
 * its own engine per side.  Each patient whose results differ gets a kind
 * (the heaviest difference: error, verdict, defer_days, findings,
 * side_effects, plan, aftercare, text) and a signature (what changed,
 * without the patient's own numbers), and the report groups the patients
 * by kind and signature, each group shown with its shortest patient.
 *
 * Exit status: 0 nothing changed (with --expect: exactly the recorded
 * changes), 1 something changed (with --expect: something the recording
 * does not have, or a recorded change that no longer happens), 2 a usage
 * error, a ruleset or policy that cannot be loaded, or an internal error.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diff_population.h"
#include "engine.h"
#include "tools.h"

/* Patients a text report shows per group beyond the first; --format json
 * lists them all. */
#define DIFF_TEXT_EXAMPLES 3
#define DIFF_MAX_THREADS 256

struct diff_side {
    const char *dir;
    const char *policy_arg;     /* as given: a file, a name, or NULL */
    const char *policy_file;    /* the `default` policy's file, or NULL */
    const char *policy_name;    /* the requests' options.policy, or NULL */
    struct ruleset *rs;
    const char *label;          /* "OLD", "NEW" */
    int cases_failed;
    char policy_sha256[65];
};

struct diff_opts {
    struct diff_side side[2];
    const char *policy_dir;
    const char *cases;
    const char *expect;
    bool json;
    unsigned threads;
};

/* What one side answered for one patient. */
struct outcome {
    int code;                   /* 0 or the error's code */
    char *error;                /* its message */
    struct suit_result r;
};

struct change {
    size_t patient;
    const char *json;           /* the patient's, borrowed from the population */
    char *kind;
    char *signature;            /* kind and what changed, without the patient's numbers */
    json_t *detail;             /* the JSON record of this patient's change */
};

struct diff_run {
    const struct diff_opts *o;
    const struct diff_population *pop;
    atomic_size_t next;
    pthread_mutex_t mu;
    struct change *changes;
    size_t n_changes, cap;
    int failed;                 /* an internal error stopped a thread */
    char failure[1024];
};

/* ---- arguments ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: suitd diff OLD NEW [--policy-a FILE|NAME] [--policy-b FILE|NAME]\n"
        "                  [--policy-dir DIR] [--cases FILE] [--format text|json]\n"
        "                  [--expect FILE] [--threads N]\n"
        "Runs both sides over the same population of patients and reports every\n"
        "patient whose result differs: verdict, defer days, findings added and\n"
        "removed, side effects, plan, aftercare; grouped by kind of change, each\n"
        "change with the shortest patient that shows it and the rules that fired\n"
        "differently.  OLD and NEW are ruleset folders (the same folder to compare\n"
        "two policies).\n"
        "  --policy-a, --policy-b  the policy of OLD, of NEW: a policy file (a path:\n"
        "                 it has a '/' or a '.'), or the name of a policy of\n"
        "                 --policy-dir (default: each side's `default`)\n"
        "  --policy-dir DIR  the named policies of both sides (suitd serve --policy-dir)\n"
        "  --cases FILE   more patients, one JSON object per line (a patient, or a\n"
        "                 case with a \"patient\" key), e.g. anonymised exported facts\n"
        "  --format json  the whole diff as one JSON object (for CI and --expect)\n"
        "  --expect FILE  a diff recorded with --format json: fail on any change it\n"
        "                 does not have, and on any of its changes that is gone\n"
        "  --threads N    threads, one engine per side each (default: every core)\n"
        "The population: both rulesets' own cases; generated patients (a base patient\n"
        "with each term alone, at the boundary days of every day-valued policy value\n"
        "either side uses: the day before, on and after; every pair of terms; every\n"
        "age; each Fitzpatrick type, area, indication, setting and needle depth\n"
        "around the depth values); the --cases patients.  It is deterministic and its\n"
        "size is printed.\n"
        "Exit status: 0 nothing changed (or exactly what --expect recorded), 1\n"
        "something changed (or differs from --expect), 2 usage or load error.\n");
}

/* A policy argument is a file when it could not be a policy name. */
static void side_policy(struct diff_side *s)
{
    const char *a = s->policy_arg;
    if (!a)
        return;
    if (strchr(a, '/') || strchr(a, '.') || !suit_policy_name_valid(a, strlen(a)))
        s->policy_file = a;
    else
        s->policy_name = a;
}

static int parse_args(int argc, char **argv, struct diff_opts *o)
{
    memset(o, 0, sizeof *o);
    o->side[0].label = "OLD";
    o->side[1].label = "NEW";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cores > 0 ? (unsigned)cores : 1;
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--policy-a"))
            slot = &o->side[0].policy_arg;
        else if (!strcmp(a, "--policy-b"))
            slot = &o->side[1].policy_arg;
        else if (!strcmp(a, "--policy-dir"))
            slot = &o->policy_dir;
        else if (!strcmp(a, "--cases"))
            slot = &o->cases;
        else if (!strcmp(a, "--expect"))
            slot = &o->expect;
        if (slot || !strcmp(a, "--format") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "suitd diff: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (slot) {
                *slot = v;
            } else if (!strcmp(a, "--format")) {
                if (strcmp(v, "json") && strcmp(v, "text")) {
                    fprintf(stderr, "suitd diff: --format: expected text or json, got '%s'\n",
                            v);
                    return 2;
                }
                o->json = !strcmp(v, "json");
            } else {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > DIFF_MAX_THREADS) {
                    fprintf(stderr, "suitd diff: --threads: expected 1 to %d, got '%s'\n",
                            DIFF_MAX_THREADS, v);
                    return 2;
                }
                o->threads = (unsigned)n;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "suitd diff: unknown option '%s' (see suitd diff --help)\n", a);
            return 2;
        }
        if (npos == 2) {
            fprintf(stderr, "suitd diff: expected two ruleset folders, OLD and NEW; got a "
                            "third, '%s'\n", a);
            return 2;
        }
        pos[npos++] = a;
    }
    if (npos != 2) {
        fprintf(stderr, "suitd diff: expected two ruleset folders, OLD and NEW (see suitd "
                        "diff --help)\n");
        return 2;
    }
    for (int s = 0; s < 2; s++) {
        o->side[s].dir = pos[s];
        side_policy(&o->side[s]);
        if (o->side[s].policy_name && !o->policy_dir &&
            strcmp(o->side[s].policy_name, SUIT_DEFAULT_POLICY)) {
            fprintf(stderr, "suitd diff: --policy-%c %s: a policy name needs --policy-dir "
                            "(or give a file: ./%s.ini)\n", s ? 'b' : 'a',
                    o->side[s].policy_name, o->side[s].policy_name);
            return 2;
        }
    }
    return 0;
}

/* ---- loading ---------------------------------------------------------------- */

static void print_error(const char *what, const struct proto_error *e)
{
    fprintf(stderr, "suitd diff: %s: %s\n", what, e->message);
    for (size_t i = 0; i < e->n_details; i++)
        fprintf(stderr, "  %s\n", e->details[i]);
}

/* The side's ruleset through the daemon's own decision, failing cases
 * allowed (they are what a diff may be about). */
static int load_side(struct diff_side *s, const char *policy_dir)
{
    struct ruleset_check_opts co;
    ruleset_check_opts_init(&co, s->dir, s->policy_file);
    co.src.policy_dir = policy_dir;
    co.flags = RULESET_CHECK_FAILING_CASES_OK;
    struct ruleset_report rep;
    ruleset_report_init(&rep);
    struct proto_error err;
    proto_error_init(&err);
    int rc = ruleset_check(&co, &s->rs, &rep, &err);
    s->cases_failed = rep.cases_failed;
    ruleset_report_close(&rep);
    if (rc) {
        char what[600];
        snprintf(what, sizeof what, "%s %s", s->label, s->dir);
        print_error(what, &err);
        proto_error_close(&err);
        return -1;
    }
    proto_error_close(&err);
    const char *want = s->policy_name ? s->policy_name : SUIT_DEFAULT_POLICY;
    size_t n = ruleset_policy_count(s->rs);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ruleset_policy_name(s->rs, i), want)) {
            snprintf(s->policy_sha256, sizeof s->policy_sha256, "%s",
                     ruleset_policy_sha256(s->rs, i));
            return 0;
        }
    fprintf(stderr, "suitd diff: %s: no policy '%s' in %s (known:", s->label, want, policy_dir);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", ruleset_policy_name(s->rs, i));
    fprintf(stderr, ")\n");
    return -1;
}

/* ---- assessing -------------------------------------------------------------- */

static void outcome_close(struct outcome *x)
{
    free(x->error);
    suit_result_close(&x->r);
}

/* One patient on one side: [patient, {explain: true, policy: NAME}]. */
static int assess(struct engine *e, const struct diff_side *s, const struct diff_patient *p,
                  struct outcome *x)
{
    memset(x, 0, sizeof *x);
    suit_result_init(&x->r);
    msgpack_sbuffer params, reply;
    msgpack_sbuffer_init(&params);
    msgpack_sbuffer_init(&reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_sbuffer_write(&params, p->packed, p->packed_len);
    msgpack_pack_map(&pk, s->policy_name ? 2 : 1);
    proto_pack_str(&pk, "explain");
    msgpack_pack_true(&pk);
    if (s->policy_name) {
        proto_pack_str(&pk, "policy");
        proto_pack_str(&pk, s->policy_name);
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int rc = 0;
    if (msgpack_unpack_next(&up, params.data, params.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
        rc = -1;
    } else {
        struct proto_error err;
        proto_error_init(&err);
        msgpack_packer_init(&pk, &reply, msgpack_sbuffer_write);
        struct engine_request q = {.params = &up.data, .result = &x->r};
        x->code = engine_request_assess(e, &q, &pk, &err);
        if (x->code && !(x->error = strdup(err.message)))
            rc = -1;
        /* the engine failing itself is not a difference between rulesets */
        if (x->code == PROTO_E_INTERNAL)
            rc = -1;
        proto_error_close(&err);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&params);
    msgpack_sbuffer_destroy(&reply);
    return rc;
}

/* ---- comparing -------------------------------------------------------------- */

static const struct suit_finding *finding(const struct suit_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (!strcmp(r->findings[i].id, id))
            return &r->findings[i];
    return NULL;
}

static bool has_effect(const struct suit_result *r, const char *effect)
{
    for (size_t i = 0; i < r->n_side_effects; i++)
        if (!strcmp(r->side_effects[i].effect, effect))
            return true;
    return false;
}

static bool in_trace(const struct suit_result *r, const char *rule)
{
    for (size_t i = 0; i < r->n_trace; i++)
        if (!strcmp(r->trace[i], rule))
            return true;
    return false;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The findings' texts as sorted "id summary detail ..." lines: a ruleset
 * may make two findings with one id (one per medication), whose order
 * follows the order rules fired in, so the texts are compared as a set. */
static int finding_texts(const struct suit_result *r, char ***out)
{
    *out = calloc(r->n_findings + 1, sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < r->n_findings; i++) {
        const struct suit_finding *f = &r->findings[i];
        size_t n = 8 + strlen(f->id) + strlen(f->category) + strlen(f->summary) +
                   strlen(f->detail) + strlen(f->source) + strlen(f->action) +
                   (f->suggestion ? strlen(f->suggestion) : 0);
        if (!((*out)[i] = malloc(n)))
            return -1;
        snprintf((*out)[i], n, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", f->id, f->category,
                 f->summary, f->detail, f->source, f->action, f->suggestion ? f->suggestion : "");
    }
    qsort(*out, r->n_findings, sizeof **out, str_cmp);
    return 0;
}

static void texts_free(char **t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        free(t[i]);
    free(t);
}

/* -1 out of memory, 1 when the findings' texts differ, else 0. */
static int texts_differ(const struct suit_result *a, const struct suit_result *b)
{
    if (a->n_findings != b->n_findings)
        return 1;
    char **x = NULL, **y = NULL;
    int rc = finding_texts(a, &x) < 0 || finding_texts(b, &y) < 0 ? -1 : 0;
    for (size_t i = 0; !rc && i < a->n_findings; i++)
        rc = strcmp(x[i], y[i]) != 0;
    texts_free(x, a->n_findings);
    texts_free(y, b->n_findings);
    return rc;
}

static bool plan_eq(const struct suit_plan *a, const struct suit_plan *b)
{
    return a->present == b->present &&
           (!a->present ||
            (a->sessions_min == b->sessions_min && a->sessions_max == b->sessions_max &&
             a->interval_weeks == b->interval_weeks &&
             a->interval_weeks_max == b->interval_weeks_max && a->cost_min == b->cost_min &&
             a->cost_typical == b->cost_typical && a->cost_max == b->cost_max));
}

static bool aftercare_eq(const struct suit_result *a, const struct suit_result *b)
{
    if (a->n_aftercare != b->n_aftercare)
        return false;
    for (size_t i = 0; i < a->n_aftercare; i++)
        if (strcmp(a->aftercare[i], b->aftercare[i]))
            return false;
    return true;
}

/* A signature: words appended with a separator. */
struct sig {
    char s[4096];
    size_t n;
};

static void sig_add(struct sig *g, const char *fmt, const char *a, const char *b)
{
    if (g->n >= sizeof g->s - 1)
        return;
    /* "; " between the parts of a signature, not before the first */
    if (fmt[0] == ';' && !g->n)
        fmt += 2;
    int k = snprintf(g->s + g->n, sizeof g->s - g->n, fmt, a, b);
    if (k > 0)
        g->n += (size_t)k < sizeof g->s - g->n ? (size_t)k : sizeof g->s - g->n - 1;
}

/* A difference found: the kind is the first (heaviest) one marked; each
 * adds its label and detail to the signature. */
static void mark(const char **kind, struct sig *g, const char *k, const char *label,
                 const char *detail)
{
    if (!*kind)
        *kind = k;
    sig_add(g, "; %s%s", label, detail);
}

static json_t *outcome_json(const struct outcome *x)
{
    if (x->code)
        return json_pack("{s:i,s:s}", "error", x->code, "message", x->error ? x->error : "");
    json_t *ids = json_array();
    for (size_t i = 0; i < x->r.n_findings; i++)
        json_array_append_new(ids, json_string(x->r.findings[i].id));
    return json_pack("{s:s,s:o,s:o}", "verdict", suit_verdict_name(x->r.verdict), "defer_days",
                     x->r.defer_days >= 0 ? json_integer(x->r.defer_days) : json_null(),
                     "findings", ids);
}

/* Lists of names in a that are not in b, by has(). */
typedef bool (*has_fn)(const struct suit_result *, const char *);

static bool has_finding(const struct suit_result *r, const char *id)
{
    return finding(r, id) != NULL;
}

static json_t *only_in(const struct suit_result *a, const struct suit_result *b, has_fn has,
                       const char *(*name)(const struct suit_result *, size_t), size_t n,
                       struct sig *g, const char *prefix)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *x = name(a, i);
        if (!has(b, x)) {
            json_array_append_new(list, json_string(x));
            sig_add(g, " %s%s", prefix, x);
        }
    }
    return list;
}

static const char *finding_id(const struct suit_result *r, size_t i)
{
    return r->findings[i].id;
}

static const char *effect_name(const struct suit_result *r, size_t i)
{
    return r->side_effects[i].effect;
}

static const char *trace_name(const struct suit_result *r, size_t i)
{
    return r->trace[i];
}

/* Compares the two outcomes; 1 with *c filled when they differ, 0 when
 * not, -1 out of memory. */
static int compare(const struct outcome *a, const struct outcome *b, size_t patient,
                   struct change *c)
{
    const char *kind = NULL;
    struct sig g = {.n = 0};
    json_t *d = json_object();
    if (!d)
        return -1;
    if (a->code || b->code) {
        if (a->code == b->code) {
            json_decref(d);
            return 0;           /* the same refusal on both sides */
        }
        kind = "error";
        char x[64], y[64];
        snprintf(x, sizeof x, "%s", a->code ? proto_code_name(a->code)
                                            : suit_verdict_name(a->r.verdict));
        snprintf(y, sizeof y, "%s", b->code ? proto_code_name(b->code)
                                            : suit_verdict_name(b->r.verdict));
        sig_add(&g, "error %s -> %s", x, y);
    } else {
        const struct suit_result *ra = &a->r, *rb = &b->r;
        if (ra->verdict != rb->verdict) {
            kind = "verdict";
            sig_add(&g, "verdict %s -> %s", suit_verdict_name(ra->verdict),
                    suit_verdict_name(rb->verdict));
        } else if (ra->defer_days != rb->defer_days) {
            kind = "defer_days";
            sig_add(&g, "%s%s", "defer_days", "");
        }
        struct sig fg = {.n = 0};
        json_t *added = only_in(rb, ra, has_finding, finding_id, rb->n_findings, &fg, "+");
        json_t *removed = only_in(ra, rb, has_finding, finding_id, ra->n_findings, &fg, "-");
        json_t *changed = json_array();
        for (size_t i = 0; i < ra->n_findings; i++) {
            const struct suit_finding *fa = &ra->findings[i], *fb = finding(rb, fa->id);
            if (fb && (fa->severity != fb->severity || fa->defer_days != fb->defer_days)) {
                json_array_append_new(changed, json_string(fa->id));
                sig_add(&fg, " ~%s%s", fa->id, "");
            }
        }
        int text = texts_differ(ra, rb);
        if (text < 0) {
            json_decref(d);
            json_decref(added);
            json_decref(removed);
            json_decref(changed);
            return -1;
        }
        if (fg.n)
            mark(&kind, &g, "findings", "findings", fg.s);
        json_object_set_new(d, "findings_added", added);
        json_object_set_new(d, "findings_removed", removed);
        json_object_set_new(d, "findings_changed", changed);
        struct sig eg = {.n = 0};
        json_t *fx_added = only_in(rb, ra, has_effect, effect_name, rb->n_side_effects, &eg, "+");
        json_t *fx_removed = only_in(ra, rb, has_effect, effect_name, ra->n_side_effects, &eg,
                                     "-");
        if (eg.n)
            mark(&kind, &g, "side_effects", "side effects", eg.s);
        json_object_set_new(d, "side_effects_added", fx_added);
        json_object_set_new(d, "side_effects_removed", fx_removed);
        if (!plan_eq(&ra->plan, &rb->plan))
            mark(&kind, &g, "plan", "plan", "");
        if (!aftercare_eq(ra, rb))
            mark(&kind, &g, "aftercare", "aftercare", "");
        /* a finding added or removed changes the texts anyway */
        if (text && !fg.n)
            mark(&kind, &g, "text", "finding text", "");
        struct sig rg = {.n = 0};
        json_t *r_old = only_in(ra, rb, in_trace, trace_name, ra->n_trace, &rg, "-");
        json_t *r_new = only_in(rb, ra, in_trace, trace_name, rb->n_trace, &rg, "+");
        if (kind && rg.n)
            sig_add(&g, "; rules%s%s", rg.s, "");
        json_object_set_new(d, "rules_only_old", r_old);
        json_object_set_new(d, "rules_only_new", r_new);
    }
    if (!kind) {
        json_decref(d);
        return 0;
    }
    json_object_set_new(d, "kind", json_string(kind));
    json_object_set_new(d, "old", outcome_json(a));
    json_object_set_new(d, "new", outcome_json(b));
    c->patient = patient;
    c->kind = strdup(kind);
    c->signature = strdup(g.s);
    c->detail = d;
    if (!c->kind || !c->signature)
        return -1;
    return 1;
}

/* ---- the threads ------------------------------------------------------------- */

static void run_fail(struct diff_run *run, const char *msg)
{
    pthread_mutex_lock(&run->mu);
    if (!run->failed++)
        snprintf(run->failure, sizeof run->failure, "%s", msg);
    pthread_mutex_unlock(&run->mu);
}

static void *run_thread(void *arg)
{
    struct diff_run *run = arg;
    const struct diff_opts *o = run->o;
    struct engine *e[2] = {NULL, NULL};
    struct engine_limits lim;
    engine_limits_default(&lim);
    for (int s = 0; s < 2; s++) {
        struct proto_error err;
        proto_error_init(&err);
        if (engine_create(o->side[s].rs, &lim, &e[s], &err) < 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: cannot build an engine: %s", o->side[s].label,
                     err.message);
            run_fail(run, msg);
        }
        proto_error_close(&err);
    }
    while (e[0] && e[1] && !run->failed) {
        size_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->pop->n)
            break;
        struct outcome x[2];
        int rc = assess(e[0], &o->side[0], &run->pop->v[i], &x[0]);
        rc |= assess(e[1], &o->side[1], &run->pop->v[i], &x[1]);
        struct change c;
        int d = rc ? -1 : compare(&x[0], &x[1], i, &c);
        if (d > 0)
            c.json = run->pop->v[i].json;
        if (d < 0) {
            char msg[800];
            snprintf(msg, sizeof msg, "cannot assess %s: %s", run->pop->v[i].json,
                     x[0].error ? x[0].error : x[1].error ? x[1].error : "out of memory");
            run_fail(run, msg);
        } else if (d > 0) {
            pthread_mutex_lock(&run->mu);
            if (run->n_changes == run->cap) {
                size_t nc = run->cap ? run->cap * 2 : 256;
                struct change *nv = realloc(run->changes, nc * sizeof *nv);
                if (nv) {
                    run->changes = nv;
                    run->cap = nc;
                }
            }
            if (run->n_changes < run->cap) {
                run->changes[run->n_changes++] = c;
                c.detail = NULL;
            }
            pthread_mutex_unlock(&run->mu);
            if (c.detail) {
                json_decref(c.detail);
                free(c.kind);
                free(c.signature);
                run_fail(run, "out of memory");
            }
        }
        outcome_close(&x[0]);
        outcome_close(&x[1]);
    }
    engine_free(e[0]);
    engine_free(e[1]);
    return NULL;
}

/* ---- the report ------------------------------------------------------------- */

static const char *const kinds[] = {"error", "verdict", "defer_days", "findings",
                                    "side_effects", "plan", "aftercare", "text"};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static int kind_rank(const char *k)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (!strcmp(kinds[i], k))
            return (int)i;
    return (int)N_KINDS;
}

/* By kind, then signature, then the patient: shortest first. */
static int change_cmp(const void *x, const void *y)
{
    const struct change *a = x, *b = y;
    int d = kind_rank(a->kind) - kind_rank(b->kind);
    if (d)
        return d;
    d = strcmp(a->signature, b->signature);
    if (d)
        return d;
    size_t la = strlen(a->json), lb = strlen(b->json);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a->json, b->json);
}

/* A group: changes [from, to) share kind and signature (sorted: the
 * first is its shortest patient). */
struct group {
    size_t from, to;
};

static json_t *side_json(const struct diff_side *s)
{
    const struct suit_ruleset_id *id = ruleset_id(s->rs);
    return json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s?},s:i}", "dir", s->dir, "ruleset",
                     "name", id->name, "version", id->version, "sha256", id->sha256, "policy",
                     "name", s->policy_name ? s->policy_name : SUIT_DEFAULT_POLICY, "sha256",
                     s->policy_sha256, "file", s->policy_file, "cases_failed", s->cases_failed);
}

static void side_text(FILE *f, const struct diff_side *s)
{
    const struct suit_ruleset_id *id = ruleset_id(s->rs);
    fprintf(f, "%s: %s (%s %s %.12s), policy %s", s->label, s->dir, id->name, id->version,
            id->sha256, s->policy_name ? s->policy_name : SUIT_DEFAULT_POLICY);
    if (s->policy_file)
        fprintf(f, " from %s", s->policy_file);
    fprintf(f, " (%.12s)", s->policy_sha256);
    if (s->cases_failed)
        fprintf(f, "; %d of its own cases fail", s->cases_failed);
    fputc('\n', f);
}

static void outcome_text(FILE *f, const json_t *o)
{
    if (json_object_get(o, "error")) {
        fprintf(f, "error %lld (%s)", (long long)json_integer_value(json_object_get(o, "error")),
                json_string_value(json_object_get(o, "message")));
        return;
    }
    fprintf(f, "%s", json_string_value(json_object_get(o, "verdict")));
    const json_t *dd = json_object_get(o, "defer_days");
    if (json_is_integer(dd))
        fprintf(f, " %lld days", (long long)json_integer_value(dd));
}

static void list_text(FILE *f, const char *label, const json_t *list)
{
    if (!json_array_size(list))
        return;
    fprintf(f, "      %s:", label);
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) fprintf(f, "%s %s", i ? "," : "", json_string_value(x));
    fputc('\n', f);
}

struct report {
    const struct diff_opts *o;
    const struct diff_population *pop;
    struct change *c;
    size_t n;
    struct group *g;
    size_t n_groups;
    size_t per_kind[N_KINDS + 1];
    double seconds;
};

static json_t *report_json(const struct report *rp)
{
    json_t *kinds_o = json_object(), *groups = json_array();
    for (size_t k = 0; k < N_KINDS; k++)
        if (rp->per_kind[k])
            json_object_set_new(kinds_o, kinds[k], json_integer((json_int_t)rp->per_kind[k]));
    for (size_t i = 0; i < rp->n_groups; i++) {
        const struct group *g = &rp->g[i];
        const struct change *first = &rp->c[g->from];
        json_t *patients = json_array();
        for (size_t k = g->from; k < g->to; k++) {
            json_t *pj = json_loads(rp->pop->v[rp->c[k].patient].json, 0, NULL);
            json_t *rec = json_deep_copy(rp->c[k].detail);
            json_object_del(rec, "kind");
            json_object_set_new(rec, "patient", pj);
            json_array_append_new(patients, rec);
        }
        json_array_append_new(groups, json_pack("{s:s,s:s,s:I,s:o}", "kind", first->kind,
                                                "signature", first->signature, "count",
                                                (json_int_t)(g->to - g->from), "patients",
                                                patients));
    }
    return json_pack("{s:o,s:o,s:{s:I,s:I,s:I,s:I},s:I,s:o,s:o}", "old",
                     side_json(&rp->o->side[0]), "new", side_json(&rp->o->side[1]),
                     "population", "total", (json_int_t)rp->pop->n, "cases",
                     (json_int_t)rp->pop->from_cases, "generated",
                     (json_int_t)rp->pop->generated, "file", (json_int_t)rp->pop->from_file,
                     "changed", (json_int_t)rp->n, "kinds", kinds_o, "changes", groups);
}

static void report_text(FILE *f, const struct report *rp)
{
    side_text(f, &rp->o->side[0]);
    side_text(f, &rp->o->side[1]);
    fprintf(f, "population: %zu patients (%zu from the rulesets' cases, %zu generated",
            rp->pop->n, rp->pop->from_cases, rp->pop->generated);
    if (rp->o->cases)
        fprintf(f, ", %zu from %s", rp->pop->from_file, rp->o->cases);
    fprintf(f, ")\n");
    if (!rp->n) {
        fprintf(f, "no decision changes\n");
        return;
    }
    fprintf(f, "%zu patient%s changed:", rp->n, rp->n == 1 ? "" : "s");
    for (size_t k = 0, first = 1; k < N_KINDS; k++)
        if (rp->per_kind[k]) {
            fprintf(f, "%s %zu %s", first ? "" : ",", rp->per_kind[k], kinds[k]);
            first = 0;
        }
    fprintf(f, "\n");
    const char *kind = NULL;
    for (size_t i = 0; i < rp->n_groups; i++) {
        const struct group *g = &rp->g[i];
        const struct change *c = &rp->c[g->from];
        if (!kind || strcmp(kind, c->kind)) {
            kind = c->kind;
            fprintf(f, "\n== %s (%zu)\n", kind, rp->per_kind[kind_rank(kind)]);
        }
        size_t n = g->to - g->from;
        fprintf(f, "  %s: %zu patient%s\n", c->signature, n, n == 1 ? "" : "s");
        for (size_t k = g->from; k < g->to && k < g->from + 1 + DIFF_TEXT_EXAMPLES; k++) {
            const json_t *d = rp->c[k].detail;
            fprintf(f, "    %s\n      OLD ", rp->pop->v[rp->c[k].patient].json);
            outcome_text(f, json_object_get(d, "old"));
            fprintf(f, ", NEW ");
            outcome_text(f, json_object_get(d, "new"));
            fputc('\n', f);
            if (k == g->from) {
                list_text(f, "findings added", json_object_get(d, "findings_added"));
                list_text(f, "findings removed", json_object_get(d, "findings_removed"));
                list_text(f, "findings changed", json_object_get(d, "findings_changed"));
                list_text(f, "side effects added", json_object_get(d, "side_effects_added"));
                list_text(f, "side effects removed",
                          json_object_get(d, "side_effects_removed"));
                list_text(f, "rules fired only in OLD", json_object_get(d, "rules_only_old"));
                list_text(f, "rules fired only in NEW", json_object_get(d, "rules_only_new"));
            }
        }
        if (n > 1 + DIFF_TEXT_EXAMPLES)
            fprintf(f, "    ... and %zu more (--format json lists them all)\n",
                    n - 1 - DIFF_TEXT_EXAMPLES);
    }
}

/* ---- --expect ---------------------------------------------------------------- */

/* "signature\tpatient" for every changed patient of a JSON diff. */
static int expect_keys(const json_t *diff, json_t *set)
{
    size_t i, k;
    json_t *g, *p;
    json_array_foreach(json_object_get(diff, "changes"), i, g) {
        const char *sig = json_string_value(json_object_get(g, "signature"));
        json_array_foreach(json_object_get(g, "patients"), k, p) {
            char *pj = json_dumps(json_object_get(p, "patient"), JSON_COMPACT | JSON_SORT_KEYS);
            if (!sig || !pj) {
                free(pj);
                return -1;
            }
            size_t n = strlen(sig) + strlen(pj) + 2;
            char *key = malloc(n);
            if (!key) {
                free(pj);
                return -1;
            }
            snprintf(key, n, "%s\t%s", sig, pj);
            json_object_set_new(set, key, json_true());
            free(key);
            free(pj);
        }
    }
    return 0;
}

/* 0 when the diff is exactly the recorded one; else 1, each difference
 * printed. */
static int check_expect(const char *path, const json_t *now, FILE *out)
{
    json_error_t jerr;
    json_t *want = json_load_file(path, 0, &jerr);
    if (!want) {
        fprintf(stderr, "suitd diff: --expect %s:%d: %s\n", path, jerr.line, jerr.text);
        return 2;
    }
    json_t *a = json_object(), *b = json_object();
    int rc = expect_keys(want, a) < 0 || expect_keys(now, b) < 0 ? 2 : 0;
    size_t unexpected = 0, gone = 0;
    const char *key;
    json_t *v;
    json_object_foreach(b, key, v) if (!json_object_get(a, key)) {
        if (unexpected++ < 20)
            fprintf(out, "unexpected change: %s\n", key);
    }
    json_object_foreach(a, key, v) if (!json_object_get(b, key)) {
        if (gone++ < 20)
            fprintf(out, "expected change not seen: %s\n", key);
    }
    if (!rc) {
        if (unexpected || gone)
            fprintf(out, "--expect %s: %zu unexpected change%s, %zu expected change%s not seen\n",
                    path, unexpected, unexpected == 1 ? "" : "s", gone, gone == 1 ? "" : "s");
        else
            fprintf(out, "--expect %s: the diff is the recorded one (%zu changed patients)\n",
                    path, json_object_size(b));
        rc = unexpected || gone ? 1 : 0;
    }
    json_decref(a);
    json_decref(b);
    json_decref(want);
    return rc;
}

/* ---- main ---------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void changes_free(struct change *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].kind);
        free(c[i].signature);
        json_decref(c[i].detail);
    }
    free(c);
}

static int run_all(const struct diff_opts *o, const struct diff_population *pop,
                   struct diff_run *run)
{
    memset(run, 0, sizeof *run);
    run->o = o;
    run->pop = pop;
    atomic_init(&run->next, 0);
    pthread_mutex_init(&run->mu, NULL);
    pthread_t th[DIFF_MAX_THREADS];
    unsigned started = 0;
    for (unsigned i = 0; i < o->threads; i++) {
        if (pthread_create(&th[i], NULL, run_thread, run) != 0)
            break;
        started++;
    }
    if (!started)
        run_fail(run, "cannot start a thread");
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&run->mu);
    return run->failed ? -1 : 0;
}

int tools_diff_main(int argc, char **argv)
{
    struct diff_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    double t0 = now_s();
    int status = 2;
    struct diff_population pop;
    memset(&pop, 0, sizeof pop);
    struct diff_run run;
    memset(&run, 0, sizeof run);
    if (load_side(&o.side[0], o.policy_dir) < 0 || load_side(&o.side[1], o.policy_dir) < 0)
        goto out;
    struct proto_error err;
    proto_error_init(&err);
    struct diff_side_ref refs[2] = {{o.side[0].rs, o.side[0].policy_name},
                                    {o.side[1].rs, o.side[1].policy_name}};
    if (diff_population_build(&pop, refs, o.cases, &err) < 0) {
        print_error("population", &err);
        proto_error_close(&err);
        goto out;
    }
    proto_error_close(&err);
    double t1 = now_s();
    if (run_all(&o, &pop, &run) < 0) {
        fprintf(stderr, "suitd diff: %s\n", run.failure);
        goto out;
    }
    double t2 = now_s();

    struct report rp = {.o = &o, .pop = &pop, .c = run.changes, .n = run.n_changes,
                        .seconds = t2 - t0};
    if (rp.n > 1)
        qsort(rp.c, rp.n, sizeof *rp.c, change_cmp);
    rp.g = calloc(rp.n + 1, sizeof *rp.g);
    if (!rp.g) {
        fprintf(stderr, "suitd diff: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < rp.n; i++) {
        rp.per_kind[kind_rank(rp.c[i].kind)]++;
        if (!i || strcmp(rp.c[i].kind, rp.c[i - 1].kind) ||
            strcmp(rp.c[i].signature, rp.c[i - 1].signature))
            rp.g[rp.n_groups++] = (struct group){.from = i, .to = i};
        rp.g[rp.n_groups - 1].to = i + 1;
    }
    json_t *j = (o.json || o.expect) ? report_json(&rp) : NULL;
    if ((o.json || o.expect) && !j) {
        fprintf(stderr, "suitd diff: out of memory\n");
        free(rp.g);
        goto out;
    }
    FILE *out = stdout;
    if (o.json) {
        json_object_set_new(j, "seconds", json_real(rp.seconds));
        json_object_set_new(j, "threads", json_integer(o.threads));
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            fprintf(out, "%s\n", s);
        free(s);
        json_object_del(j, "seconds");
        json_object_del(j, "threads");
    } else {
        report_text(out, &rp);
    }
    /* Timings vary from run to run: on stderr, so the report stays the
     * same for the same inputs (after it, when both go to one file). */
    fflush(out);
    fprintf(stderr, "suitd diff: %zu patients on %u thread%s in %.2f s (%.2f s loading both "
            "sides and building the population, %.2f s assessing)\n", pop.n, o.threads,
            o.threads == 1 ? "" : "s", t2 - t0, t1 - t0, t2 - t1);
    status = rp.n ? 1 : 0;
    if (o.expect)
        status = check_expect(o.expect, j, o.json ? stderr : stdout);
    json_decref(j);
    free(rp.g);
out:
    changes_free(run.changes, run.n_changes);
    diff_population_free(&pop);
    for (int s = 0; s < 2; s++)
        if (o.side[s].rs)
            ruleset_unref(o.side[s].rs);
    return status;
}
