/*
 * test_protocol_example.c: the byte-level examples of proto/PROTOCOL.md
 * section 8 as the protocol library makes them, with the packers the client
 * and the daemon use: the requests, and the error a daemon answers to an
 * age of -1 (proto_patient_from_params's refusal, packed by
 * proto_pack_error_response).  Run with --print to see them.  The responses
 * of a real daemon, and every example result, are checked against the
 * document by tests/daemon/test_protocol_doc.c.
 */
#include "proto_test_util.h"

#include <jansson.h>
#include <stdio.h>

static void example_ping_request(msgpack_packer *pk)
{
    proto_pack_request_header(pk, 1, "ping");
    msgpack_pack_array(pk, 0);
}

static void example_assess_request(msgpack_packer *pk)
{
    proto_pack_request_header(pk, 2, "assess");
    msgpack_pack_array(pk, 1);
    testutil_pack_example_patient(pk, 0);
}

/* The daemon's path for this request: the params refused by the same
 * conversion, the refusal packed by the same packer. */
static void example_error_response(msgpack_packer *pk)
{
    struct tbuf t;
    tbuf_init(&t);
    msgpack_pack_array(&t.pk, 1);
    msgpack_pack_map(&t.pk, 1);
    proto_pack_str(&t.pk, "age");
    msgpack_pack_int(&t.pk, -1);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, t.sb.data, t.sb.size, NULL) != MSGPACK_UNPACK_SUCCESS)
        abort();
    struct suit_patient p;
    struct proto_error e;
    proto_error_init(&e);
    if (proto_patient_from_params(&u.data, &p, &e) == 0)
        abort();
    proto_pack_error_response(pk, 3, &e);
    proto_error_close(&e);
    msgpack_unpacked_destroy(&u);
    tbuf_close(&t);
}

struct example {
    const char *name;
    void (*pack)(msgpack_packer *pk);
};

static const struct example examples[] = {
    { "ping request", example_ping_request },
    { "assess request", example_assess_request },
    { "error response", example_error_response },
};
#define N_EXAMPLES (sizeof(examples) / sizeof(examples[0]))

/* Hex as in PROTOCOL.md: 16 bytes a line, lowercase, space separated. */
static char *hex_block(const struct example *ex)
{
    struct tbuf t;
    tbuf_init(&t);
    ex->pack(&t.pk);
    char *s = testutil_hex(t.sb.data, t.sb.size);
    tbuf_close(&t);
    return s;
}

/* The decoded form, as JSON (what `suit --json` shows). */
static char *decoded(const struct example *ex)
{
    struct tbuf t;
    tbuf_init(&t);
    ex->pack(&t.pk);
    /* no ck_assert here: --print runs outside Check */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, t.sb.data, t.sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
        abort();
    json_t *j = proto_msgpack_to_json(&u.data);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    msgpack_unpacked_destroy(&u);
    tbuf_close(&t);
    return s;
}

static char *read_doc(void)
{
    const char *src = getenv("SUITD_SOURCE_DIR");
    ck_assert_msg(src != NULL, "SUITD_SOURCE_DIR is not set");
    char path[4096];
    snprintf(path, sizeof(path), "%s/proto/PROTOCOL.md", src);
    char *doc = testutil_slurp(path);
    ck_assert_msg(doc != NULL, "cannot read %s", path);
    return doc;
}

START_TEST(document_matches_library)
{
    char *doc = read_doc();
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        char *hex = hex_block(&examples[i]);
        char *dec = decoded(&examples[i]);
        ck_assert_msg(strstr(doc, hex) != NULL, "PROTOCOL.md lacks the %s bytes:\n%s",
                      examples[i].name, hex);
        ck_assert_msg(strstr(doc, dec) != NULL, "PROTOCOL.md lacks the %s decoded form:\n%s",
                      examples[i].name, dec);
        free(hex);
        free(dec);
    }
    free(doc);
}
END_TEST

/* Section 6 lists every code with the name and key proto gives it. */
START_TEST(error_table_matches_library)
{
    char *doc = read_doc();
    for (int i = 0; i < PROTO_N_CODES; i++) {
        int code = proto_code_at(i);
        char row[160];
        snprintf(row, sizeof row, "\n| %d | %s | `%s` |", code, proto_code_name(code),
                 proto_code_key(code));
        ck_assert_msg(strstr(doc, row) != NULL, "PROTOCOL.md lacks the row%s", row);
    }
    free(doc);
}
END_TEST

START_TEST(examples_decode_as_frames)
{
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        struct tbuf t;
        tbuf_init(&t);
        examples[i].pack(&t.pk);
        struct proto_decoder *d;
        ck_assert_int_eq(proto_decoder_create(NULL, &d), 0);
        ck_assert_int_eq(proto_decoder_feed(d, t.sb.data, t.sb.size), 0);
        msgpack_object o;
        ck_assert_int_eq(proto_decoder_next(d, &o), 1);
        struct proto_message m;
        struct proto_error e;
        proto_error_init(&e);
        ck_assert_int_eq(proto_message_parse(&o, &m, &e), 0);
        if (proto_method_is(&m, "assess")) {
            struct suit_patient p;
            ck_assert_int_eq(proto_patient_from_params(&m.params, &p, &e), 0);
            ck_assert_str_eq(p.area, "face");
            suit_patient_close(&p);
        }
        proto_decoder_free(d);
        tbuf_close(&t);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print") == 0) {
        for (size_t i = 0; i < N_EXAMPLES; i++) {
            char *hex = hex_block(&examples[i]);
            char *dec = decoded(&examples[i]);
            printf("## %s\n%s\n%s\n\n", examples[i].name, hex, dec);
            free(hex);
            free(dec);
        }
        return 0;
    }
    Suite *s = suite_create("protocol_example");
    TCase *tc = tcase_create("PROTOCOL.md");
    tcase_add_test(tc, examples_decode_as_frames);
    tcase_add_test(tc, document_matches_library);
    tcase_add_test(tc, error_table_matches_library);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
