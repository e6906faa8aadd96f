/*
 * proto_decoder.c: a streaming MessagePack decoder that checks every limit
 * before msgpack-c sees the bytes.
 *
 * msgpack-c's unpacker trusts declared lengths: an array32 header claiming
 * 2^28 elements makes it allocate 6 GiB at once, and nesting beyond 32
 * levels surfaces as an out-of-memory error.  So every byte is first walked
 * by a small header scanner that keeps, per open container, how many
 * elements are still to come.  Only bytes the scanner has accepted are
 * handed to the unpacker; the few bytes of a header that is still
 * incomplete are held back (at most 9) until the header can be judged.
 *
 * Size accounting for the current top-level object:
 *   used      bytes of the message seen or declared so far (headers, plus
 *             the full declared length of str/bin/ext payloads)
 *   promised  elements declared by open containers and not yet started;
 *             each needs at least one more byte
 * A header is refused when used + promised would exceed max_message.  That
 * bounds everything msgpack-c allocates for one message to a small
 * multiple of max_message, since every declared element either has a byte
 * of its own in the input already or is still counted in `promised`.
 *
 * Work is linear in the input: payload bytes are skipped in one step, and
 * the scanner never revisits a byte, however the input is split.
 */
#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* msgpack-c pushes one stack entry per open non-empty container and fails
 * with NOMEM past MSGPACK_EMBED_STACK_SIZE: our limit must fire first. */
#define DEC_HARD_MAX_DEPTH 31   /* MSGPACK_EMBED_STACK_SIZE (32, unpack_define.h) - 1 */
#define DEC_INITIAL_BUFFER (16u * 1024u)
#define DEC_HDR_MAX 9
/* Memory kept between messages; above this it is given back.  (A macro
 * the fuzzing build may set small, to reach that path often.) */
#ifndef DEC_KEEP_BYTES
#define DEC_KEEP_BYTES (256u * 1024u)
#endif

enum hdr_kind {
    HK_SCALAR,    /* complete once the header is (nil, bool, ints, floats) */
    HK_STR,
    HK_BIN,
    HK_EXT,       /* header includes the ext type byte */
    HK_ARRAY,
    HK_MAP,
    HK_INVALID,   /* 0xc1 */
};

struct hdr_info {
    enum hdr_kind kind;
    unsigned len;           /* total header bytes, marker included */
    unsigned len_bytes;     /* size of the big-endian length field after marker */
    uint64_t fixed;         /* fixstr/fixarray/fixmap/fixext: count from marker */
    const char *name;       /* for error messages */
};

struct proto_decoder {
    struct proto_limits lim;
    msgpack_unpacker mpac;
    bool mpac_ok;
    bool have_obj;          /* zone holds the object returned last time */
    size_t last_size;       /* bytes of that object */

    /* scanner */
    unsigned char hdr[DEC_HDR_MAX];
    unsigned hdr_have;      /* bytes of an incomplete header, held back */
    struct hdr_info cur;    /* valid while hdr_have > 0 */
    uint64_t skip;          /* payload bytes still to pass over */
    uint64_t used;
    uint64_t promised;
    unsigned depth;
    uint64_t stack[DEC_HARD_MAX_DEPTH + 1];   /* elements left per container */

    size_t reserved;        /* writable bytes handed out by the last reserve */
    int err_code;           /* 0, or the error found by the scanner */
    bool err_pending;       /* found, but good objects before it remain */
    char err[256];
};

void proto_limits_default(struct proto_limits *l)
{
    l->max_message = PROTO_DEFAULT_MAX_MESSAGE;
    l->max_depth = PROTO_DEFAULT_MAX_DEPTH;
}

int proto_decoder_create(const struct proto_limits *lim, struct proto_decoder **out)
{
    *out = NULL;
    struct proto_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return PROTO_E_INTERNAL;
    if (lim)
        d->lim = *lim;
    else
        proto_limits_default(&d->lim);
    if (d->lim.max_message == 0)
        d->lim.max_message = PROTO_DEFAULT_MAX_MESSAGE;
    if (d->lim.max_depth == 0)
        d->lim.max_depth = PROTO_DEFAULT_MAX_DEPTH;
    if (d->lim.max_depth > DEC_HARD_MAX_DEPTH)
        d->lim.max_depth = DEC_HARD_MAX_DEPTH;
    if (!msgpack_unpacker_init(&d->mpac, DEC_INITIAL_BUFFER)) {
        free(d);
        return PROTO_E_INTERNAL;
    }
    d->mpac_ok = true;
    *out = d;
    return 0;
}

void proto_decoder_free(struct proto_decoder *d)
{
    if (!d)
        return;
    if (d->mpac_ok)
        msgpack_unpacker_destroy(&d->mpac);
    free(d);
}

