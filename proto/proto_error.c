/*
 * proto_error.c: error objects {code, message, data} and the names of the
 * stable error codes.
 */
#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *proto_code_name(int code)
{
    switch (code) {
    case PROTO_OK: return "ok";
    case PROTO_E_PARSE: return "parse error";
    case PROTO_E_INVALID_REQUEST: return "invalid request";
    case PROTO_E_METHOD_NOT_FOUND: return "method not found";
    case PROTO_E_INVALID_PARAMS: return "invalid params";
    case PROTO_E_INTERNAL: return "internal error";
    case PROTO_E_TOO_LARGE: return "too large";
    case PROTO_E_OVERLOADED: return "overloaded";
    case PROTO_E_TIMEOUT: return "timeout";
    case PROTO_E_RULESET: return "ruleset error";
    case PROTO_E_NOT_PERMITTED: return "not permitted";
    default: return "unknown error";
    }
}

void proto_error_init(struct proto_error *e)
{
    memset(e, 0, sizeof(*e));
    e->code = PROTO_OK;
}

void proto_error_close(struct proto_error *e)
{
    free(e->field);
    for (size_t i = 0; i < e->n_details; i++)
        free(e->details[i]);
    free(e->details);
    proto_error_init(e);
}

int proto_error_set(struct proto_error *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return code;
}

/* Returns 0, or PROTO_E_INTERNAL when out of memory (the previous field is
 * kept then, so the error still says something true). */
int proto_error_set_field(struct proto_error *e, const char *field)
{
    if (!e)
        return 0;
    char *copy = NULL;
    if (field) {
        copy = strdup(field);
        if (!copy)
            return PROTO_E_INTERNAL;
    }
    free(e->field);
    e->field = copy;
    return 0;
}

int proto_error_add_detail(struct proto_error *e, const char *fmt, ...)
{
    if (!e)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PROTO_E_INTERNAL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return PROTO_E_INTERNAL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char **d = realloc(e->details, (e->n_details + 1) * sizeof(*d));
    if (!d) {
        free(s);
        return PROTO_E_INTERNAL;
    }
    d[e->n_details++] = s;
    e->details = d;
    return 0;
}
