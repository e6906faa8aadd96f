/*
 * engine_lint.c: the lint of a loaded ruleset.  It reads the source text
 * of each file, the very bytes the ruleset serves (never a second read of
 * its folder), as s-expressions to check what CLIPS itself accepts but the
 * contract forbids: functions outside the contract's allow-list (they
 * reach the process or the environment as a whole), literal slot values a
 * template or the contract does not allow, findings without
 * id/severity/category/summary/source or with a summary over 140
 * characters, cited sources that do not exist, patterns naming a policy,
 * term or medication class the data does not define, constructs defined
 * twice, inconsistent vocabularies; and warnings (a policy no rule reads, a
 * rule modifying a fact it matches).
 *
 * The functions and slot values need only the text (and its deftemplates),
 * and ruleset_check runs them as the pre-check, before CLIPS loads
 * anything: CLIPS evaluates defglobal and deffacts expressions while
 * loading, and refuses a bad literal slot value without saying where or
 * what was expected.
 *
 * Working on the source text (not CLIPS's pretty-printed form) gives exact
 * file:line positions.  Problems are structured (file, line, message).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine_internal.h"
#include "proto_term.h"

/* ---- s-expressions ---------------------------------------------------- */

struct sx {
    bool list, str;
    char *text;                /* atoms and strings */
    long line;
    struct sx **kids;
    size_t n, cap;
};

static void sx_free(struct sx *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        sx_free(x->kids[i]);
    free(x->kids);
    free(x->text);
    free(x);
}

static struct sx *sx_new(bool list, long line)
{
    struct sx *x = calloc(1, sizeof *x);
    if (x) {
        x->list = list;
        x->line = line;
    }
    return x;
}

static int sx_add(struct sx *parent, struct sx *kid)
{
    if (parent->n == parent->cap) {
        size_t nc = parent->cap ? parent->cap * 2 : 8;
        struct sx **nk = realloc(parent->kids, nc * sizeof *nk);
        if (!nk)
            return -1;
        parent->kids = nk;
        parent->cap = nc;
    }
    parent->kids[parent->n++] = kid;
    return 0;
}

/* Parses a whole file into a root list of top-level forms.  Unbalanced
 * text only matters if CLIPS accepted it, which it would not have. */
static struct sx *sx_parse(const char *s)
{
    struct sx *root = sx_new(true, 1);
    if (!root)
        return NULL;
    struct sx *stack[256];
    size_t depth = 0;
    stack[0] = root;
    long line = 1;
    while (*s) {
        char c = *s;
        if (c == '\n') {
            line++;
            s++;
        } else if (isspace((unsigned char)c)) {
            s++;
        } else if (c == ';') {
            while (*s && *s != '\n')
                s++;
        } else if (c == '(') {
            struct sx *l = sx_new(true, line);
            if (!l || sx_add(stack[depth], l) < 0) {
                sx_free(l);
                goto fail;
            }
            if (depth + 1 < sizeof stack / sizeof stack[0])
                stack[++depth] = l;
            s++;
        } else if (c == ')') {
            if (depth > 0)
                depth--;
            s++;
        } else if (c == '"') {
            long start_line = line;
            const char *p = ++s;
            struct eng_buf b = {0};
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (*p == '\n')
                    line++;
                if (eng_buf_append(&b, p, 1) < 0) {
                    eng_buf_free(&b);
                    goto fail;
                }
                p++;
            }
            struct sx *a = sx_new(false, start_line);
            if (!a || sx_add(stack[depth], a) < 0) {
                sx_free(a);
                eng_buf_free(&b);
                goto fail;
            }
            a->str = true;
            a->text = b.data ? b.data : eng_strdup("");
            if (!a->text)
                goto fail;
            s = *p ? p + 1 : p;
        } else {
            const char *p = s;
            while (*p && !isspace((unsigned char)*p) && *p != '(' && *p != ')' && *p != '"' &&
                   *p != ';')
                p++;
            struct sx *a = sx_new(false, line);
            if (!a || sx_add(stack[depth], a) < 0) {
                sx_free(a);
                goto fail;
            }
            a->text = eng_strndup(s, (size_t)(p - s));
            if (!a->text)
                goto fail;
            s = p;
        }
    }
    return root;
fail:
    sx_free(root);
    return NULL;
}

static const char *sx_head(const struct sx *x)
{
    return x && x->list && x->n && !x->kids[0]->list && !x->kids[0]->str ? x->kids[0]->text
                                                                          : NULL;
}

/* ---- problems ------------------------------------------------------------ */

void engine_lint_init(struct engine_lint *l)
{
    memset(l, 0, sizeof *l);
}

void engine_lint_close(struct engine_lint *l)
{
    for (size_t i = 0; i < l->n_problems; i++) {
        free(l->problems[i].file);
        free(l->problems[i].message);
    }
    free(l->problems);
    for (size_t i = 0; i < l->n_warnings; i++) {
        free(l->warnings[i].file);
        free(l->warnings[i].message);
    }
    free(l->warnings);
    for (size_t i = 0; i < l->n_notes; i++)
        free(l->notes[i]);
    free(l->notes);
    engine_lint_init(l);
}

int engine_problem_format(const struct engine_problem *p, char *buf, size_t n)
{
    if (p->line > 0)
        return snprintf(buf, n, "%s:%ld: %s", p->file, p->line, p->message);
    return snprintf(buf, n, "%s: %s", p->file, p->message);
}

/* Appends one problem or warning to a growable array. */
static int list_add(struct engine_problem **v, size_t *n, size_t *cap, const char *file,
                    long line, const char *msg)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct engine_problem *np = realloc(*v, nc * sizeof *np);
        if (!np)
            return -1;
        *v = np;
        *cap = nc;
    }
    struct engine_problem *p = &(*v)[*n];
    p->file = eng_strdup(file);
    p->message = eng_strdup(msg);
    p->line = line;
    if (!p->file || !p->message) {
        free(p->file);
        free(p->message);
        return -1;
    }
    (*n)++;
    return 0;
}

int eng_lint_add(struct engine_lint *l, const char *file, long line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return list_add(&l->problems, &l->n_problems, &l->cap, file, line, msg);
}

static int add_note(struct engine_lint *l, const char *text)
{
    char **nn = realloc(l->notes, (l->n_notes + 1) * sizeof *nn);
    if (!nn)
        return -1;
    l->notes = nn;
    if (!(l->notes[l->n_notes] = eng_strdup(text)))
        return -1;
    l->n_notes++;
    return 0;
}

