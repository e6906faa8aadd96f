/*
 * httpd_server.h: the HTTP side of suit-httpd, on libmicrohttpd.
 *
 * MHD runs a pool of `threads` epoll threads; each handles its own
 * connections and, through httpd_upstream, holds one connection to suitd.
 * Handlers block on that call (suitd answers in well under a millisecond;
 * the call is bounded by suitd_timeout), which is why the pool has one
 * thread per core rather than one.
 *
 * What the server does before a handler runs, for every request: refuse
 * framing that could smuggle a second request (Content-Length together
 * with Transfer-Encoding, two Content-Lengths, a transfer coding other
 * than chunked: libmicrohttpd 0.9.75 accepts all three), find the route,
 * check the method, the token, CORS and the body's type and size.
 *
 * Limits: max_connections and max_connections_per_ip are checked when a
 * connection is accepted (it is closed at once: counted, never queued);
 * max_header_size is libmicrohttpd's per-connection memory (it answers
 * 431 itself, counted here); max_body is counted as it arrives (413); a
 * reaper run by the main thread (httpd_server_tick) closes connections
 * whose request has taken longer than request_timeout or that have been
 * idle longer than idle_timeout, because libmicrohttpd 0.9.75 has only an
 * inactivity timeout, which a client sending one byte at a time never
 * trips.
 */
#ifndef HTTPD_SERVER_H
#define HTTPD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cds_service.h"
#include "httpd_config.h"
#include "httpd_log.h"
#include "httpd_metrics.h"
#include "httpd_ui.h"
#include "httpd_upstream.h"

struct MHD_Daemon;
struct httpd_conn;

struct httpd_server {
    const struct httpd_config *cfg;
    const struct httpd_log *log;
    struct httpd_metrics metrics;
    const char **endpoint_names;    /* the routes' paths, then "other" */
    struct httpd_upstream upstream;
    bool upstream_ready;
    _Atomic long unavailable_logged_at; /* time(): the last "suitd is away" warning */
    struct MHD_Daemon *mhd;
    int listen_fd;
    bool listen_loopback;
    char url[128];                  /* http://HOST:PORT as bound */
    char token[1024];               /* the bearer token, or "" */
    size_t token_len;
    bool ui_on;                     /* the consultation page is served */
    struct httpd_ui ui;             /* its files */
    struct cds_service cds;         /* the CDS Hooks service */
    bool cds_ready;
    pthread_mutex_t conn_lock;      /* guards the registry below */
    struct httpd_conn *conns;       /* every open connection */
    unsigned n_conns;
};

/* Reads the token, binds the listener (refusing a non-loopback address
 * without a token) and starts the threads.  Returns 0, or -1 after
 * logging why (the caller exits 1); httpd_server_close is safe either
 * way. */
int httpd_server_start(struct httpd_server *s, const struct httpd_config *cfg,
                       const struct httpd_log *lg);
/* Closes connections past their deadline; call a few times a second. */
void httpd_server_tick(struct httpd_server *s);
/* Stops accepting; waits up to shutdown_timeout for requests in flight;
 * stops the threads.  Then frees everything. */
void httpd_server_stop(struct httpd_server *s);
void httpd_server_close(struct httpd_server *s);

#endif
