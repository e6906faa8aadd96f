/*
 * conn.h: one client connection: reading and decoding frames, flow
 * control, the write queue and its limits, and the connection's life cycle.
 *
 * Life cycle: a conn is freed only when its handle is closed AND nothing
 * refers to it any more (requests at the workers or the reload, a place in
 * the server's dirty or backlog list): each of those holds a reference.
 * So a client that vanishes mid-request never leaves a worker writing into
 * freed memory; its answers are just dropped.
 *
 * Flow control: at most --max-inflight unanswered requests per connection;
 * beyond that the conn stops reading (backpressure).  At most
 * CONN_FRAMES_PER_TURN frames are decoded per loop turn, the rest wait in
 * the decoder for the next turn, so one fast client cannot starve others.
 * Output is collected per turn and written with one uv_write; more than
 * --max-output unsent bytes closes the connection (a client that does not
 * read its answers).
 */
#ifndef SUITD_CONN_H
#define SUITD_CONN_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "proto.h"
#include "stats.h"

#define CONN_FRAMES_PER_TURN 32

struct server;
struct listener;
struct request;

struct conn {
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;
    struct server *srv;
    struct listener *lis;
    uint64_t id;
    struct conn *prev, *next;           /* server->conns */
    struct conn *dirty_next, *backlog_next;
    bool in_dirty, in_backlog;
    unsigned refs;

    struct proto_decoder *dec;
    char *out;                          /* answers not yet handed to uv_write */
    size_t out_len, out_cap;
    char *wbuf;                         /* the write in flight */
    size_t wlen, wcap;
    uv_write_t wreq;
    bool out_failed;                    /* allocation failure while packing */

    unsigned inflight;                  /* requests not answered yet */
    struct request *requests;           /* at the workers or the reload */
    uint64_t last_active_ns;
    bool reading;
    bool read_done;                     /* EOF, parse error, or shutdown */
    bool drained;                       /* decoder holds no complete frame */
    bool broken;                        /* decode no further */
    bool writing;
    bool closing;
    bool authed;
};

/* connection_cb of a listener: accepts one client, or refuses it over
 * --max-connections (counted). */
void conn_accept(struct listener *lis);

void conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/* Packs one whole response straight into the output buffer:
 *   msgpack_packer pk; conn_pack_begin(c, &pk); ...; conn_pack_end(c);
 * conn_pack_end applies --max-output and schedules the write. */
void conn_pack_begin(struct conn *c, msgpack_packer *pk);
void conn_pack_end(struct conn *c);
/* Copies an already packed response. */
void conn_send(struct conn *c, const char *data, size_t len);

/* A request of this connection got its answer (or was abandoned). */
void conn_request_done(struct conn *c);
/* Closes now.  drop is the reason counted in stats, or -1 for none. */
void conn_close(struct conn *c, int drop);
/* Server shutdown: read no more, answer what was received, then close. */
void conn_stop_reading(struct conn *c);
bool conn_is_admin(const struct conn *c);
bool conn_needs_auth(const struct conn *c);

/* Server hooks: prepare callback (flush every dirty connection), idle
 * callback (decode the backlog), sweep timer (idle timeout). */
void conn_flush_dirty(struct server *srv);
void conn_run_backlog(struct server *srv);
void conn_sweep_idle(struct server *srv, uint64_t now_ns, uint64_t idle_ns);

#endif