/* A deftemplate as its text declares it: what the pre-check needs to tell
 * slot names from function calls and literal slot values from the allowed
 * ones.  Everything points into the parsed text. */
struct lt_slot {
    const char *name;
    const struct sx *allowed;  /* its (allowed-symbols ...) facet, or NULL */
};

struct lt_tmpl {
    const char *name, *file;
    long line;
    struct lt_slot *slots;
    size_t n;
};

struct lint {
    const struct ruleset *rs;   /* NULL in the pre-check: the text only */
    struct engine_lint *out;
    int problems;               /* added by this run */
    bool oom;
    struct lt_tmpl *tmpl;       /* every file's deftemplates */
    size_t n_tmpl;
    const char *ctx;            /* "rule NAME", "deffacts NAME": what messages name */
    bool *policy_used;          /* per rs->policy: some rule reads it */
    /* per named_slots row: the names a value may take (known_names),
     * computed on first use */
    const char **names[16];
    size_t n_names[16];
    bool have_names[16];
};

static void names_free(struct lint *l)
{
    for (size_t i = 0; i < sizeof l->names / sizeof l->names[0]; i++)
        free(l->names[i]);
}

static void problem(struct lint *l, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warning(struct lint *l, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void warning(struct lint *l, const char *file, long line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (list_add(&l->out->warnings, &l->out->n_warnings, &l->out->wcap, file, line, msg) < 0)
        l->oom = true;
}

static void problem(struct lint *l, const char *file, long line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (eng_lint_add(l->out, file, line, "%s", msg) < 0)
        l->oom = true;
    else
        l->problems++;
}

/* The functions of CLIPS 6.30 a ruleset may call, and those it may not.
 * Together they are every function `(get-function-list)` lists in a fresh
 * environment (tests/engine/test_lint.c checks both tables against it, so a
 * function the table forgets fails the build's tests, and refuses every
 * forbidden one in a rule through ruleset_check).  The allowed ones are what
 * the contract needs: arithmetic, comparisons, strings and multifields,
 * asserting, retracting and modifying the rule's own facts, fact queries,
 * control flow, and printout (to t only).  Everything else is refused: it
 * reaches the process (shell, files, exit, locale, clocks, libc's rand),
 * runs code built from strings or by name (eval, build, funcall, sort),
 * acts on the environment as a whole (reset, run, focus, watch, the
 * undef* and set-* functions), works on instances (COOL: outside the
 * contract) or prints the environment's state (facts, agenda, pp*).
 * Both lists are sorted (C locale) for bsearch. */
static const char *const fn_allowed[] = {
    "!=", "*", "**", "+", "-", "/", "<", "<=", "<>", "=", ">", ">=", "abs", "acos", "acosh",
    "acot", "acoth", "acsc", "acsch", "and", "any-factp", "asec", "asech", "asin", "asinh",
    "assert", "atan", "atanh", "bind", "break", "cos", "cosh", "cot", "coth", "create$", "csc",
    "csch", "deg-grad", "deg-rad", "delayed-do-for-all-facts", "delete$", "delete-member$",
    "div", "do-for-all-facts", "do-for-fact", "duplicate", "eq", "evenp", "exp", "expand$",
    "explode$", "fact-existp", "fact-index", "fact-relation", "fact-slot-names",
    "fact-slot-value", "find-all-facts", "find-fact", "first$", "float", "floatp", "foreach",
    "grad-deg", "if", "implode$", "insert$", "integer", "integerp", "length", "length$",
    "lexemep", "log", "log10", "loop-for-count", "lowcase", "max", "member", "member$", "min",
    "mod", "modify", "multifieldp", "mv-append", "mv-delete", "mv-replace", "mv-subseq", "neq",
    "not", "nth", "nth$", "numberp", "oddp", "or", "pi", "pointerp", "printout", "progn",
    "progn$", "rad-deg", "replace$", "replace-member$", "rest$", "retract", "return", "round",
    "sec", "sech", "sequencep", "sin", "sinh", "sqrt", "str-cat", "str-compare", "str-explode",
    "str-implode", "str-index", "str-length", "stringp", "sub-string", "subseq$", "subset",
    "subsetp", "switch", "sym-cat", "symbolp", "tan", "tanh", "type", "upcase", "while",
    "wordp",
};

static const char *const fn_forbidden[] = {
    "active-duplicate-instance", "active-initialize-instance", "active-make-instance",
    "active-message-duplicate-instance", "active-message-modify-instance",
    "active-modify-instance", "agenda", "any-instancep", "apropos", "assert-string", "batch",
    "batch*", "bload", "bload-instances", "browse-classes", "bsave", "bsave-instances", "build",
    "call", "call-next-handler", "call-next-method", "call-specific-method", "check-syntax",
    "class", "class-abstractp", "class-existp", "class-reactivep", "class-slots",
    "class-subclasses", "class-superclasses", "clear", "clear-focus-stack", "close",
    "conserve-mem", "constructs-to-c", "defclass-module", "deffacts-module",
    "deffunction-module", "defgeneric-module", "defglobal", "defglobal-module",
    "definstances-module", "defrule-module", "deftemplate-module",
    "deftemplate-slot-allowed-values", "deftemplate-slot-cardinality",
    "deftemplate-slot-default-value", "deftemplate-slot-defaultp", "deftemplate-slot-existp",
    "deftemplate-slot-facet-existp", "deftemplate-slot-facet-value", "deftemplate-slot-multip",
    "deftemplate-slot-names", "deftemplate-slot-range", "deftemplate-slot-singlep",
    "deftemplate-slot-types", "delayed-do-for-all-instances", "delete-instance", "dependencies",
    "dependents", "describe-class", "direct-mv-delete", "direct-mv-insert", "direct-mv-replace",
    "do-for-all-instances", "do-for-instance", "dribble-off", "dribble-on",
    "duplicate-instance", "dynamic-get", "dynamic-put", "eval", "exit", "facts", "fetch",
    "find-all-instances", "find-instance", "focus", "format", "funcall", "gensym", "gensym*",
    "get", "get-auto-float-dividend", "get-beta-memory-resizing", "get-char",
    "get-class-defaults-mode", "get-current-module", "get-defclass-list", "get-deffacts-list",
    "get-deffunction-list", "get-defgeneric-list", "get-defglobal-list",
    "get-definstances-list", "get-defmessage-handler-list", "get-defmethod-list",
    "get-defmodule-list", "get-defrule-list", "get-deftemplate-list",
    "get-dynamic-constraint-checking", "get-fact-duplication", "get-fact-list", "get-focus",
    "get-focus-stack", "get-function-list", "get-function-restrictions",
    "get-incremental-reset", "get-method-restrictions", "get-profile-percent-threshold",
    "get-region", "get-reset-globals", "get-salience-evaluation",
    "get-sequence-operator-recognition", "get-static-constraint-checking", "get-strategy",
    "get-watch-item", "halt", "init-slots", "initialize-instance", "instance-address",
    "instance-addressp", "instance-existp", "instance-name", "instance-name-to-symbol",
    "instance-namep", "instancep", "instances", "join-activity", "join-activity-reset",
    "list-defclasses", "list-deffacts", "list-deffunctions", "list-defgenerics",
    "list-defglobals", "list-definstances", "list-defmessage-handlers", "list-defmethods",
    "list-defmodules", "list-defrules", "list-deftemplates", "list-focus-stack",
    "list-watch-items", "load", "load*", "load-facts", "load-instances", "make-instance",
    "matches", "mem-requests", "mem-used", "message-duplicate-instance",
    "message-handler-existp", "message-modify-instance", "modify-instance", "mv-slot-delete",
    "mv-slot-insert", "mv-slot-replace", "new", "next-handlerp", "next-methodp",
    "object-pattern-match-delay", "open", "operating-system", "options",
    "override-next-handler", "override-next-method", "pop-focus", "ppdefclass", "ppdeffacts",
    "ppdeffunction", "ppdefgeneric", "ppdefglobal", "ppdefinstances", "ppdefmessage-handler",
    "ppdefmethod", "ppdefmodule", "ppdefrule", "ppdeftemplate", "ppfact", "ppinstance",
    "preview-generic", "preview-send", "print-region", "profile", "profile-info",
    "profile-reset", "put", "put-char", "random", "read", "read-number", "readline", "refresh",
    "refresh-agenda", "release-mem", "remove", "remove-break", "rename", "reset",
    "restore-instances", "rules", "run", "save", "save-facts", "save-instances", "seed", "send",
    "set-auto-float-dividend", "set-beta-memory-resizing", "set-break",
    "set-class-defaults-mode", "set-current-module", "set-dynamic-constraint-checking",
    "set-fact-duplication", "set-incremental-reset", "set-locale",
    "set-profile-percent-threshold", "set-reset-globals", "set-salience-evaluation",
    "set-sequence-operator-recognition", "set-static-constraint-checking", "set-strategy",
    "setgen", "show-breaks", "show-defglobals", "slot-allowed-classes", "slot-allowed-values",
    "slot-cardinality", "slot-default-value", "slot-delete$", "slot-direct-accessp",
    "slot-direct-delete$", "slot-direct-insert$", "slot-direct-replace$", "slot-existp",
    "slot-facets", "slot-initablep", "slot-insert$", "slot-publicp", "slot-range",
    "slot-replace$", "slot-sources", "slot-types", "slot-writablep", "sort", "str-assert",
    "string-to-field", "subclassp", "superclassp", "symbol-to-instance-name", "system", "time",
    "timer", "timetag", "toss", "undefclass", "undeffacts", "undeffunction", "undefgeneric",
    "undefglobal", "undefinstances", "undefmessage-handler", "undefmethod", "undefrule",
    "undeftemplate", "unmake-instance", "unwatch", "watch",
};

static int fn_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

enum engine_fn_class engine_lint_function(const char *name)
{
    if (bsearch(name, fn_forbidden, sizeof fn_forbidden / sizeof fn_forbidden[0],
                sizeof fn_forbidden[0], fn_cmp))
        return ENGINE_FN_FORBIDDEN;
    if (bsearch(name, fn_allowed, sizeof fn_allowed / sizeof fn_allowed[0],
                sizeof fn_allowed[0], fn_cmp))
        return ENGINE_FN_ALLOWED;
    return ENGINE_FN_UNKNOWN;
}

const char *engine_lint_forbidden(size_t i)
{
    return i < sizeof fn_forbidden / sizeof fn_forbidden[0] ? fn_forbidden[i] : NULL;
}

static bool is_forbidden(const char *name)
{
    return engine_lint_function(name) == ENGINE_FN_FORBIDDEN;
}

static bool in_list(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

static const char *const severities[] = {"info", "caution", "incomplete", "defer", "refer",
                                         "contraindicated", NULL};
static const char *const categories[] = {"candidacy", "medication", "procedure",
                                         "side-effect", "home-use", "input", NULL};

static const char *const effect_kinds[] = {"expected", "serious", NULL};
static const char *const likelihoods[] = {"common", "uncommon", "rare", NULL};

/* The slots whose values the contract fixes (rules/CONTRACT.md): the
 * engine reads them, so a template may not allow more, and a literal value
 * outside them is refused even where the template allows anything. */
static const struct {
    const char *tmpl, *slot;
    const char *const *values;
} contract_values[] = {
    {"finding", "severity", severities},
    {"finding", "category", categories},
    {"side-effect", "kind", effect_kinds},
    {"side-effect", "likelihood", likelihoods},
};

static const char *const *contract_set(const char *tmpl, const char *slot)
{
    for (size_t i = 0; i < sizeof contract_values / sizeof contract_values[0]; i++)
        if (!strcmp(contract_values[i].tmpl, tmpl) && !strcmp(contract_values[i].slot, slot))
            return contract_values[i].values;
    return NULL;
}

/* ---- templates (pre-check) --------------------------------------------- */

static const struct lt_tmpl *tmpl_find(const struct lint *l, const char *name)
{
    for (size_t i = 0; i < l->n_tmpl; i++)
        if (!strcmp(l->tmpl[i].name, name))
            return &l->tmpl[i];
    return NULL;
}

static const struct lt_slot *tmpl_slot(const struct lt_tmpl *t, const char *name)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (!strcmp(t->slots[i].name, name))
            return &t->slots[i];
    return NULL;
}

static bool any_tmpl_slot(const struct lint *l, const char *name)
{
    for (size_t i = 0; i < l->n_tmpl; i++)
        if (tmpl_slot(&l->tmpl[i], name))
            return true;
    return false;
}

static void tmpls_free(struct lint *l)
{
    for (size_t i = 0; i < l->n_tmpl; i++)
        free(l->tmpl[i].slots);
    free(l->tmpl);
    l->tmpl = NULL;
    l->n_tmpl = 0;
}

/* (deftemplate NAME ["comment"] (slot|multislot S facet...) ...) */
static void tmpl_collect(struct lint *l, const char *file, const struct sx *root)
{
    for (size_t i = 0; i < root->n && !l->oom; i++) {
        const struct sx *c = root->kids[i];
        const char *h = sx_head(c);
        if (!h || strcmp(h, "deftemplate") || c->n < 2 || c->kids[1]->list || c->kids[1]->str)
            continue;
        struct lt_tmpl *nt = realloc(l->tmpl, (l->n_tmpl + 1) * sizeof *nt);
        if (!nt) {
            l->oom = true;
            return;
        }
        l->tmpl = nt;
        struct lt_tmpl *t = &l->tmpl[l->n_tmpl++];
        *t = (struct lt_tmpl){.name = c->kids[1]->text, .file = file, .line = c->line};
        for (size_t k = 2; k < c->n; k++) {
            const struct sx *sl = c->kids[k];
            const char *sh = sx_head(sl);
            if (!sh || (strcmp(sh, "slot") && strcmp(sh, "multislot")) || sl->n < 2 ||
                sl->kids[1]->list || sl->kids[1]->str)
                continue;
            struct lt_slot *ns = realloc(t->slots, (t->n + 1) * sizeof *ns);
            if (!ns) {
                l->oom = true;
                return;
            }
            t->slots = ns;
            struct lt_slot *s = &t->slots[t->n++];
            *s = (struct lt_slot){.name = sl->kids[1]->text};
            for (size_t f = 2; f < sl->n; f++) {
                const char *fh = sx_head(sl->kids[f]);
                if (fh && !strcmp(fh, "allowed-symbols"))
                    s->allowed = sl->kids[f];
            }
            /* a template may not widen what the contract fixes */
            const char *const *set = contract_set(t->name, s->name);
            for (size_t v = 1; set && s->allowed && v < s->allowed->n; v++) {
                const struct sx *a = s->allowed->kids[v];
                if (!a->list && !a->str && strcmp(a->text, "?VARIABLE") &&
                    !in_list(a->text, set)) {
                    char want[256] = "";
                    for (const char *const *w = set; *w; w++)
                        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s",
                                 w == set ? "" : ", ", *w);
                    problem(l, file, a->line, "deftemplate %s: slot %s allows '%s', which the "
                            "contract does not define (expected only %s)", t->name, s->name,
                            a->text, want);
                }
            }
        }
    }
}

/* ---- function calls and literal slot values (pre-check) ---------------- */

/* "one of a, b, c; did you mean b?" for a value outside `allowed`, the
 * atoms of an (allowed-symbols ...) facet from index `from`, or a list. */
static void expected_text(char *buf, size_t n, const char *value, const char *const *set,
                          const struct sx *facet)
{
    const char *cands[64];
    size_t nc = 0;
    size_t o = (size_t)snprintf(buf, n, "expected one of ");
    if (set) {
        for (; *set && nc < 64; set++)
            cands[nc++] = *set;
    } else {
        for (size_t i = 1; i < facet->n && nc < 64; i++)
            if (!facet->kids[i]->list && !facet->kids[i]->str)
                cands[nc++] = facet->kids[i]->text;
    }
    for (size_t i = 0; i < nc && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? ", " : "", cands[i]);
    const char *near = proto_term_closest(value, cands, nc);
    if (near && o < n)
        snprintf(buf + o, n - o, "; did you mean %s?", near);
}

/* The literal symbols of one slot value: "a", "~a", "a|b", "?x&~a|b";
 * variables, predicates (:) and return values (=) are not literals. */
static void check_value_atom(struct lint *l, const char *file, const struct sx *v,
                             const char *tmpl, const char *slot, const char *const *set,
                             const struct sx *facet)
{
    const char *p = v->text;
    while (*p) {
        size_t n = strcspn(p, "&|~");
        if (n && p[0] != '?' && p[0] != '$' && p[0] != ':' && p[0] != '=' &&
            !(isdigit((unsigned char)p[0]) || ((p[0] == '-' || p[0] == '+' || p[0] == '.') &&
                                               isdigit((unsigned char)p[1])))) {
            char word[160];
            snprintf(word, sizeof word, "%.*s", (int)(n < 150 ? n : 150), p);
            bool ok = false;
            if (set) {
                ok = in_list(word, set);
            } else {
                for (size_t i = 1; i < facet->n && !ok; i++)
                    ok = !facet->kids[i]->list && !strcmp(facet->kids[i]->text, word);
            }
            /* nil is every symbol slot's "not given" */
            if (!ok && strcmp(word, "nil")) {
                char want[1024];
                expected_text(want, sizeof want, word, set, facet);
                problem(l, file, v->line, "%s: %s %s '%s' is not an allowed value (%s)",
                        l->ctx ? l->ctx : tmpl, tmpl, slot, word, want);
            }
        }
        p += n;
        if (*p)
            p++;
    }
}

static void check_calls(struct lint *l, const char *file, const struct sx *x);

/* One (slot value...) of a pattern or fact of template t (NULL: the
 * target of a modify or duplicate, whose template the text does not say). */
static void check_slot(struct lint *l, const char *file, const struct lt_tmpl *t,
                       const struct sx *sl)
{
    const char *name = sx_head(sl);
    const struct lt_slot *s = tmpl_slot(t, name);
    const char *const *set = t ? contract_set(t->name, name) : NULL;
    const struct sx *facet = s ? s->allowed : NULL;
    /* (allowed-symbols ?VARIABLE): any symbol */
    for (size_t j = 1; facet && j < facet->n; j++)
        if (!facet->kids[j]->list && !strcmp(facet->kids[j]->text, "?VARIABLE"))
            facet = NULL;
    for (size_t j = 1; j < sl->n; j++) {
        const struct sx *v = sl->kids[j];
        if (v->list)
            check_calls(l, file, v);
        else if (!v->str && t && (set || facet))
            check_value_atom(l, file, v, t->name, name, set, facet);
    }
}

/* Every call in x.  A list whose head is a template is a pattern or a fact:
 * its kids' heads are slot names (a slot may be called `class`), and their
 * literal values are checked against what the template or the contract
 * allows; the values may still hold calls, checked as such. */
static void check_calls(struct lint *l, const char *file, const struct sx *x)
{
    if (!x->list)
        return;
    const char *h = sx_head(x);
    const struct lt_tmpl *t = NULL;
    size_t slots_from = (size_t)-1;
    if (h) {
        if (is_forbidden(h))
            problem(l, file, x->line, "forbidden function or construct '%s'", h);
        else if (!strcmp(h, "printout") && x->n >= 2 &&
                 (x->kids[1]->list || x->kids[1]->str || strcmp(x->kids[1]->text, "t")))
            problem(l, file, x->line, "printout may only write to t (got '%s')",
                    x->kids[1]->list ? "(...)" : x->kids[1]->text);
        if ((t = tmpl_find(l, h)))
            slots_from = 1;
        else if (!strcmp(h, "modify") || !strcmp(h, "duplicate"))
            slots_from = 2;
    }
    for (size_t i = h ? 1 : 0; i < x->n; i++) {
        const struct sx *k = x->kids[i];
        const char *kh = sx_head(k);
        if (i >= slots_from && kh && (t ? tmpl_slot(t, kh) != NULL : any_tmpl_slot(l, kh)))
            check_slot(l, file, t, k);
        else
            check_calls(l, file, k);
    }
}

/* A deffunction or defgeneric named like a template would turn a fact's
 * slots into calls, out of the pre-check's sight: refused. */
static void check_names(struct lint *l, const char *file, const struct sx *root)
{
    for (size_t i = 0; i < root->n; i++) {
        const struct sx *c = root->kids[i];
        const char *h = sx_head(c);
        if (!h || (strcmp(h, "deffunction") && strcmp(h, "defgeneric")) || c->n < 2 ||
            c->kids[1]->list || c->kids[1]->str)
            continue;
        const struct lt_tmpl *t = tmpl_find(l, c->kids[1]->text);
        if (t)
            problem(l, file, c->line, "%s %s has the name of the deftemplate at %s:%ld "
                    "(expected a name of its own)", h, t->name, t->file, t->line);
    }
}

static void set_ctx(struct lint *l, char *buf, size_t n, const struct sx *c)
{
    const char *h = sx_head(c);
    l->ctx = NULL;
    if (!h || c->n < 2 || c->kids[1]->list || c->kids[1]->str)
        return;
    snprintf(buf, n, "%s %s", !strcmp(h, "defrule") ? "rule" : h, c->kids[1]->text);
    l->ctx = buf;
}

/* The index of source `key` (n bytes), or -1. */
static long source_index(const struct lint *l, const char *key, size_t n)
{
    for (size_t i = 0; l->rs && i < l->rs->n_sources; i++)
        if (strlen(l->rs->sources[i].key) == n && !strncmp(l->rs->sources[i].key, key, n))
            return (long)i;
    return -1;
}

static bool source_known(const struct lint *l, const char *key, size_t n)
{
    return source_index(l, key, n) >= 0;
}

/* True when a string literal anywhere in x contains `needle` (ASCII case
 * folded): the detail may be built with str-cat. */
static bool sx_says(const struct sx *x, const char *needle)
{
    if (x->str) {
        size_t nl = strlen(needle);
        for (const char *p = x->text; *p; p++)
            if (!strncasecmp(p, needle, nl))
                return true;
        return false;
    }
    for (size_t i = 0; x->list && i < x->n; i++)
        if (sx_says(x->kids[i], needle))
            return true;
    return false;
}

/* The domain reference: clinic and vendor pages (sources with `weak yes`)
 * are weak evidence, and a finding citing them says so in its detail:
 * "weak evidence" when they are all it cites, "partly weak evidence" (or
 * any text with "weak evidence") beside other sources.  `src` is the
 * finding's literal source string. */
static void check_weak_evidence(struct lint *l, const char *file, const char *rule,
                                const struct sx *f, const struct sx *src)
{
    size_t n_keys = 0, n_weak = 0;
    for (const char *p = src->text; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (!n)
            break;
        long i = source_index(l, p, n);
        if (i < 0)
            return;            /* an unknown key is reported on its own */
        n_keys++;
        n_weak += l->rs->sources[i].weak;
        p += n;
    }
    if (!n_weak)
        return;
    const struct sx *detail = NULL;
    for (size_t i = 1; i < f->n; i++) {
        const char *h = sx_head(f->kids[i]);
        if (h && !strcmp(h, "detail"))
            detail = f->kids[i];
    }
    if (detail && sx_says(detail, "weak evidence"))
        return;
    if (n_weak == n_keys)
        problem(l, file, detail ? detail->line : f->line,
                "rule %s: finding cites only weak sources (\"%s\"): its detail must say "
                "\"weak evidence\"", rule, src->text);
    else
        problem(l, file, detail ? detail->line : f->line,
                "rule %s: finding cites weak sources among others (\"%s\"): its detail must "
                "say so (e.g. \"partly weak evidence\")", rule, src->text);
}

/* Characters (UTF-8 code points) of a summary: a string, or the literal
 * parts of a (str-cat ...) (a lower bound: *exact false). */
static size_t summary_chars(const struct sx *v, bool *exact)
{
    if (v->str) {
        size_t n = 0;
        for (const char *p = v->text; *p; p++)
            n += ((unsigned char)*p & 0xC0) != 0x80;
        return n;
    }
    if (!v->list) {
        if (v->text[0] == '?' || v->text[0] == '$') {
            *exact = false;
            return 0;
        }
        return strlen(v->text);
    }
    const char *h = sx_head(v);
    if (!h || strcmp(h, "str-cat")) {
        *exact = false;
        return 0;
    }
    size_t n = 0;
    for (size_t i = 1; i < v->n; i++)
        n += summary_chars(v->kids[i], exact);
    return n;
}

/* One (finding ...) in a rule's right-hand side. */
static void check_finding(struct lint *l, const char *file, const char *rule,
                          const struct sx *f)
{
    static const char *const required[] = {"id", "severity", "category", "summary", "source",
                                           NULL};
    const struct sx *slot[5] = {0};
    for (size_t i = 1; i < f->n; i++) {
        const char *h = sx_head(f->kids[i]);
        for (size_t k = 0; h && required[k]; k++)
            if (!strcmp(h, required[k]))
                slot[k] = f->kids[i];
    }
    for (size_t k = 0; required[k]; k++) {
        if (!slot[k]) {
            problem(l, file, f->line, "rule %s: finding has no %s", rule, required[k]);
            continue;
        }
        if (slot[k]->n < 2) {
            problem(l, file, slot[k]->line, "rule %s: finding %s is empty", rule, required[k]);
            continue;
        }
    }
    /* literal severities and categories: the pre-check (check_value_atom) */
    const struct sx *sum = slot[3] && slot[3]->n >= 2 ? slot[3]->kids[1] : NULL;
    if (sum) {
        bool exact = true;
        size_t chars = summary_chars(sum, &exact);
        if (chars > ENGINE_MAX_SUMMARY_CHARS)
            problem(l, file, sum->line, "rule %s: finding summary is %s%zu characters (expected "
                    "at most %d, the CDS Hooks card's limit: move the rest to the detail)", rule,
                    exact ? "" : "at least ", chars, ENGINE_MAX_SUMMARY_CHARS);
    }
    const struct sx *src = slot[4] && slot[4]->n >= 2 ? slot[4]->kids[1] : NULL;
    if (src && src->str) {
        const char *p = src->text;
        bool any = false;
        while (*p) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t n = strcspn(p, ", ");
            if (!n)
                break;
            any = true;
            if (!source_known(l, p, n))
                problem(l, file, src->line, "rule %s: source '%.*s' is not a source fact",
                        rule, (int)n, p);
            p += n;
        }
        if (!any)
            problem(l, file, src->line, "rule %s: finding source is empty", rule);
        else
            check_weak_evidence(l, file, rule, f, src);
    }
    const struct sx *id = slot[0] && slot[0]->n >= 2 ? slot[0]->kids[1] : NULL;
    if (id && id->str)
        problem(l, file, id->line, "rule %s: finding id must be a symbol, not a string", rule);
}

