/*
 * testutil.h: helpers every Check test binary shares (suitd_check_test in
 * tests/CMakeLists.txt links testutil.c into each one).
 */
#ifndef SUITD_TESTUTIL_H
#define SUITD_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* Runs every case of s (Check prints its summary line) and frees it;
 * returns EXIT_SUCCESS or EXIT_FAILURE for main. */
int testutil_run(Suite *s);

/* One named test per TCase, so each case runs in its own process with its
 * own timeout; teardown (may be NULL) runs after each as a checked fixture. */
struct testutil_case {
    const char *name;
    const TTest *test;
};
Suite *testutil_suite(const char *name, const struct testutil_case *cases, size_t n,
                      int timeout_s, SFun teardown);

/* The whole file, NUL-terminated (caller frees); NULL when it cannot be
 * opened or read. */
char *testutil_slurp(const char *path);

/* Bytes as hex the way PROTOCOL.md shows them: lowercase, space separated,
 * 16 bytes a line, no newline at the end (caller frees). */
char *testutil_hex(const char *data, size_t len);

/* The complete patient of PROTOCOL.md's examples (34, not pregnant, not
 * breastfeeding, Fitzpatrick 3, face, acne scars): a map header for its
 * six keys plus `extra` that the caller packs after them. */
void testutil_pack_example_patient(msgpack_packer *pk, size_t extra);

/* Writes text to path (mode "w" or "a"); asserts it worked. */
void testutil_write_file(const char *path, const char *mode, const char *text);
/* Copies a file, or a directory tree (files and folders), as cp -r does;
 * asserts. */
void testutil_copy_tree(const char *from, const char *to);
/* Removes a directory tree; what is already gone is fine. */
void testutil_remove_tree(const char *dir);

/* Writes DIR/tests/slow.json into a copy of the daemon tests' contract
 * ruleset (tests/daemon/rulesets/contract): n cases, each of which runs its
 * `slow` rule into the engine deadline, so that a reload of DIR takes about
 * n times the rule deadline (the rules engine cannot be interrupted). */
void testutil_write_slow_cases(const char *dir, int n);

/* Whether any detail line of e contains needle. */
bool testutil_has_detail(const struct proto_error *e, const char *needle);

#endif
