/*
 * conn.h: client connections: reading and decoding frames, flow control,
 * the write queue and its limits, and each connection's life cycle.  A
 * struct conn_set owns every connection and the lists they are on; only
 * conn.c edits them.
 *
 * A connection reports what happens to it through the callbacks its owner
 * set on the conn_set (the libuv stream pattern): each decoded frame, its
 * closing, and its freeing.  It knows nothing of methods or of the server.
 * The owner keeps its own per-connection state in conn_session(c)
 * (session_size zeroed bytes allocated with each connection).
 *
 * Life cycle: a conn is freed only when its handle is closed AND nothing
 * refers to it any more (requests at the workers or the reload, a place on
 * the dirty or backlog list): each of those holds a reference.  So a
 * client that vanishes mid-request never leaves a worker writing into
 * freed memory; its answers are just dropped.
 *
 * Flow control: at most max_inflight unanswered requests per connection;
 * beyond that the conn stops reading (backpressure).  At most
 * CONN_FRAMES_PER_TURN frames are decoded per loop turn, the rest wait in
 * the decoder for the next turn, so one fast client cannot starve others.
 * Output is collected per turn and written with one uv_write.  A
 * connection with CONN_OUTPUT_HIGH_WATER unsent bytes decodes no further
 * frames until the client reads (so pipelined loop-answered requests like
 * `stats` are bounded too, not only those at the workers); more than
 * max_output unsent bytes closes it, as does an answer that takes the
 * unsent bytes of all connections beyond max_output_memory (a client that
 * does not read its answers: dropped.slow_reader).
 *
 * Before `auth` (a listener that needs the token): the connection counts
 * against max_unauthenticated, must authenticate within auth_timeout_s,
 * may send frames of at most CONN_PREAUTH_MAX_BYTES, and is closed after
 * CONN_PREAUTH_MAX_REFUSED refused requests.  Unfinished frames of all
 * connections together are held up to max_input_memory bytes.
 *
 * Idle: only an accepted request (conn_touch) or an answer to one restarts
 * a connection's idle clock; bytes of an unfinished frame and requests
 * that were refused do not, so a trickle cannot hold a slot for ever.
 *
 * Capacity: TCP connections are refused at max_connections; the Unix
 * socket may use unix_reserve more, so TCP clients never lock it out.
 */
#ifndef SUITD_CONN_H
#define SUITD_CONN_H

#include <msgpack.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "listener.h"
#include "log.h"
#include "proto.h"
#include "stats.h"
#include "throttle.h"

#define CONN_FRAMES_PER_TURN 32
/* Before `auth`: the largest frame (an auth frame with the longest token,
 * 1,023 bytes, is about 1 KiB), and how many requests other than a good
 * `auth` are answered before the connection is closed. */
#define CONN_PREAUTH_MAX_BYTES 4096u
#define CONN_PREAUTH_MAX_REFUSED 3u
/* Unsent answer bytes at which a connection decodes no further frames. */
#define CONN_OUTPUT_HIGH_WATER (64u * 1024u)

struct conn;
struct conn_set;

/* What the owner is told.  All run on the loop thread. */
struct conn_callbacks {
    /* One decoded frame; obj is valid during the call only. */
    void (*frame)(struct conn *c, const msgpack_object *obj);
    /* c is closing: nobody will read its answers (it stays valid while
     * referenced). */
    void (*closed)(struct conn *c);
    /* A connection's memory was freed (a shutdown may now finish). */
    void (*freed)(struct conn_set *set);
};

struct conn_limits {
    unsigned max_connections;
    unsigned unix_reserve;          /* more for the Unix socket only */
    unsigned max_unauthenticated;
    unsigned auth_timeout_s;        /* 0: never */
    size_t max_input_memory;        /* unfinished frames, all connections */
    size_t max_output_memory;       /* unsent answers, all connections */
    unsigned max_inflight;
    size_t max_output;
    unsigned idle_timeout_s;        /* 0: never */
    struct proto_limits proto;      /* the decoder's */
};

/* What the limits count across every serving thread's conn_set: the
 * limits are the daemon's, not one thread's.  Atomics, shared by the sets
 * (each set points at one; a set on its own uses its own). */
struct conn_shared {
    atomic_size_t n_open;
    atomic_size_t n_unauthed;       /* open, on a token listener, no `auth` yet */
    atomic_size_t input_bytes;      /* held in unfinished frames (c->held_in) */
    atomic_size_t output_bytes;     /* unsent answers (c->held_out) */
    atomic_uint_fast64_t next_id;   /* connection ids, unique in the process */
};

/* Zero counts (any thread may then use it). */
void conn_shared_init(struct conn_shared *sh);

struct conn_set {
    uv_loop_t *loop;
    const struct logger *log;
    struct stats *stats;
    struct conn_limits lim;
    struct conn_callbacks cb;
    void *data;                     /* the owner's */
    size_t session_size;

