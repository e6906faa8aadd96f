/*
 * test_decoder.c: the streaming decoder.  The same stream must give the same
 * objects however it is split, and every hostile header must be refused
 * with the message naming the rule it broke, before msgpack-c allocates.
 */
#include "proto_test_util.h"

#include <stdio.h>

/* Appends raw bytes (for headers the packer would never choose, such as a
 * str32 holding three bytes). */
static void raw(struct tbuf *t, const char *bytes, size_t n)
{
    msgpack_sbuffer_write(&t->sb, bytes, n);
}
#define RAW(t, lit) raw((t), (lit), sizeof(lit) - 1)

/* A stream of several frames touching every MessagePack format. */
static void sample_stream(struct tbuf *t, size_t *n_objects)
{
    msgpack_packer *pk = &t->pk;
    size_t n = 0;

    proto_pack_request_header(pk, 1, "ping");           /* [0,1,"ping",[]] */
    msgpack_pack_array(pk, 0);
    n++;

    proto_pack_request_header(pk, 70000, "assess");
    msgpack_pack_array(pk, 2);
    msgpack_pack_map(pk, 4);
    pk_str(pk, "age");            msgpack_pack_uint8(pk, 34);
    pk_str(pk, "pregnant");       msgpack_pack_false(pk);
    pk_str(pk, "needle_depth_mm"); msgpack_pack_double(pk, 0.5);
    pk_str(pk, "conditions");
    msgpack_pack_array(pk, 2);
    pk_str(pk, "rosacea");
    msgpack_pack_map(pk, 2);
    pk_str(pk, "name");           pk_str(pk, "herpes-simplex");
    pk_str(pk, "days_ago");       msgpack_pack_uint16(pk, 400);
    msgpack_pack_map(pk, 1);
    pk_str(pk, "explain");        msgpack_pack_true(pk);
    n++;

    msgpack_pack_array(pk, 3);                           /* notification */
    msgpack_pack_uint8(pk, 2);
    pk_str(pk, "hello");
    msgpack_pack_array(pk, 0);
    n++;

    /* every integer and float width */
    msgpack_pack_array(pk, 12);
    msgpack_pack_uint8(pk, 200);
    msgpack_pack_uint16(pk, 60000);
    msgpack_pack_uint32(pk, 4000000000u);
    msgpack_pack_uint64(pk, UINT64_MAX);
    msgpack_pack_int8(pk, -100);
    msgpack_pack_int16(pk, -30000);
    msgpack_pack_int32(pk, -2000000000);
    msgpack_pack_int64(pk, INT64_MIN);
    msgpack_pack_float(pk, 1.5f);
    msgpack_pack_double(pk, -2.25);
    msgpack_pack_nil(pk);
    msgpack_pack_int8(pk, -1);                           /* negative fixint */
    n++;

    /* str8/16/32, bin8/16/32, ext8/16/32 and every fixext */
    char long_str[300];
    memset(long_str, 'x', sizeof(long_str));
    msgpack_pack_array(pk, 14);
    msgpack_pack_str(pk, 40);  msgpack_pack_str_body(pk, long_str, 40);    /* str8 */
    msgpack_pack_str(pk, 300); msgpack_pack_str_body(pk, long_str, 300);   /* str16 */
    RAW(t, "\xdb\x00\x00\x00\x03" "abc");                                   /* str32 */
    msgpack_pack_bin(pk, 3);   msgpack_pack_bin_body(pk, "\x00\x01\xc1", 3); /* bin8 */
    RAW(t, "\xc5\x00\x02" "\xc1\xc1");                                       /* bin16 */
    RAW(t, "\xc6\x00\x00\x00\x01" "\xff");                                   /* bin32 */
    RAW(t, "\xc7\x03\x05" "\xc1\xc1\xc1");                                   /* ext8 */
    RAW(t, "\xc8\x00\x01\x05" "z");                                          /* ext16 */
    RAW(t, "\xc9\x00\x00\x00\x02\x05" "zz");                                 /* ext32 */
    RAW(t, "\xd4\x01" "a");                                                  /* fixext1 */
    RAW(t, "\xd5\x01" "ab");
    RAW(t, "\xd6\x01" "abcd");
    RAW(t, "\xd7\x01" "abcdefgh");
    RAW(t, "\xd8\x01" "abcdefghijklmnop");
    n++;

    /* array16/32 and map16/32 with small counts, and empty containers */
    RAW(t, "\xdc\x00\x02" "\x01\x02");
    n++;
    RAW(t, "\xdd\x00\x00\x00\x02" "\x90\x80");
    n++;
    RAW(t, "\xde\x00\x01" "\xa1k\xc3");
    n++;
    RAW(t, "\xdf\x00\x00\x00\x01" "\xa1k\xdd\x00\x00\x00\x00");
    n++;

    /* bare top-level scalars (msgpack-c allocates no zone for these) */
    msgpack_pack_uint8(pk, 0);
    msgpack_pack_nil(pk);
    msgpack_pack_double(pk, 3.5);
    RAW(t, "\xa0");                                   /* empty str */
    n += 4;

    /* a response with an error object, and 16 levels of nesting */
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_uint8(pk, 9);
    msgpack_pack_map(pk, 3);
    pk_str(pk, "code");    msgpack_pack_int(pk, PROTO_E_INVALID_PARAMS);
    pk_str(pk, "message"); pk_str(pk, "age: expected an integer from 0 to 150");
    pk_str(pk, "data");    msgpack_pack_nil(pk);
    msgpack_pack_nil(pk);
    n++;
    for (int i = 0; i < 15; i++)
        msgpack_pack_array(pk, 1);
    msgpack_pack_array(pk, 0);
    n++;
    *n_objects = n;
}

