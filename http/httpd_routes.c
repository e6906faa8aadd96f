/*
 * httpd_routes.c: see httpd_routes.h.  The JSON API: POST /v1/assess,
 * GET /v1/ruleset, GET /v1/ping; the probes: GET /healthz, /readyz,
 * /metrics.  Each answer is what suitd answered, as JSON; each failure to
 * get an answer becomes the error body with the status that fits.
 *
 * Nothing a client sent about a patient is logged: suitd's error
 * messages may quote a value, so they go to the client only.
 */
#include "httpd_routes.h"

#include <jansson.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cds_service.h"
#include "httpd_request.h"
#include "httpd_server.h"
#include "httpd_ui.h"
#include "proto_prom.h"

/* ---- answers from suitd ------------------------------------------------ */

/* At most one warning per this many seconds about suitd being away: a
 * busy gateway in front of a stopped suitd must not flood its log. */
#define HTTPD_UNAVAILABLE_LOG_EVERY_S 10

static void httpd_warn_unavailable(const struct httpd_request *rq, const char *what,
                                   const struct proto_error *e)
{
    _Atomic long *last = &rq->srv->unavailable_logged_at;
    long now = (long)time(NULL), prev = atomic_load(last);
    if (now - prev < HTTPD_UNAVAILABLE_LOG_EVERY_S ||
        !atomic_compare_exchange_strong(last, &prev, now))
        return;
    httpd_warn(rq->srv->log, "suitd %s: %s (503 until it answers; said at most every %d s)",
               what, e->message, HTTPD_UNAVAILABLE_LOG_EVERY_S);
}

/* The answer for a call that did not return a result. */
static void httpd_upstream_failed(const struct httpd_request *rq, enum httpd_upstream_status st,
                                  struct proto_error *e, struct httpd_reply *out)
{
    unsigned ra = rq->srv->cfg->retry_after_s;
    switch (st) {
    case HTTPD_UPSTREAM_ANSWERED:
        if (e->code == PROTO_E_NOT_PERMITTED) {
            /* suitd refused the gateway itself: its setup, not the client */
            httpd_warn(rq->srv->log, "suitd refused the gateway: %s (check suitd_token_file)",
                       e->message);
            httpd_reply_errorf(out, 502, PROTO_E_INTERNAL,
                               "suitd refused the gateway; the operator must check its "
                               "suitd_token_file");
            return;
        }
        httpd_reply_error(out, 0, e, ra);
        return;
    case HTTPD_UPSTREAM_UNREACHABLE:
        httpd_warn_unavailable(rq, "is unreachable", e);
        httpd_reply_errorf(out, 503, PROTO_E_INTERNAL, "suitd is unavailable; retry later");
        break;
    case HTTPD_UPSTREAM_CLOSED:
        httpd_warn_unavailable(rq, "closed the connection", e);
        httpd_reply_errorf(out, 503, PROTO_E_INTERNAL,
                           "suitd closed the connection during the call; retry later");
        break;
    case HTTPD_UPSTREAM_TIMEOUT:
        httpd_reply_error(out, 504, e, ra);
        return;
    case HTTPD_UPSTREAM_BAD_REPLY:
    default:
        httpd_warn(rq->srv->log, "suitd's answer could not be read: %s", e->message);
        httpd_reply_errorf(out, 502, PROTO_E_INTERNAL, "suitd sent an answer the gateway cannot read");
        return;
    }
    httpd_reply_header(out, "Retry-After", "%u", ra);
}

static void httpd_pack_raw(msgpack_packer *pk, void *arg)
{
    const msgpack_sbuffer *sb = arg;
    pk->callback(pk->data, sb->data, sb->size);
}

/* Calls suitd; on failure `out` already holds the answer and NULL is
 * returned. */
json_t *httpd_call(const struct httpd_request *rq, const char *method,
                          rpc_pack_params_fn pack, void *arg, struct httpd_reply *out)
{
    struct proto_error e;
    proto_error_init(&e);
    json_t *result = NULL;
    enum httpd_upstream_status st =
        httpd_upstream_call(&rq->srv->upstream, method, pack, arg, &result, &e);
    if (st != HTTPD_UPSTREAM_OK)
        httpd_upstream_failed(rq, st, &e, out);
    proto_error_close(&e);
    return result;
}

