/*
 * httpd_config.c: see httpd_config.h.  Defaults, the file and the flags
 * all go through httpd_config_set(), keyed by the INI name, so a default,
 * a flag and a config-file line can never disagree on syntax.  The file is
 * read first and the flags applied after it, which is how flags win; a
 * list setting given on the command line replaces the file's whole list
 * rather than adding to it (as suitd's --listen does).
 */
#include "httpd_config.h"

#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cds_fhir.h"
#include "proto.h"
#include "proto_term.h"
#include "proto_text.h"

enum hc_type {
    HC_STR,         /* a string that must be set */
    HC_OPT_STR,     /* a string or nothing ("" or none clears it) */
    HC_LIST,        /* repeatable; comma-separated in the file */
    HC_UINT,        /* unsigned, within [min, max] */
    HC_U64,         /* uint64_t, within [min, max] (sizes in bytes) */
    HC_BOOL,
    HC_AUTO_BOOL,   /* true, false or auto (HTTPD_UI_AUTO); an int */
    HC_LEVEL,       /* debug, info, warn, error */
    HC_ACTION,      /* --config, --help, --version: no field */
};

struct hc_setting {
    const char *name;       /* INI key; the flag is --name with '-' for '_' */
    enum hc_type type;
    uint64_t min, max;
    const char *def;        /* the default, as a file would spell it; NULL: none
                             * or computed (said in help) */
    const char *arg;        /* what --help shows after the flag */
    const char *help;
    size_t off;             /* the field in struct httpd_config */
    size_t count_off;       /* HC_LIST: its size_t count */
};

/* The last two members of a row: the field, and a list's count. */
#define HC_FIELD(f) offsetof(struct httpd_config, f), 0
#define HC_LIST_FIELD(f) offsetof(struct httpd_config, f), offsetof(struct httpd_config, n_##f)

/* The settings.  Timeouts are whole seconds for what a person tunes per
 * connection and milliseconds for the calls to suitd, matching suitd's own
 * request_timeout (ms) and idle_timeout (s). */