static void find_findings(struct lint *l, const char *file, const char *rule,
                          const struct sx *x, int *count)
{
    if (!x->list)
        return;
    const char *h = sx_head(x);
    if (h && !strcmp(h, "finding")) {
        (*count)++;
        check_finding(l, file, rule, x);
        return;
    }
    for (size_t i = 0; i < x->n; i++)
        find_findings(l, file, rule, x->kids[i], count);
}

/* Constructs seen so far, to catch one file silently redefining another's. */
struct seen {
    char *kind, *name, *file;
    long line;
};

struct seen_list {
    struct seen *v;
    size_t n, cap;
};

static void seen_check(struct lint *l, struct seen_list *s, const char *kind, const char *name,
                       const char *file, long line)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].kind, kind) && !strcmp(s->v[i].name, name)) {
            problem(l, file, line, "%s %s is already defined at %s:%ld (CLIPS would silently "
                    "replace it)", kind, name, s->v[i].file, s->v[i].line);
            return;
        }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        struct seen *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n].kind = eng_strdup(kind);
    s->v[s->n].name = eng_strdup(name);
    s->v[s->n].file = eng_strdup(file);
    s->v[s->n].line = line;
    s->n++;
}

static void seen_free(struct seen_list *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].kind);
        free(s->v[i].name);
        free(s->v[i].file);
    }
    free(s->v);
}

