/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int testutil_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

Suite *testutil_suite(const char *name, const struct testutil_case *cases, size_t n,
                      int timeout_s, SFun teardown)
{
    Suite *s = suite_create(name);
    for (size_t i = 0; i < n; i++) {
        TCase *tc = tcase_create(cases[i].name);
        if (teardown)
            tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_set_timeout(tc, timeout_s);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

char *testutil_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;      /* end of file or error: ferror below tells */
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

char *testutil_hex(const char *data, size_t len)
{
    char *s = malloc(len * 3 + 1);
    if (!s)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        sprintf(s + o, "%02x", (unsigned char)data[i]);
        o += 2;
        if (i + 1 < len)
            s[o++] = i % 16 == 15 ? '\n' : ' ';
    }
    s[o] = '\0';
    return s;
}

void testutil_pack_example_patient(msgpack_packer *pk, size_t extra)
{
    msgpack_pack_map(pk, 6 + extra);
    proto_pack_str(pk, "age");           msgpack_pack_uint8(pk, 34);
    proto_pack_str(pk, "pregnant");      msgpack_pack_false(pk);
    proto_pack_str(pk, "breastfeeding"); msgpack_pack_false(pk);
    proto_pack_str(pk, "fitzpatrick");   msgpack_pack_uint8(pk, 3);
    proto_pack_str(pk, "area");          proto_pack_str(pk, "face");
    proto_pack_str(pk, "indication");    proto_pack_str(pk, "acne-scars");
}

bool testutil_has_detail(const struct proto_error *e, const char *needle)
{
    for (size_t i = 0; i < e->n_details; i++)
        if (strstr(e->details[i], needle))
            return true;
    return false;
}
