/*
 * config.c: see config.h.
 *
 * Every setting is one row of `settings` below (Redis's config table): its
 * name, type, range, default and help.  Parsing, the defaults, the check
 * for unknown names and `--help` are all derived from the table, so a
 * setting cannot be parsed but undocumented, or documented with another
 * default than the one it has.
 *
 * Both sources go through config_set(), keyed by the INI name, so a flag
 * and its config-file line can never disagree on syntax.  The file is read
 * first and the flags applied after it, which is how flags win; --listen
 * given on the command line replaces the file's whole list rather than
 * adding to it.
 */
#include "config.h"
#include "decision_log.h"
#include "proto_text.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define MIB (1024u * 1024u)
#define FIELD(f) offsetof(struct config, f)

static int default_socket(struct config *c);
static int default_listen(struct config *c);
static int default_rules(struct config *c);
static int default_workers(struct config *c);

static const struct config_setting settings[] = {
    {"socket", CONFIG_SOCKET, FIELD(socket_path), .arg = "PATH", .fill_default = default_socket,
     .default_text = "/run/suitd/suitd.sock as root, else $XDG_RUNTIME_DIR/suitd.sock, else "
                     "/tmp/suitd-UID/suitd.sock (a private directory, 0700, refused when it is not)",
     .help = "Unix socket; 'none' disables it"},
    {"listen", CONFIG_LISTEN, FIELD(listen), .arg = "HOST:PORT", .fill_default = default_listen,
     .default_text = PROTO_DEFAULT_TCP,
     .help = "TCP address, repeatable (comma-separated in a file); 'none' disables TCP; port "
             "0 picks a free port"},
    {"token_file", CONFIG_OPT_PATH, FIELD(token_file), .arg = "FILE",
     .help = "shared token every TCP client sends with 'auth' first (required on "
             "non-loopback addresses)"},
    /* default_text NULL: --help shows the folder proto_default_rules_dir
     * gives now ($SUITD_RULES, else the package's). */
    {"rules", CONFIG_PATH, FIELD(rules_dir), .arg = "DIR", .fill_default = default_rules,
     .help = "ruleset directory"},
    {"policy", CONFIG_OPT_PATH, FIELD(policy_file), .arg = "FILE",
     .help = "policy override file ([policy] name = number): the `default` policy's values"},
    {"policy_dir", CONFIG_OPT_PATH, FIELD(policy_dir), .arg = "DIR",
     .help = "named policies: every NAME.ini in DIR (the policy file format) is the policy "
             "NAME a request chooses with options.policy; DIR/default.ini is `default` (not "
             "with --policy)"},
    {"workers", CONFIG_UINT, FIELD(workers), 1, 1024, .arg = "N",
     .fill_default = default_workers, .default_text = "number of cores",
     .help = "worker threads, each with its own rule engine"},
    {"config", CONFIG_FILE, FIELD(config_file), .arg = "FILE",
     .help = "INI file, section [suitd], these names with '_' for '-'; flags win"},
    {"log_level", CONFIG_LOG_LEVEL, FIELD(log_level), .def = LOG_LEVEL_INFO, .arg = "LEVEL",
     .help = "debug, info, warn or error"},
    {"log_facts", CONFIG_BOOL, FIELD(log_facts), .def = 0,
     .help = "allow patient facts in debug logs"},
    {"decision_log", CONFIG_OPT_PATH, FIELD(decision_log), .arg = "FILE",
     .help = "one JSON line per assessment (no patient facts); SIGUSR1 reopens it"},
    {"decision_log_required", CONFIG_BOOL, FIELD(decision_log_required), .def = 0,
     .help = "answer an assessment only once its record is written; a decision that cannot "
             "be recorded (full disk, queue full) is answered with an error instead"},
    {"decision_log_queue", CONFIG_UINT, FIELD(decision_log_queue), 1, 10000000,
     DECISION_LOG_DEFAULT_QUEUE, .arg = "N",
     .help = "records waiting for the decision log's writer; beyond it a record is dropped "
             "(counted in stats decision_log.dropped; an error with --decision-log-required)"},
    {"max_connections", CONFIG_UINT, FIELD(max_connections), 1, 1000000, 1024, .arg = "N",
     .help = "simultaneous client connections; TCP clients beyond it are refused (the Unix "
             "socket has --unix-reserve more)"},
    /* The Unix socket's own slots: admin `reload` and `stats` must get
     * through whatever TCP clients do with the rest. */
    {"unix_reserve", CONFIG_UINT, FIELD(unix_reserve), 0, 100000, 16, .arg = "N",
     .help = "connections beyond --max-connections that only the Unix socket may use, so "
             "that TCP clients can never lock out reload and stats"},
    {"max_unauthenticated", CONFIG_UINT, FIELD(max_unauthenticated), 1, 1000000, 64,
     .arg = "N",
     .help = "connections on a token listener that have not yet sent the right token; "
             "more are refused"},
    {"auth_timeout", CONFIG_UINT, FIELD(auth_timeout_s), 0, 3600, 5, .arg = "SEC",
     .help = "a connection on a token listener that has not authenticated by then is "
             "closed (0 = never)"},
    {"max_input_memory", CONFIG_SIZE, FIELD(max_input_memory), 64 * 1024, (uint64_t)1 << 40,
     64 * MIB, .arg = "BYTES",
     .help = "bytes of unfinished requests held for all connections together; the "
             "connection that goes beyond it is closed"},
    {"max_output_memory", CONFIG_SIZE, FIELD(max_output_memory), 64 * 1024,
     (uint64_t)1 << 40, 128 * MIB, .arg = "BYTES",
     .help = "unsent reply bytes of all connections together; the connection that goes "
             "beyond it is closed as a slow reader"},
    {"max_message", CONFIG_SIZE, FIELD(max_message), 64, (uint64_t)1 << 30,
     PROTO_DEFAULT_MAX_MESSAGE, .arg = "BYTES", .help = "largest request"},
    {"max_inflight", CONFIG_UINT, FIELD(max_inflight), 1, 1000000, 64, .arg = "N",
     .help = "requests in flight per connection; beyond it suitd stops reading"},
    {"max_queue", CONFIG_UINT, FIELD(max_queue), 1, 10000000, 4096, .arg = "N",
     .help = "requests queued overall; beyond it `overloaded`"},
    {"idle_timeout", CONFIG_UINT, FIELD(idle_timeout_s), 0, 86400 * 365, 300, .arg = "SEC",
     .help = "close idle connections (0 = never)"},
    {"request_timeout", CONFIG_UINT, FIELD(request_timeout_ms), 1, 3600 * 1000, 5000,
     .arg = "MS", .help = "deadline per request"},
    {"max_output", CONFIG_SIZE, FIELD(max_output), 1024, (uint64_t)1 << 34, 8 * MIB,
     .arg = "BYTES", .help = "unsent reply bytes per connection; beyond it the connection "
                             "is closed"},
    {"shutdown_timeout", CONFIG_UINT, FIELD(shutdown_timeout_s), 0, 3600, 10, .arg = "SEC",
     .help = "drain deadline on SIGTERM"},
    /* Below suit reload's own wait in the packaged unit (120 s), so that
     * the daemon's answer, not the client's, says what happened. */
    {"reload_timeout", CONFIG_UINT, FIELD(reload_timeout_s), 1, 86400, 90, .arg = "SEC",
     .help = "a reload not finished by then is abandoned: its callers get `timeout` and the "
             "old ruleset keeps serving"},
    {"max_firings", CONFIG_U64, FIELD(engine.max_firings), 1, (uint64_t)1 << 40,
     ENGINE_DEFAULT_MAX_FIRINGS, .arg = "N", .help = "rule firings per assessment"},
    {"rule_deadline", CONFIG_U32, FIELD(engine.deadline_ms), 1, 3600 * 1000,
     ENGINE_DEFAULT_DEADLINE_MS, .arg = "MS", .help = "engine time per assessment"},
    {"policy_environments", CONFIG_UINT, FIELD(engine.max_environments), 1, 4096,
     ENGINE_DEFAULT_MAX_ENVIRONMENTS, .arg = "N",
     .help = "CLIPS environments per worker, one per policy in use (about 2 MiB each); a "
             "request for a policy beyond them resets the least recently used one (about "
             "0.1 ms)"},
    {"start_with_failing_cases", CONFIG_BOOL, FIELD(start_with_failing_cases), .def = 0,
     .help = "start even if the ruleset's own test cases fail (logged as a warning; a reload "
             "still refuses)"},
    {"user", CONFIG_OPT_PATH, FIELD(user), .arg = "NAME",
     .help = "drop to this user after binding; required when started as root (--user root "
             "or SUITD_ALLOW_ROOT=1 insists on staying root)"},
    {"help", CONFIG_HELP, 0, .help = "print this and exit"},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

const struct config_setting *config_settings(size_t *n)
{
    *n = N_SETTINGS;
    return settings;
}

static const struct config_setting *find(const char *name)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (!strcmp(settings[i].name, name))
            return &settings[i];
    return NULL;
}

