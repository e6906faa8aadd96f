/*
 * dispatch.h: what the daemon does with one decoded frame, and the
 * methods it offers.
 *
 * Every method is one row of the `methods` table in dispatch.c: its name,
 * its flags and its handler.  dispatch_frame classifies the frame, counts
 * the request by the method's row, checks the row's flags once (allowed
 * before auth? admin only? run on a worker?) and then either calls the
 * handler on the loop (ping, stats, auth, reload) or hands the request to
 * a worker (assess, ruleset), answering when it comes back.  Adding a
 * method is one row, its handler and its section in PROTOCOL.md.
 */
#ifndef SUITD_DISPATCH_H
#define SUITD_DISPATCH_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "conn.h"
#include "engine.h"
#include "reload.h"
#include "request.h"
#include "stats.h"
#include "throttle.h"
#include "workers.h"

struct dispatch {
    struct requests rq;
    const struct logger *log;
    const struct config *cfg;
    struct stats *stats;
    struct workers *workers;        /* borrowed; started after dispatch_init */
    struct reload *reload;
    const struct ruleset *rs;       /* what ping and stats report; borrowed */
    const char *token;              /* NULL: no token configured; borrowed */
    size_t token_len;
    bool stopping;                  /* the daemon is shutting down */
    struct throttle auth_log;       /* "wrong token" lines */
};

/* Sets up the request core (cannot fail on an initialised loop); the
 * pointers are borrowed and must outlive d. */
void dispatch_init(struct dispatch *d, uv_loop_t *loop, const struct config *cfg,
                   const struct logger *lg, struct stats *stats, struct workers *workers,
                   struct reload *reload, struct decision_log *dlog,
                   const char *token, size_t token_len);
/* Closes its timer (the loop must run once more). */
void dispatch_close(struct dispatch *d);
/* The ruleset ping and stats report from now on (borrowed). */
void dispatch_set_ruleset(struct dispatch *d, const struct ruleset *rs);
/* Shutdown: admin methods that would start work are refused. */
void dispatch_stop(struct dispatch *d);

/* Connection callbacks (struct conn_callbacks): c's owner data is the
 * dispatch, c's session a struct session. */
void dispatch_frame(struct conn *c, const msgpack_object *obj);
void dispatch_conn_closed(struct conn *c);

/* The method table's rows by index, for stats (which counts requests by
 * index, and an unknown method at index dispatch_method_count()). */
size_t dispatch_method_count(void);
const char *dispatch_method_name(size_t i);

#endif