/* ---- names the loaded data defines ------------------------------------- */

/* Pattern slots whose literal values must be names the ruleset's data
 * defines: the vocabulary's public terms of a kind (input facts always
 * carry the canonical name, so a synonym there never matches), medication
 * classes, policy names.  A typo in any of them makes a rule that silently
 * never fires. */
enum name_kind { NK_TERM, NK_CLASS, NK_POLICY };
static const struct {
    const char *tmpl, *slot, *kind;
    enum name_kind nk;
} named_slots[] = {
    {"condition", "name", "condition", NK_TERM},
    {"medication", "name", "medication", NK_TERM},
    {"procedure", "name", "procedure", NK_TERM},
    {"allergy", "name", "allergy", NK_TERM},
    {"patient", "area", "area", NK_TERM},
    {"patient", "indication", "indication", NK_TERM},
    {"patient", "setting", "setting", NK_TERM},
    {"medication", "class", NULL, NK_CLASS},
    {"policy", "name", NULL, NK_POLICY},
};

/* The names a value may take; *n of them in a new array (borrowed
 * strings).  NULL with *n 0 when the ruleset defines none (no check). */
static const char **known_names(const struct lint *l, enum name_kind nk, const char *kind,
                                size_t *n)
{
    const struct ruleset *rs = l->rs;
    *n = 0;
    const char **v = calloc(rs->n_terms + rs->n_policy + 1, sizeof *v);
    if (!v)
        return NULL;
    if (nk == NK_POLICY) {
        for (size_t i = 0; i < rs->n_policy; i++)
            v[(*n)++] = rs->policy[i].name;
        return v;
    }
    for (size_t i = 0; i < rs->n_terms; i++) {
        const struct rs_term *t = &rs->terms[i];
        if (nk == NK_TERM && !strcmp(t->kind, kind) && !strcmp(t->name, t->canonical)) {
            v[(*n)++] = t->name;
        } else if (nk == NK_CLASS && !strcmp(t->kind, "medication") && strcmp(t->cls, "none")) {
            bool dup = false;
            for (size_t k = 0; k < *n && !dup; k++)
                dup = !strcmp(v[k], t->cls);
            if (!dup)
                v[(*n)++] = t->cls;
        }
    }
    return v;
}