static bool is_flag(const struct config_setting *s)
{
    return s->type == CONFIG_BOOL || s->type == CONFIG_HELP;
}

/* ---- --help ----------------------------------------------------------- */

int config_default_text(const struct config_setting *s, char *buf, size_t n)
{
    if (s->default_text)
        return snprintf(buf, n, "%s", s->default_text);
    if (s->fill_default == default_rules)
        return snprintf(buf, n, "%s", proto_default_rules_dir());
    switch (s->type) {
    case CONFIG_UINT:
    case CONFIG_U32:
    case CONFIG_U64:
        return snprintf(buf, n, "%llu", (unsigned long long)s->def);
    case CONFIG_SIZE:
        if (s->def >= MIB && s->def % MIB == 0)
            return snprintf(buf, n, "%llu MiB", (unsigned long long)(s->def / MIB));
        return snprintf(buf, n, "%llu", (unsigned long long)s->def);
    case CONFIG_BOOL:
        return snprintf(buf, n, "%s", s->def ? "true" : "false");
    case CONFIG_LOG_LEVEL:
        return snprintf(buf, n, "%s", log_level_name((enum log_level)s->def));
    default:
        buf[0] = '\0';
        return 0;
    }
}

#define USAGE_WIDTH 79
#define USAGE_INDENT 25

