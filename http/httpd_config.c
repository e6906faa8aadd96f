/*
 * httpd_config.c: see httpd_config.h.  The reading itself (flags, the
 * file, the defaults, --help's rows) is proto_settings.c's, shared with
 * suitd; what is suit-httpd's own is here: the rows, the defaults worked
 * out at start (suitd's socket, the terminology map, threads by cores),
 * the checks across settings and the words around --help.
 */
#include "httpd_config.h"

#include <sys/socket.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cds_fhir.h"
#include "proto.h"
#include "proto_settings.h"
#include "proto_term.h"

#define FIELD(f) offsetof(struct httpd_config, f)

/* An enum row writes an int; a tristate's auto is HTTPD_UI_AUTO. */
_Static_assert(sizeof(enum httpd_log_level) == sizeof(int), "log_level is stored as an int");
_Static_assert(HTTPD_UI_AUTO == PROTO_SETTINGS_AUTO, "ui's auto");

static int default_suitd(void *conf);
static int default_threads(void *conf);
static int default_terminology(void *conf);

/* cds_override_reason's default: the CDS Hooks 3.0 ballot's six
 * non-adherence codes and physician-assessment-done. */
#define HC_OVERRIDE_REASONS \
    "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|cds-not-applicable|" \
    "Not applicable to this patient," \
    "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|cds-suboptimal-context|" \
    "Shown at the wrong point in the workflow," \
    "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|recipient-disagrees-evidence|" \
    "Disagree with the evidence," \
    "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|recipient-concerns-outcomes|" \
    "Concerned about the outcomes," \
    "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|does-not-align-preferences|" \
    "Does not fit the patient's preferences," \
    "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes|not-convenient-feasible|" \
    "Not convenient or feasible," \
    "urn:suitd:override-reason|physician-assessment-done|Physician assessment done"

/* The settings.  Timeouts are whole seconds for what a person tunes per
 * connection and milliseconds for the calls to suitd, matching suitd's own
 * request_timeout (ms) and idle_timeout (s). */
