/*
 * server.h: the daemon as a whole.  The main thread's loop owns the
 * listeners, the reload, the signals, systemd's notifications, the
 * decision log and the shutdown; the serving threads (struct shard, one
 * per --workers) own the connections, each with its own engine.  A
 * listener's client is handed to the shard with the fewest connections;
 * a reload's ruleset is handed to every shard; a shard asks the main
 * thread for a reload, and sums every shard's counters for `stats`.
 * One struct server lives in serve_main()'s frame; everything else hangs
 * off it (there is no global state).  All functions run on the main
 * thread.
 */
#ifndef SUITD_SERVER_H
#define SUITD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "conn.h"
#include "decision_log.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "mailbox.h"
#include "notify.h"
#include "reload.h"
#include "shard.h"
#include "stats.h"

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    const struct logger *log;
    /* The main thread's own counts (reloads, clients refused for want of
     * a descriptor), added to the shards' for `stats`. */
    struct stats stats;
    struct mailbox mbox;            /* mail from the shards */
    bool mbox_open;
    struct shard *shards;
    unsigned n_shards;              /* initialised */
    bool shards_started;
    unsigned n_drained;             /* shards stopped with nothing left */
    unsigned next_shard;            /* the balancing's tie-break */
    struct conn_shared shared;      /* the connection limits' counts, all shards */
    struct conn_limits lim;
    /* Refuses, on the main thread, a client for whom no descriptor is
     * left (listener.c's reserve must be given back at once). */
    struct conn_set refusals;
    struct reload reload;
    struct notify notify;       /* systemd's STATUS= line */
    struct decision_log dlog;
    struct ruleset *rs;         /* what ping and stats report; one ref */
    char *token;                /* NULL: no token configured */
    size_t token_len;

    struct listeners listeners;
    uv_timer_t shutdown_timer;
    uv_timer_t trim;            /* gives free heap back once idle (glibc) */
    uint64_t trim_seen;         /* requests counted at the last trim tick */
    bool trimmed;               /* already trimmed in this idle period */
    uv_signal_t sig_hup, sig_term, sig_int, sig_usr1;
    bool handles_open;

    bool shutting_down;
    bool finished;
    int exit_code;              /* serve_main's status once the loop ends */
};

/* Sets up everything but the listeners and the serving threads' threads
 * (their loops and engines are built here), serving rs (a reference is
 * taken).  Returns 0; or -1 after logging why (the token file or the
 * decision log cannot be opened, an engine cannot be built), having
 * released everything it took: then nothing is left to close, and
 * server_close must not be called. */
int server_init(struct server *srv, uv_loop_t *loop, const struct config *cfg,
                const struct logger *lg, struct ruleset *rs);
/* Binds every configured listener (or takes systemd's), logging each
 * "suitd: listening on ..." line.  Returns 0 or -1 after logging why. */
int server_listen(struct server *srv);
/* Drops root privileges to cfg->user.  Returns 0 or -1 after logging. */
int server_drop_privileges(struct server *srv);
/* Starts the serving threads; logs the "ready" line.  0 or -1. */
int server_start(struct server *srv);
/* Stops accepting, drains, then stops the loop (SIGTERM/SIGINT). */
void server_shutdown(struct server *srv);
/* After a successful server_init, whatever happened since: frees what is
 * left once uv_run has returned. */
void server_close(struct server *srv);

#endif