void config_usage(FILE *out)
{
    fprintf(out, "usage: suitd [serve] [OPTIONS]\n\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct config_setting *s = &settings[i];
        char flag[64], dflt[160], text[600];
        snprintf(flag, sizeof flag, "--%s%s%s", s->name, s->arg ? " " : "", s->arg ? s->arg : "");
        for (char *c = flag; *c && *c != ' '; c++)
            if (*c == '_')
                *c = '-';
        config_default_text(s, dflt, sizeof dflt);
        if (dflt[0] && s->type != CONFIG_BOOL)
            snprintf(text, sizeof text, "%s (default %s)", s->help, dflt);
        else
            snprintf(text, sizeof text, "%s", s->help);
        /* The text starts at USAGE_INDENT, on the next line after a flag
         * too long to leave room for it. */
        if (fprintf(out, "  %-*s", USAGE_INDENT - 3, flag) > USAGE_INDENT - 1)
            fprintf(out, "\n%*s", USAGE_INDENT, "");
        else
            fputc(' ', out);
        proto_text_wrap(out, text, USAGE_INDENT, USAGE_INDENT, USAGE_WIDTH);
    }
    fprintf(out,
        "\n"
        "Every option but --config and --help can also be set in the --config file.\n"
        "Signals: SIGHUP reloads the ruleset (after its own tests pass);\n"
        "SIGTERM and SIGINT drain and exit.\n");
}