const char *proto_decoder_error(const struct proto_decoder *d)
{
    return d->err_code ? d->err : "";
}

size_t proto_decoder_buffered(const struct proto_decoder *d)
{
    return msgpack_unpacker_message_size(&d->mpac) + d->hdr_have;
}

size_t proto_decoder_last_size(const struct proto_decoder *d)
{
    return d->have_obj ? d->last_size : 0;
}

static int dec_fail(struct proto_decoder *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int dec_fail(struct proto_decoder *d, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
    d->err_code = code;
    d->err_pending = true;
    return code;
}

/* What the first byte of an object says about its header. */
static struct hdr_info classify(unsigned char b)
{
    struct hdr_info h = { HK_SCALAR, 1, 0, 0, "" };
    if (b <= 0x7f || b >= 0xe0)
        return h;                                   /* fixint */
    if (b >= 0x80 && b <= 0x8f) {
        h.kind = HK_MAP; h.fixed = b & 0x0f; h.name = "fixmap";
        return h;
    }
    if (b >= 0x90 && b <= 0x9f) {
        h.kind = HK_ARRAY; h.fixed = b & 0x0f; h.name = "fixarray";
        return h;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        h.kind = HK_STR; h.fixed = b & 0x1f; h.name = "fixstr";
        return h;
    }
    switch (b) {
    case 0xc0: case 0xc2: case 0xc3:
        return h;                                   /* nil, false, true */
    case 0xc1:
        h.kind = HK_INVALID;
        return h;
    case 0xc4: h.kind = HK_BIN; h.len_bytes = 1; h.name = "bin8"; break;
    case 0xc5: h.kind = HK_BIN; h.len_bytes = 2; h.name = "bin16"; break;
    case 0xc6: h.kind = HK_BIN; h.len_bytes = 4; h.name = "bin32"; break;
    case 0xc7: h.kind = HK_EXT; h.len_bytes = 1; h.name = "ext8"; break;
    case 0xc8: h.kind = HK_EXT; h.len_bytes = 2; h.name = "ext16"; break;
    case 0xc9: h.kind = HK_EXT; h.len_bytes = 4; h.name = "ext32"; break;
    case 0xca: h.len = 5; return h;                 /* float32 */
    case 0xcb: h.len = 9; return h;                 /* float64 */
    case 0xcc: h.len = 2; return h;                 /* uint8 */
    case 0xcd: h.len = 3; return h;
    case 0xce: h.len = 5; return h;
    case 0xcf: h.len = 9; return h;
    case 0xd0: h.len = 2; return h;                 /* int8 */
    case 0xd1: h.len = 3; return h;
    case 0xd2: h.len = 5; return h;
    case 0xd3: h.len = 9; return h;
    case 0xd4: h.kind = HK_EXT; h.fixed = 1; h.name = "fixext1"; break;
    case 0xd5: h.kind = HK_EXT; h.fixed = 2; h.name = "fixext2"; break;
    case 0xd6: h.kind = HK_EXT; h.fixed = 4; h.name = "fixext4"; break;
    case 0xd7: h.kind = HK_EXT; h.fixed = 8; h.name = "fixext8"; break;
    case 0xd8: h.kind = HK_EXT; h.fixed = 16; h.name = "fixext16"; break;
    case 0xd9: h.kind = HK_STR; h.len_bytes = 1; h.name = "str8"; break;
    case 0xda: h.kind = HK_STR; h.len_bytes = 2; h.name = "str16"; break;
    case 0xdb: h.kind = HK_STR; h.len_bytes = 4; h.name = "str32"; break;
    case 0xdc: h.kind = HK_ARRAY; h.len_bytes = 2; h.name = "array16"; break;
    case 0xdd: h.kind = HK_ARRAY; h.len_bytes = 4; h.name = "array32"; break;
    case 0xde: h.kind = HK_MAP; h.len_bytes = 2; h.name = "map16"; break;
    case 0xdf: h.kind = HK_MAP; h.len_bytes = 4; h.name = "map32"; break;
    }
    h.len = 1 + h.len_bytes + (h.kind == HK_EXT ? 1 : 0);
    return h;
}

static uint64_t hdr_length(const struct proto_decoder *d)
{
    if (d->cur.len_bytes == 0)
        return d->cur.fixed;
    uint64_t v = 0;
    for (unsigned i = 0; i < d->cur.len_bytes; i++)
        v = (v << 8) | d->hdr[1 + i];
    return v;
}

/* Bytes the current message may still grow by. */
static uint64_t room(const struct proto_decoder *d)
{
    uint64_t taken = d->used + d->promised;
    return taken >= d->lim.max_message ? 0 : d->lim.max_message - taken;
}

/* An object (scalar, payload or container) has ended: close every
 * container it completes; when none is left open the message is done. */
static void object_done(struct proto_decoder *d)
{
    while (d->depth > 0 && d->stack[d->depth - 1] == 0)
        d->depth--;
    if (d->depth == 0) {
        d->used = 0;
        d->promised = 0;
    }
}

/* A marker byte arrived: start the object it begins. */
static int begin_object(struct proto_decoder *d, unsigned char b)
{
    if (b == 0xc1)
        return dec_fail(d, PROTO_E_PARSE, "byte 0xc1 is never valid MessagePack");
    d->cur = classify(b);
    if (d->depth > 0) {
        d->stack[d->depth - 1]--;
        d->promised--;
    }
    d->used += d->cur.len;
    if (d->used + d->promised > d->lim.max_message)
        return dec_fail(d, PROTO_E_TOO_LARGE, "message exceeds %zu bytes",
                        d->lim.max_message);
    return 0;
}

/* The whole header is in d->hdr: judge the lengths it declares. */
static int end_header(struct proto_decoder *d)
{
    uint64_t n = hdr_length(d);
    uint64_t left = room(d);
    switch (d->cur.kind) {
    case HK_SCALAR:
        object_done(d);
        return 0;
    case HK_STR:
    case HK_BIN:
    case HK_EXT:
        if (n > left)
            return dec_fail(d, PROTO_E_TOO_LARGE,
                            "%s header declares %llu bytes but the message limit allows %llu more",
                            d->cur.name, (unsigned long long)n, (unsigned long long)left);
        d->used += n;
        d->skip = n;
        if (n == 0)
            object_done(d);
        return 0;
    case HK_ARRAY:
    case HK_MAP: {
        if (d->depth + 1 > d->lim.max_depth)
            return dec_fail(d, PROTO_E_TOO_LARGE, "nesting deeper than %u levels",
                            d->lim.max_depth);
        uint64_t objs = d->cur.kind == HK_MAP ? n * 2 : n;
        if (objs > left) {
            if (d->cur.kind == HK_MAP)
                return dec_fail(d, PROTO_E_TOO_LARGE,
                                "%s header declares %llu entries (%llu objects) but the message limit allows %llu more bytes",
                                d->cur.name, (unsigned long long)n,
                                (unsigned long long)objs, (unsigned long long)left);
            return dec_fail(d, PROTO_E_TOO_LARGE,
                            "%s header declares %llu elements but the message limit allows %llu more bytes",
                            d->cur.name, (unsigned long long)n, (unsigned long long)left);
        }
        if (objs == 0) {
            object_done(d);
            return 0;
        }
        d->stack[d->depth++] = objs;
        d->promised += objs;
        return 0;
    }
    case HK_INVALID:
        break;
    }
    return dec_fail(d, PROTO_E_INTERNAL, "decoder state corrupt");
}

/* Walks p[0..n).  Returns how many bytes were consumed by the scanner;
 * stops early at an error (d->err_code set). */
static size_t scan(struct proto_decoder *d, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (d->skip > 0) {
            uint64_t take = n - i < d->skip ? n - i : d->skip;
            i += (size_t)take;
            d->skip -= take;
            if (d->skip == 0)
                object_done(d);
            continue;
        }
        if (d->hdr_have == 0) {
            if (begin_object(d, p[i]) < 0) {
                if (d->err_code == PROTO_E_TOO_LARGE) {
                    /* the marker belongs to the refused header */
                    d->hdr[0] = p[i];
                    d->hdr_have = 1;
                    i++;
                }
                return i;
            }
            d->hdr[0] = p[i++];
            d->hdr_have = 1;
        } else {
            size_t want = d->cur.len - d->hdr_have;
            size_t take = n - i < want ? n - i : want;
            memcpy(d->hdr + d->hdr_have, p + i, take);
            d->hdr_have += (unsigned)take;
            i += take;
        }
        if (d->hdr_have == d->cur.len) {
            if (end_header(d) < 0)
                return i;
            d->hdr_have = 0;
        }
    }
    return i;
}

