/*
 * httpd_server.c: see httpd_server.h.
 *
 * The life of a request, in libmicrohttpd's callbacks:
 *   httpd_conn_cb(STARTED)   a connection joins the registry (idle)
 *   httpd_uri_cb             the request line arrived: a struct httpd_req,
 *                            the connection is busy from now
 *   httpd_access_cb, first   the headers arrived: framing, route, method,
 *                            token, CORS, body type and size
 *   httpd_access_cb, body    the body, as it arrives
 *   httpd_access_cb, final   the handler runs and the answer is queued
 *   httpd_done_cb            the answer went out (or the request died):
 *                            counted, the connection is idle again
 *   httpd_conn_cb(CLOSED)    the connection leaves the registry
 * A refusal is answered at the final call when the request has no body,
 * so keep-alive survives it; a request that still has a body to send is
 * answered at once, and libmicrohttpd then closes the connection without
 * reading the body (nothing of it can be taken for the next request).
 */
#include "httpd_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpd_reply.h"
#include "httpd_routes.h"

/* The kernel's queue of connections not yet accepted (SOMAXCONN's usual
 * value); beyond it clients wait in SYN retries rather than being
 * refused. */
#define HTTPD_LISTEN_BACKLOG 511
/* A chunked body may grow past max_body before it ends; it is read (and
 * thrown away) for at most this many times max_body more, so the client
 * gets its 413, then the connection is closed. */
#define HTTPD_DISCARD_FACTOR 1
/* Query arguments one request may carry. */
#define HTTPD_MAX_ARGS 16

struct httpd_conn {
    struct httpd_conn *prev, *next;
    int fd;
    struct sockaddr_storage addr;
    bool loopback;
    /* NEW: accepted, no request line yet; BUSY: between a request line
     * and the end of its answer; IDLE: waiting for the next request.  NEW
     * and BUSY have request_timeout, IDLE has idle_timeout: libmicrohttpd
     * tells nothing between a request's first byte and its request line,
     * so a request line dribbled on a kept-alive connection gets at most
     * idle_timeout + request_timeout. */
    enum { HTTPD_CONN_NEW, HTTPD_CONN_BUSY, HTTPD_CONN_IDLE } state;
    bool reaped;            /* shut down by httpd_server_tick */
    uint64_t since_ns;      /* when it entered its state */
};

struct httpd_req {
    struct httpd_server *srv;
    struct httpd_conn *conn;            /* NULL when its registry entry could not be made */
    const struct httpd_route *route;    /* NULL: no such path */
    size_t endpoint;                    /* metrics index */
    uint64_t start_ns;
    bool started;                       /* the first access call happened */
    bool refused;                       /* `refusal` is the answer */
    struct httpd_reply refusal;
    char *body;
    size_t body_len, body_cap;
    uint64_t discarded;
    bool too_large;
    bool cors_allowed;                  /* Origin is in the allowlist */
    char origin[256];
    struct httpd_arg args[HTTPD_MAX_ARGS];
    size_t n_args;
    bool bad_args;                      /* too many, or one given twice */
};

