/*
 * httpd_reply.c: see httpd_reply.h.
 */
#include "httpd_reply.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void httpd_reply_init(struct httpd_reply *r)
{
    memset(r, 0, sizeof *r);
}

void httpd_reply_close(struct httpd_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

void httpd_reply_header(struct httpd_reply *r, const char *name, const char *fmt, ...)
{
    if (r->n_headers >= HTTPD_REPLY_MAX_HEADERS)
        return;
    r->headers[r->n_headers].name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->headers[r->n_headers].value, sizeof r->headers[0].value, fmt, ap);
    va_end(ap);
    r->n_headers++;
}

int httpd_reply_json(struct httpd_reply *r, unsigned status, const json_t *j)
{
    httpd_reply_close(r);
    r->status = status;
    r->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!r->body) {
        r->status = 500;
        return -1;
    }
    r->len = strlen(r->body);
    r->content_type = "application/json";
    return 0;
}

int httpd_reply_text(struct httpd_reply *r, unsigned status, const char *content_type,
                     const char *text, size_t len)
{
    httpd_reply_close(r);
    r->status = status;
    r->body = malloc(len + 1);
    if (!r->body) {
        r->status = 500;
        return -1;
    }
    memcpy(r->body, text, len);
    r->body[len] = '\0';
    r->len = len;
    r->content_type = content_type;
    return 0;
}

/* Each suitd code and the status that fits it.  Unknown codes are
 * internal errors (PROTOCOL.md: treat unknown codes as internal). */
static const struct {
    int code;
    unsigned status;
} httpd_status_table[] = {
    {PROTO_E_PARSE, 400},             /* the body is not JSON */
    {PROTO_E_INVALID_REQUEST, 400},   /* not a valid request */
    {PROTO_E_METHOD_NOT_FOUND, 404},  /* no such endpoint */
    {PROTO_E_INVALID_PARAMS, 400},    /* a field of the wrong type or range */
    {PROTO_E_INTERNAL, 500},
    {PROTO_E_TOO_LARGE, 413},
    {PROTO_E_OVERLOADED, 503},        /* with Retry-After */
    {PROTO_E_TIMEOUT, 504},
    {PROTO_E_RULESET, 500},           /* the assessment did not settle */
    {PROTO_E_NOT_PERMITTED, 401},
};

unsigned httpd_status_of(int code)
{
    for (size_t i = 0; i < sizeof httpd_status_table / sizeof httpd_status_table[0]; i++)
        if (httpd_status_table[i].code == code)
            return httpd_status_table[i].status;
    return 500;
}

json_t *httpd_error_json(const struct proto_error *e)
{
    json_t *data = json_null();
    if (e->field || e->n_details) {
        data = json_object();
        if (e->field)
            json_object_set_new(data, "field", json_string(e->field));
        if (e->n_details) {
            json_t *d = json_array();
            for (size_t i = 0; i < e->n_details; i++)
                json_array_append_new(d, json_string(e->details[i]));
            json_object_set_new(data, "details", d);
        }
    }
    /* json_string refuses text that is not UTF-8; suitd's messages are,
     * but never trust that with a client's bytes in them. */
    json_t *msg = json_string(e->message[0] ? e->message : proto_code_name(e->code));
    if (!msg)
        msg = json_string(proto_code_name(e->code));
    return json_pack("{s:{s:i,s:o,s:o}}", "error", "code", e->code, "message", msg, "data", data);
}

int httpd_reply_error(struct httpd_reply *r, unsigned status, const struct proto_error *e,
                      unsigned retry_after_s)
{
    json_t *j = httpd_error_json(e);
    int rc = j ? httpd_reply_json(r, status ? status : httpd_status_of(e->code), j) : -1;
    json_decref(j);
    if (rc < 0) {
        static const char oom[] = "{\"error\":{\"code\":-32603,\"message\":\"out of memory\",\"data\":null}}";
        rc = httpd_reply_text(r, 500, "application/json", oom, sizeof oom - 1);
    }
    if (r->status == 503 && retry_after_s)
        httpd_reply_header(r, "Retry-After", "%u", retry_after_s);
    return rc;
}

int httpd_reply_errorf(struct httpd_reply *r, unsigned status, int code, const char *fmt, ...)
{
    struct proto_error e;
    proto_error_init(&e);
    va_list ap;
    va_start(ap, fmt);
    char msg[sizeof e.message];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    proto_error_set(&e, code, "%s", msg);
    int rc = httpd_reply_error(r, status, &e, 0);
    proto_error_close(&e);
    return rc;
}
