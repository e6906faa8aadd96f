/*
 * httpd_upstream.c: see httpd_upstream.h.
 */
#include "httpd_upstream.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct httpd_upstream_slot {
    struct rpc_client *c;       /* NULL until the first call, and after a failure */
    struct httpd_upstream_slot *next;
};

/* The methods the gateway may call: nothing that changes suitd. */
static const char *const httpd_upstream_methods[] = {"ping", "assess", "ruleset", "stats", NULL};

int httpd_upstream_init(struct httpd_upstream *u, const struct httpd_config *cfg,
                        struct httpd_metrics *m, const struct httpd_log *lg, char *err,
                        size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->addr = cfg->suitd;
    u->connect_timeout_ms = (int)cfg->connect_timeout_ms;
    u->call_timeout_ms = (int)cfg->suitd_timeout_ms;
    u->metrics = m;
    u->log = lg;
    if (cfg->suitd_token_file) {
        int rc = proto_token_read(cfg->suitd_token_file, u->token, sizeof u->token);
        if (rc < 0) {
            snprintf(err, errlen, "suitd_token_file %s: %s", cfg->suitd_token_file,
                     rc == PROTO_E_TOO_LARGE        ? "the token is too long"
                     : rc == PROTO_E_INVALID_PARAMS ? "the file holds no token"
                                                    : strerror(-rc));
            return -1;
        }
    }
    int rc = pthread_key_create(&u->key, NULL);
    if (rc) {
        snprintf(err, errlen, "pthread_key_create: %s", strerror(rc));
        return -1;
    }
    pthread_mutex_init(&u->lock, NULL);
    return 0;
}

void httpd_upstream_close(struct httpd_upstream *u)
{
    struct httpd_upstream_slot *s = u->slots;
    while (s) {
        struct httpd_upstream_slot *next = s->next;
        rpc_client_free(s->c);
        free(s);
        s = next;
    }
    u->slots = NULL;
    pthread_key_delete(u->key);
    pthread_mutex_destroy(&u->lock);
    explicit_bzero(u->token, sizeof u->token);
}

