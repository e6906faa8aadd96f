/*
 * proto_map.c: see proto_map.h.
 */
#include "proto_map.h"

#include <stdint.h>
#include <string.h>

void proto_map_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    if (n < 32) {
        /* A fixstr (keys, ids, most values): header and bytes in one
         * write instead of two; the same bytes msgpack_pack_str makes. */
        char b[32];
        b[0] = (char)(0xa0 | n);
        memcpy(b + 1, s, n);
        pk->callback(pk->data, b, n + 1);
        return;
    }
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

#define AT(obj, off, type) (*(const type *)((const char *)(obj) + (off)))

void proto_map_pack(msgpack_packer *pk, const struct proto_map *m, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += !m->keys[i].present || m->keys[i].present(obj);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < m->n; i++) {
        const struct proto_map_key *k = &m->keys[i];
        if (k->present && !k->present(obj))
            continue;
        proto_map_str(pk, k->key);
        switch (k->type) {
        case PROTO_MAP_STR:
            proto_map_str(pk, AT(obj, k->off, char *));
            break;
        case PROTO_MAP_INT:
            msgpack_pack_int(pk, AT(obj, k->off, int));
            break;
        case PROTO_MAP_INT64:
            msgpack_pack_int64(pk, AT(obj, k->off, int64_t));
            break;
        case PROTO_MAP_UINT:
            msgpack_pack_unsigned_int(pk, AT(obj, k->off, unsigned));
            break;
        case PROTO_MAP_UINT64:
            msgpack_pack_uint64(pk, AT(obj, k->off, uint64_t));
            break;
        case PROTO_MAP_DOUBLE:
            msgpack_pack_double(pk, AT(obj, k->off, double));
            break;
        case PROTO_MAP_BOOL:
            if (AT(obj, k->off, bool))
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            break;
        case PROTO_MAP_DAYS:
            if (AT(obj, k->off, int64_t) < 0)
                msgpack_pack_nil(pk);
            else
                msgpack_pack_int64(pk, AT(obj, k->off, int64_t));
            break;
        case PROTO_MAP_SUB:
            proto_map_pack(pk, k->sub, (const char *)obj + k->off);
            break;
        case PROTO_MAP_FN:
            k->fn(pk, obj);
            break;
        }
    }
}