/* Drains the decoder, re-packing each object into `out`. */
static size_t drain(struct proto_decoder *d, struct tbuf *out)
{
    size_t n = 0;
    msgpack_object o;
    int rc;
    while ((rc = proto_decoder_next(d, &o)) == 1) {
        msgpack_pack_object(&out->pk, o);
        n++;
    }
    if (rc != 0)
        ck_abort_msg("decoder error %d: %s", rc, proto_decoder_error(d));
    return n;
}

/* The reference: msgpack-c's one-shot unpacker over the whole stream. */
static void reference(const struct tbuf *in, struct tbuf *out, size_t *n)
{
    size_t off = 0;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    *n = 0;
    while (msgpack_unpack_next(&u, in->sb.data, in->sb.size, &off) == MSGPACK_UNPACK_SUCCESS) {
        msgpack_pack_object(&out->pk, u.data);
        (*n)++;
    }
    msgpack_unpacked_destroy(&u);
    ck_assert_uint_eq(off, in->sb.size);
}

START_TEST(stream_whole)
{
    struct tbuf in, want, got;
    size_t n_expected, n_ref;
    tbuf_init(&in); tbuf_init(&want); tbuf_init(&got);
    sample_stream(&in, &n_expected);
    reference(&in, &want, &n_ref);
    ck_assert_uint_eq(n_ref, n_expected);

    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    ck_assert_int_eq(proto_decoder_feed(d, in.sb.data, in.sb.size), 0);
    ck_assert_uint_eq(drain(d, &got), n_expected);
    ck_assert_uint_eq(got.sb.size, want.sb.size);
    ck_assert(memcmp(got.sb.data, want.sb.data, want.sb.size) == 0);
    ck_assert_uint_eq(proto_decoder_buffered(d), 0);
    proto_decoder_free(d);
    tbuf_close(&in); tbuf_close(&want); tbuf_close(&got);
}
END_TEST

START_TEST(stream_every_split_point)
{
    struct tbuf in, want;
    size_t n_expected, n_ref;
    tbuf_init(&in); tbuf_init(&want);
    sample_stream(&in, &n_expected);
    reference(&in, &want, &n_ref);

    for (size_t cut = 0; cut <= in.sb.size; cut++) {
        struct tbuf got;
        tbuf_init(&got);
        struct proto_decoder *d;
        ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
        ck_assert_int_eq(proto_decoder_feed(d, in.sb.data, cut), 0);
        size_t n = drain(d, &got);
        ck_assert_int_eq(proto_decoder_feed(d, in.sb.data + cut, in.sb.size - cut), 0);
        n += drain(d, &got);
        ck_assert_msg(n == n_expected, "split at %zu gave %zu objects", cut, n);
        ck_assert_uint_eq(got.sb.size, want.sb.size);
        ck_assert_msg(memcmp(got.sb.data, want.sb.data, want.sb.size) == 0,
                      "split at %zu changed the objects", cut);
        proto_decoder_free(d);
        tbuf_close(&got);
    }
    tbuf_close(&in); tbuf_close(&want);
}
END_TEST

