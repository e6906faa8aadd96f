/*
 * httpd_routes.h: the endpoint table (after Redis's command table: one row
 * per endpoint with its methods and flags, checked once by the server
 * before a handler runs) and the handlers of the JSON API.
 *
 * A handler sees a struct httpd_request and fills a struct httpd_reply;
 * it never touches libmicrohttpd, so later endpoints (CDS Hooks, the
 * consultation page) are rows with their own handlers and flags.
 */
#ifndef HTTPD_ROUTES_H
#define HTTPD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "httpd_reply.h"

struct httpd_server;

/* Route flags: what the server checks before the handler runs. */
enum {
    /* With a token configured, the request must send it (Authorization:
     * Bearer TOKEN). */
    HTTPD_ROUTE_TOKEN = 1 << 0,
    /* A probe (health, readiness, metrics): open to loopback clients, to
     * any client with open_health_metrics, else only with the token. */
    HTTPD_ROUTE_PROBE = 1 << 1,
    /* Takes a JSON body (Content-Type application/json, at most
     * max_body bytes, Content-Length or chunked). */
    HTTPD_ROUTE_JSON_BODY = 1 << 2,
    /* path is a prefix (ends in '/'): the route serves everything under
     * it. */
    HTTPD_ROUTE_PREFIX = 1 << 3,
    /* The consultation page (httpd_ui.h): served only while the ui
     * setting is on (else the path is unknown: 404); no token, since the
     * page holds no patient data and sends the token with its own API
     * calls. */
    HTTPD_ROUTE_UI = 1 << 4,
};

struct httpd_arg {
    const char *key, *value;
};

/* What a handler is given.  Strings stay valid until the handler
 * returns. */
struct httpd_request {
    struct httpd_server *srv;
    const char *method;             /* "GET", "HEAD", "POST" */
    const char *path;               /* decoded, without the query */
    const char *body;               /* NULL for none */
    size_t body_len;
    const struct httpd_arg *args;   /* the query, in order */
    size_t n_args;
    bool peer_loopback;
    void *conn;                     /* for httpd_request_header */
};

/* A request header (case-insensitive name), or NULL. */
const char *httpd_request_header(const struct httpd_request *rq, const char *name);

struct json_t;
/* Calls suitd's method (params packed by pack, or [] when NULL): the
 * result (the caller frees it), or NULL with `out` holding the answer for
 * the failure (503, 504, 502 or suitd's own error). */
#include "rpc_client.h"
struct json_t *httpd_call(const struct httpd_request *rq, const char *method,
                          rpc_pack_params_fn pack, void *arg, struct httpd_reply *out);

typedef void (*httpd_handler_fn)(const struct httpd_request *rq, struct httpd_reply *out);

struct httpd_route {
    const char *path;
    const char *methods;            /* space-separated: "GET", "POST"; GET allows HEAD */
    unsigned flags;
    const char *const *query;       /* query keys the endpoint takes (NULL: none) */
    httpd_handler_fn handle;
};

/* The table and its length; metrics name endpoints by the rows' paths,
 * plus "other" (index n) for paths no row has. */
const struct httpd_route *httpd_routes(size_t *n);
/* The row serving path, with its index; NULL (and *index = n) for none. */
const struct httpd_route *httpd_route_find(const char *path, size_t *index);
/* Whether the row takes method (HEAD counts as GET). */
bool httpd_route_allows(const struct httpd_route *r, const char *method);

#endif