static void check_name(struct lint *l, const char *file, const char *rule, const struct sx *v,
                       size_t which)
{
    const char *kind = named_slots[which].kind;
    enum name_kind nk = named_slots[which].nk;
    const char *p = v->text;
    while (*p) {
        size_t len = strcspn(p, "&|~");
        if (len && p[0] != '?' && p[0] != '$' && p[0] != ':' && p[0] != '=') {
            char word[160];
            snprintf(word, sizeof word, "%.*s", (int)(len < 150 ? len : 150), p);
            if (!l->have_names[which]) {
                l->names[which] = known_names(l, nk, kind, &l->n_names[which]);
                if (!l->names[which]) {
                    l->oom = true;
                    return;
                }
                l->have_names[which] = true;
            }
            size_t n = l->n_names[which];
            const char **names = l->names[which];
            bool ok = !n;            /* nothing defined of that kind: nothing to check */
            for (size_t i = 0; i < n && !ok; i++)
                ok = !strcmp(names[i], word);
            /* the defaults: no class, area or indication not given */
            if ((nk == NK_CLASS && !strcmp(word, "none")) ||
                (nk == NK_TERM && !strcmp(word, "unknown") &&
                 (!strcmp(kind, "area") || !strcmp(kind, "indication"))))
                ok = true;
            if (nk == NK_POLICY && l->policy_used)
                for (size_t i = 0; i < l->rs->n_policy; i++)
                    if (!strcmp(l->rs->policy[i].name, word))
                        l->policy_used[i] = true;
            const struct rs_term *syn = nk == NK_TERM && !ok
                                            ? ruleset_find_term(l->rs, kind, word) : NULL;
            const char *near = ok ? NULL : proto_term_closest(word, names, n);
            char hint[300] = "";
            if (near)
                snprintf(hint, sizeof hint, "; did you mean %s?", near);
            if (ok)
                ;
            else if (syn)
                problem(l, file, v->line, "rule %s: %s '%s' is a synonym of %s: facts carry the "
                        "canonical name (expected %s)", rule, kind, word, syn->canonical,
                        syn->canonical);
            else if (nk == NK_POLICY)
                problem(l, file, v->line, "rule %s: no policy is called '%s' (expected a policy "
                        "name the ruleset defines%s)", rule, word, hint);
            else if (nk == NK_CLASS)
                problem(l, file, v->line, "rule %s: no medication has the class '%s' (expected "
                        "a class of the vocabulary%s)", rule, word, hint);
            else
                problem(l, file, v->line, "rule %s: %s '%s' is not in the vocabulary "
                        "(expected a public %s term%s)", rule, kind, word, kind, hint);
        }
        p += len;
        if (*p)
            p++;
    }
}