START_TEST(stream_byte_by_byte_zero_copy)
{
    struct tbuf in, want, got;
    size_t n_expected, n_ref;
    tbuf_init(&in); tbuf_init(&want); tbuf_init(&got);
    sample_stream(&in, &n_expected);
    reference(&in, &want, &n_ref);

    /* Through reserve/commit, one byte per commit, as a slow socket. */
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    size_t n = 0;
    for (size_t i = 0; i < in.sb.size; i++) {
        char *buf;
        size_t cap;
        if (proto_decoder_reserve(d, 1, &buf, &cap) != 0 || cap < 1)
            ck_abort_msg("reserve failed at byte %zu", i);
        buf[0] = in.sb.data[i];
        if (proto_decoder_commit(d, 1) != 0)
            ck_abort_msg("commit failed at byte %zu", i);
        n += drain(d, &got);
    }
    ck_assert_uint_eq(n, n_expected);
    ck_assert_uint_eq(got.sb.size, want.sb.size);
    ck_assert(memcmp(got.sb.data, want.sb.data, want.sb.size) == 0);
    proto_decoder_free(d);
    tbuf_close(&in); tbuf_close(&want); tbuf_close(&got);
}
END_TEST

START_TEST(stream_odd_chunks)
{
    struct tbuf in, want;
    size_t n_expected, n_ref;
    tbuf_init(&in); tbuf_init(&want);
    sample_stream(&in, &n_expected);
    reference(&in, &want, &n_ref);
    for (size_t chunk = 2; chunk < 40; chunk += 3) {
        struct tbuf got;
        tbuf_init(&got);
        struct proto_decoder *d;
        ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
        size_t n = 0;
        for (size_t i = 0; i < in.sb.size; i += chunk) {
            size_t len = in.sb.size - i < chunk ? in.sb.size - i : chunk;
            ck_assert_int_eq(proto_decoder_feed(d, in.sb.data + i, len), 0);
            n += drain(d, &got);
        }
        ck_assert_uint_eq(n, n_expected);
        ck_assert(memcmp(got.sb.data, want.sb.data, want.sb.size) == 0);
        proto_decoder_free(d);
        tbuf_close(&got);
    }
    tbuf_close(&in); tbuf_close(&want);
}
END_TEST

START_TEST(truncated_frames_need_more)
{
    struct tbuf in;
    tbuf_init(&in);
    proto_pack_request_header(&in.pk, 5, "assess");
    msgpack_pack_array(&in.pk, 1);
    msgpack_pack_map(&in.pk, 1);
    pk_str(&in.pk, "area");
    pk_str(&in.pk, "a string long enough to need a str8 header, over 31 bytes");
    for (size_t k = 0; k < in.sb.size; k++) {
        struct proto_decoder *d;
        ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
        ck_assert_int_eq(proto_decoder_feed(d, in.sb.data, k), 0);
        msgpack_object o;
        ck_assert_int_eq(proto_decoder_next(d, &o), 0);
        ck_assert_str_eq(proto_decoder_error(d), "");
        ck_assert_uint_eq(proto_decoder_buffered(d), k);
        proto_decoder_free(d);
    }
    tbuf_close(&in);
}
END_TEST

/* Feeds bytes (whole, then also at every split point) and expects the
 * given error code and exact message from next(). */
static void expect_error_limits(const struct proto_limits *lim, const char *bytes, size_t n,
                                int code, const char *msg)
{
    for (size_t cut = 0; cut <= n; cut++) {
        struct proto_decoder *d;
        ck_assert_int_eq(proto_decoder_create(lim, &d), 0);
        msgpack_object o;
        int rc = proto_decoder_feed(d, bytes, cut);
        ck_assert_int_eq(rc, 0);
        rc = proto_decoder_next(d, &o);
        if (rc == 0) {
            proto_decoder_feed(d, bytes + cut, n - cut);
            rc = proto_decoder_next(d, &o);
        }
        ck_assert_msg(rc == code, "split %zu: expected %d, got %d (%s)", cut, code, rc,
                      proto_decoder_error(d));
        ck_assert_str_eq(proto_decoder_error(d), msg);
        /* broken for good */
        ck_assert_int_eq(proto_decoder_next(d, &o), code);
        ck_assert_int_eq(proto_decoder_feed(d, "\x90", 1), code);
        char *buf;
        size_t cap;
        ck_assert_int_eq(proto_decoder_reserve(d, 10, &buf, &cap), code);
        proto_decoder_free(d);
    }
}

static void expect_error(const char *bytes, size_t n, int code, const char *msg)
{
    expect_error_limits(NULL, bytes, n, code, msg);
}