/* ---- parsing ---------------------------------------------------------- */

struct load_state {
    struct config *c;
    bool set[N_SETTINGS];       /* given in the file or as a flag */
    bool listen_from_cli;
    char *err;
    size_t errlen;
    int line;                   /* config file line, 0 for flags */
};

static int fail(struct load_state *st, const char *key, const char *fmt, const char *val)
{
    char what[256];
    snprintf(what, sizeof what, fmt, val);
    if (st->line) {
        /* inih reports the line of the first error after the parse; keep
         * the first message only. */
        if (!st->err[0])
            snprintf(st->err, st->errlen, "%s: %s", key, what);
        return -1;
    }
    snprintf(st->err, st->errlen, "--%s: %s", key, what);
    for (char *p = st->err; *p && *p != ':'; p++)
        if (*p == '_')
            *p = '-';
    return -1;
}

static void *field(struct config *c, const struct config_setting *s)
{
    return (char *)c + s->offset;
}

static int parse_uint(struct load_state *st, const struct config_setting *s, const char *val,
                      uint64_t *out)
{
    if (!*val || *val == '-' || *val == '+')
        return fail(st, s->name, "expected a non-negative integer, got '%s'", val);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || *end)
        return fail(st, s->name, "expected a non-negative integer, got '%s'", val);
    if (v < s->min || v > s->max)
        return fail(st, s->name, "'%s' is out of range", val);
    *out = v;
    return 0;
}

static int set_str(char **slot, const char *val)
{
    char *s = strdup(val);
    if (!s)
        return -1;
    free(*slot);
    *slot = s;
    return 0;
}

static void clear_str(char **slot)
{
    free(*slot);
    *slot = NULL;
}

static void clear_listen(struct config *c)
{
    for (size_t i = 0; i < c->n_listen; i++)
        free(c->listen[i]);
    free(c->listen);
    c->listen = NULL;
    c->n_listen = 0;
}

static int add_listen(struct config *c, const char *val, size_t len)
{
    while (len && (*val == ' ' || *val == '\t'))
        val++, len--;
    while (len && (val[len - 1] == ' ' || val[len - 1] == '\t'))
        len--;
    if (!len)
        return 0;
    char **n = realloc(c->listen, (c->n_listen + 1) * sizeof *n);
    if (!n)
        return -1;
    c->listen = n;
    if (!(n[c->n_listen] = strndup(val, len)))
        return -1;
    c->n_listen++;
    return 0;
}

static int set_listen(struct load_state *st, const struct config_setting *s, const char *val)
{
    struct config *c = st->c;
    /* The first --listen flag replaces what the file said; later flags
     * and later lines of the file add to the list. */
    if (!st->set[s - settings] || (!st->line && !st->listen_from_cli))
        clear_listen(c);
    if (!st->line)
        st->listen_from_cli = true;
    if (!strcmp(val, "none"))
        return 0;
    for (const char *p = val;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 4 && !strncmp(p, "none", 4))
            clear_listen(c);
        else if (add_listen(c, p, len) < 0)
            return fail(st, s->name, "%s", "out of memory");
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int set_bool(struct load_state *st, const struct config_setting *s, const char *val)
{
    bool *out = field(st->c, s);
    if (!val || !strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1") ||
        !strcmp(val, "on"))
        *out = true;
    else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0") ||
             !strcmp(val, "off"))
        *out = false;
    else
        return fail(st, s->name, "expected true or false, got '%s'", val);
    return 0;
}

/* Applies one setting.  val is NULL only for a flag given without a value
 * (--log-facts). */