static const struct proto_setting hc_table[] = {
    {"suitd", PROTO_SETTINGS_NONEMPTY, FIELD(suitd), .arg = "ADDR",
     .fill_default = default_suitd,
     .help = "suitd's address: unix:/path, /path, tcp:HOST:PORT or HOST:PORT (default: suitd's "
             "default socket, found as suit finds it)"},
    {"suitd_token_file", PROTO_SETTINGS_OPT_NONE, FIELD(suitd_token_file), .arg = "FILE",
     .help = "token sent with auth to a suitd reached over TCP that has a token"},
    {"listen", PROTO_SETTINGS_NONEMPTY, FIELD(listen), .arg = "HOST:PORT",
     .def_str = HTTPD_DEFAULT_LISTEN,
     .help = "where to serve HTTP: an IP address and a port ([::1]:PORT for IPv6, :PORT for "
             "every IPv4 address; port 0 picks a free one)"},
    {"token_file", PROTO_SETTINGS_OPT_NONE, FIELD(token_file), .arg = "FILE",
     .help = "bearer token every /v1/ request must send (Authorization: Bearer TOKEN); "
             "required when listen is not a loopback address"},
    {"cors_origin", PROTO_SETTINGS_LIST, FIELD(cors_origins), .arg = "ORIGIN",
     .count_offset = FIELD(n_cors_origins),
     .help = "a browser origin (scheme://host[:port]) allowed to call the API; repeatable, no "
             "wildcard (default: none)"},
    {"open_health_metrics", PROTO_SETTINGS_BOOL, FIELD(open_health_metrics), .def = 0,
     .arg = "BOOL",
     .help = "answer /healthz, /readyz and /metrics without a token to any client, not only "
             "to loopback ones"},
    /* default_text "": the help says the default, worked out at start. */
    {"threads", PROTO_SETTINGS_UINT, FIELD(threads), 1, 256, .arg = "N",
     .fill_default = default_threads, .default_text = "",
     .help = "HTTP worker threads, each with one connection to suitd (default: 4 per core, "
             "at least 4)"},
    {"max_body", PROTO_SETTINGS_U64, FIELD(max_body), 64, (uint64_t)64 << 20, 1048576,
     .arg = "BYTES", .help = "largest request body (413 beyond it)"},
    {"max_header_size", PROTO_SETTINGS_U64, FIELD(max_header_size), 2048, (uint64_t)1 << 20,
     16384, .arg = "BYTES",
     .help = "room per connection for the request line and headers (431 beyond it)"},
    {"max_connections", PROTO_SETTINGS_UINT, FIELD(max_connections), 1, 100000, 1024,
     .arg = "N", .help = "connections open at once; more are closed at once"},
    {"max_connections_per_ip", PROTO_SETTINGS_UINT, FIELD(max_connections_per_ip), 0, 100000,
     256, .arg = "N",
     .help = "connections open at once from one IP address (0: no limit); more are closed at "
             "once"},
    {"request_timeout", PROTO_SETTINGS_UINT, FIELD(request_timeout_s), 1, 3600, 30,
     .arg = "SEC",
     .help = "a request must be read and answered within this, from its request line"},
    {"idle_timeout", PROTO_SETTINGS_UINT, FIELD(idle_timeout_s), 1, 86400, 60, .arg = "SEC",
     .help = "close a connection that waits this long for its next request"},
    {"suitd_timeout", PROTO_SETTINGS_UINT, FIELD(suitd_timeout_ms), 100, 3600 * 1000, 10000,
     .arg = "MS", .help = "wait this long for suitd's answer (504 after it)"},
    {"connect_timeout", PROTO_SETTINGS_UINT, FIELD(connect_timeout_ms), 10, 60000, 1000,
     .arg = "MS", .help = "connecting to suitd (503 after it)"},
    {"retry_after", PROTO_SETTINGS_UINT, FIELD(retry_after_s), 1, 3600, 1, .arg = "SEC",
     .help = "the Retry-After of a 503 (suitd overloaded or unreachable)"},
    {"shutdown_timeout", PROTO_SETTINGS_UINT, FIELD(shutdown_timeout_s), 0, 3600, 10,
     .arg = "SEC", .help = "on SIGTERM, time for requests in flight to finish"},
    {"ui", PROTO_SETTINGS_TRISTATE, FIELD(ui), .def_str = "auto", .arg = "BOOL",
     .help = "serve the consultation page at / (its files under /ui/): true, false or auto, "
             "which is on only when listen is a loopback address"},
    {"ui_dir", PROTO_SETTINGS_NONEMPTY, FIELD(ui_dir), .def_str = SUITD_DEFAULT_UI_DIR,
     .arg = "DIR",
     .help = "the folder of the page's files (index.html and its assets), read once at start"},
    {"public_url", PROTO_SETTINGS_OPT_NONE, FIELD(public_url), .arg = "URL",
     .help = "the gateway's base URL as CDS Hooks clients call it (https://cds.example.org, "
             "no trailing slash): a CDS client's JWT must have aud = this URL + the "
             "endpoint's path; without it every CDS Hooks call is refused (401)"},
    {"cds_hooks", PROTO_SETTINGS_LIST, FIELD(cds_hooks), .arg = "HOOK",
     .count_offset = FIELD(n_cds_hooks), .def_str = "order-select,order-sign",
     .help = "a CDS hook the service is offered on: order-select, order-sign, "
             "appointment-book (an appointment whose serviceType is micro-needling), "
             "patient-view (a card only when a draft or active micro-needling order is on the "
             "chart); repeatable"},
    {"cds_jwks", PROTO_SETTINGS_LIST, FIELD(cds_jwks), .arg = "ISSUER=FILE",
     .count_offset = FIELD(n_cds_jwks),
     .help = "a CDS client allowed to call: its iss and the file of its JWK Set (public "
             "keys); repeatable, nothing is fetched (default: none)"},
    {"cds_algorithm", PROTO_SETTINGS_LIST, FIELD(cds_algorithms), .arg = "ALG",
     .count_offset = FIELD(n_cds_algorithms), .def_str = "ES384,RS384",
     .help = "a JWS algorithm CDS clients may sign with; repeatable; only ES256/384/512, "
             "RS256/384/512 and PS256/384/512 (never none or HS*)"},
    {"cds_clock_skew", PROTO_SETTINGS_UINT, FIELD(cds_clock_skew_s), 0, 60, 60, .arg = "SEC",
     .help = "clock skew allowed on a JWT's exp, iat and nbf"},
    {"cds_jti_cache", PROTO_SETTINGS_UINT, FIELD(cds_jti_cache), 1, 1000000, 10000,
     .arg = "N",
     .help = "JWT ids remembered until their exp against replay; a call beyond it is refused "
             "(401)"},
    {"cds_terminology", PROTO_SETTINGS_NONEMPTY, FIELD(cds_terminology), .arg = "FILE",
     .fill_default = default_terminology,
     .help = "the ruleset's terminology map, FHIR codes to terms (default: terminology.tsv in "
             "the ruleset folder: $SUITD_RULES, else the package's)"},
    {"cds_terminology_site", PROTO_SETTINGS_OPT_NONE, FIELD(cds_terminology_site),
     .arg = "FILE", .help = "the clinic's own codes, in the same format, added to the map"},
    {"cds_order_code", PROTO_SETTINGS_LIST, FIELD(cds_order_codes), .arg = "SYSTEM|CODE",
     .count_offset = FIELD(n_cds_order_codes),
     .help = "a ServiceRequest code (or Appointment serviceType) that means micro-needling; "
             "repeatable (default: none; an order whose text or display says microneedling, "
             "micro-needling or collagen induction counts anyway)"},
    {"cds_fitzpatrick_code", PROTO_SETTINGS_LIST, FIELD(cds_fitzpatrick_codes),
     .arg = "SYSTEM|CODE", .count_offset = FIELD(n_cds_fitzpatrick_codes),
     .help = "an Observation code that means a Fitzpatrick skin type; repeatable (default: "
             "none; NCIt values C74569 to C74574, or a code text naming Fitzpatrick with a "
             "value 1 to 6, count anyway)"},
    /* default_text "": the help says the default in words; the list
     * itself is too long for --help. */
    {"cds_override_reason", PROTO_SETTINGS_LIST, FIELD(cds_override_reasons),
     .arg = "SYSTEM|CODE|DISPLAY", .count_offset = FIELD(n_cds_override_reasons),
     .def_str = HC_OVERRIDE_REASONS, .default_text = "",
     .help = "an override reason cards offer; repeatable (default: the CDS Hooks 3.0 "
             "ballot's six non-adherence codes and physician-assessment-done)"},
    {"cds_status_max_age", PROTO_SETTINGS_UINT, FIELD(cds_status_max_age_days), 0, 3650, 30,
     .arg = "DAYS",
     .help = "a pregnancy or breastfeeding status older than this on the treatment date "
             "counts as missing"},
    {"log_level", PROTO_SETTINGS_ENUM, FIELD(log_level), .def_str = "info", .arg = "LEVEL",
     .parse = httpd_log_level_parse, .expected = "debug, info, warn or error",
     .help = "debug, info, warn or error"},
    {"config", PROTO_SETTINGS_CONFIG, FIELD(config_file), .arg = "FILE",
     .help = "INI file, section [suit-httpd]; flags win"},
    {"version", PROTO_SETTINGS_ACTION, 0, .help = "print the version and exit"},
    {"help", PROTO_SETTINGS_ACTION, 0, .help = "this text"},
};
#define HC_N (sizeof hc_table / sizeof hc_table[0])