static const char *httpd_arg(const struct httpd_request *rq, const char *key)
{
    for (size_t i = 0; i < rq->n_args; i++)
        if (!strcmp(rq->args[i].key, key))
            return rq->args[i].value;
    return NULL;
}

/* ---- the API ------------------------------------------------------------ */

static void httpd_assess(const struct httpd_request *rq, struct httpd_reply *out)
{
    int explain = -1;
    const char *q = httpd_arg(rq, "explain");
    if (q && (explain = httpd_parse_explain(q)) < 0) {
        struct proto_error e;
        proto_error_init(&e);
        proto_error_set(&e, PROTO_E_INVALID_PARAMS, "explain: expected true or false");
        proto_error_set_field(&e, "explain");
        httpd_reply_error(out, 0, &e, 0);
        proto_error_close(&e);
        return;
    }
    msgpack_sbuffer params;
    msgpack_sbuffer_init(&params);
    struct proto_error e;
    proto_error_init(&e);
    if (httpd_assess_params(rq->body ? rq->body : "", rq->body_len, explain, &params, &e)) {
        httpd_reply_error(out, 0, &e, 0);
    } else {
        json_t *result = httpd_call(rq, "assess", httpd_pack_raw, &params, out);
        if (result)
            httpd_reply_json(out, 200, result);
        json_decref(result);
    }
    proto_error_close(&e);
    msgpack_sbuffer_destroy(&params);
}

static void httpd_ruleset(const struct httpd_request *rq, struct httpd_reply *out)
{
    json_t *result = httpd_call(rq, "ruleset", NULL, NULL, out);
    if (!result)
        return;
    /* The sha256 names the ruleset exactly: a form builder can keep its
     * copy and ask again with If-None-Match. */
    const char *sha = json_string_value(json_object_get(result, "sha256"));
    char etag[80] = "";
    if (sha && strlen(sha) < sizeof etag - 2)
        snprintf(etag, sizeof etag, "\"%s\"", sha);
    const char *inm = httpd_request_header(rq, "If-None-Match");
    if (etag[0] && inm && (!strcmp(inm, etag) || !strcmp(inm, "*"))) {
        httpd_reply_close(out);
        out->status = 304;
    } else {
        httpd_reply_json(out, 200, result);
    }
    if (etag[0])
        httpd_reply_header(out, "ETag", "%s", etag);
    httpd_reply_header(out, "Cache-Control", "no-cache");
    json_decref(result);
}

static void httpd_ping(const struct httpd_request *rq, struct httpd_reply *out)
{
    json_t *result = httpd_call(rq, "ping", NULL, NULL, out);
    if (!result)
        return;
    json_object_set_new(result, "gateway",
                        json_pack("{s:s,s:s}", "name", "suit-httpd", "version", SUITD_VERSION));
    httpd_reply_json(out, 200, result);
    json_decref(result);
}

/* ---- probes ----------------------------------------------------------- */

static void httpd_healthz(const struct httpd_request *rq, struct httpd_reply *out)
{
    json_t *j = json_pack("{s:s,s:s}", "status", "ok", "version", SUITD_VERSION);
    httpd_reply_json(out, 200, j);
    json_decref(j);
}

/* Ready: suitd answers ping and names the ruleset it serves. */
static void httpd_readyz(const struct httpd_request *rq, struct httpd_reply *out)
{
    struct proto_error e;
    proto_error_init(&e);
    json_t *result = NULL;
    enum httpd_upstream_status st =
        httpd_upstream_call(&rq->srv->upstream, "ping", NULL, NULL, &result, &e);
    char reason[700] = "";
    json_t *rs = result ? json_object_get(result, "ruleset") : NULL;
    if (st == HTTPD_UPSTREAM_OK && json_is_string(json_object_get(rs, "sha256"))) {
        json_t *j = json_pack("{s:b,s:O}", "ready", 1, "ruleset", rs);
        httpd_reply_json(out, 200, j);
        json_decref(j);
    } else {
        if (st == HTTPD_UPSTREAM_OK)
            snprintf(reason, sizeof reason, "suitd answers but serves no ruleset");
        else if (st == HTTPD_UPSTREAM_ANSWERED)
            snprintf(reason, sizeof reason, "suitd answered ping with an error: %s", e.message);
        else if (st == HTTPD_UPSTREAM_TIMEOUT)
            snprintf(reason, sizeof reason, "suitd did not answer ping in time: %s", e.message);
        else
            snprintf(reason, sizeof reason, "suitd is unreachable: %s", e.message);
        json_t *j = json_pack("{s:b,s:s?}", "ready", 0, "reason", reason);
        if (!json_object_get(j, "reason"))     /* not UTF-8: say it plainly */
            json_object_set_new(j, "reason", json_string("suitd is not ready"));
        httpd_reply_json(out, 503, j);
        json_decref(j);
        httpd_reply_header(out, "Retry-After", "%u", rq->srv->cfg->retry_after_s);
    }
    json_decref(result);
    proto_error_close(&e);
}