    struct conn *all;               /* every open connection of this set */
    size_t n_open;                  /* of this set */
    size_t n_alive;                 /* of this set, open or closed, not yet freed */
    struct conn_shared *shared;     /* the daemon's counts: &own or another's */
    struct conn_shared own;
    struct conn *dirty;             /* connections with output to write */
    struct conn *backlog;           /* connections with frames left to decode */
    bool stopping;                  /* refuse new clients, read no more */
    struct throttle drop_log;       /* "closed (reason)" lines */
    struct throttle refuse_log;     /* refused connections */
    struct throttle fd_log;         /* out of descriptors */

    uv_prepare_t flush;             /* writes queued output before the loop blocks */
    uv_idle_t idle;                 /* keeps the loop spinning while backlog is set */
    uv_timer_t sweep;               /* idle connections */
    bool handles_open;
};

struct conn {
    union listener_stream u;
    struct conn_set *set;
    struct listener *lis;
    uint64_t id;
    struct conn *prev, *next;           /* set->all */
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
    uint64_t last_active_ns;            /* last accepted request or answer */
    uint64_t connected_ns;
    bool authed;                        /* past `auth`, or no token needed */
    unsigned preauth_refused;           /* requests refused before `auth` */
    size_t held_in, held_out;           /* this conn's part of set->*_bytes */
    bool reading;
    bool read_done;                     /* EOF, parse error, or shutdown */
    bool drained;                       /* decoder holds no complete frame */
    bool broken;                        /* decode no further */
    bool writing;
    bool closing;
    max_align_t session[];              /* set->session_size bytes, the owner's */
};

/* Sets up an empty set and its loop hooks (flush, backlog, idle sweep).
 * shared: the counts the limits apply to, shared with the other serving
 * threads' sets; NULL: this set's own.  Cannot fail on an initialised
 * loop. */
void conn_set_init(struct conn_set *set, uv_loop_t *loop, const struct conn_limits *lim,
                   const struct logger *lg, struct stats *stats, struct conn_shared *shared,
                   const struct conn_callbacks *cb, void *data, size_t session_size);
/* Shutdown: refuse new clients, and on every connection read no more,
 * answer what was received, then close. */
void conn_set_stop(struct conn_set *set);
/* Closes every open connection now, counting drop (a stats_drop). */
void conn_set_close_all(struct conn_set *set, int drop);
/* Closes the set's handles (the loop must run once more); connections
 * must all be gone. */
void conn_set_close(struct conn_set *set);

/* fd was accepted on lis: becomes a connection, or is refused (answered
 * `overloaded` under msgid 0, closed and counted) over a limit, while
 * stopping, or when out_of_fds (listener.h). */
void conn_accept(struct conn_set *set, struct listener *lis, int fd, bool out_of_fds);

void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
static inline void *conn_session(struct conn *c)
{
    return c->session;
}

/* Packs one whole response straight into the output buffer:
 *   msgpack_packer pk; conn_pack_begin(c, &pk); ...; conn_pack_end(c);
 * conn_pack_end applies max_output and schedules the write. */
void conn_pack_begin(struct conn *c, msgpack_packer *pk);
void conn_pack_end(struct conn *c);
/* Copies an already packed response. */
void conn_send(struct conn *c, const char *data, size_t len);
/* Answers [1, msgid, {code, message, data}, nil] and counts the error. */
void conn_send_error(struct conn *c, uint32_t msgid, const struct proto_error *e);
/* The same from a code and a printf-style message. */
void conn_reply_error(struct conn *c, uint32_t msgid, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A request of this connection was received / got its answer (or was
 * abandoned): at most max_inflight are out at once. */
void conn_request_start(struct conn *c);
void conn_request_done(struct conn *c);
/* Closes now.  drop is the reason counted in stats, or -1 for none. */
void conn_close(struct conn *c, int drop);
/* Reads no more; answers what was decoded, then closes. */
void conn_stop_reading(struct conn *c);
/* Like conn_stop_reading, and frames already received but not yet
 * decoded are dropped too (a client refused for good). */
void conn_refuse_input(struct conn *c);
bool conn_is_admin(const struct conn *c);
bool conn_needs_token(const struct conn *c);
/* Past `auth` (or on a listener without a token). */
static inline bool conn_authenticated(const struct conn *c)
{
    return c->authed;
}
/* The right token was sent: the pre-auth limits no longer apply. */
void conn_set_authenticated(struct conn *c);
/* A request before `auth` was refused (answered already): after
 * CONN_PREAUTH_MAX_REFUSED of them the connection reads no more and is
 * closed once its answers are written (dropped.unauthenticated). */
void conn_preauth_refused(struct conn *c);
/* A request was accepted: restarts the idle clock. */
void conn_touch(struct conn *c);
static inline bool conn_closing(const struct conn *c)
{
    return c->closing;
}

#endif