/* A left-hand side's conditional elements: patterns, and the not, and, or,
 * exists, forall and logical around them.  `bound` collects the fact
 * variables of ?f <- patterns (the loop warning). */
static void check_lhs(struct lint *l, const char *file, const char *rule, const struct sx *ce,
                      const char **bound, size_t *n_bound)
{
    const char *h = sx_head(ce);
    if (!h)
        return;
    if (!strcmp(h, "not") || !strcmp(h, "and") || !strcmp(h, "or") || !strcmp(h, "exists") ||
        !strcmp(h, "forall") || !strcmp(h, "logical")) {
        for (size_t i = 1; i < ce->n; i++)
            check_lhs(l, file, rule, ce->kids[i], bound, n_bound);
        return;
    }
    for (size_t i = 1; i < ce->n; i++) {
        const char *sh = sx_head(ce->kids[i]);
        for (size_t w = 0; sh && w < sizeof named_slots / sizeof named_slots[0]; w++) {
            if (strcmp(named_slots[w].tmpl, h) || strcmp(named_slots[w].slot, sh))
                continue;
            for (size_t j = 1; j < ce->kids[i]->n; j++)
                if (!ce->kids[i]->kids[j]->list && !ce->kids[i]->kids[j]->str)
                    check_name(l, file, rule, ce->kids[i]->kids[j], w);
        }
    }
}