static const struct hc_setting hc_table[] = {
    {"suitd", HC_STR, 0, 0, NULL, "ADDR",
     "suitd's address: unix:/path, /path, tcp:HOST:PORT or HOST:PORT (default: suitd's "
     "default socket, found as suit finds it)", HC_FIELD(suitd)},
    {"suitd_token_file", HC_OPT_STR, 0, 0, NULL, "FILE",
     "token sent with auth to a suitd reached over TCP that has a token", HC_FIELD(suitd_token_file)},
    {"listen", HC_STR, 0, 0, HTTPD_DEFAULT_LISTEN, "HOST:PORT",
     "where to serve HTTP: an IP address and a port ([::1]:PORT for IPv6, :PORT for every "
     "IPv4 address; port 0 picks a free one)", HC_FIELD(listen)},
    {"token_file", HC_OPT_STR, 0, 0, NULL, "FILE",
     "bearer token every /v1/ request must send (Authorization: Bearer TOKEN); required "
     "when listen is not a loopback address", HC_FIELD(token_file)},
    {"cors_origin", HC_LIST, 0, 0, NULL, "ORIGIN",
     "a browser origin (scheme://host[:port]) allowed to call the API; repeatable, no "
     "wildcard (default: none)", HC_LIST_FIELD(cors_origins)},
    {"open_health_metrics", HC_BOOL, 0, 0, "false", "BOOL",
     "answer /healthz, /readyz and /metrics without a token to any client, not only to "
     "loopback ones", HC_FIELD(open_health_metrics)},
    {"threads", HC_UINT, 1, 256, NULL, "N",
     "HTTP worker threads, each with one connection to suitd (default: 4 per core, at "
     "least 4)", HC_FIELD(threads)},
    {"max_body", HC_U64, 64, (uint64_t)64 << 20, "1048576", "BYTES",
     "largest request body (413 beyond it)", HC_FIELD(max_body)},
    {"max_header_size", HC_U64, 2048, (uint64_t)1 << 20, "16384", "BYTES",
     "room per connection for the request line and headers (431 beyond it)",
     HC_FIELD(max_header_size)},
    {"max_connections", HC_UINT, 1, 100000, "1024", "N",
     "connections open at once; more are closed at once", HC_FIELD(max_connections)},
    {"max_connections_per_ip", HC_UINT, 0, 100000, "256", "N",
     "connections open at once from one IP address (0: no limit); more are closed at once",
     HC_FIELD(max_connections_per_ip)},
    {"request_timeout", HC_UINT, 1, 3600, "30", "SEC",
     "a request must be read and answered within this, from its request line",
     HC_FIELD(request_timeout_s)},
    {"idle_timeout", HC_UINT, 1, 86400, "60", "SEC",
     "close a connection that waits this long for its next request", HC_FIELD(idle_timeout_s)},
    {"suitd_timeout", HC_UINT, 100, 3600 * 1000, "10000", "MS",
     "wait this long for suitd's answer (504 after it)", HC_FIELD(suitd_timeout_ms)},
    {"connect_timeout", HC_UINT, 10, 60000, "1000", "MS",
     "connecting to suitd (503 after it)", HC_FIELD(connect_timeout_ms)},
    {"retry_after", HC_UINT, 1, 3600, "1", "SEC",
     "the Retry-After of a 503 (suitd overloaded or unreachable)", HC_FIELD(retry_after_s)},
    {"shutdown_timeout", HC_UINT, 0, 3600, "10", "SEC",
     "on SIGTERM, time for requests in flight to finish", HC_FIELD(shutdown_timeout_s)},
    {"ui", HC_AUTO_BOOL, 0, 0, "auto", "BOOL",
     "serve the consultation page at / (its files under /ui/): true, false or auto, which "
     "is on only when listen is a loopback address", HC_FIELD(ui)},
    {"ui_dir", HC_STR, 0, 0, SUITD_DEFAULT_UI_DIR, "DIR",
     "the folder of the page's files (index.html and its assets), read once at start",
     HC_FIELD(ui_dir)},
    {"public_url", HC_OPT_STR, 0, 0, NULL, "URL",
     "the gateway's base URL as CDS Hooks clients call it (https://cds.example.org, no "
     "trailing slash): a CDS client's JWT must have aud = this URL + the endpoint's path; "
     "without it every CDS Hooks call is refused (401)", HC_FIELD(public_url)},
    {"cds_hooks", HC_LIST, 0, 0, "order-select,order-sign", "HOOK",
     "a CDS hook the service is offered on: order-select, order-sign, appointment-book "
     "(an appointment whose serviceType is micro-needling), patient-view (a card only when "
     "a draft or active micro-needling order is on the chart); repeatable",
     HC_LIST_FIELD(cds_hooks)},
    {"cds_jwks", HC_LIST, 0, 0, NULL, "ISSUER=FILE",
     "a CDS client allowed to call: its iss and the file of its JWK Set (public keys); "
     "repeatable, nothing is fetched (default: none)", HC_LIST_FIELD(cds_jwks)},
    {"cds_algorithm", HC_LIST, 0, 0, "ES384,RS384", "ALG",
     "a JWS algorithm CDS clients may sign with; repeatable; only ES256/384/512, "
     "RS256/384/512 and PS256/384/512 (never none or HS*)", HC_LIST_FIELD(cds_algorithms)},
    {"cds_clock_skew", HC_UINT, 0, 60, "60", "SEC",
     "clock skew allowed on a JWT's exp, iat and nbf", HC_FIELD(cds_clock_skew_s)},
    {"cds_jti_cache", HC_UINT, 1, 1000000, "10000", "N",
     "JWT ids remembered until their exp against replay; a call beyond it is refused (401)",
     HC_FIELD(cds_jti_cache)},
    {"cds_terminology", HC_STR, 0, 0, NULL, "FILE",
     "the ruleset's terminology map, FHIR codes to terms (default: terminology.tsv in the "
     "ruleset folder: $SUITD_RULES, else the package's)", HC_FIELD(cds_terminology)},
    {"cds_terminology_site", HC_OPT_STR, 0, 0, NULL, "FILE",
     "the clinic's own codes, in the same format, added to the map", HC_FIELD(cds_terminology_site)},
    {"cds_order_code", HC_LIST, 0, 0, NULL, "SYSTEM|CODE",
     "a ServiceRequest code (or Appointment serviceType) that means micro-needling; "
     "repeatable (default: none; an order "
     "whose text or display says microneedling, micro-needling or collagen induction counts "
     "anyway)", HC_LIST_FIELD(cds_order_codes)},
    {"cds_fitzpatrick_code", HC_LIST, 0, 0, NULL, "SYSTEM|CODE",
     "an Observation code that means a Fitzpatrick skin type; repeatable (default: none; NCIt "
     "values C74569 to C74574, or a code text naming Fitzpatrick with a value 1 to 6, count "
     "anyway)", HC_LIST_FIELD(cds_fitzpatrick_codes)},
    {"cds_override_reason", HC_LIST, 0, 0,
     "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|cds-not-applicable|"
     "Not applicable to this patient,"
     "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|cds-suboptimal-context|"
     "Shown at the wrong point in the workflow,"
     "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|recipient-disagrees-evidence|"
     "Disagree with the evidence,"
     "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|recipient-concerns-outcomes|"
     "Concerned about the outcomes,"
     "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|does-not-align-preferences|"
     "Does not fit the patient's preferences,"
     "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|not-convenient-feasible|"
     "Not convenient or feasible,"
     "urn:suitd:override-reason|physician-assessment-done|Physician assessment done",
     "SYSTEM|CODE|DISPLAY",
     "an override reason cards offer; repeatable (default: the CDS Hooks 3.0 ballot's six "
     "non-adherence codes and physician-assessment-done)", HC_LIST_FIELD(cds_override_reasons)},
    {"cds_status_max_age", HC_UINT, 0, 3650, "30", "DAYS",
     "a pregnancy or breastfeeding status older than this on the treatment date counts as "
     "missing", HC_FIELD(cds_status_max_age_days)},
    {"log_level", HC_LEVEL, 0, 0, "info", "LEVEL", "debug, info, warn or error",
     HC_FIELD(log_level)},
    {"config", HC_ACTION, 0, 0, NULL, "FILE", "INI file, section [suit-httpd]; flags win", 0, 0},
    {"version", HC_ACTION, 0, 0, NULL, NULL, "print the version and exit", 0, 0},
    {"help", HC_ACTION, 0, 0, NULL, NULL, "this text", 0, 0},
};
#define HC_N (sizeof hc_table / sizeof hc_table[0])