START_TEST(byte_c1)
{
    expect_error("\xc1", 1, PROTO_E_PARSE, "byte 0xc1 is never valid MessagePack");
    expect_error("\x94\x00\x01\xc1", 4, PROTO_E_PARSE, "byte 0xc1 is never valid MessagePack");
}
END_TEST

START_TEST(good_objects_before_an_error_are_delivered)
{
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    /* [0,1,"ping",[]] then [0,2,"ping",[]] then garbage, in one chunk */
    static const char bytes[] = "\x94\x00\x01\xa4ping\x90" "\x94\x00\x02\xa4ping\x90" "\xc1";
    ck_assert_int_eq(proto_decoder_feed(d, bytes, sizeof(bytes) - 1), 0);
    msgpack_object o;
    ck_assert_int_eq(proto_decoder_next(d, &o), 1);
    ck_assert_uint_eq(o.via.array.ptr[1].via.u64, 1);
    ck_assert_int_eq(proto_decoder_next(d, &o), 1);
    ck_assert_uint_eq(o.via.array.ptr[1].via.u64, 2);
    ck_assert_int_eq(proto_decoder_next(d, &o), PROTO_E_PARSE);
    ck_assert_int_eq(proto_decoder_next(d, &o), PROTO_E_PARSE);
    proto_decoder_free(d);
}
END_TEST

START_TEST(str32_claiming_4gib)
{
    expect_error("\xdb\xff\xff\xff\xff", 5, PROTO_E_TOO_LARGE,
                 "str32 header declares 4294967295 bytes but the message limit allows 1048571 more");
    /* inside a request: the frame's bytes so far count against the limit */
    expect_error("\x94\x00\x01\xdb\xff\xff\xff\xff", 8, PROTO_E_TOO_LARGE,
                 "str32 header declares 4294967295 bytes but the message limit allows 1048567 more");
    expect_error("\xc6\x00\x10\x00\x00", 5, PROTO_E_TOO_LARGE,
                 "bin32 header declares 1048576 bytes but the message limit allows 1048571 more");
    expect_error("\xc9\xff\xff\xff\xff\x01", 6, PROTO_E_TOO_LARGE,
                 "ext32 header declares 4294967295 bytes but the message limit allows 1048570 more");
}
END_TEST

START_TEST(array32_claiming_2_28)
{
    expect_error("\xdd\x10\x00\x00\x00", 5, PROTO_E_TOO_LARGE,
                 "array32 header declares 268435456 elements but the message limit allows 1048571 more bytes");
    expect_error("\x94\x00\x01\xa4ping\xdd\x10\x00\x00\x00", 13, PROTO_E_TOO_LARGE,
                 "array32 header declares 268435456 elements but the message limit allows 1048563 more bytes");
}
END_TEST

START_TEST(map32_claiming_2_27)
{
    expect_error("\xdf\x08\x00\x00\x00", 5, PROTO_E_TOO_LARGE,
                 "map32 header declares 134217728 entries (268435456 objects) but the message limit allows 1048571 more bytes");
    /* 600000 entries fit in 1 MiB as a count, but not as 1.2 million objects */
    expect_error("\xdf\x00\x09\x27\xc0", 5, PROTO_E_TOO_LARGE,
                 "map32 header declares 600000 entries (1200000 objects) but the message limit allows 1048571 more bytes");
}
END_TEST

START_TEST(promised_elements_count_against_the_limit)
{
    /* An outer array promising 1,000,000 elements leaves room for an inner
     * array of at most 48,567 more: each promised element needs a byte. */
    expect_error("\xdd\x00\x0f\x42\x40\xdd\x00\x01\x00\x00", 10, PROTO_E_TOO_LARGE,
                 "array32 header declares 65536 elements but the message limit allows 48567 more bytes");
}
END_TEST

START_TEST(nesting_40_levels)
{
    char deep[40];
    memset(deep, 0x91, sizeof(deep));
    expect_error(deep, sizeof(deep), PROTO_E_TOO_LARGE, "nesting deeper than 16 levels");
    /* empty containers count as a level too */
    char seventeen[17];
    memset(seventeen, 0x91, 16);
    seventeen[16] = (char)0x80;
    expect_error(seventeen, sizeof(seventeen), PROTO_E_TOO_LARGE, "nesting deeper than 16 levels");

    /* a configured depth above msgpack-c's own 32 is clamped so that our
     * message, not msgpack-c's NOMEM, is what the client sees */
    struct proto_limits lim;
    proto_limits_default(&lim);
    lim.max_depth = 100;
    expect_error_limits(&lim, deep, sizeof(deep), PROTO_E_TOO_LARGE, "nesting deeper than 31 levels");
}
END_TEST