static uint64_t httpd_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool httpd_same_ip(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (b->sa_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
    return false;
}

/* ---- connections: limits and the registry ----------------------------- */

/* Called by libmicrohttpd for each accepted connection, before anything
 * is allocated for it.  Several threads accept at once, so a burst at
 * the same instant can pass the count by up to threads - 1 before the
 * registry sees them; the registry itself is always exact. */
static enum MHD_Result httpd_accept_cb(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct httpd_server *s = cls;
    enum httpd_limit tripped = HTTPD_LIMIT_COUNT;
    pthread_mutex_lock(&s->conn_lock);
    if (s->n_conns >= s->cfg->max_connections) {
        tripped = HTTPD_LIMIT_MAX_CONNECTIONS;
    } else if (s->cfg->max_connections_per_ip && addr && len) {
        unsigned same = 0;
        for (struct httpd_conn *c = s->conns; c; c = c->next)
            same += httpd_same_ip(&c->addr, addr);
        if (same >= s->cfg->max_connections_per_ip)
            tripped = HTTPD_LIMIT_MAX_CONNECTIONS_PER_IP;
    }
    pthread_mutex_unlock(&s->conn_lock);
    if (tripped == HTTPD_LIMIT_COUNT)
        return MHD_YES;
    httpd_metrics_limit(&s->metrics, tripped);
    httpd_debug(s->log, "connection refused: %s reached", httpd_limit_name(tripped));
    return MHD_NO;
}

static void httpd_conn_cb(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct httpd_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct httpd_conn *c = calloc(1, sizeof *c);
        *socket_context = c;
        if (!c)
            return;     /* served without deadlines; MHD's own timeout still holds */
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        c->fd = fd ? fd->connect_fd : -1;
        if (ad && ad->client_addr) {
            size_t n = ad->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                : sizeof(struct sockaddr_in);
            memcpy(&c->addr, ad->client_addr, n);
            c->loopback = proto_addr_is_loopback(ad->client_addr);
        }
        c->since_ns = httpd_now_ns();
        pthread_mutex_lock(&s->conn_lock);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        pthread_mutex_unlock(&s->conn_lock);
        atomic_fetch_add_explicit(&s->metrics.conn_current, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->metrics.conn_total, 1, memory_order_relaxed);
        return;
    }
    struct httpd_conn *c = *socket_context;
    if (!c)
        return;
    /* Out of the registry before libmicrohttpd closes the descriptor, so
     * the reaper can never shut down a number the kernel has reused. */
    pthread_mutex_lock(&s->conn_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    pthread_mutex_unlock(&s->conn_lock);
    atomic_fetch_sub_explicit(&s->metrics.conn_current, 1, memory_order_relaxed);
    free(c);
    *socket_context = NULL;
}

static void httpd_conn_state(struct httpd_server *s, struct httpd_conn *c, bool busy)
{
    if (!c)
        return;
    pthread_mutex_lock(&s->conn_lock);
    c->state = busy ? HTTPD_CONN_BUSY : HTTPD_CONN_IDLE;
    c->since_ns = httpd_now_ns();
    pthread_mutex_unlock(&s->conn_lock);
}

void httpd_server_tick(struct httpd_server *s)
{
    uint64_t now = httpd_now_ns();
    uint64_t req_ns = (uint64_t)s->cfg->request_timeout_s * 1000000000u;
    uint64_t idle_ns = (uint64_t)s->cfg->idle_timeout_s * 1000000000u;
    unsigned n_req = 0, n_idle = 0;
    pthread_mutex_lock(&s->conn_lock);
    for (struct httpd_conn *c = s->conns; c; c = c->next) {
        if (c->reaped || c->fd < 0)
            continue;
        uint64_t age = now - c->since_ns;
        bool idle = c->state == HTTPD_CONN_IDLE;
        if (age <= (idle ? idle_ns : req_ns))
            continue;
        /* libmicrohttpd sees the end of the stream and closes the
         * connection in its own thread, as if the client had gone. */
        shutdown(c->fd, SHUT_RDWR);
        c->reaped = true;
        if (idle)
            n_idle++;
        else
            n_req++;
    }
    pthread_mutex_unlock(&s->conn_lock);
    for (unsigned i = 0; i < n_req; i++)
        httpd_metrics_limit(&s->metrics, HTTPD_LIMIT_REQUEST_TIMEOUT);
    for (unsigned i = 0; i < n_idle; i++)
        httpd_metrics_limit(&s->metrics, HTTPD_LIMIT_IDLE_TIMEOUT);
    if (n_req || n_idle)
        httpd_debug(s->log, "closed %u connection(s) past request_timeout, %u past idle_timeout",
                    n_req, n_idle);
}

/* ---- requests ---------------------------------------------------------- */

static struct httpd_conn *httpd_conn_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The request line is in: the request's state, and its clock, start. */
static void *httpd_uri_cb(void *cls, const char *uri, struct MHD_Connection *connection)
{
    struct httpd_server *s = cls;
    struct httpd_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = s;
    r->start_ns = httpd_now_ns();
    r->conn = httpd_conn_of(connection);
    httpd_reply_init(&r->refusal);
    /* A first guess at the route, from the raw path, so requests that
     * libmicrohttpd refuses itself (431) are counted under it; the
     * handler resolves the decoded path again. */
    char path[256];
    size_t n = strcspn(uri, "?");
    snprintf(path, sizeof path, "%.*s", (int)(n < sizeof path ? n : sizeof path - 1), uri);
    r->route = httpd_route_find(path, &r->endpoint);
    httpd_conn_state(s, r->conn, true);
    return r;
}

static void httpd_req_free(struct httpd_req *r)
{
    httpd_reply_close(&r->refusal);
    free(r->body);
    free(r);
}

static void httpd_done_cb(void *cls, struct MHD_Connection *connection, void **req_cls,
                          enum MHD_RequestTerminationCode toe)
{
    struct httpd_server *s = cls;
    struct httpd_req *r = *req_cls;
    *req_cls = NULL;
    const union MHD_ConnectionInfo *st =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_HTTP_STATUS);
    unsigned status = st ? st->http_status : 0;
    size_t endpoint = r ? r->endpoint : (size_t)-1;
    uint64_t elapsed = r ? httpd_now_ns() - r->start_ns : 0;
    if (status) {
        /* (libmicrohttpd's own refusals are counted as limits in
         * httpd_mhd_log.) */
        httpd_metrics_request(&s->metrics, endpoint, status, elapsed);
    }
    if (httpd_log_enabled(s->log, HTTPD_LOG_DEBUG)) {
        size_t nr;
        const struct httpd_route *routes = httpd_routes(&nr);
        const char *name = endpoint < nr ? routes[endpoint].path : "other";
        httpd_debug(s->log, "%s %u %.3f ms%s", name, status, (double)elapsed / 1e6,
                    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    }
    httpd_conn_state(s, httpd_conn_of(connection), false);
    if (r)
        httpd_req_free(r);
}

/* ---- answering --------------------------------------------------------- */

static enum MHD_Result httpd_queue(struct httpd_req *r, struct MHD_Connection *connection,
                                   struct httpd_reply *rep)
{
    struct httpd_server *s = r->srv;
    struct MHD_Response *resp;
    if (rep->body && rep->len) {
        resp = MHD_create_response_from_buffer(rep->len, rep->body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            rep->body = NULL;   /* MHD frees it */
    } else {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (rep->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    bool cache_set = false;
    for (size_t i = 0; i < rep->n_headers; i++) {
        MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
        cache_set |= !strcasecmp(rep->headers[i].name, MHD_HTTP_HEADER_CACHE_CONTROL);
    }
    /* Answers hold patient data: no cache may keep them. */
    if (!cache_set)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (s->cfg->n_cors_origins) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
        if (r->cors_allowed) {
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, r->origin);
            MHD_add_response_header(resp, "Access-Control-Expose-Headers", "Retry-After, ETag");
        }
    }
    if (rep->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(connection, rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- the first call: everything before the body ----------------------- */

struct httpd_framing {
    unsigned n_cl, n_te;
    const char *te;
};

static enum MHD_Result httpd_count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *value)
{
    struct httpd_framing *f = cls;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        f->n_cl++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->n_te++;
        f->te = value;
    }
    return MHD_YES;
}

static enum MHD_Result httpd_collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    struct httpd_req *r = cls;
    for (size_t i = 0; i < r->n_args; i++)
        if (!strcmp(r->args[i].key, key))
            r->bad_args = true;
    if (r->n_args == HTTPD_MAX_ARGS) {
        r->bad_args = true;
        return MHD_NO;
    }
    r->args[r->n_args++] = (struct httpd_arg){key, value ? value : ""};
    return MHD_YES;
}

static bool httpd_token_ok(const struct httpd_server *s, const char *authz)
{
    if (!authz || strncasecmp(authz, "Bearer ", 7))
        return false;
    const char *given = authz + 7;
    while (*given == ' ')
        given++;
    size_t len = strlen(given);
    /* Constant time in the token: every byte of it is compared whatever
     * the input, and the only branch depends on the client's own length. */
    unsigned char diff = len != s->token_len;
    for (size_t i = 0; i < s->token_len; i++)
        diff |= (unsigned char)s->token[i] ^ (unsigned char)(i < len ? given[i] : 0);
    return diff == 0;
}

static bool httpd_origin_allowed(const struct httpd_server *s, const char *origin)
{
    for (size_t i = 0; origin && i < s->cfg->n_cors_origins; i++)
        if (!strcasecmp(s->cfg->cors_origins[i], origin))
            return true;
    return false;
}

/* Makes the refusal the answer: the error body with code and message,
 * and data.field when field is not NULL. */
static void httpd_refuse(struct httpd_req *r, unsigned status, int code, const char *field,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void httpd_refuse(struct httpd_req *r, unsigned status, int code, const char *field,
                         const char *fmt, ...)
{
    struct proto_error e;
    proto_error_init(&e);
    char msg[sizeof e.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    proto_error_set(&e, code, "%s", msg);
    if (field)
        proto_error_set_field(&e, field);
    httpd_reply_error(&r->refusal, status, &e, r->srv->cfg->retry_after_s);
    proto_error_close(&e);
    r->refused = true;
}

/* OPTIONS: a CORS preflight for an allowed origin, else 403; without an
 * Origin it is a plain OPTIONS and says what the path allows. */
static void httpd_preflight(struct httpd_req *r, struct MHD_Connection *connection)
{
    struct httpd_server *s = r->srv;
    const struct httpd_route *rt = r->route;
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
    const char *want = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                   "Access-Control-Request-Method");
    r->refused = true;
    if (!origin) {
        r->refusal.status = 204;
        httpd_reply_header(&r->refusal, "Allow", "OPTIONS, %s%s", rt->methods,
                           httpd_route_allows(rt, "GET") ? ", HEAD" : "");
        return;
    }
    if (!r->cors_allowed) {
        httpd_refuse(r, 403, PROTO_E_NOT_PERMITTED, NULL,
                     "origin not allowed: %.200s (the gateway's cors_origin list does not "
                     "name it)", origin);
        return;
    }
    if (want && !httpd_route_allows(rt, want)) {
        httpd_refuse(r, 403, PROTO_E_NOT_PERMITTED, NULL, "%.40s is not allowed on %s", want,
                     rt->path);
        return;
    }
    r->refusal.status = 204;
    httpd_reply_header(&r->refusal, "Access-Control-Allow-Methods", "%s", rt->methods);
    httpd_reply_header(&r->refusal, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    httpd_reply_header(&r->refusal, "Access-Control-Max-Age", "600");
    (void)s;
}

/* The media type is application/json, optionally with a charset, which
 * must then be UTF-8. */
static bool httpd_is_json_type(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16))
        return false;
    const char *p = ct + 16;
    while (*p == ' ')
        p++;
    if (!*p)
        return true;
    if (*p != ';')
        return false;
    p++;
    while (*p == ' ')
        p++;
    if (!*p)
        return true;
    if (strncasecmp(p, "charset=", 8))
        return false;
    p += 8;
    if (*p == '"')
        p++;
    return !strncasecmp(p, "utf-8", 5) && (!p[5] || p[5] == '"' || p[5] == ' ' || p[5] == ';');
}

/* Checks everything the headers decide.  Returns true when the answer
 * must go out now (a refusal while a body is still to come). */
static bool httpd_first_call(struct httpd_req *r, struct MHD_Connection *connection,
                             const char *url, const char *method)
{
    struct httpd_server *s = r->srv;
    struct httpd_framing fr = {0};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, httpd_count_framing, &fr);
    bool has_body = fr.n_te > 0;
    const char *cl = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strcmp(cl, "0"))
        has_body = true;

    /* Request smuggling: a proxy in front may frame the message by the
     * other header than libmicrohttpd does. */
    if (fr.n_cl && fr.n_te) {
        httpd_refuse(r, 400, PROTO_E_INVALID_REQUEST, NULL,
                     "Content-Length and Transfer-Encoding together are refused (RFC 9112 "
                     "6.3: the framing would be ambiguous)");
        r->refusal.close = true;
        return true;
    }
    if (fr.n_cl > 1 || fr.n_te > 1) {
        httpd_refuse(r, 400, PROTO_E_INVALID_REQUEST, NULL, "%s given more than once",
                     fr.n_cl > 1 ? "Content-Length" : "Transfer-Encoding");
        r->refusal.close = true;
        return true;
    }
    if (fr.n_te && strcasecmp(fr.te, "chunked")) {
        httpd_refuse(r, 501, PROTO_E_INVALID_REQUEST, NULL,
                     "Transfer-Encoding %.60s is not supported (only chunked)", fr.te);
        r->refusal.close = true;
        return true;
    }

    r->route = httpd_route_find(url, &r->endpoint);
    if (r->route && (r->route->flags & HTTPD_ROUTE_UI) && !s->ui_on) {
        r->route = NULL;    /* as if it had no row: counted as "other" */
        httpd_routes(&r->endpoint);
    }
    const struct httpd_route *rt = r->route;
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
    if (origin && httpd_origin_allowed(s, origin)) {
        r->cors_allowed = true;
        snprintf(r->origin, sizeof r->origin, "%s", origin);
    }
    if (!rt) {
        httpd_refuse(r, 404, PROTO_E_METHOD_NOT_FOUND, NULL, "no such endpoint: %.200s", url);
        return has_body;
    }
    if (!strcmp(method, "OPTIONS")) {
        httpd_preflight(r, connection);
        return has_body;
    }
    if (!httpd_route_allows(rt, method)) {
        httpd_refuse(r, 405, PROTO_E_METHOD_NOT_FOUND, NULL, "%.20s is not allowed on %s (use %s)",
                     method, rt->path, rt->methods);
        httpd_reply_header(&r->refusal, "Allow", "OPTIONS, %s%s", rt->methods,
                           httpd_route_allows(rt, "GET") ? ", HEAD" : "");
        return has_body;
    }

    /* Who may call. */
    bool loopback = r->conn && r->conn->loopback;
    const char *authz = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    bool need_token = false;
    if (rt->flags & HTTPD_ROUTE_TOKEN)
        need_token = s->token_len > 0;
    if (rt->flags & HTTPD_ROUTE_PROBE)
        need_token = !loopback && !s->cfg->open_health_metrics;
    if (need_token && !s->token_len) {
        httpd_refuse(r, 403, PROTO_E_NOT_PERMITTED, NULL,
                     "%s answers only loopback clients (set open_health_metrics, or a "
                     "token_file and send it)", rt->path);
        return has_body;
    }
    if (need_token && !httpd_token_ok(s, authz)) {
        httpd_refuse(r, 401, PROTO_E_NOT_PERMITTED, NULL, "%s",
                     authz ? "not permitted: wrong token" : "not permitted: send Authorization: Bearer TOKEN");
        httpd_reply_header(&r->refusal, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                           authz ? "Bearer realm=\"suit-httpd\", error=\"invalid_token\""
                                 : "Bearer realm=\"suit-httpd\"");
        /* One guess per connection, as suitd's auth allows. */
        if (authz)
            r->refusal.close = true;
        return has_body;
    }

    /* The query. */
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, httpd_collect_arg, r);
    if (r->bad_args) {
        httpd_refuse(r, 400, PROTO_E_INVALID_PARAMS, NULL,
                     "the query repeats an argument or has more than %d", HTTPD_MAX_ARGS);
        return has_body;
    }
    for (size_t i = 0; i < r->n_args; i++) {
        bool known = false;
        for (const char *const *q = rt->query; q && *q && !known; q++)
            known = !strcmp(*q, r->args[i].key);
        if (!known) {
            char allowed[160] = "";
            for (const char *const *q = rt->query; q && *q; q++)
                snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
                         allowed[0] ? ", " : "", *q);
            httpd_refuse(r, 400, PROTO_E_INVALID_PARAMS, r->args[i].key,
                         "%.60s: unknown query argument (%s%s)", r->args[i].key,
                         allowed[0] ? "allowed: " : "this endpoint takes none", allowed);
            return has_body;
        }
    }

    /* The body. */
    if (rt->flags & HTTPD_ROUTE_JSON_BODY) {
        const char *ct = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!fr.n_cl && !fr.n_te) {
            httpd_refuse(r, 411, PROTO_E_INVALID_REQUEST, NULL,
                         "a body is needed: send Content-Length or Transfer-Encoding: chunked");
            return false;
        }
        if (!httpd_is_json_type(ct)) {
            httpd_refuse(r, 415, PROTO_E_INVALID_REQUEST, NULL,
                         "Content-Type must be application/json (UTF-8), not %.80s",
                         ct ? ct : "(none)");
            return has_body;
        }
    }
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (!errno && !*end && n > s->cfg->max_body) {
            httpd_metrics_limit(&s->metrics, HTTPD_LIMIT_MAX_BODY);
            r->too_large = true;
            httpd_refuse(r, 413, PROTO_E_TOO_LARGE, NULL,
                         "the body (%llu bytes) is over max_body (%llu bytes)", n,
                         (unsigned long long)s->cfg->max_body);
            return true;
        }
    }
    return false;
}