struct hc_state {
    struct httpd_config *c;
    bool list_from_file[HC_N], list_from_cli[HC_N];
    char *err;
    size_t errlen;
    bool in_file;
};

const char *const *httpd_config_names(void)
{
    static const char *names[HC_N + 1];
    for (size_t i = 0; i < HC_N; i++)
        names[i] = hc_table[i].name;
    names[HC_N] = NULL;
    return names;
}

/* ---- --help --------------------------------------------------------- */

/* Prints text wrapped to 79 columns, every line indented by `indent`
 * except the first, which starts at column `col`. */

void httpd_config_usage(FILE *out)
{
    fprintf(out, "usage: suit-httpd [OPTIONS]\n"
                 "\n"
                 "The HTTP/JSON gateway to suitd: POST /v1/assess, GET /v1/ruleset, GET /v1/ping,\n"
                 "GET /healthz, GET /readyz, GET /metrics, the consultation page at GET /\n"
                 "(--ui), and the CDS Hooks service at /cds-services (--public-url, --cds-jwks).\n"
                 "Every option can also be set in the config file as name = value (underscores\n"
                 "for dashes).\n\n");
    for (size_t i = 0; i < HC_N; i++) {
        const struct hc_setting *s = &hc_table[i];
        char flag[64];
        int n = snprintf(flag, sizeof flag, "  --");
        for (const char *k = s->name; *k && n < (int)sizeof flag - 1; k++)
            flag[n++] = *k == '_' ? '-' : *k;
        flag[n] = '\0';
        if (s->arg)
            snprintf(flag + n, sizeof flag - (size_t)n, " %s", s->arg);
        fputs(flag, out);
        int col = (int)strlen(flag);
        char help[512];
        if (s->def && s->type != HC_BOOL)
            snprintf(help, sizeof help, "%s (default %s)", s->help, s->def);
        else
            snprintf(help, sizeof help, "%s", s->help);
        if (col < 28)
            fprintf(out, "%*s", 28 - col, "");
        else
            fprintf(out, "\n%28s", "");
        col = 28;
        proto_text_wrap(out, help, col, 28, 79);
    }
    fprintf(out, "\nSignals: SIGTERM and SIGINT stop accepting, let requests in flight finish\n"
                 "(within --shutdown-timeout) and exit.\n");
}

