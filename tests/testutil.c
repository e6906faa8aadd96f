/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void testutil_write_file(const char *path, const char *mode, const char *text)
{
    FILE *f = fopen(path, mode);
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

void testutil_write_slow_cases(const char *dir, int n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/slow.json", dir);
    testutil_write_file(path, "w", "[\n");
    for (int i = 0; i < n; i++) {
        /* days_ago 36500 (the largest allowed): 36.5 million loop steps,
         * about 4 s, longer than any deadline the tests use. */
        char one[512];
        snprintf(one, sizeof one,
                 "%s{\"name\": \"slow %d\", \"patient\": {\"age\": 30, \"pregnant\": false, "
                 "\"breastfeeding\": false, \"fitzpatrick\": 2, \"area\": \"face\", "
                 "\"indication\": \"fine-lines\", \"conditions\": [{\"name\": \"slow\", "
                 "\"days_ago\": 36500}]}, \"expect\": {\"verdict\": \"suitable\"}}\n",
                 i ? "," : "", i);
        testutil_write_file(path, "a", one);
    }
    testutil_write_file(path, "a", "]\n");
}

void testutil_copy_tree(const char *from, const char *to)
{
    struct stat st;
    ck_assert_msg(stat(from, &st) == 0, "%s: %s", from, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        /* one file, as cp would */
        char *text = testutil_slurp(from);
        ck_assert_msg(text != NULL, "cannot read %s", from);
        testutil_write_file(to, "w", text);
        free(text);
        return;
    }
    ck_assert_msg(mkdir(to, 0755) == 0 || errno == EEXIST, "%s: %s", to, strerror(errno));
    DIR *d = opendir(from);
    ck_assert_msg(d != NULL, "%s: %s", from, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char a[2048], b[2048];
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        testutil_copy_tree(a, b);
    }
    closedir(d);
}

void testutil_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            testutil_remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}