static int config_set(struct load_state *st, const struct config_setting *s, const char *val)
{
    struct config *c = st->c;
    int rc = 0;
    uint64_t v = 0;
    if (s->type == CONFIG_BOOL) {
        rc = set_bool(st, s, val);
        goto done;
    }
    if (!val)
        return fail(st, s->name, "%s", "needs a value");
    switch (s->type) {
    case CONFIG_SOCKET:
        if (!strcmp(val, "none") || !*val)
            clear_str(field(c, s));
        else if (set_str(field(c, s), val) < 0)
            rc = fail(st, s->name, "%s", "out of memory");
        break;
    case CONFIG_LISTEN:
        rc = set_listen(st, s, val);
        break;
    case CONFIG_PATH:
        if (set_str(field(c, s), val) < 0)
            rc = fail(st, s->name, "%s", "out of memory");
        break;
    case CONFIG_OPT_PATH:
        /* An empty value clears it (back to "none"). */
        if (!*val)
            clear_str(field(c, s));
        else if (set_str(field(c, s), val) < 0)
            rc = fail(st, s->name, "%s", "out of memory");
        break;
    case CONFIG_LOG_LEVEL: {
        int l = log_level_parse(val);
        if (l < 0)
            return fail(st, s->name, "expected debug, info, warn or error, got '%s'", val);
        *(enum log_level *)field(c, s) = (enum log_level)l;
        break;
    }
    case CONFIG_UINT:
    case CONFIG_SIZE:
    case CONFIG_U64:
    case CONFIG_U32:
        /* max keeps every value within its field's type. */
        if (parse_uint(st, s, val, &v) < 0)
            return -1;
        if (s->type == CONFIG_UINT)
            *(unsigned *)field(c, s) = (unsigned)v;
        else if (s->type == CONFIG_SIZE)
            *(size_t *)field(c, s) = (size_t)v;
        else if (s->type == CONFIG_U64)
            *(uint64_t *)field(c, s) = v;
        else
            *(uint32_t *)field(c, s) = (uint32_t)v;
        break;
    case CONFIG_FILE:
    case CONFIG_HELP:
    case CONFIG_BOOL:
        /* Handled by config_load before any setting is applied. */
        break;
    }
done:
    if (rc == 0)
        st->set[s - settings] = true;
    return rc;
}

static int config_ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct load_state *st = user;
    st->line = 1;
    if (strcmp(section, "suitd")) {
        if (!st->err[0])
            snprintf(st->err, st->errlen, "unknown section [%s] (settings go in [suitd])", section);
        return 0;
    }
    const struct config_setting *s = find(name);
    if (!s) {
        fail(st, name, "%s", "unknown setting");
        return 0;
    }
    if (s->type == CONFIG_FILE || s->type == CONFIG_HELP) {
        fail(st, name, "%s", "cannot be set in a config file");
        return 0;
    }
    return config_set(st, s, value) == 0;
}

/* Every row's built-in default; the computed ones (fill_default) come
 * after parsing, for the settings nobody gave. */
static void defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct config_setting *s = &settings[i];
        if (s->fill_default)
            continue;
        switch (s->type) {
        case CONFIG_UINT:
            *(unsigned *)field(c, s) = (unsigned)s->def;
            break;
        case CONFIG_SIZE:
            *(size_t *)field(c, s) = (size_t)s->def;
            break;
        case CONFIG_U64:
            *(uint64_t *)field(c, s) = s->def;
            break;
        case CONFIG_U32:
            *(uint32_t *)field(c, s) = (uint32_t)s->def;
            break;
        case CONFIG_BOOL:
            *(bool *)field(c, s) = s->def != 0;
            break;
        case CONFIG_LOG_LEVEL:
            *(enum log_level *)field(c, s) = (enum log_level)s->def;
            break;
        default:
            break;      /* strings start as NULL */
        }
    }
}