/* ---- setting values -------------------------------------------------- */

static int hc_fail(struct hc_state *st, const char *key, const char *fmt, const char *val)
{
    char what[512];
    snprintf(what, sizeof what, fmt, val);
    if (st->err[0])
        return -1;      /* keep the first message */
    if (st->in_file) {
        snprintf(st->err, st->errlen, "%s: %s", key, what);
        return -1;
    }
    char flag[64];
    size_t n = 0;
    for (; key[n] && n < sizeof flag - 1; n++)
        flag[n] = key[n] == '_' ? '-' : key[n];
    flag[n] = '\0';
    snprintf(st->err, st->errlen, "--%s: %s", flag, what);
    return -1;
}

static const struct hc_setting *hc_find(const char *key)
{
    for (size_t i = 0; i < HC_N; i++)
        if (!strcmp(hc_table[i].name, key))
            return &hc_table[i];
    return NULL;
}

static int hc_set_str(char **slot, const char *val)
{
    char *s = strdup(val);
    if (!s)
        return -1;
    free(*slot);
    *slot = s;
    return 0;
}

static void hc_clear_list(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

static int hc_list_add(char ***list, size_t *n, const char *val, size_t len)
{
    while (len && isspace((unsigned char)*val))
        val++, len--;
    while (len && isspace((unsigned char)val[len - 1]))
        len--;
    if (!len)
        return 0;
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    *list = grown;
    if (!(grown[*n] = strndup(val, len)))
        return -1;
    (*n)++;
    return 0;
}

static int hc_parse_u64(struct hc_state *st, const struct hc_setting *s, const char *val,
                        uint64_t *out)
{
    if (!*val || *val == '-' || *val == '+' || isspace((unsigned char)*val))
        return hc_fail(st, s->name, "expected a non-negative integer, got '%s'", val);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(val, &end, 10);
    if (errno || *end)
        return hc_fail(st, s->name, "expected a non-negative integer, got '%s'", val);
    if (v < s->min || v > s->max) {
        char range[128];
        snprintf(range, sizeof range, "'%%s' is out of range (%llu to %llu)",
                 (unsigned long long)s->min, (unsigned long long)s->max);
        return hc_fail(st, s->name, range, val);
    }
    *out = v;
    return 0;
}

/* true/yes/1/on or false/no/0/off, any case.  Returns 0 or -1. */
static int hc_bool_word(const char *val, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1", "on"}, *const no[] = {"false", "no", "0", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(val, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(val, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int hc_parse_bool(struct hc_state *st, const char *key, const char *val, bool *out)
{
    if (hc_bool_word(val, out) == 0)
        return 0;
    return hc_fail(st, key, "expected true or false, got '%s'", val);
}

/* Applies one setting (key with underscores).  val is NULL only for a
 * boolean flag given without a value. */
static int httpd_config_set(struct hc_state *st, const struct hc_setting *s, const char *val)
{
    struct httpd_config *c = st->c;
    char *field = (char *)c + s->off;
    size_t idx = (size_t)(s - hc_table);
    if (s->type == HC_BOOL && !val) {
        *(bool *)field = true;
        return 0;
    }
    if (s->type == HC_AUTO_BOOL && !val) {
        *(int *)field = 1;
        return 0;
    }
    if (!val)
        return hc_fail(st, s->name, "%s", "needs a value");
    uint64_t v;
    switch (s->type) {
    case HC_STR:
        if (!*val)
            return hc_fail(st, s->name, "%s", "needs a value");
        return hc_set_str((char **)field, val) < 0 ? hc_fail(st, s->name, "%s", "out of memory") : 0;
    case HC_OPT_STR:
        if (!*val || !strcmp(val, "none")) {
            free(*(char **)field);
            *(char **)field = NULL;
            return 0;
        }
        return hc_set_str((char **)field, val) < 0 ? hc_fail(st, s->name, "%s", "out of memory") : 0;
    case HC_LIST: {
        char ***list = (char ***)field;
        size_t *n = (size_t *)((char *)c + s->count_off);
        /* The first line in the file replaces the default; the first flag
         * replaces the file's list. */
        if (st->in_file ? !st->list_from_file[idx] : !st->list_from_cli[idx])
            hc_clear_list(list, n);
        (st->in_file ? st->list_from_file : st->list_from_cli)[idx] = true;
        for (const char *p = val;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 4 && !strncmp(p, "none", 4))
                hc_clear_list(list, n);
            else if (hc_list_add(list, n, p, len) < 0)
                return hc_fail(st, s->name, "%s", "out of memory");
            if (!comma)
                return 0;
            p = comma + 1;
        }
    }
    case HC_UINT:
        if (hc_parse_u64(st, s, val, &v) < 0)
            return -1;
        *(unsigned *)field = (unsigned)v;
        return 0;
    case HC_U64:
        if (hc_parse_u64(st, s, val, &v) < 0)
            return -1;
        *(uint64_t *)field = v;
        return 0;
    case HC_BOOL:
        return hc_parse_bool(st, s->name, val, (bool *)field);
    case HC_AUTO_BOOL: {
        bool b;
        if (!strcasecmp(val, "auto"))
            *(int *)field = HTTPD_UI_AUTO;
        else if (hc_bool_word(val, &b) == 0)
            *(int *)field = b;
        else
            return hc_fail(st, s->name, "expected true, false or auto, got '%s'", val);
        return 0;
    }
    case HC_LEVEL: {
        int l = httpd_log_level_parse(val);
        if (l < 0)
            return hc_fail(st, s->name, "expected debug, info, warn or error, got '%s'", val);
        *(enum httpd_log_level *)field = (enum httpd_log_level)l;
        return 0;
    }
    case HC_ACTION:
        break;
    }
    return hc_fail(st, s->name, "%s", "cannot be set here");
}

static int hc_ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct hc_state *st = user;
    if (strcmp(section, "suit-httpd")) {
        if (!st->err[0])
            snprintf(st->err, st->errlen,
                     "unknown section [%s] (settings go in [suit-httpd])", section);
        return 0;
    }
    const struct hc_setting *s = hc_find(name);
    if (!s) {
        hc_fail(st, name, "%s", "unknown setting");
        return 0;
    }
    if (s->type == HC_ACTION) {
        hc_fail(st, name, "%s", "cannot be set in a config file");
        return 0;
    }
    return httpd_config_set(st, s, value) == 0;
}

