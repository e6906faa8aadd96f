/*
 * engine_lint.c: the lint of a loaded ruleset.  It reads the source text
 * of each file, the very bytes the ruleset serves (never a second read of
 * its folder), as s-expressions to check what CLIPS itself accepts but the
 * contract forbids: functions that reach the process or the environment
 * as a whole, findings without id/severity/category/summary/source, bad
 * literal severities and categories, cited sources that do not exist,
 * constructs defined twice, inconsistent vocabularies.
 *
 * The first of these needs only the text, and ruleset_check runs it as
 * the pre-check, before CLIPS loads anything: CLIPS evaluates defglobal
 * and deffacts expressions while loading.
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

int eng_lint_add(struct engine_lint *l, const char *file, long line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->n_problems == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        struct engine_problem *np = realloc(l->problems, nc * sizeof *np);
        if (!np)
            return -1;
        l->problems = np;
        l->cap = nc;
    }
    struct engine_problem *p = &l->problems[l->n_problems];
    p->file = eng_strdup(file);
    p->message = eng_strdup(msg);
    p->line = line;
    if (!p->file || !p->message) {
        free(p->file);
        free(p->message);
        return -1;
    }
    l->n_problems++;
    return 0;
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

struct lint {
    const struct ruleset *rs;   /* NULL in the pre-check: the text only */
    struct engine_lint *out;
    int problems;               /* added by this run */
    bool oom;
};

static void problem(struct lint *l, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

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

/* Functions a ruleset must never call: they reach the process (shell, files,
 * exit, locale, libc's rand), run code built from strings, or act on the
 * environment as a whole, which the engine alone manages. */
static const char *const forbidden[] = {
    "system", "eval", "build", "funcall", "assert-string", "open", "close", "read",
    "readline", "read-number", "get-char", "put-char", "unget-char", "format", "remove",
    "rename", "load", "load*", "load-facts", "save-facts", "bload", "bsave", "save", "batch",
    "batch*", "dribble-on", "dribble-off", "exit", "setgen", "gensym", "gensym*",
    "set-strategy", "set-salience-evaluation", "set-fact-duplication",
    "set-dynamic-constraint-checking", "set-static-constraint-checking",
    "set-sequence-operator-recognition", "set-auto-float-dividend", "set-incremental-reset",
    "set-reset-globals", "set-locale", "random", "seed", "watch", "unwatch", "clear",
    "reset", "run", "halt", "set-break", "remove-break", "conserve-mem", "release-mem",
    "undefrule", "undeftemplate", "undeffacts", "undeffunction", "undefglobal",
    "undefgeneric", "undefmethod", "undefclass", "undefinstances", "undefmessage-handler",
    "profile", "profile-reset", "set-profile-percent-threshold", "defglobal", "focus",
    "pop-focus", "clear-focus-stack", "refresh-agenda", "set-current-module", "toss",
    NULL,
};

static bool is_forbidden(const char *name)
{
    for (const char *const *f = forbidden; *f; f++)
        if (!strcmp(*f, name))
            return true;
    return false;
}

static void check_calls(struct lint *l, const char *file, const struct sx *x)
{
    const char *h = sx_head(x);
    if (h) {
        if (is_forbidden(h))
            problem(l, file, x->line, "forbidden function or construct '%s'", h);
        else if (!strcmp(h, "printout") && x->n >= 2 &&
                 (x->kids[1]->list || x->kids[1]->str || strcmp(x->kids[1]->text, "t")))
            problem(l, file, x->line, "printout may only write to t (got '%s')",
                    x->kids[1]->list ? "(...)" : x->kids[1]->text);
    }
    for (size_t i = 0; x->list && i < x->n; i++)
        check_calls(l, file, x->kids[i]);
}

static bool is_literal(const struct sx *v)
{
    return !v->list && !v->str && v->text[0] != '?' && v->text[0] != '$';
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
    const struct sx *sev = slot[1] && slot[1]->n >= 2 ? slot[1]->kids[1] : NULL;
    if (sev && is_literal(sev) && !in_list(sev->text, severities))
        problem(l, file, sev->line, "rule %s: severity '%s' is not one of info, caution, "
                "incomplete, defer, refer, contraindicated", rule, sev->text);
    const struct sx *cat = slot[2] && slot[2]->n >= 2 ? slot[2]->kids[1] : NULL;
    if (cat && is_literal(cat) && !in_list(cat->text, categories))
        problem(l, file, cat->line, "rule %s: category '%s' is not one of candidacy, "
                "medication, procedure, side-effect, home-use, input", rule, cat->text);
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

/* The pre-check: what the text alone tells. */
static void check_text(struct lint *l, const struct rs_file *f)
{
    struct sx *root = sx_parse(f->text);
    if (!root) {
        l->oom = true;
        return;
    }
    check_calls(l, f->name, root);
    sx_free(root);
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
        int count = 0;
        for (size_t k = arrow + 1; k < c->n; k++)
            find_findings(l, f->name, name, c->kids[k], &count);
    }
    sx_free(root);
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

int eng_lint_text(const struct rs_file *files, size_t n, struct engine_lint *out)
{
    struct lint l = {.out = out};
    for (size_t i = 0; i < n && !l.oom; i++)
        check_text(&l, &files[i]);
    return l.oom ? PROTO_E_INTERNAL : l.problems;
}

int eng_lint_loaded(const struct ruleset *rs, struct engine_lint *out)
{
    struct lint l = {.rs = rs, .out = out};
    struct seen_list seen = {0};
    for (size_t i = 0; i < rs->n_files && !l.oom; i++)
        check_constructs(&l, &rs->files[i], &seen);
    seen_free(&seen);
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