static const struct proto_settings hc_settings = {
    .rows = hc_table,
    .n = HC_N,
    .section = "suit-httpd",
    .size = sizeof(struct httpd_config),
    .usage_indent = 28,
};

const char *const *httpd_config_names(void)
{
    static const char *names[HC_N + 1];
    for (size_t i = 0; i < HC_N; i++)
        names[i] = hc_table[i].name;
    names[HC_N] = NULL;
    return names;
}

void httpd_config_usage(FILE *out)
{
    fprintf(out, "usage: suit-httpd [OPTIONS]\n"
                 "\n"
                 "The HTTP/JSON gateway to suitd: POST /v1/assess, GET /v1/ruleset, GET /v1/ping,\n"
                 "GET /healthz, GET /readyz, GET /metrics, the consultation page at GET /\n"
                 "(--ui), and the CDS Hooks service at /cds-services (--public-url, --cds-jwks).\n"
                 "Every option can also be set in the config file as name = value (underscores\n"
                 "for dashes).\n\n");
    proto_settings_usage(&hc_settings, out);
    fprintf(out, "\nSignals: SIGTERM and SIGINT stop accepting, let requests in flight finish\n"
                 "(within --shutdown-timeout) and exit.\n");
}

/* ---- defaults worked out at start ------------------------------------- */

static int default_suitd(void *conf)
{
    struct httpd_config *c = conf;
    return (c->suitd = proto_default_socket_dup()) ? 0 : -1;
}

static int default_terminology(void *conf)
{
    struct httpd_config *c = conf;
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s/terminology.tsv", proto_default_rules_dir());
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    return (c->cds_terminology = strdup(buf)) ? 0 : -1;
}

