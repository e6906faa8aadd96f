/*
 * proto_error.c: error objects {code, message, data} and the names of the
 * stable error codes.
 */
#include "proto.h"
#include "proto_term.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every code suitd sends, in PROTOCOL.md's order: the readable name used in
 * messages and the stable snake_case key used where a code names a field
 * (the `errors` counters of `stats`, metrics). */
static const struct {
    int code;
    const char *name, *key;
} codes[PROTO_N_CODES] = {
    {PROTO_E_PARSE, "parse error", "parse_error"},
    {PROTO_E_INVALID_REQUEST, "invalid request", "invalid_request"},
    {PROTO_E_METHOD_NOT_FOUND, "method not found", "method_not_found"},
    {PROTO_E_INVALID_PARAMS, "invalid params", "invalid_params"},
    {PROTO_E_INTERNAL, "internal error", "internal_error"},
    {PROTO_E_TOO_LARGE, "too large", "too_large"},
    {PROTO_E_OVERLOADED, "overloaded", "overloaded"},
    {PROTO_E_TIMEOUT, "timeout", "timeout"},
    {PROTO_E_RULESET, "ruleset error", "ruleset_error"},
    {PROTO_E_NOT_PERMITTED, "not permitted", "not_permitted"},
};

int proto_code_index(int code)
{
    for (int i = 0; i < PROTO_N_CODES; i++)
        if (codes[i].code == code)
            return i;
    return -1;
}

int proto_code_at(int index)
{
    return index >= 0 && index < PROTO_N_CODES ? codes[index].code : PROTO_E_INTERNAL;
}

const char *proto_code_name(int code)
{
    if (code == PROTO_OK)
        return "ok";
    int i = proto_code_index(code);
    return i < 0 ? "unknown error" : codes[i].name;
}

const char *proto_code_key(int code)
{
    int i = proto_code_index(code);
    return i < 0 ? NULL : codes[i].key;
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
    int n = vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    /* Cut by the buffer: never in the middle of a UTF-8 character (the
     * message goes out as a MessagePack str). */
    if (n >= (int)sizeof(e->message))
        e->message[proto_term_utf8_cut(e->message, sizeof(e->message) - 1)] = '\0';
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