int proto_decoder_reserve(struct proto_decoder *d, size_t want, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (d->err_code)
        return d->err_code;
    if (want == 0)
        want = 4096;
    /* Held-back header bytes sit just past what the unpacker owns; a
     * reserve may move its buffer without them, so put them back after. */
    if (want > SIZE_MAX - DEC_HDR_MAX ||
        !msgpack_unpacker_reserve_buffer(&d->mpac, want + d->hdr_have))
        return dec_fail(d, PROTO_E_INTERNAL, "out of memory reserving %zu bytes", want);
    char *base = msgpack_unpacker_buffer(&d->mpac);
    memcpy(base, d->hdr, d->hdr_have);
    *buf = base + d->hdr_have;
    *len = msgpack_unpacker_buffer_capacity(&d->mpac) - d->hdr_have;
    d->reserved = *len;
    return 0;
}

/* Scans the n new bytes and releases every accepted byte to the unpacker.
 * An error found in them does not make this call fail: the objects before
 * it are still delivered by proto_decoder_next, which then reports it. */
int proto_decoder_commit(struct proto_decoder *d, size_t n)
{
    if (d->err_code)
        return d->err_code;
    if (n > d->reserved)
        return dec_fail(d, PROTO_E_INTERNAL, "commit of %zu bytes exceeds the %zu reserved",
                        n, d->reserved);
    d->reserved = 0;
    unsigned held = d->hdr_have;
    const unsigned char *p =
        (const unsigned char *)msgpack_unpacker_buffer(&d->mpac) + held;
    size_t done = scan(d, p, n);
    /* held + done bytes were walked; the last hdr_have of them form a
     * header not yet judged (or the refused one) and stay back. */
    size_t release = held + done - d->hdr_have;
    msgpack_unpacker_buffer_consumed(&d->mpac, release);
    if (d->err_code)
        d->hdr_have = 0;
    return 0;
}

