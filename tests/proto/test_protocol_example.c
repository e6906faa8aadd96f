/*
 * test_protocol_example.c: the byte-level examples in proto/PROTOCOL.md are
 * produced by this program (run it with --print) and checked by it (run
 * without arguments, as a test): the document cannot drift from what the
 * library really sends.
 */
#include "proto_test_util.h"

#include <jansson.h>
#include <stdio.h>

/* Made up for the example: a real ruleset reports its own digest. */
#define EXAMPLE_SHA "3b7e1c0a9d4f5e6b8a2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f00"

static void example_ping_request(msgpack_packer *pk)
{
    proto_pack_request_header(pk, 1, "ping");
    msgpack_pack_array(pk, 0);
}

static void example_ping_response(msgpack_packer *pk)
{
    proto_pack_result_header(pk, 1);
    msgpack_pack_map(pk, 3);
    proto_pack_str(pk, "version");
    proto_pack_str(pk, "0.1.0");
    proto_pack_str(pk, "protocol");
    proto_pack_str(pk, PROTO_VERSION);
    proto_pack_str(pk, "ruleset");
    msgpack_pack_map(pk, 3);
    proto_pack_str(pk, "name");    proto_pack_str(pk, "microneedling");
    proto_pack_str(pk, "version"); proto_pack_str(pk, "1.0.0");
    proto_pack_str(pk, "sha256");  proto_pack_str(pk, EXAMPLE_SHA);
}

static void example_assess_request(msgpack_packer *pk)
{
    proto_pack_request_header(pk, 2, "assess");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 6);
    proto_pack_str(pk, "age");           msgpack_pack_uint8(pk, 34);
    proto_pack_str(pk, "pregnant");      msgpack_pack_false(pk);
    proto_pack_str(pk, "breastfeeding"); msgpack_pack_false(pk);
    proto_pack_str(pk, "fitzpatrick");   msgpack_pack_uint8(pk, 3);
    proto_pack_str(pk, "area");          proto_pack_str(pk, "face");
    proto_pack_str(pk, "indication");    proto_pack_str(pk, "acne-scars");
}

static void example_error_response(msgpack_packer *pk)
{
    struct proto_error e;
    proto_error_init(&e);
    proto_error_set(&e, PROTO_E_INVALID_PARAMS, "age: expected an integer from 0 to 150");
    proto_error_set_field(&e, "age");
    proto_pack_error_response(pk, 3, &e);
    proto_error_close(&e);
}

struct example {
    const char *name;
    void (*pack)(msgpack_packer *pk);
};

static const struct example examples[] = {
    { "ping request", example_ping_request },
    { "ping response", example_ping_response },
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
    char *s = malloc(t.sb.size * 3 + 1);
    if (!s)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < t.sb.size; i++) {
        sprintf(s + o, "%02x", (unsigned char)t.sb.data[i]);
        o += 2;
        s[o++] = (i + 1 == t.sb.size) ? '\0' : ((i % 16 == 15) ? '\n' : ' ');
    }
    s[o] = '\0';
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
