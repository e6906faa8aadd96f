/*
 * server.h: the daemon as a whole: it owns the listeners, the
 * connections, the request core, the worker pool, the reload, the
 * signals and the shutdown, and wires them together (a listener's client
 * becomes a connection, a connection's frame goes to dispatch).  One
 * struct server lives in serve_main()'s frame; everything else hangs off
 * it (there is no global state).  All functions run on the loop thread.
 */
#ifndef SUITD_SERVER_H
#define SUITD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "conn.h"
#include "decision_log.h"
#include "dispatch.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "reload.h"
#include "stats.h"
#include "workers.h"

struct server {
    uv_loop_t *loop;
    const struct config *cfg;
    const struct logger *log;
    struct stats stats;
    struct workers workers;
    bool workers_open;
    struct reload reload;
    struct notify notify;       /* systemd's STATUS= line */
    struct decision_log dlog;
    struct ruleset *rs;         /* what ping and stats report; one ref */
    char *token;                /* NULL: no token configured */
    size_t token_len;

    struct listeners listeners;
    struct conn_set conns;
    struct dispatch dispatch;

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

/* Sets up everything but the listeners and the workers, serving rs (a
 * reference is taken).  Returns 0; or -1 after logging why (the token file
 * or the decision log cannot be opened), having released everything it
 * took: then nothing is left to close, and server_close must not be
 * called. */
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
/* After a successful server_init, whatever happened since: frees what is
 * left once uv_run has returned. */
void server_close(struct server *srv);

#endif