/* True when x holds (modify VAR ...) or (duplicate VAR ...)... of a bound
 * fact variable; *which names it. */
static bool modifies_bound(const struct sx *x, const char *const *bound, size_t n_bound,
                           const char **which)
{
    const char *h = sx_head(x);
    if (h && !strcmp(h, "modify") && x->n >= 2 && !x->kids[1]->list)
        for (size_t i = 0; i < n_bound; i++)
            if (!strcmp(bound[i], x->kids[1]->text)) {
                *which = bound[i];
                return true;
            }
    for (size_t i = 0; x->list && i < x->n; i++)
        if (modifies_bound(x->kids[i], bound, n_bound, which))
            return true;
    return false;
}

/* A rule's left-hand side names and its loop risk. */
static void check_rule(struct lint *l, const char *file, const struct sx *c, size_t arrow)
{
    const char *rule = c->kids[1]->text;
    const char *bound[64];
    size_t n_bound = 0;
    for (size_t k = 2; k < arrow; k++) {
        const struct sx *ce = c->kids[k];
        if (!ce->list && !ce->str && !strcmp(ce->text, "<-") && k >= 3 &&
            !c->kids[k - 1]->list && n_bound < 64)
            bound[n_bound++] = c->kids[k - 1]->text;
        if (ce->list)
            check_lhs(l, file, rule, ce, bound, &n_bound);
    }
    const char *which = NULL;
    for (size_t k = arrow + 1; k < c->n && !which; k++)
        if (modifies_bound(c->kids[k], bound, n_bound, &which))
            warning(l, file, c->kids[k]->line, "rule %s modifies %s, a fact its own left-hand "
                    "side matches: the modified fact matches again and the rule can fire until "
                    "the firing cap (expected a pattern that excludes the new value, or a "
                    "separate fact to mark the work done)", rule, which);
        else
            which = NULL;
}

/* Constructs and findings, with the sources the ruleset loaded. */
static void check_constructs(struct lint *l, const struct rs_file *f, struct seen_list *seen)
{
    struct sx *root = sx_parse(f->text);
    if (!root) {
        l->oom = true;
        return;
    }
    for (size_t i = 0; i < root->n; i++) {
        const struct sx *c = root->kids[i];
        const char *h = sx_head(c);
        if (!h || c->n < 2 || c->kids[1]->list || c->kids[1]->str)
            continue;
        const char *name = c->kids[1]->text;
        if (!strncmp(h, "def", 3))
            seen_check(l, seen, h, name, f->name, c->line);
        if (strcmp(h, "defrule") != 0)
            continue;
        size_t arrow = 0;
        for (size_t k = 2; k < c->n; k++)
            if (!c->kids[k]->list && !c->kids[k]->str && !strcmp(c->kids[k]->text, "=>")) {
                arrow = k;
                break;
            }
        if (!arrow)
            continue;
        check_rule(l, f->name, c, arrow);
        int count = 0;
        for (size_t k = arrow + 1; k < c->n; k++)
            find_findings(l, f->name, name, c->kids[k], &count);
    }
    sx_free(root);
}

/* The line of the (policy (name NAME) ...) fact in text, or 0. */
static long policy_line(const char *text, const char *name)
{
    char needle[300];
    snprintf(needle, sizeof needle, "(policy (name %s)", name);
    const char *p = strstr(text, needle);
    long ln = 1;
    if (!p)
        return 0;
    for (const char *q = text; q < p; q++)
        ln += *q == '\n';
    return ln;
}