/* ---- flags ------------------------------------------------------------ */

/* Splits "--name=value" / "--name value"; *s is the setting.  Returns the
 * number of argv slots used (1 or 2), or -1. */
static int hc_split_flag(struct hc_state *st, int argc, char **argv, int i,
                         const struct hc_setting **s, const char **val)
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
    if (n >= sizeof key) {
        snprintf(st->err, st->errlen, "unknown option '%.80s' (see --help)", argv[i]);
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        key[k] = a[k] == '-' ? '_' : a[k];
    key[n] = '\0';
    if (!(*s = hc_find(key))) {
        snprintf(st->err, st->errlen, "unknown option '--%.*s' (see --help)", (int)n, a);
        return -1;
    }
    if (eq) {
        *val = eq + 1;
        return 1;
    }
    if ((*s)->type == HC_BOOL || (*s)->type == HC_AUTO_BOOL || (*s)->type == HC_ACTION) {
        if ((*s)->type == HC_ACTION && !strcmp(key, "config"))
            goto need_value;
        *val = NULL;
        return 1;
    }
need_value:
    if (i + 1 >= argc) {
        snprintf(st->err, st->errlen, "option '%s' needs a value", argv[i]);
        return -1;
    }
    *val = argv[i + 1];
    return 2;
}

/* ---- checks across settings ------------------------------------------- */

/* An origin as browsers send it: scheme://host[:port], nothing after. */
static bool hc_origin_ok(const char *o)
{
    const char *host;
    if (!strncasecmp(o, "https://", 8))
        host = o + 8;
    else if (!strncasecmp(o, "http://", 7))
        host = o + 7;
    else
        return false;
    if (!*host || *host == ':')
        return false;
    for (const char *p = host; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(".-:[]", *p)))
            return false;
    return true;
}

