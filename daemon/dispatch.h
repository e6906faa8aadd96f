/*
 * dispatch.h: what the daemon does with one decoded frame, and the
 * methods it offers.
 *
 * Every method is one row of the `methods` table in dispatch.c: its name,
 * its flags and its handler.  dispatch_frame classifies the frame, counts
 * the request by the method's row, checks the row's flags once (allowed
 * before auth? admin only? run by the runner?) and then either calls the
 * handler now (ping, stats, auth, reload) or hands the request to the
 * serving thread's runner (assess, ruleset), answering when it has run.
 * What concerns the whole daemon (the reload, the sum of every serving
 * thread's stats) is asked of the owner through struct dispatch_owner.  Adding a
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
#include "runner.h"
#include "throttle.h"

/* What a serving thread's dispatch asks of the daemon as a whole.  Both
 * run on the serving thread. */
struct dispatch_owner {
    /* reload_start's contract (reload.h): 0 and w->cb runs later on this
     * thread, or an error in err and it never runs. */
    int (*reload)(void *arg, struct reload_waiter *w, const char *who, struct proto_error *err);
    /* The daemon's counters: every serving thread's added into sum (set
     * up by stats_init), and the extras. */
    void (*stats)(void *arg, struct stats *sum, struct stats_extra *x);
    void *arg;
};

struct dispatch {
    struct requests rq;
    const struct logger *log;
    const struct config *cfg;
    struct stats *stats;
    struct runner *runner;          /* borrowed */
    const struct dispatch_owner *owner;     /* borrowed */
    const struct ruleset *rs;       /* what ping and stats report; borrowed */
    const char *token;              /* NULL: no token configured; borrowed */
    size_t token_len;
    bool stopping;                  /* the daemon is shutting down */
    struct throttle auth_log;       /* "wrong token" lines */
};

/* Sets up the request core (cannot fail on an initialised loop); the
 * pointers are borrowed and must outlive d. */
void dispatch_init(struct dispatch *d, uv_loop_t *loop, const struct config *cfg,
                   const struct logger *lg, struct stats *stats, struct runner *runner,
                   const struct dispatch_owner *owner, struct decision_log *dlog,
                   struct mailbox *mbox, const char *token, size_t token_len);
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