/* A slice of the body.  Returns false to drop the connection. */
static bool httpd_body(struct httpd_req *r, const char *data, size_t n)
{
    struct httpd_server *s = r->srv;
    if (r->refused || r->too_large) {
        r->discarded += n;
        return r->discarded <= s->cfg->max_body * HTTPD_DISCARD_FACTOR;
    }
    if (r->body_len + n > s->cfg->max_body) {
        /* chunked: the length was not known in advance */
        httpd_metrics_limit(&s->metrics, HTTPD_LIMIT_MAX_BODY);
        r->too_large = true;
        httpd_refuse(r, 413, PROTO_E_TOO_LARGE, NULL, "the body is over max_body (%llu bytes)",
                     (unsigned long long)s->cfg->max_body);
        r->refusal.close = true;
        free(r->body);
        r->body = NULL;
        r->body_len = r->body_cap = 0;
        r->discarded = n;
        return true;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            httpd_refuse(r, 500, PROTO_E_INTERNAL, NULL, "out of memory");
            return true;
        }
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return true;
}

const char *httpd_request_header(const struct httpd_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result httpd_access_cb(void *cls, struct MHD_Connection *connection,
                                       const char *url, const char *method,
                                       const char *version, const char *upload_data,
                                       size_t *upload_data_size, void **req_cls)
{
    struct httpd_server *s = cls;
    struct httpd_req *r = *req_cls;
    if (!r) {
        /* httpd_uri_cb could not allocate: try once more, else drop. */
        if (!(r = httpd_uri_cb(s, url, connection)))
            return MHD_NO;
        *req_cls = r;
    }
    if (!r->started) {
        r->started = true;
        if (httpd_first_call(r, connection, url, method))
            return httpd_queue(r, connection, &r->refusal);
        return MHD_YES;
    }
    if (*upload_data_size) {
        bool keep = httpd_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    if (r->refused)
        return httpd_queue(r, connection, &r->refusal);

    struct httpd_request rq = {
        .srv = s,
        .method = method,
        .path = url,
        .body = r->body,
        .body_len = r->body_len,
        .args = r->args,
        .n_args = r->n_args,
        .peer_loopback = r->conn && r->conn->loopback,
        .conn = connection,
    };
    struct httpd_reply rep;
    httpd_reply_init(&rep);
    r->route->handle(&rq, &rep);
    if (!rep.status)
        httpd_reply_errorf(&rep, 500, PROTO_E_INTERNAL, "the handler gave no answer");
    enum MHD_Result ret = httpd_queue(r, connection, &rep);
    httpd_reply_close(&rep);
    return ret;
}

/* ---- libmicrohttpd's own messages ------------------------------------ */

/* The message libmicrohttpd 0.9.75 logs when it refuses a request itself
 * (connection.c, transmit_error_response_len).  For a request line over
 * max_header_size (414) it tells no callback at all, so this is the only
 * place where those refusals can be counted. */
static const char httpd_mhd_refusal[] = "Error processing request (HTTP response code is %u";

static void httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct httpd_server *s = cls;
    if (!strncmp(fmt, httpd_mhd_refusal, sizeof httpd_mhd_refusal - 1)) {
        va_list copy;
        va_copy(copy, ap);
        unsigned status = va_arg(copy, unsigned);
        va_end(copy);
        if (status == 431 || status == 414)
            httpd_metrics_limit(&s->metrics, HTTPD_LIMIT_MAX_HEADER_SIZE);
        else if (status == 413)
            httpd_metrics_limit(&s->metrics, HTTPD_LIMIT_MAX_BODY);
    }
    if (!httpd_log_enabled(s->log, HTTPD_LOG_DEBUG))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    httpd_debug(s->log, "libmicrohttpd: %s", msg);
}

/* ---- start and stop ---------------------------------------------------- */

static int httpd_bind(struct httpd_server *s)
{
    const struct httpd_config *cfg = s->cfg;
    struct sockaddr_storage ss;
    if (proto_addr_parse(cfg->listen, &ss) < 0) {
        httpd_error(s->log, "--listen %s: expected IP:PORT", cfg->listen);
        return -1;
    }
    s->listen_loopback = proto_addr_is_loopback((struct sockaddr *)&ss);
    if (!s->listen_loopback && !s->token_len) {
        httpd_error(s->log, "refusing to listen on %s without a token: clients there could "
                            "reach patient data.  Give --token-file FILE (clients send "
                            "Authorization: Bearer TOKEN) or listen on loopback only "
                            "(--listen %s)", cfg->listen, HTTPD_DEFAULT_LISTEN);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        httpd_error(s->log, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, HTTPD_LISTEN_BACKLOG) < 0) {
        httpd_error(s->log, "cannot listen on %s: %s", cfg->listen, strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
        if (bound.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
            snprintf(s->url, sizeof s->url, "http://[%s]:%u", ip, port);
        } else {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
            snprintf(s->url, sizeof s->url, "http://%s:%u", ip, port);
        }
    }
    s->listen_fd = fd;
    return 0;
}

/* The consultation page: on when ui is true, or auto and the listener is
 * loopback (a page on other machines' screens is an operator's choice).
 * Its files missing are fatal only when it was asked for by name. */
static int httpd_server_start_ui(struct httpd_server *s)
{
    const struct httpd_config *cfg = s->cfg;
    if (!(cfg->ui == 1 || (cfg->ui == HTTPD_UI_AUTO && s->listen_loopback)))
        return 0;
    char err[600];
    if (httpd_ui_load(&s->ui, cfg->ui_dir, s->log, err, sizeof err) < 0) {
        httpd_ui_close(&s->ui);
        if (cfg->ui == 1) {
            httpd_error(s->log, "ui: %s (install the page's files, point ui_dir at them, or "
                                "set ui = false)", err);
            return -1;
        }
        httpd_warn(s->log, "ui: %s: the consultation page is off (set ui_dir, or ui = false "
                           "to say so)", err);
        return 0;
    }
    s->ui_on = true;
    httpd_info(s->log, "ui: the consultation page is at / (%zu files, %zu bytes, from %s)",
               s->ui.n_files, s->ui.total, cfg->ui_dir);
    return 0;
}

int httpd_server_start(struct httpd_server *s, const struct httpd_config *cfg,
                       const struct httpd_log *lg)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->log = lg;
    s->listen_fd = -1;
    pthread_mutex_init(&s->conn_lock, NULL);
    if (cfg->token_file) {
        int rc = proto_token_read(cfg->token_file, s->token, sizeof s->token);
        if (rc < 0) {
            httpd_error(lg, "token_file %s: %s", cfg->token_file,
                        rc == PROTO_E_TOO_LARGE        ? "the token is too long"
                        : rc == PROTO_E_INVALID_PARAMS ? "the file holds no token"
                                                       : strerror(-rc));
            return -1;
        }
        s->token_len = (size_t)rc;
    }
    /* Metrics name endpoints by the route table's paths, then "other". */
    size_t n_routes;
    const struct httpd_route *routes = httpd_routes(&n_routes);
    s->endpoint_names = calloc(n_routes + 1, sizeof *s->endpoint_names);
    if (!s->endpoint_names ||
        httpd_metrics_init(&s->metrics, s->endpoint_names, n_routes + 1) < 0) {
        httpd_error(lg, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n_routes; i++)
        s->endpoint_names[i] = routes[i].path;
    s->endpoint_names[n_routes] = "other";

    char err[512];
    if (httpd_upstream_init(&s->upstream, cfg, &s->metrics, lg, err, sizeof err) < 0) {
        httpd_error(lg, "%s", err);
        return -1;
    }
    s->upstream_ready = true;
    if (cds_service_init(&s->cds, cfg, err, sizeof err) < 0) {
        /* Configured for CDS Hooks: a broken map or key file must stop
         * the start.  Not configured: the gateway serves its API and
         * says why the service is off. */
        cds_service_close(&s->cds);
        if (cfg->public_url || cfg->n_cds_jwks) {
            httpd_error(lg, "CDS Hooks: %s", err);
            return -1;
        }
        httpd_warn(lg, "CDS Hooks: %s: the service is off (discovery lists none, calls get 503)",
                   err);
    } else {
        s->cds_ready = true;
    }
    if (s->cds_ready) {
        char algs[80] = "";
        for (size_t i = 0; i < s->cds.jwt.n_algs; i++)
            snprintf(algs + strlen(algs), sizeof algs - strlen(algs), "%s%s", i ? ", " : "",
                     s->cds.jwt.algs[i]);
        httpd_info(lg, "CDS Hooks: %zu terminology codes, %zu issuers, algorithms %s, public_url %s",
                   s->cds.terms.n, s->cds.jwt.n_issuers, algs,
                   cfg->public_url ? cfg->public_url : "none (CDS calls refused)");
    }
    if (httpd_bind(s) < 0 || httpd_server_start_ui(s) < 0)
        return -1;

    /* libmicrohttpd's own limits sit behind ours: its connection limit is
     * split between the threads, so each gets all of max_connections and
     * httpd_accept_cb enforces the total; its inactivity timeout is a
     * backstop for connections the registry could not record. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    struct sockaddr_storage ss;
    proto_addr_parse(cfg->listen, &ss);
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned mhd_limit = cfg->max_connections * (cfg->threads > 1 ? cfg->threads : 1);
    unsigned backstop_s = cfg->idle_timeout_s + cfg->request_timeout_s + 5;
    s->mhd = MHD_start_daemon(
        flags, 0, httpd_accept_cb, s, httpd_access_cb, s,
        /* first, so every later message goes to our log */
        MHD_OPTION_EXTERNAL_LOGGER, httpd_mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_size,
        MHD_OPTION_CONNECTION_TIMEOUT, backstop_s,
        MHD_OPTION_NOTIFY_COMPLETED, httpd_done_cb, s,
        MHD_OPTION_NOTIFY_CONNECTION, httpd_conn_cb, s,
        MHD_OPTION_URI_LOG_CALLBACK, httpd_uri_cb, s,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1,
        MHD_OPTION_END);
    if (!s->mhd) {
        httpd_error(lg, "libmicrohttpd did not start on %s (run with --log-level debug for "
                        "its reason)", cfg->listen);
        return -1;
    }
    s->listen_fd = -1;      /* libmicrohttpd's now */
    httpd_log_plain("listening on %s", s->url);
    return 0;
}

void httpd_server_stop(struct httpd_server *s)
{
    if (!s->mhd)
        return;
    /* No new connections; the listening socket comes back to us. */
    MHD_socket lfd = MHD_quiesce_daemon(s->mhd);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    uint64_t deadline = httpd_now_ns() + (uint64_t)s->cfg->shutdown_timeout_s * 1000000000u;
    for (;;) {
        unsigned busy = 0;
        pthread_mutex_lock(&s->conn_lock);
        for (struct httpd_conn *c = s->conns; c; c = c->next)
            busy += c->state == HTTPD_CONN_BUSY;
        pthread_mutex_unlock(&s->conn_lock);
        if (!busy)
            break;
        if (httpd_now_ns() >= deadline) {
            httpd_warn(s->log, "shutdown_timeout: %u request(s) still in flight are cut off",
                       busy);
            break;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
}

void httpd_server_close(struct httpd_server *s)
{
    if (s->mhd) {
        MHD_stop_daemon(s->mhd);
        s->mhd = NULL;
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    if (s->upstream_ready)
        httpd_upstream_close(&s->upstream);
    s->upstream_ready = false;
    httpd_metrics_close(&s->metrics);
    httpd_ui_close(&s->ui);
    s->ui_on = false;
    if (s->cds_ready)
        cds_service_close(&s->cds);
    s->cds_ready = false;
    free(s->endpoint_names);
    s->endpoint_names = NULL;
    pthread_mutex_destroy(&s->conn_lock);
    explicit_bzero(s->token, sizeof s->token);
}
