/*
 * proto_map.h: packing a MessagePack map from a table of keys, one row per
 * key (proto/ internal; every reply body in proto_pack*.c uses it).
 *
 * A map's length is written before its entries, so a hand-written packer
 * must count its keys twice: once in msgpack_pack_map(pk, 11) and again in
 * the 11 keys that follow, and the two drift apart silently when a key is
 * added.  Here the table is the only list: proto_map_pack counts the rows
 * that are present, writes that count, then each row's key and value.
 */
#ifndef PROTO_MAP_H
#define PROTO_MAP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

enum proto_map_type {
    PROTO_MAP_STR,      /* const char * (NULL is nil) */
    PROTO_MAP_INT,      /* int */
    PROTO_MAP_INT64,    /* int64_t */
    PROTO_MAP_UINT,     /* unsigned */
    PROTO_MAP_UINT64,   /* uint64_t */
    PROTO_MAP_DOUBLE,   /* double, always float64 */
    PROTO_MAP_BOOL,     /* bool */
    PROTO_MAP_DAYS,     /* int64_t; nil when negative */
    PROTO_MAP_SUB,      /* a nested map of the struct at off (0: the same object) */
    PROTO_MAP_FN,       /* fn packs the value from the object */
};

struct proto_map;

struct proto_map_key {
    const char *key;
    enum proto_map_type type;
    size_t off;                                   /* of the field in the object */
    const struct proto_map *sub;                  /* PROTO_MAP_SUB */
    void (*fn)(msgpack_packer *pk, const void *obj);   /* PROTO_MAP_FN */
    bool (*present)(const void *obj);             /* NULL: always in the map */
};

struct proto_map {
    const struct proto_map_key *keys;
    size_t n;
};

#define PROTO_MAP(table) {(table), sizeof(table) / sizeof((table)[0])}

/* Packs obj as the map m describes, keys in table order. */
void proto_map_pack(msgpack_packer *pk, const struct proto_map *m, const void *obj);
/* Packs a str (NULL is nil); proto_pack_str for the modules of proto/. */
void proto_map_str(msgpack_packer *pk, const char *s);

#endif
