/*
 * config.c: see config.h.  Both sources go through config_set(), keyed by
 * the INI name, so a flag and its config-file line can never disagree on
 * syntax.  The file is read first and the flags applied after it, which is
 * how flags win; --listen given on the command line replaces the file's
 * whole list rather than adding to it.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>


struct load_state {
    struct config *c;
    bool socket_set, listen_set, listen_from_cli;
    char *err;
    size_t errlen;
    int line;            /* config file line, 0 for flags */
};

void config_usage(FILE *out)
{
    fprintf(out,
        "usage: suitd [serve] [OPTIONS]\n"
        "\n"
        "  --socket PATH          Unix socket (default /run/suitd/suitd.sock as root,\n"
        "                         else $XDG_RUNTIME_DIR/suitd.sock, else\n"
        "                         /tmp/suitd-UID.sock); 'none' disables\n"
        "  --listen HOST:PORT     TCP address, repeatable (default 127.0.0.1:7433);\n"
        "                         'none' disables TCP; port 0 picks a free port\n"
        "  --token-file FILE      shared token every TCP client sends with 'auth'\n"
        "                         first (required on non-loopback addresses)\n"
        "  --rules DIR            ruleset directory (default %s)\n"
        "  --policy FILE          policy override file\n"
        "  --workers N            worker threads (default: number of cores)\n"
        "  --config FILE          INI file, section [suitd]; flags win\n"
        "  --log-level LEVEL      debug, info, warn or error (default info)\n"
        "  --log-facts            allow patient facts in debug logs\n"
        "  --decision-log FILE    one JSON line per assessment\n"
        "  --max-connections N    (default 1024)\n"
        "  --max-message BYTES    largest request (default 1048576)\n"
        "  --max-inflight N       requests in flight per connection (default 64)\n"
        "  --max-queue N          requests queued overall (default 4096)\n"
        "  --idle-timeout SEC     close idle connections (default 300, 0 = never)\n"
        "  --request-timeout MS   deadline per request (default 5000)\n"
        "  --max-output BYTES     unsent reply bytes per connection (default 8 MiB)\n"
        "  --shutdown-timeout SEC drain deadline on SIGTERM (default 10)\n"
        "  --max-firings N        rule firings per assessment (default 10000)\n"
        "  --rule-deadline MS     engine time per assessment (default 1000)\n"
        "  --start-with-failing-cases\n"
        "                         start even if the ruleset's own test cases fail\n"
        "                         (logged as a warning; a reload still refuses)\n"
        "  --user NAME            drop to this user after binding; required when\n"
        "                         started as root (--user root or\n"
        "                         SUITD_ALLOW_ROOT=1 insists on staying root)\n"
        "  --help\n"
        "\n"
        "Signals: SIGHUP reloads the ruleset (after its own tests pass);\n"
        "SIGTERM and SIGINT drain and exit.\n",
        proto_default_rules_dir());
}

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

static int parse_uint(struct load_state *st, const char *key, const char *val,
                      uint64_t min, uint64_t max, uint64_t *out)
{
    if (!*val || *val == '-' || *val == '+')
        return fail(st, key, "expected a non-negative integer, got '%s'", val);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || *end)
        return fail(st, key, "expected a non-negative integer, got '%s'", val);
    if (v < min || v > max)
        return fail(st, key, "'%s' is out of range", val);
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