/* Where a data fact naming `name` sits, for vocabulary messages. */
static void term_location(const struct ruleset *rs, const char *name, const char **file,
                          long *line)
{
    char needle[300];
    snprintf(needle, sizeof needle, "(name %s)", name);
    *file = "vocabulary";
    *line = 0;
    for (size_t i = 0; i < rs->n_files; i++) {
        const char *p = strstr(rs->files[i].text, needle);
        if (!p)
            continue;
        long ln = 1;
        for (const char *q = rs->files[i].text; q < p; q++)
            ln += *q == '\n';
        *file = rs->files[i].name;
        *line = ln;
        return;
    }
}

static void check_vocabulary(struct lint *l)
{
    const struct ruleset *rs = l->rs;
    for (size_t i = 0; i < rs->n_terms; i++) {
        const struct rs_term *t = &rs->terms[i];
        const char *file;
        long line;
        if (i > 0 && !strcmp(t->kind, rs->terms[i - 1].kind) &&
            !strcasecmp(t->name, rs->terms[i - 1].name)) {
            term_location(rs, t->name, &file, &line);
            problem(l, file, line, "vocabulary: %s '%s' is defined more than once", t->kind,
                    t->name);
        }
        if (!strcmp(t->name, t->canonical))
            continue;
        const struct rs_term *c = ruleset_find_term(rs, t->kind, t->canonical);
        if (!c || strcmp(c->name, c->canonical) != 0) {
            term_location(rs, t->name, &file, &line);
            problem(l, file, line, "vocabulary: synonym %s '%s' points to '%s', which is not a "
                    "public %s term", t->kind, t->name, t->canonical, t->kind);
        }
    }
}

/* The text phase over files[0..n), the calls checked in files[from..n)
 * only (the others lend their deftemplates). */
static int lint_text(const struct rs_file *files, size_t n, size_t from,
                     struct engine_lint *out)
{
    struct lint l = {.out = out};
    struct sx **roots = calloc(n ? n : 1, sizeof *roots);
    if (!roots)
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < n && !l.oom; i++)
        if (!(roots[i] = sx_parse(files[i].text)))
            l.oom = true;
    /* the templates first: any file may use another's */
    for (size_t i = 0; i < n && !l.oom; i++)
        tmpl_collect(&l, files[i].name, roots[i]);
    for (size_t i = from; i < n && !l.oom; i++) {
        check_names(&l, files[i].name, roots[i]);
        for (size_t k = 0; k < roots[i]->n; k++) {
            char ctx[300];
            set_ctx(&l, ctx, sizeof ctx, roots[i]->kids[k]);
            check_calls(&l, files[i].name, roots[i]->kids[k]);
        }
        l.ctx = NULL;
    }
    for (size_t i = 0; i < n; i++)
        sx_free(roots[i]);
    free(roots);
    tmpls_free(&l);
    return l.oom ? PROTO_E_INTERNAL : l.problems;
}

int eng_lint_text(const struct rs_file *files, size_t n, struct engine_lint *out)
{
    return lint_text(files, n, 0, out);
}

int eng_lint_loaded(const struct ruleset *rs, struct engine_lint *out)
{
    struct lint l = {.rs = rs, .out = out};
    struct seen_list seen = {0};
    if (rs->n_policy && !(l.policy_used = calloc(rs->n_policy, sizeof *l.policy_used)))
        return PROTO_E_INTERNAL;
    for (size_t i = 0; i < rs->n_files && !l.oom; i++)
        check_constructs(&l, &rs->files[i], &seen);
    seen_free(&seen);
    for (size_t i = 0; i < rs->n_policy && !l.oom; i++) {
        if (l.policy_used[i])
            continue;
        const char *file = "policy";
        long line = 0;
        for (size_t k = 0; k < rs->n_files && !line; k++)
            if ((line = policy_line(rs->files[k].text, rs->policy[i].name)))
                file = rs->files[k].name;
        warning(&l, file, line, "policy %s is defined but no rule reads it (expected a "
                "(policy (name %s) ...) pattern, or remove it)", rs->policy[i].name,
                rs->policy[i].name);
    }
    free(l.policy_used);
    names_free(&l);
    if (!l.oom)
        check_vocabulary(&l);
    if (!l.oom && rs->data_activated) {
        /* not a problem, but each request then pays a full reset */
        char note[512];
        snprintf(note, sizeof note, "rule %s is activated by data facts alone; the engine will "
                 "reset before every request (slower)", rs->data_activated);
        if (add_note(out, note) < 0)
            l.oom = true;
    }
    return l.oom ? PROTO_E_INTERNAL : l.problems;
}

int engine_lint(const struct ruleset *rs, struct engine_lint *out)
{
    int a = eng_lint_text(rs->files, rs->n_files, out);
    if (a < 0)
        return a;
    int b = eng_lint_loaded(rs, out);
    return b < 0 ? b : a + b;
}

int engine_lint_text(const struct ruleset *rs, const char *name, const char *text,
                     struct engine_lint *out)
{
    struct rs_file f = {.name = (char *)name, .text = (char *)text, .len = strlen(text)};
    char msg[300];
    long line = 0;
    if (eng_check_nesting(&f, &line, msg, sizeof msg))
        return eng_lint_add(out, name, line, "%s", msg) < 0 ? PROTO_E_INTERNAL : 1;
    /* rs's files lend their deftemplates: only those holding one are parsed */
    size_t n = 0;
    struct rs_file *all = calloc((rs ? rs->n_files : 0) + 1, sizeof *all);
    if (!all)
        return PROTO_E_INTERNAL;
    for (size_t i = 0; rs && i < rs->n_files; i++)
        if (strstr(rs->files[i].text, "(deftemplate"))
            all[n++] = rs->files[i];
    all[n] = f;
    int a = lint_text(all, n + 1, n, out);
    free(all);
    if (a < 0 || !rs)
        return a;
    /* the findings, sources and names of this text, against rs's data */
    struct lint l = {.rs = rs, .out = out};
    struct seen_list seen = {0};
    check_constructs(&l, &f, &seen);
    seen_free(&seen);
    names_free(&l);
    return l.oom ? PROTO_E_INTERNAL : a + l.problems;
}
