/* proto_test_util.h: small helpers shared by the protocol tests. */
#ifndef PROTO_TEST_UTIL_H
#define PROTO_TEST_UTIL_H

#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "testutil.h"

/* A packer writing into an sbuffer owned by the same struct. */
struct tbuf {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static inline void tbuf_init(struct tbuf *t)
{
    msgpack_sbuffer_init(&t->sb);
    msgpack_packer_init(&t->pk, &t->sb, msgpack_sbuffer_write);
}

static inline void tbuf_close(struct tbuf *t)
{
    msgpack_sbuffer_destroy(&t->sb);
}

static inline void pk_str(msgpack_packer *pk, const char *s)
{
    proto_pack_str(pk, s);
}

/* Decodes exactly one object from buf into *out (a zone the caller frees
 * with msgpack_unpacked_destroy), asserting success. */
static inline void decode_whole(const char *buf, size_t len, msgpack_unpacked *out)
{
    msgpack_unpacked_init(out);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(out, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, len);
}

/* Looks a string key up in a map object; NULL when absent. */
static inline const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    ck_assert_int_eq(m->type, MSGPACK_OBJECT_MAP);
    size_t n = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static inline bool obj_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

#define ck_assert_obj_str(o, s) ck_assert_msg(obj_str_is((o), (s)), "expected string \"%s\"", (s))

#endif
