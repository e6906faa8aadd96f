/*
 * test_httpd_unit.c: suit-httpd's pure parts, no sockets: the settings
 * (defaults, file, flags win, every refusal), the man page and example
 * file against the settings table, the JSON request path of /v1/assess
 * (shape, paths of JSON errors, ?explain, nesting), the status of every
 * suitd code, the error body, and the metrics exposition.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd_config.h"
#include "httpd_metrics.h"
#include "httpd_reply.h"
#include "httpd_request.h"
#include "httpd_routes.h"
#include "httpd_upstream.h"
#include "proto_prom.h"
#include "testutil.h"

/* ---- settings ----------------------------------------------------------- */

static int load(struct httpd_config *c, char *err, const char *const *args)
{
    char *argv[32];
    int n = 0;
    for (; args[n]; n++)
        argv[n] = (char *)args[n];
    return httpd_config_load(c, n, argv, err, 512);
}

static char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test-httpd-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(config_defaults)
{
    struct httpd_config c;
    char err[512];
    ck_assert_int_eq(load(&c, err, (const char *[]){NULL}), 0);
    ck_assert_str_eq(c.listen, "127.0.0.1:7480");
    ck_assert_uint_eq(c.max_body, 1048576);
    ck_assert_uint_eq(c.max_header_size, 16384);
    ck_assert_uint_eq(c.max_connections, 1024);
    ck_assert_uint_eq(c.max_connections_per_ip, 256);
    ck_assert_uint_eq(c.request_timeout_s, 30);
    ck_assert_uint_eq(c.idle_timeout_s, 60);
    ck_assert_uint_eq(c.suitd_timeout_ms, 10000);
    ck_assert_uint_eq(c.connect_timeout_ms, 1000);
    ck_assert_uint_eq(c.retry_after_s, 1);
    ck_assert_uint_eq(c.shutdown_timeout_s, 10);
    ck_assert(!c.open_health_metrics);
    ck_assert_ptr_null(c.token_file);
    ck_assert_uint_eq(c.n_cors_origins, 0);
    ck_assert_uint_ge(c.threads, 1);
    ck_assert_ptr_nonnull(c.suitd);          /* suitd's default socket */
    ck_assert_int_eq(c.log_level, HTTPD_LOG_INFO);
    httpd_config_close(&c);
}
END_TEST

START_TEST(config_file_and_flags)
{
    const char *path = write_file(
        "; a comment\n[suit-httpd]\nsuitd = unix:/run/x.sock\nlisten = [::1]:8080\n"
        "cors_origin = https://a.example, https://b.example\nmax_body = 4096\n"
        "open_health_metrics = yes\nthreads = 3\nlog_level = warn\n");
    struct httpd_config c;
    char err[512];
    ck_assert_int_eq(load(&c, err, (const char *[]){"--config", path, NULL}), 0);
    ck_assert_str_eq(c.suitd, "unix:/run/x.sock");
    ck_assert_str_eq(c.listen, "[::1]:8080");
    ck_assert_uint_eq(c.n_cors_origins, 2);
    ck_assert_str_eq(c.cors_origins[1], "https://b.example");
    ck_assert_uint_eq(c.max_body, 4096);
    ck_assert(c.open_health_metrics);
    ck_assert_uint_eq(c.threads, 3);
    ck_assert_int_eq(c.log_level, HTTPD_LOG_WARN);
    httpd_config_close(&c);
    /* flags win; a list flag replaces the file's list */
    ck_assert_int_eq(load(&c, err, (const char *[]){"--max-body=8192", "--config", path,
                                                     "--cors-origin", "http://c.example:81",
                                                     "--threads", "1", NULL}), 0);
    ck_assert_uint_eq(c.max_body, 8192);
    ck_assert_uint_eq(c.n_cors_origins, 1);
    ck_assert_str_eq(c.cors_origins[0], "http://c.example:81");
    ck_assert_uint_eq(c.threads, 1);
    httpd_config_close(&c);
    /* "none" empties a list; an optional path is cleared by an empty value */
    ck_assert_int_eq(load(&c, err, (const char *[]){"--config", path, "--cors-origin", "none",
                                                     "--token-file", "", NULL}), 0);
    ck_assert_uint_eq(c.n_cors_origins, 0);
    ck_assert_ptr_null(c.token_file);
    httpd_config_close(&c);
    unlink(path);
}
END_TEST