START_TEST(nesting_16_levels_accepted)
{
    char ok[17];
    memset(ok, 0x91, 15);
    ok[15] = (char)0x90;
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    ck_assert_int_eq(proto_decoder_feed(d, ok, 16), 0);
    msgpack_object o;
    ck_assert_int_eq(proto_decoder_next(d, &o), 1);
    proto_decoder_free(d);
}
END_TEST

START_TEST(oversized_message)
{
    struct proto_limits lim = { .max_message = 100, .max_depth = 16 };
    /* 15 strings of 10 bytes: the ninth no longer fits */
    char buf[1 + 15 * 11];
    buf[0] = (char)0x9f;
    for (int i = 0; i < 15; i++) {
        buf[1 + 11 * i] = (char)0xaa;
        memset(buf + 2 + 11 * i, 'x', 10);
    }
    expect_error_limits(&lim, buf, sizeof(buf), PROTO_E_TOO_LARGE,
                        "fixstr header declares 10 bytes but the message limit allows 4 more");
    /* a scalar whose own header crosses the limit */
    struct proto_limits tiny = { .max_message = 5, .max_depth = 16 };
    expect_error_limits(&tiny, "\xcf\x00\x00\x00\x00\x00\x00\x00\x01", 9, PROTO_E_TOO_LARGE,
                        "message exceeds 5 bytes");
    expect_error_limits(&tiny, "\x9f", 1, PROTO_E_TOO_LARGE,
                        "fixarray header declares 15 elements but the message limit allows 4 more bytes");
}
END_TEST

START_TEST(limit_applies_per_message)
{
    /* Two 80-byte messages in a row with a 100-byte limit are both fine,
     * and a message of exactly the limit is accepted. */
    struct proto_limits lim = { .max_message = 100, .max_depth = 16 };
    char one[100];
    one[0] = (char)0xd9;   /* str8 of 98 bytes: 100 bytes in all */
    one[1] = 98;
    memset(one + 2, 'y', 98);
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(&lim, &d), 0);
    msgpack_object o;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(proto_decoder_feed(d, one, sizeof(one)), 0);
        ck_assert_int_eq(proto_decoder_next(d, &o), 1);
        ck_assert_uint_eq(o.via.str.size, 98);
    }
    proto_decoder_free(d);
    one[1] = 99;   /* 101 bytes */
    expect_error_limits(&lim, one, 2, PROTO_E_TOO_LARGE,
                        "str8 header declares 99 bytes but the message limit allows 98 more");
}
END_TEST

START_TEST(big_message_byte_by_byte)
{
    /* A message of exactly 1 MiB fed one byte at a time: must work, and
     * must not rescan (this would take minutes if it were quadratic). */
    size_t body = PROTO_DEFAULT_MAX_MESSAGE - 1 - 5;
    struct tbuf in;
    tbuf_init(&in);
    msgpack_pack_array(&in.pk, 1);
    char *s = malloc(body);
    ck_assert_ptr_nonnull(s);
    memset(s, 'q', body);
    msgpack_pack_str(&in.pk, body);
    msgpack_pack_str_body(&in.pk, s, body);
    free(s);
    ck_assert_uint_eq(in.sb.size, PROTO_DEFAULT_MAX_MESSAGE);

    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    msgpack_object o;
    /* plain ifs: each ck_assert writes a checkpoint, too slow per byte */
    for (size_t i = 0; i < in.sb.size; i++) {
        if (proto_decoder_feed(d, in.sb.data + i, 1) != 0)
            ck_abort_msg("feed failed at byte %zu", i);
        int rc = proto_decoder_next(d, &o);
        if (rc != (i + 1 == in.sb.size ? 1 : 0))
            ck_abort_msg("next gave %d at byte %zu: %s", rc, i, proto_decoder_error(d));
    }
    ck_assert_uint_eq(o.via.array.ptr[0].via.str.size, body);
    ck_assert_int_eq(o.via.array.ptr[0].via.str.ptr[body - 1], 'q');
    /* after the big message (whose memory is then given back) the decoder
     * goes on with small ones */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(proto_decoder_feed(d, "\x94\x00\x07\xa4ping\x91\xa1x", 11), 0);
        ck_assert_int_eq(proto_decoder_next(d, &o), 1);
        ck_assert_uint_eq(o.via.array.ptr[1].via.u64, 7);
        ck_assert_obj_str(&o.via.array.ptr[3].via.array.ptr[0], "x");
        ck_assert_int_eq(proto_decoder_next(d, &o), 0);
    }
    proto_decoder_free(d);

    /* one byte more is refused at the header */
    in.sb.data[0] = (char)0x92;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    ck_assert_int_eq(proto_decoder_feed(d, in.sb.data, in.sb.size), 0);
    ck_assert_int_eq(proto_decoder_next(d, &o), PROTO_E_TOO_LARGE);
    ck_assert_str_eq(proto_decoder_error(d),
                     "str32 header declares 1048570 bytes but the message limit allows 1048569 more");
    proto_decoder_free(d);
    tbuf_close(&in);
}
END_TEST

