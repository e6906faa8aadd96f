/*
 * httpd_upstream.h: the gateway's connections to suitd.
 *
 * Each HTTP thread keeps one persistent rpc_client connection (found
 * through a thread-specific key, made on the thread's first call), so a
 * request never waits for another thread's call and never pays for a
 * connect.  A connection that fails is dropped and made again on the next
 * call; a call whose reused connection turns out to be dead before any
 * answer arrived (suitd restarted since the last call) is sent once more
 * on a fresh one, which is safe because every method the gateway calls
 * (ping, assess, ruleset, stats) changes nothing in suitd.  Admin methods
 * are never called: httpd_upstream_call refuses any method outside that
 * list.
 */
#ifndef HTTPD_UPSTREAM_H
#define HTTPD_UPSTREAM_H

#include <pthread.h>
#include <stdbool.h>

#include "httpd_config.h"
#include "httpd_log.h"
#include "httpd_metrics.h"
#include "rpc_client.h"

struct json_t;
struct httpd_upstream_slot;

struct httpd_upstream {
    const char *addr;               /* the config's */
    char token[1024];               /* suitd_token_file's token, or "" */
    int connect_timeout_ms, call_timeout_ms;
    struct httpd_metrics *metrics;
    const struct httpd_log *log;
    pthread_key_t key;
    pthread_mutex_t lock;           /* guards slots */
    struct httpd_upstream_slot *slots;  /* every thread's, freed by close */
};

/* How a call ended. */
enum httpd_upstream_status {
    HTTPD_UPSTREAM_OK = 0,
    HTTPD_UPSTREAM_ANSWERED,        /* suitd answered with an error object (in err) */
    HTTPD_UPSTREAM_UNREACHABLE,     /* no connection, or suitd refused our token */
    HTTPD_UPSTREAM_TIMEOUT,         /* no answer within suitd_timeout */
    HTTPD_UPSTREAM_CLOSED,          /* the connection broke during the call */
    HTTPD_UPSTREAM_BAD_REPLY,       /* the answer was not a valid response */
};

/* Reads suitd_token_file if set.  Returns 0, or -1 with a message in err. */
int httpd_upstream_init(struct httpd_upstream *u, const struct httpd_config *cfg,
                        struct httpd_metrics *m, const struct httpd_log *lg, char *err,
                        size_t errlen);
/* Frees every thread's connection; call once the HTTP threads are gone. */
void httpd_upstream_close(struct httpd_upstream *u);

/* Calls `method` on this thread's connection.  HTTPD_UPSTREAM_OK: *result
 * is the result as JSON (the caller frees it).  Otherwise err says what
 * happened: for ANSWERED it is suitd's own error (code, message, field,
 * details); for the others its code is PROTO_E_TIMEOUT (TIMEOUT) or
 * PROTO_E_INTERNAL and its message is for the log, not for clients. */
enum httpd_upstream_status httpd_upstream_call(struct httpd_upstream *u, const char *method,
                                               rpc_pack_params_fn pack, void *arg,
                                               struct json_t **result, struct proto_error *err);

#endif