static int hc_check(struct hc_state *st)
{
    struct httpd_config *c = st->c;
    st->in_file = false;
    for (size_t i = 0; i < c->n_cors_origins; i++) {
        const char *o = c->cors_origins[i];
        if (strchr(o, '*'))
            return hc_fail(st, "cors_origin",
                           "'%s': no wildcard; list each origin (scheme://host[:port])", o);
        if (!hc_origin_ok(o))
            return hc_fail(st, "cors_origin",
                           "'%s' is not an origin: expected scheme://host[:port] with no "
                           "path or trailing slash, e.g. https://clinic.example", o);
    }
    if (c->public_url) {
        size_t n = strlen(c->public_url);
        if ((strncmp(c->public_url, "https://", 8) && strncmp(c->public_url, "http://", 7)) ||
            c->public_url[n - 1] == '/' || strchr(c->public_url, '?') || strchr(c->public_url, '#'))
            return hc_fail(st, "public_url",
                           "'%s': expected http(s)://host[:port][/path] without a trailing "
                           "slash, query or fragment", c->public_url);
    }
    if (!c->n_cds_hooks)
        return hc_fail(st, "cds_hooks", "%s", "needs at least one hook (the service is off "
                                              "anyway without public_url and cds_jwks)");
    for (size_t i = 0; i < c->n_cds_hooks; i++) {
        const char *h = c->cds_hooks[i];
        if (cds_hook_find(h) >= 0)
            continue;
        const char *near = proto_term_closest(h, cds_hook_names, CDS_HOOK_COUNT);
        char msg[400];
        snprintf(msg, sizeof msg, "'%.100s' is not a hook this service knows; %s%s%s(known: "
                 "order-select, order-sign, appointment-book, patient-view)", h,
                 near ? "did you mean '" : "", near ? near : "", near ? "'? " : "");
        return hc_fail(st, "cds_hooks", "%s", msg);
    }
    for (size_t i = 0; i < c->n_cds_jwks; i++) {
        const char *eq = strrchr(c->cds_jwks[i], '=');
        if (!eq || eq == c->cds_jwks[i] || !eq[1])
            return hc_fail(st, "cds_jwks", "'%s': expected ISSUER=FILE", c->cds_jwks[i]);
    }
    for (size_t i = 0; i < c->n_cds_order_codes; i++)
        if (!strchr(c->cds_order_codes[i], '|'))
            return hc_fail(st, "cds_order_code", "'%s': expected SYSTEM|CODE", c->cds_order_codes[i]);
    for (size_t i = 0; i < c->n_cds_fitzpatrick_codes; i++)
        if (!strchr(c->cds_fitzpatrick_codes[i], '|'))
            return hc_fail(st, "cds_fitzpatrick_code", "'%s': expected SYSTEM|CODE",
                           c->cds_fitzpatrick_codes[i]);
    for (size_t i = 0; i < c->n_cds_override_reasons; i++) {
        const char *r = c->cds_override_reasons[i], *a = strchr(r, '|');
        const char *b = a ? strchr(a + 1, '|') : NULL;
        if (!a || a == r || !b || b == a + 1 || !b[1] || strchr(b + 1, '|'))
            return hc_fail(st, "cds_override_reason", "'%s': expected SYSTEM|CODE|DISPLAY", r);
    }
    struct sockaddr_storage ss;
    if (proto_addr_parse(c->listen, &ss) < 0)
        return hc_fail(st, "listen", "'%s': expected IP:PORT (an IP address and a port, "
                                     "[::1]:PORT for IPv6)", c->listen);
    if ((uint64_t)c->request_timeout_s * 1000 <= (uint64_t)c->suitd_timeout_ms + c->connect_timeout_ms) {
        char msg[256];
        snprintf(msg, sizeof msg, "%u s must be longer than suitd_timeout + connect_timeout "
                 "(%u ms), or a slow answer from suitd would be cut off", c->request_timeout_s,
                 c->suitd_timeout_ms + c->connect_timeout_ms);
        return hc_fail(st, "request_timeout", "%s", msg);
    }
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

static int hc_defaults(struct hc_state *st)
{
    struct httpd_config *c = st->c;
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < HC_N; i++)
        if (hc_table[i].def && httpd_config_set(st, &hc_table[i], hc_table[i].def) < 0)
            return -1;
    /* a list's default is replaced by the file's first line or the first
     * flag, not added to */
    memset(st->list_from_cli, 0, sizeof st->list_from_cli);
    memset(st->list_from_file, 0, sizeof st->list_from_file);
    return 0;
}