/* An optional path: an empty value clears it (back to "none"). */
static int set_opt_str(char **slot, const char *val)
{
    if (*val)
        return set_str(slot, val);
    free(*slot);
    *slot = NULL;
    return 0;
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

static int set_bool(struct load_state *st, const char *key, const char *val, bool *out)
{
    if (!val || !strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1") || !strcmp(val, "on"))
        *out = true;
    else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0") || !strcmp(val, "off"))
        *out = false;
    else
        return fail(st, key, "expected true or false, got '%s'", val);
    return 0;
}

/* Applies one setting; key uses underscores.  val is NULL only for the
 * boolean flags --log-facts and --start-with-failing-cases. */
static int config_set(struct load_state *st, const char *key, const char *val)
{
    struct config *c = st->c;
    uint64_t v = 0;
    if (!strcmp(key, "log_facts"))
        return set_bool(st, key, val, &c->log_facts);
    if (!strcmp(key, "start_with_failing_cases"))
        return set_bool(st, key, val, &c->start_with_failing_cases);
    if (!val)
        return fail(st, key, "%s", "needs a value");

    if (!strcmp(key, "socket")) {
        st->socket_set = true;
        if (!strcmp(val, "none") || !*val) {
            free(c->socket_path);
            c->socket_path = NULL;
            return 0;
        }
        return set_str(&c->socket_path, val);
    }
    if (!strcmp(key, "listen")) {
        if (!st->listen_set || (!st->line && !st->listen_from_cli))
            clear_listen(c);
        st->listen_set = true;
        if (!st->line)
            st->listen_from_cli = true;
        if (!strcmp(val, "none"))
            return 0;
        /* Comma-separated in the file; also accepted on the command line. */
        const char *p = val;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 4 && !strncmp(p, "none", 4))
                clear_listen(c);
            else if (add_listen(c, p, len) < 0)
                return fail(st, key, "%s", "out of memory");
            if (!comma)
                break;
            p = comma + 1;
        }
        return 0;
    }
    if (!strcmp(key, "rules"))
        return set_str(&c->rules_dir, val);
    if (!strcmp(key, "policy"))
        return set_opt_str(&c->policy_file, val);
    if (!strcmp(key, "decision_log"))
        return set_opt_str(&c->decision_log, val);
    if (!strcmp(key, "token_file"))
        return set_opt_str(&c->token_file, val);
    if (!strcmp(key, "user"))
        return set_opt_str(&c->user, val);
    if (!strcmp(key, "log_level")) {
        int l = log_level_parse(val);
        if (l < 0)
            return fail(st, key, "expected debug, info, warn or error, got '%s'", val);
        c->log_level = (enum log_level)l;
        return 0;
    }

    /* Numeric settings, each with the field it sets (exactly one of the
     * typed pointers); max keeps every value within its field. */
    const struct {
        const char *name;
        uint64_t min, max;
        unsigned *u;
        size_t *z;
        uint64_t *u64;
        uint32_t *u32;
    } nums[] = {
        {"workers", 1, 1024, .u = &c->workers},
        {"max_connections", 1, 1000000, .u = &c->max_connections},
        {"max_message", 64, (uint64_t)1 << 30, .z = &c->max_message},
        {"max_inflight", 1, 1000000, .u = &c->max_inflight},
        {"max_queue", 1, 10000000, .u = &c->max_queue},
        {"idle_timeout", 0, 86400 * 365, .u = &c->idle_timeout_s},
        {"request_timeout", 1, 3600 * 1000, .u = &c->request_timeout_ms},
        {"max_output", 1024, (uint64_t)1 << 34, .z = &c->max_output},
        {"shutdown_timeout", 0, 3600, .u = &c->shutdown_timeout_s},
        {"max_firings", 1, (uint64_t)1 << 40, .u64 = &c->engine.max_firings},
        {"rule_deadline", 1, 3600 * 1000, .u32 = &c->engine.deadline_ms},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(key, nums[i].name))
            continue;
        if (parse_uint(st, key, val, nums[i].min, nums[i].max, &v) < 0)
            return -1;
        if (nums[i].u)
            *nums[i].u = (unsigned)v;
        else if (nums[i].z)
            *nums[i].z = (size_t)v;
        else if (nums[i].u64)
            *nums[i].u64 = v;
        else
            *nums[i].u32 = (uint32_t)v;
        return 0;
    }
    return fail(st, key, "%s", "unknown setting");
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
    if (!strcmp(name, "config")) {
        fail(st, name, "%s", "cannot be set in a config file");
        return 0;
    }
    return config_set(st, name, value) == 0;
}