/* This thread's slot, made on its first call; NULL without memory. */
static struct httpd_upstream_slot *httpd_upstream_slot(struct httpd_upstream *u)
{
    struct httpd_upstream_slot *s = pthread_getspecific(u->key);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (pthread_setspecific(u->key, s) != 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_lock(&u->lock);
    s->next = u->slots;
    u->slots = s;
    pthread_mutex_unlock(&u->lock);
    return s;
}

static void httpd_upstream_drop(struct httpd_upstream_slot *s)
{
    rpc_client_free(s->c);
    s->c = NULL;
}

static void httpd_pack_token(msgpack_packer *pk, void *arg)
{
    msgpack_pack_array(pk, 1);
    proto_pack_str(pk, arg);
}

/* Connects (and authenticates when there is a token).  Returns 0 or -1
 * with err set. */
static int httpd_upstream_connect(struct httpd_upstream *u, struct httpd_upstream_slot *s,
                                  struct proto_error *err)
{
    int rc = rpc_client_connect(u->addr, u->connect_timeout_ms, &s->c, err);
    if (rc < 0)
        return -1;
    atomic_fetch_add_explicit(&u->metrics->suitd_connects, 1, memory_order_relaxed);
    if (u->token[0]) {
        msgpack_object res;
        rc = rpc_client_call(s->c, "auth", httpd_pack_token, u->token, &res, err);
        if (rc != 0) {
            char why[sizeof err->message];
            snprintf(why, sizeof why, "%s", err->message);
            proto_error_set(err, PROTO_E_INTERNAL, "suitd refused the gateway's auth: %s", why);
            httpd_upstream_drop(s);
            return -1;
        }
    }
    rpc_client_set_timeout(s->c, u->call_timeout_ms);
    return 0;
}

static bool httpd_upstream_allowed(const char *method)
{
    for (const char *const *m = httpd_upstream_methods; *m; m++)
        if (!strcmp(*m, method))
            return true;
    return false;
}

/* Waits for the answer to msgid.  An error under msgid 0 is suitd's word
 * on the whole connection (a request too large, or too many connections)
 * and answers this call too; suitd closes the connection after it. */
static enum httpd_upstream_status httpd_upstream_wait(struct httpd_upstream_slot *s,
                                                      uint32_t msgid, json_t **result,
                                                      struct proto_error *err, bool *got_bytes)
{
    for (;;) {
        struct proto_message msg;
        int rc = rpc_client_recv(s->c, &msg, err);
        if (rc == -ETIMEDOUT)
            return HTTPD_UPSTREAM_TIMEOUT;
        if (rc == -ECONNRESET || rc == -EPIPE || (rc < 0 && rc > -4096))
            return HTTPD_UPSTREAM_CLOSED;
        if (rc < 0)
            return HTTPD_UPSTREAM_BAD_REPLY;
        *got_bytes = true;
        if (!msg.has_msgid || (msg.msgid != msgid && msg.msgid != 0))
            continue;       /* not ours: an answer to a call given up on */
        if (msg.error.type != MSGPACK_OBJECT_NIL) {
            rpc_error_from_object(&msg.error, err);
            return HTTPD_UPSTREAM_ANSWERED;
        }
        if (msg.msgid == 0)
            continue;
        *result = proto_msgpack_to_json(&msg.result);
        if (!*result) {
            proto_error_set(err, PROTO_E_INTERNAL, "cannot convert suitd's answer to JSON");
            return HTTPD_UPSTREAM_BAD_REPLY;
        }
        return HTTPD_UPSTREAM_OK;
    }
}

enum httpd_upstream_status httpd_upstream_call(struct httpd_upstream *u, const char *method,
                                               rpc_pack_params_fn pack, void *arg,
                                               json_t **result, struct proto_error *err)
{
    *result = NULL;
    if (!httpd_upstream_allowed(method)) {
        proto_error_set(err, PROTO_E_INTERNAL, "the gateway never calls %s", method);
        return HTTPD_UPSTREAM_BAD_REPLY;
    }
    struct httpd_upstream_slot *s = httpd_upstream_slot(u);
    if (!s) {
        proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        return HTTPD_UPSTREAM_UNREACHABLE;
    }
    enum httpd_upstream_status st = HTTPD_UPSTREAM_CLOSED;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = false;
        if (!s->c) {
            if (httpd_upstream_connect(u, s, err) < 0) {
                httpd_metrics_suitd_error(u->metrics, HTTPD_SUITD_UNREACHABLE);
                return HTTPD_UPSTREAM_UNREACHABLE;
            }
            fresh = true;
        }
        uint32_t msgid;
        bool got_bytes = false;
        int rc = rpc_client_send(s->c, method, pack, arg, &msgid, err);
        st = rc < 0 ? HTTPD_UPSTREAM_CLOSED : httpd_upstream_wait(s, msgid, result, err, &got_bytes);
        if (st == HTTPD_UPSTREAM_OK)
            return st;
        if (st == HTTPD_UPSTREAM_ANSWERED) {
            if (err->code == PROTO_E_OVERLOADED)
                httpd_metrics_suitd_error(u->metrics, HTTPD_SUITD_OVERLOADED);
            else if (err->code == PROTO_E_TIMEOUT)
                httpd_metrics_suitd_error(u->metrics, HTTPD_SUITD_TIMEOUT);
            /* After a too-large or connection-level error suitd closes the
             * connection: start the next call on a new one. */
            if (err->code == PROTO_E_TOO_LARGE || err->code == PROTO_E_PARSE ||
                err->code == PROTO_E_OVERLOADED)
                httpd_upstream_drop(s);
            return st;
        }
        /* The connection is in an unknown state: a late answer must never
         * be taken for the next call's. */
        httpd_upstream_drop(s);
        /* A reused connection that died before answering anything: suitd
         * went away since the last call.  Once more on a new one. */
        if (st == HTTPD_UPSTREAM_CLOSED && !fresh && !got_bytes) {
            httpd_debug(u->log, "suitd connection lost (%s); reconnecting", err->message);
            proto_error_close(err);
            continue;
        }
        break;
    }
    switch (st) {
    case HTTPD_UPSTREAM_TIMEOUT:
        httpd_metrics_suitd_error(u->metrics, HTTPD_SUITD_TIMEOUT);
        proto_error_set(err, PROTO_E_TIMEOUT, "no answer from suitd within %d ms",
                        u->call_timeout_ms);
        break;
    case HTTPD_UPSTREAM_BAD_REPLY:
        httpd_metrics_suitd_error(u->metrics, HTTPD_SUITD_BAD_REPLY);
        break;
    default:
        httpd_metrics_suitd_error(u->metrics, HTTPD_SUITD_CLOSED);
        break;
    }
    return st;
}
