/*
 * proto_json.c: the JSON <-> MessagePack bridge used by the `suit` client,
 * the rule-author tools (case files are JSON) and the tests.
 *
 * JSON integers stay MessagePack integers and reals become float64, so a
 * value written as 30 in a case file reaches the daemon as an int, exactly
 * as a typed client would send it.
 */
#include "proto.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 256

static int to_mp(const json_t *j, msgpack_packer *pk, struct proto_error *e, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return proto_error_set(e, PROTO_E_TOO_LARGE, "JSON nested deeper than %d levels",
                               JSON_MAX_DEPTH);
    switch (json_typeof(j)) {
    case JSON_NULL:
        msgpack_pack_nil(pk);
        return 0;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        return 0;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        return 0;
    case JSON_INTEGER:
        msgpack_pack_int64(pk, (int64_t)json_integer_value(j));
        return 0;
    case JSON_REAL: {
        double v = json_real_value(j);
        if (!isfinite(v))
            return proto_error_set(e, PROTO_E_INVALID_PARAMS,
                                   "JSON number is not finite");
        msgpack_pack_double(pk, v);
        return 0;
    }
    case JSON_STRING: {
        size_t n = json_string_length(j);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, json_string_value(j), n);
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++) {
            int rc = to_mp(json_array_get(j, i), pk, e, depth + 1);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    case JSON_OBJECT: {
        /* jansson's iterators take a non-const object but do not change it */
        json_t *obj = (json_t *)j;
        msgpack_pack_map(pk, json_object_size(obj));
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
            const char *k = json_object_iter_key(it);
            size_t kn = json_object_iter_key_len(it);
            msgpack_pack_str(pk, kn);
            msgpack_pack_str_body(pk, k, kn);
            int rc = to_mp(json_object_iter_value(it), pk, e, depth + 1);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    }
    return proto_error_set(e, PROTO_E_INTERNAL, "unknown JSON type");
}

int proto_json_to_msgpack(const struct json_t *j, msgpack_packer *pk, struct proto_error *e)
{
    if (!j)
        return proto_error_set(e, PROTO_E_INVALID_PARAMS, "no JSON value");
    return to_mp(j, pk, e, 0);
}

static char *hex_of(const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = hex[(unsigned char)p[i] >> 4];
        s[2 * i + 1] = hex[(unsigned char)p[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

static json_t *hex_string(const char *p, size_t n)
{
    char *s = hex_of(p, n);
    if (!s)
        return NULL;
    json_t *j = json_stringn(s, 2 * n);
    free(s);
    return j;
}

/* JSON strings must be UTF-8: a string that is not keeps its valid parts,
 * each invalid byte becoming U+FFFD. */
static json_t *text(const char *p, size_t n)
{
    json_t *j = json_stringn(p, n);
    if (j)
        return j;
    char *s = malloc(3 * n + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        unsigned char c = (unsigned char)p[i];
        if (c >= 0xc2 && c <= 0xf4)
            len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        json_t *probe = len <= n - i ? json_stringn(p + i, len) : NULL;
        if (c < 0x80 || probe) {
            memcpy(s + o, p + i, len);
            o += len;
            i += len;
        } else {
            memcpy(s + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
        json_decref(probe);
    }
    j = json_stringn(s, o);
    free(s);
    return j;
}

static json_t *to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return json_real((double)o->via.u64);   /* JSON has no uint64 */
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
    case MSGPACK_OBJECT_STR:
        return text(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return hex_string(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return hex_string(o->via.ext.ptr, o->via.ext.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < o->via.array.size; i++) {
            json_t *v = to_json(&o->via.array.ptr[i]);
            if (!v || json_array_append_new(a, v) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            json_t *v = to_json(&kv->val);
            if (!v) {
                json_decref(m);
                return NULL;
            }
            int rc;
            if (kv->key.type == MSGPACK_OBJECT_STR) {
                json_t *k = text(kv->key.via.str.ptr, kv->key.via.str.size);
                rc = k ? json_object_setn_new(m, json_string_value(k), json_string_length(k), v)
                       : (json_decref(v), -1);
                json_decref(k);
            } else {
                char buf[256];
                int n = msgpack_object_print_buffer(buf, sizeof(buf), kv->key);
                if (n < 0)
                    n = 0;
                buf[(size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1] = '\0';
                rc = json_object_set_new(m, buf, v);
            }
            if (rc < 0) {
                json_decref(m);
                return NULL;
            }
        }
        return m;
    }
    }
    return NULL;
}

struct json_t *proto_msgpack_to_json(const msgpack_object *o)
{
    return to_json(o);
}