static void defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->log_level = LOG_LEVEL_INFO;
    c->max_connections = 1024;
    c->max_message = 1048576;
    c->max_inflight = 64;
    c->max_queue = 4096;
    c->idle_timeout_s = 300;
    c->request_timeout_ms = 5000;
    c->max_output = 8u * 1024u * 1024u;
    c->shutdown_timeout_s = 10;
    engine_limits_default(&c->engine);
}

static int default_socket(struct config *c)
{
    char buf[4096];
    if (proto_default_socket(buf, sizeof buf, getenv("XDG_RUNTIME_DIR"), geteuid()) < 0)
        return -1;
    return set_str(&c->socket_path, buf);
}

static bool known_key(const char *key)
{
    static const char *const keys[] = {
        "socket", "listen", "rules", "policy", "config", "workers", "log_level",
        "log_facts", "decision_log", "max_connections", "max_message", "max_inflight",
        "max_queue", "idle_timeout", "request_timeout", "max_output", "shutdown_timeout",
        "token_file", "max_firings", "rule_deadline", "user", "start_with_failing_cases",
        "help",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

/* Splits "--name=value" / "--name value"; returns the number of argv slots
 * used (1 or 2), or -1. */
static int split_flag(struct load_state *st, int argc, char **argv, int i,
                      char *key, size_t keylen, const char **val)
{
    const char *a = argv[i];
    if (strncmp(a, "--", 2) || !a[2]) {
        snprintf(st->err, st->errlen, "unexpected argument '%s' (see --help)", a);
        return -1;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    if (n >= keylen) {
        snprintf(st->err, st->errlen, "unknown option '%s' (see --help)", argv[i]);
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        key[k] = a[k] == '-' ? '_' : a[k];
    key[n] = '\0';
    if (!known_key(key)) {
        snprintf(st->err, st->errlen, "unknown option '%.*s' (see --help)", (int)(n + 2), argv[i]);
        return -1;
    }
    if (eq) {
        *val = eq + 1;
        return 1;
    }
    if (!strcmp(key, "log_facts") || !strcmp(key, "start_with_failing_cases") ||
        !strcmp(key, "help")) {
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
    char key[64];
    const char *val;

    /* Pass 1: --help and --config, so the file can be read before the
     * flags that override it. */
    for (int i = 0; i < argc;) {
        int used = split_flag(&st, argc, argv, i, key, sizeof key, &val);
        if (used < 0)
            goto fail;
        if (!strcmp(key, "help")) {
            config_usage(stdout);
            config_close(c);
            return 1;
        }
        if (!strcmp(key, "config") && (!val || set_str(&c->config_file, val) < 0)) {
            snprintf(err, errlen, "--config needs a file");
            goto fail;
        }
        i += used;
    }
    if (c->config_file) {
        err[0] = '\0';
        int rc = ini_parse(c->config_file, config_ini_line, &st);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot open config file: %s", c->config_file, strerror(errno));
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
        int used = split_flag(&st, argc, argv, i, key, sizeof key, &val);
        if (used < 0)
            goto fail;
        i += used;
        if (!strcmp(key, "config"))
            continue;
        if (config_set(&st, key, val) < 0) {
            if (strstr(err, "unknown setting"))
                snprintf(err, errlen, "unknown option '--%.60s' (see --help)", argv[i - used] + 2);
            goto fail;
        }
    }

    if (!st.socket_set && default_socket(c) < 0)
        goto oom;
    if (!st.listen_set && add_listen(c, "127.0.0.1:" CONFIG_DEFAULT_PORT,
                                     strlen("127.0.0.1:" CONFIG_DEFAULT_PORT)) < 0)
        goto oom;
    if (!c->rules_dir && set_str(&c->rules_dir, proto_default_rules_dir()) < 0)
        goto oom;
    if (!c->workers) {
        unsigned n = uv_available_parallelism();
        c->workers = n ? n : 1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    config_close(c);
    return -1;
}

void config_close(struct config *c)
{
    free(c->socket_path);
    clear_listen(c);
    free(c->rules_dir);
    free(c->policy_file);
    free(c->config_file);
    free(c->decision_log);
    free(c->token_file);
    free(c->user);
    memset(c, 0, sizeof *c);
}