START_TEST(big_message_without_strings_then_small_ones)
{
    /* 400,000 small integers: msgpack-c's buffer grows and, with no string
     * referencing it, would be kept at that size; it must still work after
     * the decoder gives that memory back. */
    struct tbuf in;
    tbuf_init(&in);
    msgpack_pack_array(&in.pk, 400000);
    for (int i = 0; i < 400000; i++)
        msgpack_pack_uint8(&in.pk, (uint8_t)(i & 0x7f));
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    ck_assert_int_eq(proto_decoder_feed(d, in.sb.data, in.sb.size), 0);
    msgpack_object o;
    ck_assert_int_eq(proto_decoder_next(d, &o), 1);
    ck_assert_uint_eq(o.via.array.size, 400000);
    ck_assert_uint_eq(o.via.array.ptr[399999].via.u64, 399999 & 0x7f);
    ck_assert_int_eq(proto_decoder_next(d, &o), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(proto_decoder_feed(d, "\x94\x00\x07\xa4ping\x91\xa1x", 11), 0);
        ck_assert_int_eq(proto_decoder_next(d, &o), 1);
        ck_assert_obj_str(&o.via.array.ptr[3].via.array.ptr[0], "x");
        ck_assert_int_eq(proto_decoder_next(d, &o), 0);
    }
    ck_assert_uint_eq(proto_decoder_buffered(d), 0);
    proto_decoder_free(d);
    tbuf_close(&in);
}
END_TEST

START_TEST(many_messages_reuse)
{
    struct proto_decoder *d;
    ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
    struct tbuf in;
    tbuf_init(&in);
    for (uint32_t i = 1; i <= 20000; i++) {
        msgpack_sbuffer_clear(&in.sb);
        proto_pack_request_header(&in.pk, i, "ping");
        msgpack_pack_array(&in.pk, 1);
        pk_str(&in.pk, "a string that msgpack-c references in its buffer");
        msgpack_object o;
        if (proto_decoder_feed(d, in.sb.data, in.sb.size) != 0 ||
            proto_decoder_next(d, &o) != 1 || o.via.array.ptr[1].via.u64 != i ||
            proto_decoder_next(d, &o) != 0)
            ck_abort_msg("message %u not decoded alone", i);
    }
    ck_assert_uint_eq(proto_decoder_buffered(d), 0);
    proto_decoder_free(d);
    tbuf_close(&in);
}
END_TEST

static Suite *decoder_suite(void)
{
    Suite *s = suite_create("proto_decoder");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, stream_whole);
    tcase_add_test(tc, stream_every_split_point);
    tcase_add_test(tc, stream_byte_by_byte_zero_copy);
    tcase_add_test(tc, stream_odd_chunks);
    tcase_add_test(tc, truncated_frames_need_more);
    tcase_add_test(tc, many_messages_reuse);
    tcase_add_test(tc, big_message_byte_by_byte);
    tcase_add_test(tc, big_message_without_strings_then_small_ones);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hostile");
    tcase_set_timeout(th, 120);
    tcase_add_test(th, byte_c1);
    tcase_add_test(th, good_objects_before_an_error_are_delivered);
    tcase_add_test(th, str32_claiming_4gib);
    tcase_add_test(th, array32_claiming_2_28);
    tcase_add_test(th, map32_claiming_2_27);
    tcase_add_test(th, promised_elements_count_against_the_limit);
    tcase_add_test(th, nesting_40_levels);
    tcase_add_test(th, nesting_16_levels_accepted);
    tcase_add_test(th, oversized_message);
    tcase_add_test(th, limit_applies_per_message);
    suite_add_tcase(s, th);
    return s;
}

int main(void)
{
    return testutil_run(decoder_suite());
}
