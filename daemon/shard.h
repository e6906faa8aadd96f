/*
 * shard.h: one serving thread.  It owns an event loop, the connections
 * the main thread hands it, their request core (struct dispatch), its
 * runner with its own engine, and its own counters: a request is read,
 * evaluated and answered on this thread, touching nothing another serving
 * thread touches (share-nothing, as Redis, nginx and Seastar serve).
 *
 * The main thread talks to a shard only through the shard's mailbox:
 * shard_hand_over (a new connection), shard_set_ruleset (after a reload),
 * shard_stop, shard_close_all and shard_finish (the shutdown's steps).
 * What the shard needs of the daemon as a whole (a reload, the sum of
 * every shard's stats) it asks through the dispatch_owner it was given;
 * when a stopped shard has no connection left it posts `drained` to the
 * main thread's mailbox.
 *
 * Life cycle: shard_init (on the main thread: the loop, the engine, the
 * handles) -> shard_start (the thread) -> ... -> shard_finish (the loop
 * closes its handles and ends; the thread exits) -> shard_join ->
 * shard_free.  A shard that was never started is driven by whoever calls
 * uv_run on its loop (the fuzz harness), and freed the same way.
 */
#ifndef SUITD_SHARD_H
#define SUITD_SHARD_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "conn.h"
#include "decision_log.h"
#include "dispatch.h"
#include "engine.h"
#include "listener.h"
#include "log.h"
#include "mailbox.h"
#include "runner.h"
#include "stats.h"

struct shard {
    unsigned index;
    const struct config *cfg;
    const struct logger *log;
    uv_loop_t loop;
    struct mailbox mbox;
    struct stats stats;
    struct runner runner;
    struct conn_set conns;
    struct dispatch dispatch;
    struct ruleset *rs;             /* what ping and stats report; one ref */
    /* The owner's hooks, with arg = this shard (the hooks find the owner
     * in data). */
    struct dispatch_owner owner;
    void *data;
    /* Connections handed over and not yet taken by the loop (the main
     * thread balances on conn_current + pending). */
    atomic_uint pending;
    /* The main thread's mailbox, told once when a stopped shard has no
     * connection left. */
    struct mailbox *main_mbox;
    void (*drained)(struct shard *sh);  /* runs on the main thread */
    struct mail drained_mail;
    bool stopping, drained_sent;
    struct mail stop_mail, close_all_mail, finish_mail;
    bool stop_posted, close_all_posted, finish_posted;    /* main thread only */
    /* The stop takes effect after one more poll (see on_stop). */
    uv_check_t stopper;
    uv_idle_t stopper_idle;
    unsigned stop_turns;
    pthread_t thread;
    bool thread_started, loop_open, handles_open;
};

/* On the main thread: sets up the loop, its handles and the engine built
 * from rs (a ref is taken).  owner's hooks are called with arg = sh, and
 * data is kept in sh->data for them.  0, or -1 after logging why, with
 * everything released (shard_free must not be called then). */
int shard_init(struct shard *sh, unsigned index, const struct config *cfg,
               const struct logger *lg, struct ruleset *rs, struct conn_shared *shared,
               const struct conn_limits *lim, const struct dispatch_owner *owner, void *data,
               struct decision_log *dlog, const char *token, size_t token_len,
               struct mailbox *main_mbox, void (*drained)(struct shard *sh));
/* Starts the thread.  0 or a negative errno (the shard is then still
 * initialised and not started). */
int shard_start(struct shard *sh);
/* Main thread: fd was accepted on lis; the shard takes it as a
 * connection (or refuses it, as conn_accept does).  If the shard cannot
 * take it (its mailbox is closed, out of memory), fd is closed here. */
void shard_hand_over(struct shard *sh, struct listener *lis, int fd);
/* Main thread: serve rs from now on (a ref is taken for the shard), with
 * eng, an engine already built from it (the shard owns it from now on,
 * whatever happens), or NULL: the shard builds one itself. */
void shard_set_ruleset(struct shard *sh, struct ruleset *rs, struct engine *eng);
/* Main thread, once each: the shutdown (refuse new clients, answer what
 * was received, close), its deadline (close every connection now,
 * counting drop), and the end (close the handles; the loop ends). */
void shard_stop(struct shard *sh);
void shard_close_all(struct shard *sh);
void shard_finish(struct shard *sh);
/* Waits for the thread of a started shard to end. */
void shard_join(struct shard *sh);
/* After the loop has ended (or was never started): runs what is left of
 * it and frees everything. */
void shard_free(struct shard *sh);
/* Connections open or on their way (any thread; the balancing). */
size_t shard_load(const struct shard *sh);
#endif