static void httpd_metrics_page(const struct httpd_request *rq, struct httpd_reply *out)
{
    struct proto_error e;
    proto_error_init(&e);
    json_t *stats = NULL;
    enum httpd_upstream_status st =
        httpd_upstream_call(&rq->srv->upstream, "stats", NULL, NULL, &stats, &e);
    proto_error_close(&e);
    struct proto_prom p;
    proto_prom_init(&p);
    httpd_metrics_render(&rq->srv->metrics, st == HTTPD_UPSTREAM_OK, &p);
    if (st == HTTPD_UPSTREAM_OK)
        proto_prom_stats(&p, stats);
    json_decref(stats);
    if (p.failed)
        httpd_reply_errorf(out, 500, PROTO_E_INTERNAL, "out of memory");
    else
        httpd_reply_text(out, 200, "text/plain; version=0.0.4; charset=utf-8", p.buf ? p.buf : "",
                         p.len);
    proto_prom_free(&p);
}

/* ---- the table ------------------------------------------------------------ */

static const char *const httpd_assess_query[] = {"explain", NULL};

static const struct httpd_route httpd_route_table[] = {
    {"/v1/assess", "POST", HTTPD_ROUTE_TOKEN | HTTPD_ROUTE_JSON_BODY, httpd_assess_query,
     httpd_assess},
    {"/v1/ruleset", "GET", HTTPD_ROUTE_TOKEN, NULL, httpd_ruleset},
    {"/v1/ping", "GET", HTTPD_ROUTE_TOKEN, NULL, httpd_ping},
    {"/healthz", "GET", HTTPD_ROUTE_PROBE, NULL, httpd_healthz},
    {"/readyz", "GET", HTTPD_ROUTE_PROBE, NULL, httpd_readyz},
    {"/metrics", "GET", HTTPD_ROUTE_PROBE, NULL, httpd_metrics_page},
    /* CDS Hooks (cds_service.h): discovery is open (it holds nothing about
     * patients); the service checks the client's JWT itself. */
    {"/cds-services", "GET", 0, NULL, cds_discovery_handler},
    {"/cds-services/", "POST", HTTPD_ROUTE_JSON_BODY | HTTPD_ROUTE_PREFIX, NULL, cds_call_handler},
    {"/", "GET", HTTPD_ROUTE_UI, NULL, httpd_ui_index},
    {"/ui/", "GET", HTTPD_ROUTE_UI | HTTPD_ROUTE_PREFIX, NULL, httpd_ui_asset},
};
#define HTTPD_N_ROUTES (sizeof httpd_route_table / sizeof httpd_route_table[0])

const struct httpd_route *httpd_routes(size_t *n)
{
    *n = HTTPD_N_ROUTES;
    return httpd_route_table;
}

const struct httpd_route *httpd_route_find(const char *path, size_t *index)
{
    for (size_t i = 0; i < HTTPD_N_ROUTES; i++) {
        const struct httpd_route *r = &httpd_route_table[i];
        bool match = r->flags & HTTPD_ROUTE_PREFIX ? !strncmp(path, r->path, strlen(r->path))
                                                   : !strcmp(path, r->path);
        if (match) {
            *index = i;
            return r;
        }
    }
    *index = HTTPD_N_ROUTES;
    return NULL;
}

bool httpd_route_allows(const struct httpd_route *r, const char *method)
{
    if (!strcmp(method, "HEAD"))
        method = "GET";
    size_t n = strlen(method);
    for (const char *p = r->methods; (p = strstr(p, method)); p += n)
        if ((p == r->methods || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}