/* Defaults that depend on the machine: suitd's socket, threads by cores. */
static int hc_computed_defaults(struct hc_state *st)
{
    struct httpd_config *c = st->c;
    if (!c->suitd) {
        char buf[4096];
        if (proto_default_socket(buf, sizeof buf, getenv("XDG_RUNTIME_DIR"), geteuid()) < 0 ||
            hc_set_str(&c->suitd, buf) < 0)
            return hc_fail(st, "suitd", "%s", "cannot work out suitd's default socket");
    }
    if (!c->cds_terminology) {
        char buf[4096];
        int n = snprintf(buf, sizeof buf, "%s/terminology.tsv", proto_default_rules_dir());
        if (n < 0 || (size_t)n >= sizeof buf || hc_set_str(&c->cds_terminology, buf) < 0)
            return hc_fail(st, "cds_terminology", "%s", "cannot work out the default path");
    }
    if (!c->threads) {
        /* A thread waits while suitd answers, so one per core leaves
         * suitd's workers idle: on 2 cores, 2 threads gave 2,760 and 8
         * gave 6,780 requests/s (16 clients; BENCHMARKS.md section 7). */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n = n < 1 ? 4 : 4 * n;
        c->threads = n > 64 ? 64 : (unsigned)n;
    }
    return 0;
}

int httpd_config_load(struct httpd_config *c, int argc, char **argv, char *err, size_t errlen)
{
    struct hc_state st = {.c = c, .err = err, .errlen = errlen};
    err[0] = '\0';
    if (hc_defaults(&st) < 0)
        goto fail;
    const struct hc_setting *s;
    const char *val;

    /* Pass 1: --help, --version and --config, so the file is read before
     * the flags that override it. */
    for (int i = 0; i < argc;) {
        int used = hc_split_flag(&st, argc, argv, i, &s, &val);
        if (used < 0)
            goto fail;
        i += used;
        if (!strcmp(s->name, "help")) {
            httpd_config_usage(stdout);
            httpd_config_close(c);
            return 1;
        }
        if (!strcmp(s->name, "version")) {
            printf("suit-httpd %s (protocol %s)\n", SUITD_VERSION, PROTO_VERSION);
            httpd_config_close(c);
            return 1;
        }
        if (!strcmp(s->name, "config") && hc_set_str(&c->config_file, val) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (c->config_file) {
        st.in_file = true;
        int rc = ini_parse(c->config_file, hc_ini_line, &st);
        if (rc < 0) {
            snprintf(err, errlen, "%s: cannot open config file: %s", c->config_file,
                     strerror(errno));
            goto fail;
        }
        if (rc > 0 || err[0]) {
            char what[600];
            snprintf(what, sizeof what, "%s", err[0] ? err : "syntax error");
            snprintf(err, errlen, "%s:%d: %s", c->config_file, rc, what);
            goto fail;
        }
        st.in_file = false;
    }
    for (int i = 0; i < argc;) {
        int used = hc_split_flag(&st, argc, argv, i, &s, &val);
        i += used;
        if (s->type == HC_ACTION)
            continue;
        if (httpd_config_set(&st, s, val) < 0)
            goto fail;
    }
    if (hc_computed_defaults(&st) < 0 || hc_check(&st) < 0)
        goto fail;
    return 0;
fail:
    httpd_config_close(c);
    return -1;
}

void httpd_config_close(struct httpd_config *c)
{
    free(c->suitd);
    free(c->suitd_token_file);
    free(c->listen);
    free(c->token_file);
    free(c->ui_dir);
    hc_clear_list(&c->cors_origins, &c->n_cors_origins);
    free(c->public_url);
    hc_clear_list(&c->cds_hooks, &c->n_cds_hooks);
    hc_clear_list(&c->cds_jwks, &c->n_cds_jwks);
    hc_clear_list(&c->cds_algorithms, &c->n_cds_algorithms);
    free(c->cds_terminology);
    free(c->cds_terminology_site);
    hc_clear_list(&c->cds_order_codes, &c->n_cds_order_codes);
    hc_clear_list(&c->cds_fitzpatrick_codes, &c->n_cds_fitzpatrick_codes);
    hc_clear_list(&c->cds_override_reasons, &c->n_cds_override_reasons);
    free(c->config_file);
    memset(c, 0, sizeof *c);
}
