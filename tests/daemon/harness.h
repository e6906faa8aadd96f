/*
 * harness.h: starts a real suitd ($SUITD_BIN) in a temporary directory for
 * the daemon's integration tests, and small client helpers on top of
 * rpc_client.
 */
#ifndef SUITD_TEST_HARNESS_H
#define SUITD_TEST_HARNESS_H

#include <check.h>
#include <msgpack.h>
#include <stdbool.h>
#include <sys/types.h>

#include "proto.h"
#include "rpc_client.h"

struct daemon {
    pid_t pid;
    char dir[256];          /* temporary directory, removed by daemon_cleanup */
    char sock[320];         /* Unix socket path */
    char log[320];          /* the daemon's stderr */
    char unix_addr[330];    /* "unix:..." */
    char tcp_addr[64];      /* "127.0.0.1:PORT", empty without TCP */
    int port;
    int status;             /* exit status once reaped */
};

/* SUITD_SOURCE_DIR/rel in buf (n bytes); returns buf. */
const char *harness_source_path(char *buf, size_t n, const char *rel);
/* The daemon tests' own ruleset (tests/daemon/rulesets/contract). */
const char *harness_rules(void);
/* Creates the temp dir; call before daemon_start when a test needs files
 * in it first (config, token, ruleset copy). */
void daemon_prepare(struct daemon *d);
/* Starts suitd serve --rules RULES --socket DIR/suitd.sock --listen
 * 127.0.0.1:0 plus the NULL-terminated extra arguments (an extra --listen
 * or --socket replaces the default), and waits for its "ready" line.
 * Returns 0, or -1 if it exited first (d->status holds the exit status). */
int daemon_start(struct daemon *d, const char *rules, ...);
/* Sends sig and waits up to timeout_s for the exit; returns the exit
 * status (-1 if it did not exit, or died by a signal). */
int daemon_stop(struct daemon *d, int sig, int timeout_s);
/* Kills it if still running and removes the temp dir. */
void daemon_cleanup(struct daemon *d);
bool daemon_log_contains(const struct daemon *d, const char *needle);
bool daemon_running(struct daemon *d);

struct rpc_client *client_open(const char *addr);
/* Packers for params. */
void pack_no_params(msgpack_packer *pk, void *arg);
/* [patient]: a complete patient; arg is a const char * condition name
 * ("slow:N" for the slow rule, NULL for none). */
void pack_patient(msgpack_packer *pk, void *arg);
/* [patient] with isotretinoin stopped 100 days ago: verdict defer 80. */
void pack_isotretinoin(msgpack_packer *pk, void *arg);

/* Calls a method and asserts success; *result (may be NULL) stays valid
 * until the next call on c. */
int call_ok(struct rpc_client *c, const char *method, rpc_pack_params_fn fn, void *arg,
            msgpack_object *result);
/* Map lookup by string key; NULL when absent or o is not a map. */
const msgpack_object *obj_get(const msgpack_object *o, const char *key);
bool obj_is_str(const msgpack_object *o, const char *s);
/* Follows a "a.b.c" path of map keys and returns the integer there, or -1. */
int64_t obj_int_at(const msgpack_object *o, const char *path);
/* stats method result value at path, through a fresh Unix connection. */
int64_t stats_int(const struct daemon *d, const char *path);
/* Error code of an error object, 0 for nil. */
int error_code_of(const msgpack_object *err);

/* Copies a directory tree (cp -r). */
void copy_tree(const char *from, const char *to);
void write_file(const char *path, const char *text);
void append_file(const char *path, const char *text);
void sleep_ms(int ms);

#endif
