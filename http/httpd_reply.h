/*
 * httpd_reply.h: what a handler answers, independent of libmicrohttpd:
 * a status, a body and extra headers.  The server turns it into an MHD
 * response and adds the headers every answer carries (content type,
 * nosniff, no-store, CORS).
 *
 * Errors have one shape everywhere:
 *   {"error": {"code": N, "message": "...", "data": {"field": ..., "details": [...]}}}
 * with suitd's codes (proto/PROTOCOL.md section 6), "data" null when there
 * is neither field nor details, and an HTTP status chosen from the code by
 * httpd_status_of (one table, no exceptions).
 */
#ifndef HTTPD_REPLY_H
#define HTTPD_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct json_t;

#define HTTPD_REPLY_MAX_HEADERS 8

struct httpd_reply {
    unsigned status;
    char *body;                 /* malloc'ed; the reply owns it */
    size_t len;
    const char *content_type;   /* NULL: no body */
    struct {
        const char *name;       /* a static string */
        char value[160];
    } headers[HTTPD_REPLY_MAX_HEADERS];
    size_t n_headers;
    bool close;                 /* close the connection after this answer */
};

void httpd_reply_init(struct httpd_reply *r);
void httpd_reply_close(struct httpd_reply *r);     /* frees the body */

/* Adds a header (the name must outlive the reply; the value is copied,
 * truncated to fit).  Headers beyond HTTPD_REPLY_MAX_HEADERS are dropped. */
void httpd_reply_header(struct httpd_reply *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The body is j serialised (compact, keys in order); j is not consumed. */
int httpd_reply_json(struct httpd_reply *r, unsigned status, const struct json_t *j);
/* A text body (copied). */
int httpd_reply_text(struct httpd_reply *r, unsigned status, const char *content_type,
                     const char *text, size_t len);
/* The error body for e with the status httpd_status_of(e->code), or with
 * `status` when it is not 0.  A 503 answer carries Retry-After:
 * retry_after_s unless that is 0. */
int httpd_reply_error(struct httpd_reply *r, unsigned status, const struct proto_error *e,
                      unsigned retry_after_s);
/* A shorthand: the error with code and a printf-style message, without
 * Retry-After (the caller adds it to a 503). */
int httpd_reply_errorf(struct httpd_reply *r, unsigned status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The HTTP status for a suitd error code. */
unsigned httpd_status_of(int code);

/* The error object as JSON (for handlers that wrap it). */
struct json_t *httpd_error_json(const struct proto_error *e);

#endif
