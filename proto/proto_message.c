/*
 * proto_message.c: recognising MessagePack-RPC frames.
 *
 *   [0, msgid, method, params]   request
 *   [1, msgid, error, result]    response
 *   [2, method, params]          notification
 *
 * A frame that is wrong but still carries a usable msgid keeps it
 * (has_msgid), so the daemon can address its `invalid request` answer.
 */
#include "proto.h"

#include <string.h>

static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "a negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "binary data";
    case MSGPACK_OBJECT_EXT: return "an ext value";
    }
    return "an unknown type";
}

static int bad(struct proto_error *err, const char *fmt, const char *what)
{
    return proto_error_set(err, PROTO_E_INVALID_REQUEST, fmt, what);
}

int proto_message_parse(const msgpack_object *obj, struct proto_message *m,
                        struct proto_error *err)
{
    memset(m, 0, sizeof(*m));
    m->params.type = MSGPACK_OBJECT_NIL;
    m->error.type = MSGPACK_OBJECT_NIL;
    m->result.type = MSGPACK_OBJECT_NIL;

    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return bad(err, "a frame must be an array, got %s", type_name(obj->type));
    const msgpack_object *a = obj->via.array.ptr;
    uint32_t n = obj->via.array.size;
    if (n == 0)
        return bad(err, "%s", "a frame must not be empty");
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[0].via.u64 > 2) {
        if (a[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            return proto_error_set(err, PROTO_E_INVALID_REQUEST,
                                   "frame type must be 0, 1 or 2, got %llu",
                                   (unsigned long long)a[0].via.u64);
        return bad(err, "frame type must be the integer 0, 1 or 2, got %s",
                   type_name(a[0].type));
    }
    m->type = (enum proto_msg_type)a[0].via.u64;

    if (m->type == PROTO_NOTIFY) {
        if (n != 3)
            return proto_error_set(err, PROTO_E_INVALID_REQUEST,
                                   "a notification has 3 elements, got %u", n);
        if (a[1].type != MSGPACK_OBJECT_STR)
            return bad(err, "method must be a string, got %s", type_name(a[1].type));
        m->method = a[1].via.str.ptr;
        m->method_len = a[1].via.str.size;
        if (a[2].type != MSGPACK_OBJECT_ARRAY)
            return bad(err, "params must be an array, got %s", type_name(a[2].type));
        m->params = a[2];
        return 0;
    }

    /* Requests and responses: recover the msgid first so that even a
     * malformed request can be answered. */
    if (n >= 2) {
        if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return bad(err, "msgid must be an unsigned integer, got %s", type_name(a[1].type));
        if (a[1].via.u64 > UINT32_MAX)
            return proto_error_set(err, PROTO_E_INVALID_REQUEST,
                                   "msgid %llu exceeds 4294967295",
                                   (unsigned long long)a[1].via.u64);
        m->msgid = (uint32_t)a[1].via.u64;
        m->has_msgid = true;
    }
    if (n != 4)
        return proto_error_set(err, PROTO_E_INVALID_REQUEST, "a %s has 4 elements, got %u",
                               m->type == PROTO_REQUEST ? "request" : "response", n);
    if (m->type == PROTO_RESPONSE) {
        m->error = a[2];
        m->result = a[3];
        return 0;
    }
    if (a[2].type != MSGPACK_OBJECT_STR)
        return bad(err, "method must be a string, got %s", type_name(a[2].type));
    m->method = a[2].via.str.ptr;
    m->method_len = a[2].via.str.size;
    if (a[3].type != MSGPACK_OBJECT_ARRAY)
        return bad(err, "params must be an array, got %s", type_name(a[3].type));
    m->params = a[3];
    return 0;
}

bool proto_method_is(const struct proto_message *m, const char *name)
{
    size_t n = strlen(name);
    return m->method && m->method_len == n && memcmp(m->method, name, n) == 0;
}