static int default_socket(struct config *c)
{
    char buf[4096];
    if (proto_default_socket(buf, sizeof buf, getenv("XDG_RUNTIME_DIR"), geteuid()) < 0)
        return -1;
    return set_str(&c->socket_path, buf);
}

static int default_listen(struct config *c)
{
    return add_listen(c, PROTO_DEFAULT_TCP, strlen(PROTO_DEFAULT_TCP));
}

static int default_rules(struct config *c)
{
    return set_str(&c->rules_dir, proto_default_rules_dir());
}

static int default_workers(struct config *c)
{
    unsigned n = uv_available_parallelism();
    c->workers = n ? n : 1;
    return 0;
}

/* Splits "--name=value" / "--name value"; returns the number of argv slots
 * used (1 or 2), or -1. */
static int split_flag(struct load_state *st, int argc, char **argv, int i,
                      const struct config_setting **sp, const char **val)
{
    const char *a = argv[i];
    if (strncmp(a, "--", 2) || !a[2]) {
        snprintf(st->err, st->errlen, "unexpected argument '%s' (see --help)", a);
        return -1;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    char key[64];
    const struct config_setting *s = NULL;
    if (n < sizeof key) {
        for (size_t k = 0; k < n; k++)
            key[k] = a[k] == '-' ? '_' : a[k];
        key[n] = '\0';
        s = find(key);
    }
    if (!s) {
        snprintf(st->err, st->errlen, "unknown option '%.*s' (see --help)",
                 (int)(n < 60 ? n + 2 : 62), argv[i]);
        return -1;
    }
    *sp = s;
    if (eq) {
        *val = eq + 1;
        return 1;
    }
    if (is_flag(s)) {
        *val = NULL;
        return 1;
    }
    if (i + 1 >= argc) {
        snprintf(st->err, st->errlen, "option '%s' needs a value", argv[i]);
        return -1;
    }
    *val = argv[i + 1];
    return 2;
}

int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    defaults(c);
    struct load_state st = {.c = c, .err = err, .errlen = errlen};
    const struct config_setting *s;
    const char *val;

    /* Pass 1: --help and --config, so the file can be read before the
     * flags that override it. */
    for (int i = 0; i < argc;) {
        int used = split_flag(&st, argc, argv, i, &s, &val);
        if (used < 0)
            goto fail;
        if (s->type == CONFIG_HELP) {
            config_usage(stdout);
            config_close(c);
            return 1;
        }
        if (s->type == CONFIG_FILE && (!val || set_str(field(c, s), val) < 0)) {
            snprintf(err, errlen, "--config needs a file");
            goto fail;
        }
        i += used;
    }
    if (c->config_file) {
        err[0] = '\0';
        int rc = ini_parse(c->config_file, config_ini_line, &st);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot open config file: %s", c->config_file,
                     strerror(errno));
            goto fail;
        }
        if (rc > 0) {
            char what[512];
            snprintf(what, sizeof what, "%s", err[0] ? err : "syntax error");
            snprintf(err, errlen, "%s:%d: %s", c->config_file, rc, what);
            goto fail;
        }
        st.line = 0;
    }
    for (int i = 0; i < argc;) {
        int used = split_flag(&st, argc, argv, i, &s, &val);
        if (used < 0)
            goto fail;
        i += used;
        if (s->type != CONFIG_FILE && config_set(&st, s, val) < 0)
            goto fail;
    }

    for (size_t i = 0; i < N_SETTINGS; i++)
        if (settings[i].fill_default && !st.set[i] && settings[i].fill_default(c) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    return 0;
fail:
    config_close(c);
    return -1;
}

void config_close(struct config *c)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct config_setting *s = &settings[i];
        if (s->type == CONFIG_SOCKET || s->type == CONFIG_PATH || s->type == CONFIG_OPT_PATH ||
            s->type == CONFIG_FILE)
            clear_str(field(c, s));
    }
    clear_listen(c);
    memset(c, 0, sizeof *c);
}
