/*
 * ruleset.c: loads and checks a ruleset directory into an immutable,
 * reference-counted struct ruleset, and builds CLIPS environments from it.
 *
 * The text of every file is read once (ruleset_read.c) and kept: every
 * engine (one per worker thread) is built from those exact bytes, the bytes
 * that were hashed and linted, so a file edited on disk after loading cannot
 * make workers disagree, nor show the lint other bytes than those served.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>

#include <clips/clips.h>
#include <ini.h>
#include <nettle/sha2.h>

#include "engine_internal.h"

#define RS_MAX_FILE_BYTES ENG_MAX_FILE_BYTES
#define RS_MAX_FILES ENG_MAX_FILES
#define RS_OUTPUT_LIMIT (64u * 1024u)
#define RS_LOAD_SOURCE "suitd-load"

/* ---- small helpers ---------------------------------------------------- */

char *eng_strdup(const char *s)
{
    return s ? eng_strndup(s, strlen(s)) : NULL;
}

char *eng_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void eng_buf_clear(struct eng_buf *b)
{
    b->len = 0;
    b->truncated = false;
    if (b->data)
        b->data[0] = '\0';
}

void eng_buf_free(struct eng_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int eng_buf_append(struct eng_buf *b, const char *s, size_t n)
{
    if (b->limit && b->len + n > b->limit) {
        b->truncated = true;
        n = b->limit > b->len ? b->limit - b->len : 0;
        if (!n)
            return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *nd = realloc(b->data, nc);
        if (!nd)
            return -1;
        b->data = nd;
        b->cap = nc;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

long eng_construct_line(const char *text, const char *kind, const char *name)
{
    /* Finds "(kind" followed by whitespace and "name" ending at a delimiter;
     * good enough to point an author at a construct. */
    size_t kl = strlen(kind), nl = strlen(name);
    long line = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            line++;
            continue;
        }
        if (*p != '(' || strncmp(p + 1, kind, kl) != 0)
            continue;
        const char *q = p + 1 + kl;
        if (!isspace((unsigned char)*q))
            continue;
        long extra = 0;
        while (isspace((unsigned char)*q)) {
            if (*q == '\n')
                extra++;
            q++;
        }
        if (strncmp(q, name, nl) == 0) {
            char c = q[nl];
            if (!c || isspace((unsigned char)c) || c == '(' || c == ')' || c == '"' || c == ';')
                return line + extra;
        }
    }
    return 0;
}

/* ---- the capture router ------------------------------------------------ */

static int cap_query(void *env, const char *name)
{
    (void)env;
    return !strcmp(name, "werror") || !strcmp(name, "wwarning") || !strcmp(name, "wtrace") ||
           !strcmp(name, "wdisplay") || !strcmp(name, "wdialog") || !strcmp(name, "stdout") ||
           !strcmp(name, "t");
}

static int cap_print(void *env, const char *name, const char *s)
{
    struct eng_capture *cap = GetEnvironmentRouterContext(env);
    struct eng_buf *b = &cap->out;
    if (!strcmp(name, "werror") || !strcmp(name, "wwarning"))
        b = &cap->err;
    else if (!strcmp(name, "wtrace"))
        b = &cap->trace;
    /* Allocation failure only loses diagnostics; the run itself goes on. */
    (void)eng_buf_append(b, s, strlen(s));
    return 1;
}

static int cap_getc(void *env, const char *name)
{
    (void)env;
    (void)name;
    return EOF;   /* rules get no input: (read) sees end of file */
}

static int cap_ungetc(void *env, int ch, const char *name)
{
    (void)env;
    (void)name;
    return ch;
}

/* CLIPS calls every router's exit function before exiting the process; a
 * router that calls AbortExit cancels the exit, so (exit) in a rule cannot
 * end the daemon. */
static int cap_exit(void *env, int code)
{
    struct eng_capture *cap = GetEnvironmentRouterContext(env);
    (void)code;
    cap->exit_called = true;
    AbortExit(env);
    return 1;
}

/* The first paragraph of a CLIPS error text on one line, e.g.
 * "[CSTRNCHK1] A literal slot value found in the assert command does not
 * match the allowed values for slot s." */
static void first_line(const char *s, char *out, size_t outsz)
{
    while (*s == '\n' || *s == '\r' || *s == ' ')
        s++;
    size_t o = 0;
    for (; *s && o + 1 < outsz; s++) {
        if (*s == '\n' || *s == '\r') {
            const char *t = s;
            while (*t == '\r')
                t++;
            if (t[0] == '\n' && (t[1] == '\n' || (t[1] == '\r' && t[2] == '\n') || !t[1]))
                break;
            if (!strncmp(t + 1, "ERROR:", 6))
                break;
            if (o && out[o - 1] != ' ')
                out[o++] = ' ';
            continue;
        }
        out[o++] = *s;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

/* The construct being parsed, from the "ERROR:\n(defrule MAIN::x" part. */
static void construct_of(const char *s, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *p = strstr(s, "ERROR:");
    if (!p)
        return;
    p = strchr(p, '(');
    if (!p)
        return;
    p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void parser_error_cb(void *env, const char *file, const char *warning,
                            const char *error, long line)
{
    struct eng_capture *cap = GetEnvironmentContext(env);
    if (!cap || !cap->load_err)
        return;
    const char *text = error && *error ? error : warning;
    char msg[400], where[160];
    first_line(text ? text : "", msg, sizeof msg);
    construct_of(text ? text : "", where, sizeof where);
    if (!msg[0])
        snprintf(msg, sizeof msg, "%s", error && *error ? "error" : "warning");
    proto_error_add_detail(cap->load_err, "%s:%ld: %s%s%s%s%s",
                           cap->load_file ? cap->load_file : (file ? file : "?"), line,
                           (error && *error) ? "" : "warning: ", msg,
                           where[0] ? " (in " : "", where, where[0] ? ")" : "");
    cap->load_problems++;
}

static struct eng_capture *capture_new(void)
{
    struct eng_capture *cap = calloc(1, sizeof *cap);
    if (!cap)
        return NULL;
    cap->err.limit = RS_OUTPUT_LIMIT;
    cap->trace.limit = 4u * 1024u * 1024u;
    cap->out.limit = RS_OUTPUT_LIMIT;
    return cap;
}

void eng_env_destroy(void *env, struct eng_capture *cap)
{
    if (env)
        DestroyEnvironment(env);
    if (cap) {
        eng_buf_free(&cap->err);
        eng_buf_free(&cap->trace);
        eng_buf_free(&cap->out);
        free(cap);
    }
}

static long count_defrules(void *env)
{
    long n = 0;
    for (void *r = EnvGetNextDefrule(env, NULL); r; r = EnvGetNextDefrule(env, r))
        n++;
    return n;
}

/* An empty environment with the capture router and the parser's error
 * callback installed. */
static int env_new(void **envp, struct eng_capture **capp, struct proto_error *err)
{
    *envp = NULL;
    *capp = NULL;
    struct eng_capture *cap = capture_new();
    if (!cap)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    void *env = CreateEnvironment();
    if (!env) {
        eng_env_destroy(NULL, cap);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot create a CLIPS environment");
    }
    SetEnvironmentContext(env, cap);
    if (!EnvAddRouterWithContext(env, "suitd-capture", 40, cap_query, cap_print, cap_getc,
                                 cap_ungetc, cap_exit, cap)) {
        eng_env_destroy(env, cap);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot install the CLIPS router");
    }
    EnvSetParserErrorCallback(env, parser_error_cb);
    *envp = env;
    *capp = cap;
    return 0;
}

static int env_build_files(const struct rs_file *files, size_t n, void **envp,
                           struct eng_capture **capp, struct proto_error *err)
{
    void *env;
    struct eng_capture *cap;
    int rc = env_new(&env, &cap, err);
    if (rc)
        return rc;

    struct proto_error local;
    proto_error_init(&local);
    cap->load_err = &local;
    for (size_t i = 0; i < n; i++) {
        const struct rs_file *f = &files[i];
        long rules_before = count_defrules(env);
        int problems_before = cap->load_problems;
        eng_buf_clear(&cap->err);
        cap->load_file = f->name;
        EnvSetParsingFileName(env, f->name);
        if (!OpenStringSource(env, RS_LOAD_SOURCE, f->text, 0)) {
            proto_error_add_detail(&local, "%s:1: cannot open as a CLIPS source", f->name);
            cap->load_problems++;
            continue;
        }
        SetLineCount(env, 1);
        int ok = LoadConstructsFromLogicalName(env, RS_LOAD_SOURCE);
        CloseStringSource(env, RS_LOAD_SOURCE);
        if (GetHaltExecution(env)) {
            /* A halt while loading returns success with nothing loaded. */
            proto_error_add_detail(&local, "%s:%ld: loading was halted", f->name,
                                   GetLineCount(env));
            cap->load_problems++;
            SetHaltExecution(env, FALSE);
            SetEvaluationError(env, FALSE);
        }
        if (!ok && cap->load_problems == problems_before) {
            char msg[400];
            first_line(cap->err.data ? cap->err.data : "", msg, sizeof msg);
            proto_error_add_detail(&local, "%s:%ld: %s", f->name, GetLineCount(env),
                                   msg[0] ? msg : "load failed");
            cap->load_problems++;
        }
        if (strstr(f->text, "(defrule") && count_defrules(env) == rules_before &&
            cap->load_problems == problems_before) {
            proto_error_add_detail(&local, "%s:1: no rules were loaded from this file",
                                   f->name);
            cap->load_problems++;
        }
    }
    cap->load_err = NULL;
    cap->load_file = NULL;
    EnvSetParsingFileName(env, NULL);

    if (cap->load_problems > 0) {
        proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %d load error%s",
                        cap->load_problems, cap->load_problems == 1 ? "" : "s");
        for (size_t i = 0; i < local.n_details; i++)
            proto_error_add_detail(err, "%s", local.details[i]);
        proto_error_close(&local);
        eng_env_destroy(env, cap);
        return PROTO_E_RULESET;
    }
    proto_error_close(&local);
    eng_buf_clear(&cap->err);
    eng_buf_clear(&cap->out);
    *envp = env;
    *capp = cap;
    return 0;
}

/* From the ruleset's image: 0 with *envp and *capp set, or -1 with
 * nothing built (the caller parses instead). */
static int env_build_image(const struct ruleset *rs, void **envp, struct eng_capture **capp);

/* Whether rs's rule files (names and bytes, in manifest order) are prev's:
 * then prev's image is what parsing them would give. */
static bool same_rule_files(const struct ruleset *rs, const struct ruleset *prev)
{
    if (prev->image_fd < 0 || rs->n_files != prev->n_files)
        return false;
    for (size_t i = 0; i < rs->n_files; i++)
        if (strcmp(rs->files[i].name, prev->files[i].name) != 0 ||
            rs->files[i].len != prev->files[i].len ||
            memcmp(rs->files[i].text, prev->files[i].text, rs->files[i].len) != 0)
            return false;
    return true;
}

/* The load's environment from prev's image instead of a parse, and prev's
 * image shared (the memory file is sealed: a second descriptor of the
 * same bytes).  0, or -1 with nothing built. */
static int env_reuse_image(struct ruleset *rs, const struct ruleset *prev, void **envp,
                           struct eng_capture **capp)
{
    int fd = fcntl(prev->image_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    rs->image_fd = fd;
    rs->rule_count = prev->rule_count;
    if (env_build_image(rs, envp, capp) < 0) {
        eng_image_close(fd);
        rs->image_fd = -1;
        rs->rule_count = 0;
        return -1;
    }
    rs->image_len = prev->image_len;
    return 0;
}

static int env_build_image(const struct ruleset *rs, void **envp, struct eng_capture **capp)
{
    struct proto_error local;
    proto_error_init(&local);
    void *env;
    struct eng_capture *cap;
    int rc = env_new(&env, &cap, &local);
    proto_error_close(&local);
    if (rc)
        return -1;
    /* A bload that stopped part way would leave fewer rules. */
    if (eng_image_load(env, rs->image_fd) < 0 || GetHaltExecution(env) ||
        count_defrules(env) != rs->rule_count) {
        eng_env_destroy(env, cap);
        return -1;
    }
    eng_buf_clear(&cap->err);
    eng_buf_clear(&cap->out);
    *envp = env;
    *capp = cap;
    return 0;
}

int eng_env_build(const struct ruleset *rs, void **env, struct eng_capture **cap, bool *imaged,
                  struct proto_error *err)
{
    *imaged = rs->image_fd >= 0 && env_build_image(rs, env, cap) == 0;
    return *imaged ? 0 : env_build_files(rs->files, rs->n_files, env, cap, err);
}

int eng_env_build_parsed(const struct ruleset *rs, void **env, struct eng_capture **cap,
                         struct proto_error *err)
{
    return env_build_files(rs->files, rs->n_files, env, cap, err);
}

bool ruleset_has_image(const struct ruleset *rs)
{
    return rs->image_fd >= 0;
}

/* ---- manifest and policy files ----------------------------------------- */

char *eng_ini_read(char *str, int num, void *stream)
{
    struct eng_ini_src *s = stream;
    if (!*s->p)
        return NULL;
    size_t n = strcspn(s->p, "\n");
    int has_nl = s->p[n] == '\n';
    if (n + 1 >= (size_t)num) {
        if (!s->too_long)
            s->too_long = s->line + 1;
        n = (size_t)num - 2;
        has_nl = 1;
        /* skip the rest of the over-long line */
        const char *end = s->p + strcspn(s->p, "\n");
        memcpy(str, s->p, n);
        str[n] = '\n';
        str[n + 1] = '\0';
        s->p = *end ? end + 1 : end;
        s->line++;
        return str;
    }
    memcpy(str, s->p, n + has_nl);
    str[n + has_nl] = '\0';
    s->p += n + has_nl;
    s->line++;
    return str;
}

struct manifest {
    struct eng_ini_src src;
    const char *file;
    char *name, *version, *tests;
    struct eng_buf files;      /* space-separated */
    struct proto_error *err;
    int problems;
};

static int manifest_handler(void *user, const char *section, const char *name,
                            const char *value)
{
    struct manifest *m = user;
    if (strcmp(section, "ruleset") != 0) {
        proto_error_add_detail(m->err, "%s:%d: unknown section [%s] (expected [ruleset])",
                               m->file, m->src.line, section);
        m->problems++;
        return 1;
    }
    char **slot = NULL;
    if (!strcmp(name, "name"))
        slot = &m->name;
    else if (!strcmp(name, "version"))
        slot = &m->version;
    else if (!strcmp(name, "tests"))
        slot = &m->tests;
    else if (!strcmp(name, "files")) {
        /* multi-line values arrive as repeated keys */
        if ((m->files.len && eng_buf_append(&m->files, " ", 1) < 0) ||
            eng_buf_append(&m->files, value, strlen(value)) < 0)
            return 0;
        return 1;
    } else {
        proto_error_add_detail(m->err, "%s:%d: unknown key '%s'", m->file, m->src.line, name);
        m->problems++;
        return 1;
    }
    free(*slot);
    *slot = eng_strdup(value);
    return *slot != NULL;
}

/* ---- reading data facts back ------------------------------------------- */

static const char *slot_text(void *env, void *fact, const char *slot)
{
    DATA_OBJECT d;
    if (!EnvGetFactSlot(env, fact, slot, &d))
        return NULL;
    if (GetType(d) == SYMBOL || GetType(d) == STRING || GetType(d) == INSTANCE_NAME)
        return DOToString(d);
    return NULL;
}

static int slot_number(void *env, void *fact, const char *slot, double *v, bool *is_int,
                       long long *iv)
{
    DATA_OBJECT d;
    if (!EnvGetFactSlot(env, fact, slot, &d))
        return -1;
    if (GetType(d) == INTEGER) {
        *is_int = true;
        *iv = DOToLong(d);
        *v = (double)*iv;
        return 0;
    }
    if (GetType(d) == FLOAT) {
        *is_int = false;
        *v = DOToDouble(d);
        return 0;
    }
    return -1;
}

static int term_cmp(const void *a, const void *b)
{
    const struct rs_term *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : ascii_casecmp(x->name, y->name);
}

static int source_cmp(const void *a, const void *b)
{
    const struct rs_source *x = a, *y = b;
    return strcmp(x->key, y->key);
}

const struct rs_term *ruleset_find_term(const struct ruleset *rs, const char *kind,
                                        const char *name)
{
    struct rs_term key = {.kind = (char *)kind, .name = (char *)name};
    return bsearch(&key, rs->terms, rs->n_terms, sizeof key, term_cmp);
}

/* The contract's templates and the slots the engine reads or writes. */
static const struct {
    const char *tmpl;
    const char *slots[9];
} contract[] = {
    {"patient", {"age", "pregnant", "breastfeeding", "fitzpatrick", "area", "indication",
                 "setting", "needle-depth-mm", NULL}},
    {"condition", {"name", "days-ago", NULL}},
    {"medication", {"name", "class", "days-since-last-dose", NULL}},
    {"procedure", {"name", "days-ago", NULL}},
    {"allergy", {"name", NULL}},
    {"unrecognised", {"kind", "name", NULL}},
    {"missing", {"fact", NULL}},
    {"source", {"key", "citation", "weak", NULL}},
    {"term", {"kind", "name", "canonical", "class", "takes-days", "label", NULL}},
    {"policy", {"name", "value", "description", NULL}},
    {"finding", {"id", "category", "severity", "summary", "detail", "source", "action",
                 "defer-days", NULL}},
    {"side-effect", {"effect", "kind", "likelihood", "note", NULL}},
    {"plan", {"sessions-min", "sessions-max", "interval-weeks", "interval-weeks-max",
              "cost-min", "cost-typical", "cost-max", NULL}},
    {"aftercare", {"order", "text", NULL}},
};

static void check_contract(void *env, struct proto_error *err, int *problems)
{
    for (size_t i = 0; i < sizeof contract / sizeof contract[0]; i++) {
        void *t = EnvFindDeftemplate(env, contract[i].tmpl);
        if (!t) {
            proto_error_add_detail(err, "contract: deftemplate '%s' is missing",
                                   contract[i].tmpl);
            (*problems)++;
            continue;
        }
        for (const char *const *s = contract[i].slots; *s; s++)
            if (!EnvDeftemplateSlotExistP(env, t, *s)) {
                proto_error_add_detail(err, "contract: deftemplate '%s' has no slot '%s'",
                                       contract[i].tmpl, *s);
                (*problems)++;
            }
    }
}

static const char *const term_kinds[] = {"area", "indication", "condition", "medication",
                                         "procedure", "allergy", "setting"};

static int read_data(struct ruleset *rs, void *env, struct proto_error *err, int *problems)
{
    void *tt = EnvFindDeftemplate(env, "term");
    size_t cap = 0;
    for (void *f = EnvGetNextFactInTemplate(env, tt, NULL); f;
         f = EnvGetNextFactInTemplate(env, tt, f)) {
        const char *kind = slot_text(env, f, "kind"), *name = slot_text(env, f, "name");
        const char *canon = slot_text(env, f, "canonical"), *cls = slot_text(env, f, "class");
        const char *label = slot_text(env, f, "label"), *td = slot_text(env, f, "takes-days");
        bool kind_ok = false;
        for (size_t k = 0; kind && k < sizeof term_kinds / sizeof term_kinds[0]; k++)
            kind_ok |= !strcmp(kind, term_kinds[k]);
        if (!kind_ok || !name || !canon || !strcmp(name, "nil") || !strcmp(canon, "nil")) {
            proto_error_add_detail(err, "vocabulary: term fact f-%lld needs kind, name and "
                                   "canonical", EnvFactIndex(env, f));
            (*problems)++;
            continue;
        }
        if (rs->n_terms == cap) {
            cap = cap ? cap * 2 : 64;
            struct rs_term *nt = realloc(rs->terms, cap * sizeof *nt);
            if (!nt)
                return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            rs->terms = nt;
        }
        struct rs_term *t = &rs->terms[rs->n_terms];
        t->kind = eng_strdup(kind);
        t->name = eng_strdup(name);
        t->canonical = eng_strdup(canon);
        t->cls = eng_strdup(cls ? cls : "none");
        t->label = eng_strdup(label ? label : "");
        t->takes_days = td && !strcmp(td, "yes");
        rs->n_terms++;
        if (!t->kind || !t->name || !t->canonical || !t->cls || !t->label)
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    if (rs->n_terms)
        qsort(rs->terms, rs->n_terms, sizeof *rs->terms, term_cmp);

    void *pt = EnvFindDeftemplate(env, "policy");
    /* min and max are optional slots: rulesets written before them load
     * as they did, with "not negative" as the only range. */
    bool ranged_min = EnvDeftemplateSlotExistP(env, pt, "min");
    bool ranged_max = EnvDeftemplateSlotExistP(env, pt, "max");
    cap = 0;
    for (void *f = EnvGetNextFactInTemplate(env, pt, NULL); f;
         f = EnvGetNextFactInTemplate(env, pt, f)) {
        const char *name = slot_text(env, f, "name"), *desc = slot_text(env, f, "description");
        const char *unit = slot_text(env, f, "unit");   /* optional slot */
        struct rs_policy p = {0};
        if (!name || slot_number(env, f, "value", &p.value, &p.is_int, &p.ivalue) < 0) {
            proto_error_add_detail(err, "policy: fact f-%lld needs a name and a numeric "
                                   "value", EnvFactIndex(env, f));
            (*problems)++;
            continue;
        }
        p.dflt = (struct rs_number){.value = p.value, .is_int = p.is_int, .ivalue = p.ivalue};
        struct rs_number *lo = &p.min, *hi = &p.max;
        p.has_min = ranged_min && slot_number(env, f, "min", &lo->value, &lo->is_int,
                                              &lo->ivalue) == 0;
        p.has_max = ranged_max && slot_number(env, f, "max", &hi->value, &hi->is_int,
                                              &hi->ivalue) == 0;
        if ((p.has_min && p.value < lo->value) || (p.has_max && p.value > hi->value) ||
            (p.has_min && p.has_max && lo->value > hi->value)) {
            proto_error_add_detail(err, "policy: '%s': the default %g is outside its range "
                                   "(min %g, max %g)", name, p.value,
                                   p.has_min ? lo->value : 0.0, p.has_max ? hi->value : 0.0);
            (*problems)++;
        }
        for (size_t i = 0; i < rs->n_policy; i++)
            if (!strcmp(rs->policy[i].name, name)) {
                proto_error_add_detail(err, "policy: '%s' is defined twice", name);
                (*problems)++;
            }
        if (rs->n_policy == cap) {
            cap = cap ? cap * 2 : 32;
            struct rs_policy *np = realloc(rs->policy, cap * sizeof *np);
            if (!np)
                return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            rs->policy = np;
        }
        p.name = eng_strdup(name);
        p.description = eng_strdup(desc ? desc : "");
        p.unit = eng_strdup(unit ? unit : "");
        rs->policy[rs->n_policy++] = p;
        if (!p.name || !p.description || !p.unit)
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    eng_policy_sort(rs);

    /* The source keys findings may cite (the lint checks them). */
    void *st = EnvFindDeftemplate(env, "source");
    cap = 0;
    for (void *f = EnvGetNextFactInTemplate(env, st, NULL); f;
         f = EnvGetNextFactInTemplate(env, st, f)) {
        const char *key = slot_text(env, f, "key"), *cit = slot_text(env, f, "citation");
        const char *weak = slot_text(env, f, "weak");
        if (!key)
            continue;           /* engine_lint reports a source without a key */
        if (rs->n_sources == cap) {
            cap = cap ? cap * 2 : 32;
            struct rs_source *ns = realloc(rs->sources, cap * sizeof *ns);
            if (!ns)
                return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            rs->sources = ns;
        }
        struct rs_source *src = &rs->sources[rs->n_sources++];
        src->key = eng_strdup(key);
        src->citation = eng_strdup(cit ? cit : "");
        src->weak = weak && !strcmp(weak, "yes");
        if (!src->key || !src->citation)
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    if (rs->n_sources)
        qsort(rs->sources, rs->n_sources, sizeof *rs->sources, source_cmp);
    void *act = EnvGetNextActivation(env, NULL);
    if (act && !(rs->data_activated = eng_strdup(EnvGetActivationName(env, act))))
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    rs->rule_count = count_defrules(env);
    return 0;
}

/* ---- load ------------------------------------------------------------- */

static void ruleset_free(struct ruleset *rs)
{
    if (!rs)
        return;
    eng_image_close(rs->image_fd);
    free(rs->dir);
    free(rs->manifest);
    free(rs->tests);
    free(rs->id.name);
    free(rs->id.version);
    free(rs->id.sha256);
    eng_files_free(rs->files, rs->n_files);
    eng_files_free(rs->cases, rs->n_cases);
    for (size_t i = 0; i < rs->n_policy; i++) {
        free(rs->policy[i].name);
        free(rs->policy[i].description);
        free(rs->policy[i].unit);
    }
    free(rs->policy);
    eng_policies_free(rs);
    free(rs->policy_dir);
    for (size_t i = 0; i < rs->n_sources; i++) {
        free(rs->sources[i].key);
        free(rs->sources[i].citation);
    }
    free(rs->sources);
    for (size_t i = 0; i < rs->n_terms; i++) {
        struct rs_term *t = &rs->terms[i];
        free(t->kind);
        free(t->name);
        free(t->canonical);
        free(t->cls);
        free(t->label);
    }
    free(rs->terms);
    free(rs->data_activated);
    free(rs);
}

/* A name the manifest may use for something inside the ruleset folder:
 * no path, nothing hidden, no way out of the folder. */
static bool plain_name(const char *s)
{
    return *s && *s != '.' && !strchr(s, '/');
}

/* Parses manifest text into m (m->err set): everything but reading the
 * files it lists.  Returns the number of problems (details in m->err). */
static int manifest_parse(const char *text, struct manifest *m)
{
    struct proto_error *err = m->err;
    m->src = (struct eng_ini_src){.p = text};
    m->file = "manifest.ini";
    int rc = ini_parse_stream(eng_ini_read, &m->src, manifest_handler, m);
    if (rc > 0 && !m->problems) {
        proto_error_add_detail(err, "manifest.ini:%d: syntax error", rc);
        m->problems++;
    } else if (rc < 0) {
        proto_error_add_detail(err, "manifest.ini: cannot parse (%d)", rc);
        m->problems++;
    }
    if (m->src.too_long) {
        proto_error_add_detail(err, "manifest.ini:%d: line too long (continue the value on "
                               "an indented next line)", m->src.too_long);
        m->problems++;
    }
    if (!m->name || !*m->name) {
        proto_error_add_detail(err, "manifest.ini: [ruleset] name is missing");
        m->problems++;
    }
    if (!m->version || !*m->version) {
        proto_error_add_detail(err, "manifest.ini: [ruleset] version is missing");
        m->problems++;
    }
    if (!m->files.len) {
        proto_error_add_detail(err, "manifest.ini: [ruleset] files is missing");
        m->problems++;
    }
    if (m->tests && !plain_name(m->tests)) {
        proto_error_add_detail(err, "manifest.ini: tests '%s' must be a plain folder name in "
                               "the ruleset directory", m->tests);
        m->problems++;
    }
    return m->problems;
}

/* Calls fn for each file the manifest lists (splitting m->files in
 * place), after checking its name and the count.  Returns fn's first
 * non-zero result, or 0; a bad name or count is a problem in m. */
static int manifest_each(struct manifest *m, int (*fn)(void *arg, const char *name), void *arg)
{
    int n = 0;
    char *list = m->files.data, *save = NULL;
    for (char *tok = list ? strtok_r(list, " \t,", &save) : NULL; tok && !m->problems;
         tok = strtok_r(NULL, " \t,", &save)) {
        if (!plain_name(tok)) {
            proto_error_add_detail(m->err, "manifest.ini: file '%s' must be a plain name in "
                                   "the ruleset directory", tok);
            m->problems++;
            break;
        }
        if (n++ >= RS_MAX_FILES) {
            proto_error_add_detail(m->err, "manifest.ini: more than %d files", RS_MAX_FILES);
            m->problems++;
            break;
        }
        int rc = fn ? fn(arg, tok) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

struct manifest_read {
    struct ruleset *rs;
    struct eng_reader *rd;
    struct proto_error *err;
};

/* Reads one listed file into rs (manifest_each's fn). */
static int manifest_read_one(void *arg, const char *tok)
{
    struct manifest_read *mr = arg;
    struct ruleset *rs = mr->rs;
    struct rs_file *nf = realloc(rs->files, (rs->n_files + 1) * sizeof *nf);
    if (!nf)
        return proto_error_set(mr->err, PROTO_E_INTERNAL, "out of memory");
    rs->files = nf;
    struct rs_file *f = &rs->files[rs->n_files];
    memset(f, 0, sizeof *f);
    f->name = eng_strdup(tok);
    rs->n_files++;
    if (!f->name)
        return proto_error_set(mr->err, PROTO_E_INTERNAL, "out of memory");
    /* The reader's message says what was wrong with the file. */
    return eng_reader_read(mr->rd, ENG_AT_DIR, tok, tok, RS_MAX_FILE_BYTES, &f->text, &f->len,
                           mr->err);
}

static int load_manifest(struct ruleset *rs, struct eng_reader *rd, struct proto_error *err)
{
    int rc = eng_reader_read(rd, ENG_AT_DIR, "manifest.ini", "manifest.ini", RS_MAX_FILE_BYTES,
                             &rs->manifest, &rs->manifest_len, err);
    if (rc)
        return rc;
    struct manifest m = {.err = err};
    manifest_parse(rs->manifest, &m);
    rs->id.name = m.name;
    rs->id.version = m.version;
    rs->tests = m.tests ? m.tests : eng_strdup("tests");
    /* Split the file list and read each file once. */
    struct manifest_read mr = {.rs = rs, .rd = rd, .err = err};
    rc = manifest_each(&m, manifest_read_one, &mr);
    eng_buf_free(&m.files);
    if (rc)
        return rc;
    if (!rs->tests)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    if (m.problems)
        return proto_error_set(err, PROTO_E_RULESET, "ruleset refused: bad manifest in %s",
                               rs->dir);
    return 0;
}

int ruleset_manifest_check(const char *text, struct proto_error *err)
{
    struct manifest m = {.err = err};
    manifest_parse(text, &m);
    int rc = manifest_each(&m, NULL, NULL);
    free(m.name);
    free(m.version);
    free(m.tests);
    eng_buf_free(&m.files);
    if (!rc && m.problems)
        rc = proto_error_set(err, PROTO_E_RULESET, "bad manifest: %d problem%s", m.problems,
                             m.problems == 1 ? "" : "s");
    return rc;
}

/* The case files, read with the rules so that a reload's cases are the
 * ones that were in the folder with them (and read once). */
static int load_cases(struct ruleset *rs, struct eng_reader *rd, struct proto_error *err)
{
    int rc = eng_reader_read_cases(rd, rs->tests, RS_MAX_FILES, &rs->cases, &rs->n_cases, err);
    rs->has_tests = rd->has_tests;
    return rc;
}

static int compute_sha256(struct ruleset *rs, struct proto_error *err)
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, rs->manifest_len, (const uint8_t *)rs->manifest);
    for (size_t i = 0; i < rs->n_files; i++)
        sha256_update(&ctx, rs->files[i].len, (const uint8_t *)rs->files[i].text);
    sha256_digest(&ctx, sizeof digest, digest);
    rs->id.sha256 = malloc(2 * SHA256_DIGEST_SIZE + 1);
    if (!rs->id.sha256)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(rs->id.sha256 + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

/* CLIPS 6.30's loader never finishes on deeply nested text: its
 * pretty-printer (PPCRAndIndent) overruns a stack buffer once the
 * indentation passes about 123 characters, and then loops for ever.  How
 * deep that is depends on where the nesting is; measured on Debian 12's
 * libclips 6.30 (a child process per depth, 3 s alarm, each shape from 1
 * to 48 levels):
 *   (progn (progn ...)) in a rule's actions or a deffunction: 40 levels
 *     load, 41 hang;
 *   a (if ... then ... else (if ...)) chain: 40 branches load, 41 hang;
 *   conditional elements in a left-hand side ((not (and (not ...))), any
 *     mix of not, and, or, exists): 24 levels load, 25 hang;
 *   nested calls printed inline ((+ 1 (+ 1 ...))): 200 levels load.
 * suitd refuses, before CLIPS sees the text, any parenthesis nested deeper
 * than RS_MAX_NESTING (the construct itself is level 1: 31 progns below a
 * defrule are 32) and conditional elements nested deeper than
 * RS_MAX_CE_NESTING inside a rule's left-hand side.  The bundled ruleset
 * nests at most 7 deep, conditional elements 2.  The scan is one pass over
 * the bytes, so any input is answered in linear time. */
#define RS_MAX_NESTING 32
#define RS_MAX_CE_NESTING 16

/* The word after '(' at p (up to 15 bytes), for the scanner. */
static void next_word(const char *p, char *w, size_t n)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    size_t k = 0;
    while (p[k] && k + 1 < n && !strchr(" \t\r\n()\";", p[k])) {
        w[k] = p[k];
        k++;
    }
    w[k] = '\0';
}

int eng_check_nesting(const struct rs_file *f, long *at, char *msg, size_t msglen)
{
    long line = 1;
    int depth = 0, ce_depth = 0;
    bool in_rule = false, past_arrow = false;
    /* is_ce: the list at that depth is a conditional element; ce_kids: its
     * elements stand where conditional elements do (the rule's left-hand
     * side, inside a CE), so an (or ...) in a (test ...) or a pattern's
     * :(...) is a function call, not a CE */
    bool is_ce[RS_MAX_NESTING + 2] = {false}, ce_kids[RS_MAX_NESTING + 2] = {false};
    for (const char *p = f->text; *p; p++) {
        switch (*p) {
        case '\n':
            line++;
            break;
        case ';':
            while (p[1] && p[1] != '\n')
                p++;
            break;
        case '"':
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                if (*p == '\n')
                    line++;
            }
            if (!*p)
                return 0;
            break;
        case '=':
            if (in_rule && depth == 1 && p[1] == '>')
                past_arrow = true;
            break;
        case '(': {
            if (++depth > RS_MAX_NESTING) {
                *at = line;
                snprintf(msg, msglen, "nested deeper than %d levels (CLIPS 6.30 cannot load "
                         "it; expected at most %d: flatten the expression or split the rule)",
                         RS_MAX_NESTING, RS_MAX_NESTING);
                return 1;
            }
            char w[16];
            next_word(p + 1, w, sizeof w);
            if (depth == 1) {
                in_rule = !strcmp(w, "defrule");
                past_arrow = false;
            }
            is_ce[depth] = in_rule && !past_arrow && depth >= 2 && ce_kids[depth - 1] &&
                           (!strcmp(w, "not") || !strcmp(w, "and") || !strcmp(w, "or") ||
                            !strcmp(w, "exists") || !strcmp(w, "forall") ||
                            !strcmp(w, "logical"));
            ce_kids[depth] = (depth == 1 && in_rule) || is_ce[depth];
            if (is_ce[depth] && ++ce_depth > RS_MAX_CE_NESTING) {
                *at = line;
                snprintf(msg, msglen, "conditional elements nested deeper than %d levels "
                         "(CLIPS 6.30 cannot load it; expected at most %d: split the rule)",
                         RS_MAX_CE_NESTING, RS_MAX_CE_NESTING);
                return 1;
            }
            break;
        }
        case ')':
            if (depth > 0) {
                if (is_ce[depth])
                    ce_depth--;
                is_ce[depth] = ce_kids[depth] = false;
                depth--;
            }
            break;
        }
    }
    return 0;
}

/* Reads everything the load needs, once: the manifest and its files, the
 * case files, the policy file; then looks them all up again. */
static int read_all(struct ruleset *rs, const struct ruleset_source *src, char **policy_text,
                    struct rs_file **pol_files, size_t *n_pol_files, struct eng_load *l,
                    struct proto_error *err)
{
    struct eng_reader rd;
    int rc = eng_reader_open(&rd, rs->dir, src, err);
    if (!rc)
        rc = load_manifest(rs, &rd, err);
    if (!rc)
        rc = load_cases(rs, &rd, err);
    size_t len;
    if (!rc && src->policy_file)
        rc = eng_reader_read(&rd, AT_FDCWD, src->policy_file, src->policy_file,
                             RS_MAX_FILE_BYTES, policy_text, &len, err);
    if (!rc && src->policy_dir)
        rc = eng_reader_read_policies(&rd, src->policy_dir, ENG_MAX_POLICIES, pol_files,
                                      n_pol_files, err);
    if (!rc)
        rc = eng_reader_verify(&rd, err);
    l->files_read += rd.files_read;
    eng_reader_close(&rd);
    return rc;
}

int eng_ruleset_load(struct eng_load *l, struct ruleset **out, struct proto_error *err)
{
    *out = NULL;
    const struct ruleset_source *src = l->src;
    struct ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    atomic_init(&rs->refs, 1);
    rs->image_fd = -1;
    rs->dir = eng_strdup(src->dir);
    if (!rs->dir) {
        ruleset_free(rs);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    char *policy_text = NULL;
    struct rs_file *pol_files = NULL;
    size_t n_pol_files = 0;
    if (src->policy_dir && !(rs->policy_dir = eng_strdup(src->policy_dir))) {
        ruleset_free(rs);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    int rc = read_all(rs, src, &policy_text, &pol_files, &n_pol_files, l, err);
    if (!rc)
        rc = compute_sha256(rs, err);
    if (!rc) {
        int deep = 0;
        for (size_t i = 0; i < rs->n_files; i++) {
            char msg[300];
            long line = 0;
            if (eng_check_nesting(&rs->files[i], &line, msg, sizeof msg)) {
                proto_error_add_detail(err, "%s:%ld: %s", rs->files[i].name, line, msg);
                deep++;
            }
        }
        if (deep)
            rc = proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %d file%s nested too "
                                 "deep", deep, deep == 1 ? "" : "s");
    }
    if (!rc && l->precheck) {
        /* Before CLIPS sees the text: it evaluates defglobal and deffacts
         * expressions while loading, so a forbidden call there would run
         * before a lint of the loaded ruleset could refuse it. */
        size_t before = l->precheck->n_problems;
        int n = eng_lint_text(rs->files, rs->n_files, l->precheck);
        if (n < 0) {
            rc = proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        } else if (l->precheck->n_problems > before) {
            size_t k = l->precheck->n_problems - before;
            for (size_t i = before; i < l->precheck->n_problems; i++) {
                char line[1024];
                engine_problem_format(&l->precheck->problems[i], line, sizeof line);
                proto_error_add_detail(err, "%s", line);
            }
            rc = proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %zu lint problem%s "
                                 "(see suitd check)", k, k == 1 ? "" : "s");
        }
    }
    void *env = NULL;
    struct eng_capture *cap = NULL;
    bool imaged = false;
    if (!rc && l->previous && same_rule_files(rs, l->previous))
        imaged = env_reuse_image(rs, l->previous, &env, &cap) == 0;
    if (imaged) {
        l->environments++;
    } else if (!rc) {
        rc = env_build_files(rs->files, rs->n_files, &env, &cap, err);
        l->environments++;
        l->parses++;
    }
    if (!rc) {
        int problems = 0;
        check_contract(env, err, &problems);
        if (!problems) {
            EnvReset(env);
            if (cap->err.len || GetHaltExecution(env)) {
                char msg[400];
                first_line(cap->err.data ? cap->err.data : "", msg, sizeof msg);
                proto_error_add_detail(err, "reset: %s", msg[0] ? msg : "halted");
                problems++;
            }
        }
        if (!problems)
            rc = read_data(rs, env, err, &problems);
        if (!rc && !problems && rs->rule_count == 0) {
            proto_error_add_detail(err, "%s: no rules loaded", rs->dir);
            problems++;
        }
        if (!rc && problems)
            rc = proto_error_set(err, PROTO_E_RULESET, "ruleset refused: %d problem%s", problems,
                                 problems == 1 ? "" : "s");
        if (!rc)
            rc = eng_policies_build(rs, src->policy_file, policy_text, pol_files, n_pol_files,
                                    err);
    }
    free(policy_text);
    eng_files_free(pol_files, n_pol_files);
    /* The image every later engine is built from (ruleset_image.c); none
     * when it cannot be made: engines then parse the text. */
    if (!rc && !src->no_image && !imaged)
        (void)eng_image_save(env, &rs->image_fd, &rs->image_len);
    if (!rc && l->keep) {
        l->keep->env = env;
        l->keep->cap = cap;
        l->keep->imaged = imaged;
    } else {
        eng_env_destroy(env, cap);
    }
    if (rc) {
        ruleset_free(rs);
        return rc;
    }
    rs->loaded_at = time(NULL);
    *out = rs;
    return 0;
}

int ruleset_load(const char *dir, const char *policy_file, struct ruleset **out,
                 struct proto_error *err)
{
    struct ruleset_source src = {.dir = dir, .policy_file = policy_file};
    return ruleset_load_source(&src, out, err);
}

int ruleset_load_source(const struct ruleset_source *src, struct ruleset **out,
                        struct proto_error *err)
{
    struct eng_load l = {.src = src};
    return eng_ruleset_load(&l, out, err);
}

struct ruleset *ruleset_ref(struct ruleset *rs)
{
    atomic_fetch_add_explicit(&rs->refs, 1, memory_order_relaxed);
    return rs;
}

void ruleset_unref(struct ruleset *rs)
{
    if (rs && atomic_fetch_sub_explicit(&rs->refs, 1, memory_order_acq_rel) == 1)
        ruleset_free(rs);
}

const struct suit_ruleset_id *ruleset_id(const struct ruleset *rs)
{
    return &rs->id;
}

const char *ruleset_dir(const struct ruleset *rs)
{
    return rs->dir;
}