int proto_decoder_feed(struct proto_decoder *d, const char *buf, size_t len)
{
    while (len > 0) {
        char *dst;
        size_t cap;
        int rc = proto_decoder_reserve(d, len, &dst, &cap);
        if (rc < 0)
            return rc;
        size_t n = len < cap ? len : cap;
        memcpy(dst, buf, n);
        rc = proto_decoder_commit(d, n);
        if (rc < 0)
            return rc;
        buf += n;
        len -= n;
        if (d->err_code)
            break;
    }
    return 0;
}

/* msgpack-c never shrinks its buffer: when a large message has grown it
 * and nothing is pending (no bytes unparsed, no message half parsed), start
 * over with a small one. */
static int shrink_if_idle(struct proto_decoder *d)
{
    msgpack_unpacker *m = &d->mpac;
    if (m->used + m->free <= DEC_KEEP_BYTES || m->used != m->off || m->parsed != 0)
        return 0;
    msgpack_unpacker_destroy(m);
    d->mpac_ok = msgpack_unpacker_init(m, DEC_INITIAL_BUFFER);
    if (!d->mpac_ok)
        return dec_fail(d, PROTO_E_INTERNAL, "out of memory");
    return 0;
}

int proto_decoder_next(struct proto_decoder *d, msgpack_object *obj)
{
    memset(obj, 0, sizeof(*obj));
    if (d->err_code && !d->err_pending)
        return d->err_code;
    if (d->have_obj && d->mpac.z) {
        /* The last object lives in the unpacker's zone: clear it for reuse
         * instead of giving each message a zone of its own.  msgpack-c 4
         * creates the zone lazily: a lone scalar leaves it NULL.  After a
         * big message the zone is freed instead, so that one large request
         * does not pin its memory for the life of the connection. */
        if (d->last_size > DEC_KEEP_BYTES) {
            msgpack_zone *z = msgpack_unpacker_release_zone(&d->mpac);
            if (!z) {
                dec_fail(d, PROTO_E_INTERNAL, "out of memory");
                d->err_pending = false;
                return d->err_code;
            }
            msgpack_zone_free(z);
        } else {
            if (!msgpack_unpacker_flush_zone(&d->mpac)) {
                dec_fail(d, PROTO_E_INTERNAL, "out of memory");
                d->err_pending = false;
                return d->err_code;
            }
            msgpack_unpacker_reset_zone(&d->mpac);
        }
    }
    d->have_obj = false;
    if (shrink_if_idle(d) < 0) {
        d->err_pending = false;
        return d->err_code;
    }
    int rc = msgpack_unpacker_execute(&d->mpac);
    if (rc > 0) {
        *obj = msgpack_unpacker_data(&d->mpac);
        d->last_size = d->mpac.parsed;
        msgpack_unpacker_reset(&d->mpac);
        d->have_obj = true;
        return 1;
    }
    if (rc == 0) {
        if (d->err_code) {
            d->err_pending = false;
            return d->err_code;
        }
        return 0;
    }
    if (!d->err_code) {
        if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
            dec_fail(d, PROTO_E_TOO_LARGE, "msgpack-c ran out of memory");
        else
            dec_fail(d, PROTO_E_PARSE, "msgpack-c rejected the input");
    }
    d->err_pending = false;
    return d->err_code;
}