START_TEST(config_refusals)
{
    static const struct {
        const char *args[6];
        const char *want;
    } cases[] = {
        {{"--nope", NULL}, "unknown option '--nope'"},
        {{"--thread", "3", NULL}, "unknown option '--thread'; did you mean '--threads'?"},
        {{"stray", NULL}, "unexpected argument 'stray'"},
        {{"--max-body", NULL}, "needs a value"},
        {{"--max-body", "12", NULL}, "--max-body: '12' is out of range (64 to 67108864)"},
        {{"--max-body", "-5", NULL}, "expected a non-negative integer"},
        {{"--threads", "0", NULL}, "--threads: '0' is out of range"},
        {{"--log-level", "loud", NULL}, "expected debug, info, warn or error"},
        {{"--open-health-metrics=maybe", NULL}, "expected true or false"},
        {{"--listen", "clinic.example:80", NULL}, "--listen: 'clinic.example:80': expected IP:PORT"},
        {{"--listen", "127.0.0.1", NULL}, "expected IP:PORT"},
        {{"--listen", "127.0.0.1:99999", NULL}, "expected IP:PORT"},
        {{"--cors-origin", "*", NULL}, "no wildcard"},
        {{"--cors-origin", "https://*.example", NULL}, "no wildcard"},
        {{"--cors-origin", "https://a.example/", NULL}, "is not an origin"},
        {{"--cors-origin", "a.example", NULL}, "is not an origin"},
        {{"--request-timeout", "5", "--suitd-timeout", "5000", NULL},
         "--request-timeout: 5 s must be longer than suitd_timeout + connect_timeout"},
        {{"--config", "/nonexistent/x.conf", NULL}, "cannot open config file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct httpd_config c;
        char err[512];
        ck_assert_int_eq(load(&c, err, cases[i].args), -1);
        ck_assert_msg(strstr(err, cases[i].want), "case %zu: '%s' lacks '%s'", i, err,
                      cases[i].want);
    }
    const char *files[][2] = {
        {"[suitd]\nlisten = 127.0.0.1:1\n", "unknown section [suitd]"},
        {"[suit-httpd]\nlisen = 127.0.0.1:1\n", ":2: lisen: unknown setting; did you mean 'listen'?"},
        {"[suit-httpd]\nconfig = /x\n", "cannot be set in a config file"},
        {"[suit-httpd]\nmax_body = lots\n", ":2: max_body: expected a non-negative integer"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = write_file(files[i][0]);
        struct httpd_config c;
        char err[512];
        ck_assert_int_eq(load(&c, err, (const char *[]){"--config", path, NULL}), -1);
        ck_assert_msg(strstr(err, files[i][1]), "file %zu: '%s' lacks '%s'", i, err, files[i][1]);
        unlink(path);
    }
}
END_TEST

/* ui: true, false or auto (the default); a bare --ui is true. */
START_TEST(config_ui)
{
    static const struct {
        const char *args[4];
        int want;
    } cases[] = {
        {{NULL}, HTTPD_UI_AUTO},
        {{"--ui", NULL}, 1},
        {{"--ui", "--threads", "2", NULL}, 1},
        {{"--ui=false", NULL}, 0},
        {{"--ui=off", NULL}, 0},
        {{"--ui=YES", NULL}, 1},
        {{"--ui", "--ui=auto", NULL}, HTTPD_UI_AUTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct httpd_config c;
        char err[512];
        ck_assert_msg(load(&c, err, cases[i].args) == 0, "case %zu: %s", i, err);
        ck_assert_msg(c.ui == cases[i].want, "case %zu: ui %d, not %d", i, c.ui, cases[i].want);
        ck_assert(c.ui_dir && strlen(c.ui_dir) > 9);
        ck_assert_str_eq(c.ui_dir + strlen(c.ui_dir) - 9, "/suitd/ui");
        httpd_config_close(&c);
    }
    const char *path = write_file("[suit-httpd]\nui = no\nui_dir = /srv/page\n");
    struct httpd_config c;
    char err[512];
    ck_assert_int_eq(load(&c, err, (const char *[]){"--config", path, NULL}), 0);
    ck_assert_int_eq(c.ui, 0);
    ck_assert_str_eq(c.ui_dir, "/srv/page");
    httpd_config_close(&c);
    ck_assert_int_eq(load(&c, err, (const char *[]){"--config", path, "--ui", NULL}), 0);
    ck_assert_int_eq(c.ui, 1);      /* the flag wins */
    httpd_config_close(&c);
    unlink(path);
    ck_assert_int_eq(load(&c, err, (const char *[]){"--ui=maybe", NULL}), -1);
    ck_assert_str_eq(err, "--ui: expected true, false or auto, got 'maybe'");
    ck_assert_int_eq(load(&c, err, (const char *[]){"--ui-dir=", NULL}), -1);
    ck_assert_str_eq(err, "--ui-dir: needs a value");
}
END_TEST

/* The man page and the example config file name every setting, and --help
 * shows every flag. */
START_TEST(config_documented)
{
    char path[512];
    snprintf(path, sizeof path, "%s/packaging/suit-httpd.8", getenv("SUITD_SOURCE_DIR"));
    char *man = testutil_slurp(path);
    ck_assert_msg(man != NULL, "cannot read %s", path);
    snprintf(path, sizeof path, "%s/packaging/suit-httpd.conf", getenv("SUITD_SOURCE_DIR"));
    char *conf = testutil_slurp(path);
    ck_assert_msg(conf != NULL, "cannot read %s", path);
    char *help = NULL;
    size_t help_len = 0;
    FILE *out = open_memstream(&help, &help_len);
    httpd_config_usage(out);
    fclose(out);
    for (const char *const *n = httpd_config_names(); *n; n++) {
        char flag[80], key[80];
        size_t k = 0;
        k += (size_t)snprintf(flag, sizeof flag, "--");
        for (const char *p = *n; *p && k + 1 < sizeof flag; p++)
            flag[k++] = *p == '_' ? '-' : *p;
        flag[k] = '\0';
        ck_assert_msg(strstr(help, flag), "--help lacks %s", flag);
        /* groff writes a dash as \- */
        char manflag[100] = "";
        for (const char *p = flag; *p; p++)
            strncat(manflag, *p == '-' ? "\\-" : (char[]){*p, 0}, sizeof manflag - strlen(manflag) - 1);
        ck_assert_msg(strstr(man, manflag), "suit-httpd.8 lacks %s", flag);
        if (!strcmp(*n, "config") || !strcmp(*n, "help") || !strcmp(*n, "version"))
            continue;
        snprintf(key, sizeof key, "\n; %s =", *n);
        char key2[80];
        snprintf(key2, sizeof key2, "\n%s =", *n);
        ck_assert_msg(strstr(conf, key) || strstr(conf, key2), "suit-httpd.conf lacks %s", *n);
    }
    free(help);
    free(man);
    free(conf);
}
END_TEST

/* ---- the request path ------------------------------------------------- */

/* Runs the request path; returns the error code and copies the field. */
static int params_of(const char *body, int explain, char *field, json_t **params)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct proto_error e;
    proto_error_init(&e);
    int rc = httpd_assess_params(body, strlen(body), explain, &sb, &e);
    if (field)
        snprintf(field, 256, "%s", e.field ? e.field : "");
    if (rc == 0 && params) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
        *params = proto_msgpack_to_json(&u.data);
        msgpack_unpacked_destroy(&u);
    }
    if (rc)
        ck_assert_msg(e.message[0], "an error without a message");
    proto_error_close(&e);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

START_TEST(request_shapes)
{
    json_t *p = NULL;
    ck_assert_int_eq(params_of("{\"patient\": {\"age\": 30, \"depth\": 0.5}}", -1, NULL, &p), 0);
    char *s = json_dumps(p, JSON_COMPACT);
    ck_assert_str_eq(s, "[{\"age\":30,\"depth\":0.5}]");
    free(s);
    json_decref(p);
    ck_assert_int_eq(params_of("{\"options\": {\"explain\": false}, \"patient\": {}}", -1, NULL, &p), 0);
    s = json_dumps(p, JSON_COMPACT);
    ck_assert_str_eq(s, "[{},{\"explain\":false}]");
    free(s);
    json_decref(p);
    ck_assert_int_eq(params_of("{\"patient\": {}, \"options\": null}", -1, NULL, &p), 0);
    ck_assert_uint_eq(json_array_size(p), 1);
    json_decref(p);
    /* ?explain= sets options.explain, or must agree with it */
    ck_assert_int_eq(params_of("{\"patient\": {}}", 1, NULL, &p), 0);
    s = json_dumps(p, JSON_COMPACT);
    ck_assert_str_eq(s, "[{},{\"explain\":true}]");
    free(s);
    json_decref(p);
    ck_assert_int_eq(params_of("{\"patient\": {}, \"options\": {\"x\": 1}}", 0, NULL, &p), 0);
    s = json_dumps(p, JSON_COMPACT);
    ck_assert_str_eq(s, "[{},{\"x\":1,\"explain\":false}]");
    free(s);
    json_decref(p);
    char field[256];
    ck_assert_int_eq(params_of("{\"patient\": {}, \"options\": {\"explain\": true}}", 0, field, NULL),
                     PROTO_E_INVALID_PARAMS);
    ck_assert_str_eq(field, "options.explain");
    ck_assert_int_eq(params_of("{\"patient\": {}, \"options\": {\"explain\": 1}}", 1, field, NULL),
                     PROTO_E_INVALID_PARAMS);
    ck_assert_int_eq(httpd_parse_explain("TRUE"), 1);
    ck_assert_int_eq(httpd_parse_explain("0"), 0);
    ck_assert_int_eq(httpd_parse_explain(""), -1);
    ck_assert_int_eq(httpd_parse_explain(NULL), -1);
}
END_TEST

START_TEST(request_errors_name_the_field)
{
    static const struct {
        const char *body;
        int code;
        const char *field;
    } cases[] = {
        {"", PROTO_E_PARSE, ""},
        {"{\"patient\": {\"age\": 30,, \"x\": 1}}", PROTO_E_PARSE, "patient"},
        {"{\"patient\": {\"age\": tru}}", PROTO_E_PARSE, "age"},
        {"{\"patient\": {\"conditions\": [\"a\", {\"name\": \"b\", \"days_ago\": 1e999}]}}",
         PROTO_E_PARSE, "conditions[1].days_ago"},
        {"{\"patient\": {\"area\": \"fa\xff" "ce\"}}", PROTO_E_PARSE, "area"},
        {"{\"patient\": {\"ar\xc3\x28" "ea\": \"face\"}}", PROTO_E_PARSE, "patient"},
        {"{\"patient\": {\"age\": 1, \"age\": 2}}", PROTO_E_PARSE, "patient"},
        {"{\"options\": {\"explain\": nul}, \"patient\": {}}", PROTO_E_PARSE, "options.explain"},
        {"{\"patient\": {}} {}", PROTO_E_PARSE, ""},
        {"[]", PROTO_E_INVALID_REQUEST, ""},
        {"\"patient\"", PROTO_E_PARSE, ""},      /* jansson wants an array or object */
        {"{\"patient\": 3}", PROTO_E_INVALID_PARAMS, "patient"},
        {"{\"options\": {}}", PROTO_E_INVALID_PARAMS, "patient"},
        {"{\"patient\": {}, \"option\": {}}", PROTO_E_INVALID_PARAMS, "option"},
        {"{\"patient\": {}, \"options\": []}", PROTO_E_INVALID_PARAMS, "options"},
        /* 13 arrays inside conditions: frame level 17 */
        {"{\"patient\": {\"conditions\": [[[[[[[[[[[[[[]]]]]]]]]]]]]]}}", PROTO_E_TOO_LARGE,
         "conditions[0][0][0][0][0][0][0][0][0][0][0][0][0]"},
        {"{\"patient\": {}, \"options\": {\"a\": [[[[[[[[[[[[[{}]]]]]]]]]]]]]}}", PROTO_E_TOO_LARGE,
         "options.a[0][0][0][0][0][0][0][0][0][0][0][0][0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char field[256];
        int rc = params_of(cases[i].body, -1, field, NULL);
        ck_assert_msg(rc == cases[i].code, "case %zu: %d, not %d", i, rc, cases[i].code);
        ck_assert_msg(!strcmp(field, cases[i].field), "case %zu: field '%s', not '%s'", i,
                      field, cases[i].field);
    }
    /* 12 arrays inside conditions: level 16, allowed */
    ck_assert_int_eq(params_of("{\"patient\": {\"conditions\": [[[[[[[[[[[[[]]]]]]]]]]]]]}}", -1,
                               NULL, NULL), 0);
}
END_TEST

START_TEST(json_path_at_offsets)
{
    const char *t = "{\"patient\": {\"a\": [1, {\"b\": [true, \"x\"]}], \"c\": 2}, \"options\": {\"e\": 1}}";
    struct {
        const char *at;     /* the text at the offset */
        const char *path;
    } cases[] = {
        {"1, {", "a[0]"}, {"{\"b\"", "a[1]"}, {"true", "a[1].b[0]"}, {"\"x\"", "a[1].b[1]"},
        {"2}", "c"}, {"1}}", "options.e"}, {"\"a\"", "patient"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        const char *p = strstr(t, cases[i].at);
        ck_assert_ptr_nonnull(p);
        httpd_json_path_at(t, strlen(t), (size_t)(p - t), out, sizeof out);
        ck_assert_msg(!strcmp(out, cases[i].path), "at '%s': '%s', not '%s'", cases[i].at, out,
                      cases[i].path);
    }
    char out[128];
    httpd_json_path_at(t, strlen(t), 0, out, sizeof out);
    ck_assert_str_eq(out, "");
    httpd_json_path_at(t, strlen(t), 100000, out, sizeof out);     /* past the end */
    /* deeper than the scanner keeps: still a path, no overflow */
    char deep[400];
    memset(deep, '[', 300);
    deep[300] = '\0';
    httpd_json_path_at(deep, 300, 300, out, sizeof out);
}
END_TEST

/* ---- answers ------------------------------------------------------------ */

START_TEST(status_of_every_code)
{
    static const struct {
        int code;
        unsigned status;
    } want[] = {
        {PROTO_E_PARSE, 400}, {PROTO_E_INVALID_REQUEST, 400}, {PROTO_E_METHOD_NOT_FOUND, 404},
        {PROTO_E_INVALID_PARAMS, 400}, {PROTO_E_INTERNAL, 500}, {PROTO_E_TOO_LARGE, 413},
        {PROTO_E_OVERLOADED, 503}, {PROTO_E_TIMEOUT, 504}, {PROTO_E_RULESET, 500},
        {PROTO_E_NOT_PERMITTED, 401}, {-1, 500}, {12345, 500},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_uint_eq(httpd_status_of(want[i].code), want[i].status);
}
END_TEST

START_TEST(error_body)
{
    struct proto_error e;
    proto_error_init(&e);
    proto_error_set(&e, PROTO_E_INVALID_PARAMS, "area: unknown value");
    proto_error_set_field(&e, "area");
    proto_error_add_detail(&e, "face");
    struct httpd_reply r;
    httpd_reply_init(&r);
    ck_assert_int_eq(httpd_reply_error(&r, 0, &e, 1), 0);
    ck_assert_uint_eq(r.status, 400);
    ck_assert_str_eq(r.body, "{\"error\":{\"code\":-32602,\"message\":\"area: unknown value\","
                             "\"data\":{\"field\":\"area\",\"details\":[\"face\"]}}}");
    ck_assert_str_eq(r.content_type, "application/json");
    proto_error_close(&e);
    proto_error_set(&e, PROTO_E_OVERLOADED, "busy \xff");       /* not UTF-8 */
    ck_assert_int_eq(httpd_reply_error(&r, 0, &e, 7), 0);
    ck_assert_uint_eq(r.status, 503);
    ck_assert_str_eq(r.body, "{\"error\":{\"code\":-32002,\"message\":\"overloaded\",\"data\":null}}");
    ck_assert_uint_eq(r.n_headers, 1);
    ck_assert_str_eq(r.headers[0].name, "Retry-After");
    ck_assert_str_eq(r.headers[0].value, "7");
    httpd_reply_close(&r);
    proto_error_close(&e);
}
END_TEST

START_TEST(routes_table)
{
    size_t n, i;
    const struct httpd_route *t = httpd_routes(&n);
    ck_assert_uint_ge(n, 6);
    ck_assert_ptr_eq(httpd_route_find("/v1/assess", &i), &t[i]);
    ck_assert(httpd_route_allows(&t[i], "POST"));
    ck_assert(!httpd_route_allows(&t[i], "GET"));
    ck_assert(!httpd_route_allows(&t[i], "POS"));
    ck_assert(t[i].flags & HTTPD_ROUTE_TOKEN);
    ck_assert_ptr_null(httpd_route_find("/v1/assess/", &i));
    ck_assert_uint_eq(i, n);
    ck_assert_ptr_null(httpd_route_find("/V1/ASSESS", &i));
    const struct httpd_route *h = httpd_route_find("/healthz", &i);
    ck_assert(h && httpd_route_allows(h, "HEAD") && (h->flags & HTTPD_ROUTE_PROBE));
    /* The consultation page: "/" exactly, and everything under "/ui/";
     * neither needs the token. */
    const struct httpd_route *page = httpd_route_find("/", &i);
    ck_assert(page && (page->flags & HTTPD_ROUTE_UI) && !(page->flags & HTTPD_ROUTE_TOKEN));
    ck_assert(httpd_route_allows(page, "HEAD") && !httpd_route_allows(page, "POST"));
    const struct httpd_route *asset = httpd_route_find("/ui/app.js", &i);
    ck_assert(asset && (asset->flags & HTTPD_ROUTE_UI) && (asset->flags & HTTPD_ROUTE_PREFIX));
    ck_assert_ptr_eq(httpd_route_find("/ui/../x", &i), asset);   /* the handler looks the name up */
    ck_assert_ptr_null(httpd_route_find("/ui", &i));
    ck_assert_ptr_null(httpd_route_find("/uix/app.js", &i));
    ck_assert_ptr_null(httpd_route_find("//", &i));
}
END_TEST

START_TEST(metrics_exposition)
{
    size_t n;
    const struct httpd_route *t = httpd_routes(&n);
    const char *names[16];
    for (size_t i = 0; i < n; i++)
        names[i] = t[i].path;
    names[n] = "other";
    struct httpd_metrics m;
    ck_assert_int_eq(httpd_metrics_init(&m, names, n + 1), 0);
    httpd_metrics_request(&m, 0, 200, 300000);          /* 0.3 ms */
    httpd_metrics_request(&m, 0, 200, 20000000);        /* 20 ms */
    httpd_metrics_request(&m, 0, 999, 1);               /* not a status we list */
    httpd_metrics_request(&m, 99, 404, 1000);           /* no such endpoint: "other" */
    httpd_metrics_limit(&m, HTTPD_LIMIT_MAX_BODY);
    httpd_metrics_suitd_error(&m, HTTPD_SUITD_TIMEOUT);
    struct proto_prom p;
    proto_prom_init(&p);
    httpd_metrics_render(&m, false, &p);
    ck_assert(!p.failed);
    static const char *const want[] = {
        "suit_httpd_requests_total{endpoint=\"/v1/assess\",status=\"200\"} 2\n",
        "suit_httpd_requests_total{endpoint=\"/v1/assess\",status=\"other\"} 1\n",
        "suit_httpd_requests_total{endpoint=\"other\",status=\"404\"} 1\n",
        "suit_httpd_request_duration_seconds_bucket{endpoint=\"/v1/assess\",le=\"0.0005\"} 2\n",
        "suit_httpd_request_duration_seconds_bucket{endpoint=\"/v1/assess\",le=\"0.01\"} 2\n",
        "suit_httpd_request_duration_seconds_bucket{endpoint=\"/v1/assess\",le=\"0.025\"} 3\n",
        "suit_httpd_request_duration_seconds_bucket{endpoint=\"/v1/assess\",le=\"+Inf\"} 3\n",
        "suit_httpd_request_duration_seconds_count{endpoint=\"/v1/assess\"} 3\n",
        "suit_httpd_request_duration_seconds_sum{endpoint=\"/v1/assess\"} 0.020300001\n",
        "suit_httpd_limits_tripped_total{limit=\"max_body\"} 1\n",
        "suit_httpd_limits_tripped_total{limit=\"idle_timeout\"} 0\n",
        "suit_httpd_suitd_errors_total{reason=\"timeout\"} 1\n",
        "suit_httpd_suitd_up 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(p.buf, want[i]), "missing:\n%s\nin:\n%s", want[i], p.buf);
    proto_prom_free(&p);
    httpd_metrics_close(&m);
}
END_TEST

/* The gateway never calls an admin method (or anything outside ping,
 * assess, ruleset, stats): refused before any connection is made. */
START_TEST(upstream_never_calls_admin)
{
    struct httpd_config c;
    char err[512];
    ck_assert_int_eq(load(&c, err, (const char *[]){"--suitd", "unix:/nonexistent/suitd.sock",
                                                     NULL}), 0);
    struct httpd_metrics m;
    const char *names[] = {"other"};
    ck_assert_int_eq(httpd_metrics_init(&m, names, 1), 0);
    struct httpd_log lg = {HTTPD_LOG_ERROR};
    struct httpd_upstream u;
    ck_assert_int_eq(httpd_upstream_init(&u, &c, &m, &lg, err, sizeof err), 0);
    static const char *const refused[] = {"reload", "auth", "shutdown", "Ping", ""};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct proto_error e;
        proto_error_init(&e);
        json_t *res = NULL;
        ck_assert_int_eq(httpd_upstream_call(&u, refused[i], NULL, NULL, &res, &e),
                         HTTPD_UPSTREAM_BAD_REPLY);
        ck_assert_ptr_null(res);
        ck_assert_msg(strstr(e.message, "never calls"), "%s", e.message);
        proto_error_close(&e);
    }
    ck_assert_uint_eq(atomic_load(&m.suitd_connects), 0);
    /* an allowed method does try suitd (and finds nothing there) */
    struct proto_error e;
    proto_error_init(&e);
    json_t *res = NULL;
    ck_assert_int_eq(httpd_upstream_call(&u, "ping", NULL, NULL, &res, &e),
                     HTTPD_UPSTREAM_UNREACHABLE);
    ck_assert_ptr_nonnull(strstr(e.message, "/nonexistent/suitd.sock"));
    ck_assert_uint_eq(atomic_load(&m.suitd_errors[HTTPD_SUITD_UNREACHABLE]), 1);
    proto_error_close(&e);
    httpd_upstream_close(&u);
    httpd_metrics_close(&m);
    httpd_config_close(&c);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"config_defaults", config_defaults},
        {"config_file_and_flags", config_file_and_flags},
        {"config_refusals", config_refusals},
        {"config_ui", config_ui},
        {"config_documented", config_documented},
        {"request_shapes", request_shapes},
        {"request_errors_name_the_field", request_errors_name_the_field},
        {"json_path_at_offsets", json_path_at_offsets},
        {"status_of_every_code", status_of_every_code},
        {"error_body", error_body},
        {"routes_table", routes_table},
        {"metrics_exposition", metrics_exposition},
        {"upstream_never_calls_admin", upstream_never_calls_admin},
    };
    return testutil_run(testutil_suite("httpd_unit", cases, sizeof cases / sizeof cases[0], 30,
                                       NULL));
}
