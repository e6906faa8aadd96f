/*
 * server.h: the daemon's loop-side state: listeners, connections, the
 * worker pool, reload, signals, limits and shutdown.  One struct server
 * lives in serve_main()'s frame; everything else hangs off it (there is no
 * global state).  All functions run on the loop thread.
 */
#ifndef SUITD_SERVER_H
#define SUITD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "decision_log.h"
#include "engine.h"
#include "log.h"
#include "proto.h"
#include "reload.h"
#include "stats.h"
#include "workers.h"

struct conn;
struct request;

struct listener {
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } u;
    struct server *srv;
    bool is_unix;               /* admin methods allowed */
    bool need_token;            /* first request must be `auth` */
    bool open;
    char *unlink_path;          /* socket file we created, removed at exit */
    char name[300];             /* "unix:/path" or "tcp:host:port" */
};

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    const struct logger *log;
    struct proto_limits limits;
    struct stats stats;
    struct workers workers;
    bool workers_open;
    struct reload reload;
    struct decision_log dlog;
    struct ruleset *rs;         /* what ping and stats report; one ref */
    char *token;                /* NULL: no token configured */
    size_t token_len;

    struct listener *listeners;
    size_t n_listeners;

    struct conn *conns;         /* every open connection */
    uint64_t next_conn_id;
    uint64_t last_accept_warn_ns;
    struct conn *dirty;         /* connections with output to write */
    struct conn *backlog;       /* connections with frames left to decode */

    /* Requests waiting for a worker, oldest first.  Every request gets the
     * same timeout, so this FIFO is also ordered by deadline and one timer
     * on its head is enough. */
    struct request *tq_head, *tq_tail;

    uv_prepare_t flush;         /* writes queued output before the loop blocks */
    uv_idle_t idle;             /* keeps the loop spinning while backlog is set */
    uv_timer_t deadline;        /* request timeouts */
    uv_timer_t sweep;           /* idle connections */
    uv_timer_t shutdown_timer;
    uv_timer_t trim;            /* gives free heap back once idle (glibc) */
    uint64_t trim_seen;         /* requests counted at the last trim tick */
    bool trimmed;               /* already trimmed in this idle period */
    uv_signal_t sig_hup, sig_term, sig_int;
    bool handles_open;

    bool shutting_down;
    bool finished;
    int exit_code;              /* serve_main's status once the loop ends */
};

/* Sets up everything but the listeners and the workers. */
int server_init(struct server *srv, uv_loop_t *loop, const struct config *cfg,
                const struct logger *lg, struct ruleset *rs);
/* Binds every configured listener (or takes systemd's), logging each
 * "suitd: listening on ..." line.  Returns 0 or -1 after logging why. */
int server_listen(struct server *srv);
/* Drops root privileges to cfg->user.  Returns 0 or -1 after logging. */
int server_drop_privileges(struct server *srv);
/* Starts the worker threads; logs the "ready" line.  0 or -1. */
int server_start(struct server *srv);
/* Stops accepting, drains, then stops the loop (SIGTERM/SIGINT). */
void server_shutdown(struct server *srv);
/* Frees what is left once uv_run has returned. */
void server_close(struct server *srv);

/* Called by conn.c and dispatch.c when something that shutdown waits on
 * finished (a connection freed, a job returned, a reload done). */
void server_check_drained(struct server *srv);
/* Publishes a new ruleset to ping/stats and the workers. */
void server_set_ruleset(struct server *srv, struct ruleset *rs);

uint64_t server_now(const struct server *srv);   /* ns, monotonic */
/* Makes the loop run conn_run_backlog() on its next turn. */
void server_wake_backlog(struct server *srv);

#endif
