/*
 * rpc_client.h: a small blocking MessagePack-RPC client, used by `suit`,
 * the benchmark tool and the integration tests.  One connection; calls may
 * be pipelined with rpc_client_send / rpc_client_recv.
 *
 * Addresses: "unix:/path", "/path" (Unix socket), "tcp:host:port" or
 * "host:port".  Functions return 0 or a negative value: PROTO_E_* for
 * protocol problems, -errno for system errors, or RPC_E_NOHOST when a host
 * name does not resolve (message in err).
 */
#ifndef RPC_CLIENT_H
#define RPC_CLIENT_H

#include <msgpack.h>
#include "proto.h"

struct rpc_client;   /* opaque */

/* A host name that does not resolve (err says getaddrinfo's reason).
 * Outside both the errno range and the protocol's codes. */
#define RPC_E_NOHOST (-5001)
/* A Unix socket served by a process of another user (not root, not the
 * service user): someone may have bound the name first to collect patient
 * facts, so nothing was sent (SO_PEERCRED). */
#define RPC_E_UNTRUSTED (-5002)

/* timeout_ms applies to connect and to each recv (0 = wait forever).  On a
 * Unix socket it asks the kernel who listens (SO_PEERCRED) before anything
 * is sent, and refuses (RPC_E_UNTRUSTED) a daemon that runs as neither this
 * user, root, nor the service user ($SUIT_SERVICE_USER, a name or a uid;
 * else the user "suitd" if it exists). */
int rpc_client_connect(const char *addr, int timeout_ms, struct rpc_client **out,
                       struct proto_error *err);
void rpc_client_free(struct rpc_client *c);

/* One attempt of rpc_client_connect_first. */
struct rpc_attempt {
    const struct proto_addr_candidate *cand;
    int rc;                 /* 0: connected; else what rpc_client_connect returned */
    char message[600];      /* its error message, empty when connected */
};
struct rpc_attempts {
    struct rpc_attempt a[PROTO_ADDR_MAX_CANDIDATES];
    size_t n;
};
/* Connects to the first candidate of l (proto_addr_candidates) that
 * answers.  It moves on only when nothing listens there (-ENOENT,
 * -ECONNREFUSED, -ENOTSOCK, -ENOTDIR) or the socket is not this user's to
 * use (-EACCES, -EPERM); any other failure ends the search, so that a
 * daemon that is there but slow is never silently replaced by another.
 * Every attempt is recorded in *tried.  Returns 0 with *out set (the last
 * attempt is the one that connected), or the last attempt's rc. */
int rpc_client_connect_first(const struct proto_addr_list *l, int timeout_ms,
                             struct rpc_client **out, struct rpc_attempts *tried);
int rpc_client_fd(const struct rpc_client *c);
/* Changes the timeout of each later send and recv (0 = wait forever), e.g.
 * a short one to connect and a longer one to wait for answers. */
void rpc_client_set_timeout(struct rpc_client *c, int timeout_ms);

/* Packs a request: params_fn packs the params array into pk.  Returns the
 * msgid used in *msgid. */
typedef void (*rpc_pack_params_fn)(msgpack_packer *pk, void *arg);
int rpc_client_send(struct rpc_client *c, const char *method, rpc_pack_params_fn fn,
                    void *arg, uint32_t *msgid, struct proto_error *err);
/* Sends raw bytes (tests: garbage, split frames). */
int rpc_client_send_raw(struct rpc_client *c, const void *buf, size_t len,
                        struct proto_error *err);
/* Waits for the next response.  On success *msg is the parsed response; its
 * objects stay valid until the next recv or free.  A response carrying an
 * error object is still success here: inspect msg->error. */
int rpc_client_recv(struct rpc_client *c, struct proto_message *msg,
                    struct proto_error *err);
/* send + recv of the matching msgid (responses to other msgids are an
 * error: use send/recv to pipeline).  If the response has an error object,
 * returns its code with err filled in from it. */
int rpc_client_call(struct rpc_client *c, const char *method, rpc_pack_params_fn fn,
                    void *arg, msgpack_object *result, struct proto_error *err);
/* Fills err from a response's error object; returns its code. */
int rpc_error_from_object(const msgpack_object *o, struct proto_error *err);

#endif