static int default_threads(void *conf)
{
    struct httpd_config *c = conf;
    /* A thread waits while suitd answers, so one per core leaves
     * suitd's workers idle: on 2 cores, 2 threads gave 2,760 and 8
     * gave 6,780 requests/s (16 clients; BENCHMARKS.md section 7). */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n = n < 1 ? 4 : 4 * n;
    c->threads = n > 64 ? 64 : (unsigned)n;
    return 0;
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

static int hc_check(const struct httpd_config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n_cors_origins; i++) {
        const char *o = c->cors_origins[i];
        if (strchr(o, '*'))
            return proto_settings_fail(err, errlen, "cors_origin",
                                       "'%s': no wildcard; list each origin "
                                       "(scheme://host[:port])", o);
        if (!hc_origin_ok(o))
            return proto_settings_fail(err, errlen, "cors_origin",
                                       "'%s' is not an origin: expected scheme://host[:port] "
                                       "with no path or trailing slash, e.g. "
                                       "https://clinic.example", o);
    }
    if (c->public_url) {
        const char *u = c->public_url;
        size_t n = strlen(u);
        if ((strncmp(u, "https://", 8) && strncmp(u, "http://", 7)) || u[n - 1] == '/' ||
            strchr(u, '?') || strchr(u, '#'))
            return proto_settings_fail(err, errlen, "public_url",
                                       "'%s': expected http(s)://host[:port][/path] without a "
                                       "trailing slash, query or fragment", u);
    }
    if (!c->n_cds_hooks)
        return proto_settings_fail(err, errlen, "cds_hooks", "%s", "needs at least one hook "
                                   "(the service is off anyway without public_url and "
                                   "cds_jwks)");
    for (size_t i = 0; i < c->n_cds_hooks; i++) {
        const char *h = c->cds_hooks[i];
        if (cds_hook_find(h) >= 0)
            continue;
        const char *near = proto_term_closest(h, cds_hook_names, CDS_HOOK_COUNT);
        return proto_settings_fail(err, errlen, "cds_hooks", "'%.100s' is not a hook this "
                                   "service knows; %s%s%s(known: order-select, order-sign, "
                                   "appointment-book, patient-view)", h,
                                   near ? "did you mean '" : "", near ? near : "",
                                   near ? "'? " : "");
    }
    for (size_t i = 0; i < c->n_cds_jwks; i++) {
        const char *eq = strrchr(c->cds_jwks[i], '=');
        if (!eq || eq == c->cds_jwks[i] || !eq[1])
            return proto_settings_fail(err, errlen, "cds_jwks", "'%s': expected ISSUER=FILE",
                                       c->cds_jwks[i]);
    }
    for (size_t i = 0; i < c->n_cds_order_codes; i++)
        if (!strchr(c->cds_order_codes[i], '|'))
            return proto_settings_fail(err, errlen, "cds_order_code",
                                       "'%s': expected SYSTEM|CODE", c->cds_order_codes[i]);
    for (size_t i = 0; i < c->n_cds_fitzpatrick_codes; i++)
        if (!strchr(c->cds_fitzpatrick_codes[i], '|'))
            return proto_settings_fail(err, errlen, "cds_fitzpatrick_code",
                                       "'%s': expected SYSTEM|CODE",
                                       c->cds_fitzpatrick_codes[i]);
    for (size_t i = 0; i < c->n_cds_override_reasons; i++) {
        const char *r = c->cds_override_reasons[i], *a = strchr(r, '|');
        const char *b = a ? strchr(a + 1, '|') : NULL;
        if (!a || a == r || !b || b == a + 1 || !b[1] || strchr(b + 1, '|'))
            return proto_settings_fail(err, errlen, "cds_override_reason",
                                       "'%s': expected SYSTEM|CODE|DISPLAY", r);
    }
    struct sockaddr_storage ss;
    if (proto_addr_parse(c->listen, &ss) < 0)
        return proto_settings_fail(err, errlen, "listen",
                                   "'%s': expected IP:PORT (an IP address and a port, "
                                   "[::1]:PORT for IPv6)", c->listen);
    uint64_t upstream_ms = (uint64_t)c->suitd_timeout_ms + c->connect_timeout_ms;
    if ((uint64_t)c->request_timeout_s * 1000 <= upstream_ms)
        return proto_settings_fail(err, errlen, "request_timeout",
                                   "%u s must be longer than suitd_timeout + connect_timeout "
                                   "(%u ms), or a slow answer from suitd would be cut off",
                                   c->request_timeout_s,
                                   c->suitd_timeout_ms + c->connect_timeout_ms);
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

int httpd_config_load(struct httpd_config *c, int argc, char **argv, char *err, size_t errlen)
{
    const struct proto_setting *action;
    int rc = proto_settings_load(&hc_settings, c, argc, argv, &action, err, errlen);
    if (rc == 1 && !strcmp(action->name, "version"))
        printf("suit-httpd %s (protocol %s)\n", SUITD_VERSION, PROTO_VERSION);
    else if (rc == 1)
        httpd_config_usage(stdout);
    if (rc == 0 && hc_check(c, err, errlen) < 0) {
        httpd_config_close(c);
        return -1;
    }
    return rc;
}

void httpd_config_close(struct httpd_config *c)
{
    proto_settings_close(&hc_settings, c);
}
