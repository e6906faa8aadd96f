/*
 * shard.c: see shard.h.
 */
/* pthread_setname_np (glibc) */
#define _GNU_SOURCE
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container_of.h"
#include "request.h"

/* A connection on its way from the main thread to the shard. */
struct hand_over {
    struct mail mail;
    struct shard *sh;
    struct listener *lis;
    int fd;
};

/* A ruleset on its way. */
struct new_ruleset {
    struct mail mail;
    struct shard *sh;
    struct ruleset *rs;         /* one ref, the shard's once delivered */
    struct engine *eng;         /* built from rs, or NULL */
};

static void check_drained(struct shard *sh)
{
    if (!sh->conns.stopping || sh->drained_sent || sh->conns.n_alive ||
        runner_waiting(&sh->runner))
        return;
    sh->drained_sent = true;
    /* Without a main mailbox (a shard its caller drives) nobody waits; a
     * closed one means the main thread is past waiting. */
    if (sh->main_mbox)
        (void)mailbox_post(sh->main_mbox, &sh->drained_mail);
}

static void on_conn_freed(struct conn_set *set)
{
    check_drained(container_of(set, struct shard, conns));
}

static void on_drained_mail(struct mail *m)
{
    struct shard *sh = container_of(m, struct shard, drained_mail);
    if (sh->drained)
        sh->drained(sh);
}

/* ---- mail from the main thread ------------------------------------- */

static void on_hand_over(struct mail *m)
{
    struct hand_over *h = container_of(m, struct hand_over, mail);
    struct shard *sh = h->sh;
    log_debug(sh->log, "serving thread %u takes a connection on %s", sh->index, h->lis->name);
    conn_accept(&sh->conns, h->lis, h->fd, false);
    atomic_fetch_sub(&sh->pending, 1);
    free(h);
}

static void on_new_ruleset(struct mail *m)
{
    struct new_ruleset *n = container_of(m, struct new_ruleset, mail);
    struct shard *sh = n->sh;
    if (n->eng)
        runner_use_engine(&sh->runner, n->eng);
    else
        runner_set_ruleset(&sh->runner, n->rs);
    struct ruleset *old = sh->rs;
    sh->rs = n->rs;
    dispatch_set_ruleset(&sh->dispatch, sh->rs);
    ruleset_unref(old);
    free(n);
}

static void on_stopper_idle(uv_idle_t *h)
{
    (void)h;    /* only there so that the loop polls without blocking */
}

static void on_stopper(uv_check_t *h)
{
    struct shard *sh = h->data;
    if (--sh->stop_turns)
        return;
    (void)uv_check_stop(&sh->stopper);
    (void)uv_idle_stop(&sh->stopper_idle);
    conn_set_stop(&sh->conns);
    check_drained(sh);
}

/* The shutdown.  The loop may have been busy evaluating when the signal
 * came, with requests clients sent meanwhile still in the kernel's
 * buffers: reading stops only after one more poll, so that what was sent
 * before the signal is read and answered rather than reset.  Admin
 * methods that would start work are refused from now on. */
static void on_stop(struct mail *m)
{
    struct shard *sh = container_of(m, struct shard, stop_mail);
    sh->stopping = true;
    dispatch_stop(&sh->dispatch);
    sh->stop_turns = 2;         /* this iteration's check, then the next one's */
    (void)uv_check_start(&sh->stopper, on_stopper);
    (void)uv_idle_start(&sh->stopper_idle, on_stopper_idle);
}

static void on_close_all(struct mail *m)
{
    struct shard *sh = container_of(m, struct shard, close_all_mail);
    conn_set_close_all(&sh->conns, STATS_DROP_SHUTDOWN);
    check_drained(sh);
}

static void close_handles(struct shard *sh)
{
    if (!sh->handles_open)
        return;
    sh->handles_open = false;
    runner_close(&sh->runner);
    uv_close((uv_handle_t *)&sh->stopper, NULL);
    uv_close((uv_handle_t *)&sh->stopper_idle, NULL);
    conn_set_close(&sh->conns);
    dispatch_close(&sh->dispatch);
    mailbox_close(&sh->mbox);
}

static void on_finish(struct mail *m)
{
    struct shard *sh = container_of(m, struct shard, finish_mail);
    /* Connections still open here were left by a hard stop: close them
     * so that their handles close with the loop's. */
    conn_set_close_all(&sh->conns, -1);
    close_handles(sh);
}

/* ---- life cycle ---------------------------------------------------- */

int shard_init(struct shard *sh, unsigned index, const struct config *cfg,
               const struct logger *lg, struct ruleset *rs, struct conn_shared *shared,
               const struct conn_limits *lim, const struct dispatch_owner *owner, void *data,
               struct decision_log *dlog, const char *token, size_t token_len,
               struct mailbox *main_mbox, void (*drained)(struct shard *sh))
{
    memset(sh, 0, sizeof *sh);
    sh->index = index;
    sh->cfg = cfg;
    sh->log = lg;
    sh->main_mbox = main_mbox;
    sh->drained = drained;
    sh->owner = *owner;
    sh->owner.arg = sh;
    sh->data = data;
    atomic_init(&sh->pending, 0);
    sh->drained_mail.fn = on_drained_mail;
    sh->stop_mail.fn = on_stop;
    sh->close_all_mail.fn = on_close_all;
    sh->finish_mail.fn = on_finish;
    int rc = uv_loop_init(&sh->loop);
    if (rc < 0) {
        log_error(lg, "serving thread %u: cannot set up its loop: %s", index, uv_strerror(rc));
        return -1;
    }
    sh->loop_open = true;
    rc = mailbox_init(&sh->mbox, &sh->loop);
    if (rc < 0) {
        log_error(lg, "serving thread %u: cannot set up its mailbox: %s", index,
                  uv_strerror(rc));
        (void)uv_loop_close(&sh->loop);
        return -1;
    }
    rc = runner_init(&sh->runner, &sh->loop, index, rs, &cfg->engine, lg);
    if (rc < 0) {
        /* runner_init logged why. */
        mailbox_close(&sh->mbox);
        uv_run(&sh->loop, UV_RUN_DEFAULT);
        mailbox_free(&sh->mbox);
        (void)uv_loop_close(&sh->loop);
        return -1;
    }
    sh->rs = ruleset_ref(rs);
    stats_init(&sh->stats, uv_hrtime(), dispatch_method_count(), dispatch_method_name);
    static const struct conn_callbacks conn_cb = {
        .frame = dispatch_frame,
        .closed = dispatch_conn_closed,
        .freed = on_conn_freed,
    };
    conn_set_init(&sh->conns, &sh->loop, lim, lg, &sh->stats, shared, &conn_cb, &sh->dispatch,
                  sizeof(struct session));
    dispatch_init(&sh->dispatch, &sh->loop, cfg, lg, &sh->stats, &sh->runner, &sh->owner, dlog,
                  &sh->mbox, token, token_len);
    dispatch_set_ruleset(&sh->dispatch, sh->rs);
    /* Cannot fail on an initialised loop. */
    (void)uv_check_init(&sh->loop, &sh->stopper);
    (void)uv_idle_init(&sh->loop, &sh->stopper_idle);
    sh->stopper.data = sh;
    sh->handles_open = true;
    return 0;
}

static void *shard_main(void *arg)
{
    struct shard *sh = arg;
    uv_run(&sh->loop, UV_RUN_DEFAULT);
    return NULL;
}

int shard_start(struct shard *sh)
{
    int rc = pthread_create(&sh->thread, NULL, shard_main, sh);
    if (rc)
        return -rc;
    char name[16];
    snprintf(name, sizeof name, "suitd-serve%u", sh->index);
#ifdef __GLIBC__
    (void)pthread_setname_np(sh->thread, name);
#endif
    sh->thread_started = true;
    return 0;
}

void shard_hand_over(struct shard *sh, struct listener *lis, int fd)
{
    struct hand_over *h = malloc(sizeof *h);
    if (h) {
        h->mail.fn = on_hand_over;
        h->sh = sh;
        h->lis = lis;
        h->fd = fd;
        atomic_fetch_add(&sh->pending, 1);
        if (mailbox_post(&sh->mbox, &h->mail) == 0)
            return;
        atomic_fetch_sub(&sh->pending, 1);
        free(h);
    }
    log_warn(sh->log, "serving thread %u cannot take a connection on %s: closed", sh->index,
             lis->name);
    close(fd);
}

void shard_set_ruleset(struct shard *sh, struct ruleset *rs, struct engine *eng)
{
    struct new_ruleset *n = malloc(sizeof *n);
    if (!n) {
        log_error(sh->log, "serving thread %u: out of memory: it keeps the old ruleset",
                  sh->index);
        if (eng)
            engine_free(eng);
        return;
    }
    n->mail.fn = on_new_ruleset;
    n->sh = sh;
    n->rs = ruleset_ref(rs);
    n->eng = eng;
    if (mailbox_post(&sh->mbox, &n->mail) < 0) {
        if (eng)
            engine_free(eng);
        ruleset_unref(n->rs);
        free(n);
    }
}

/* The embedded mails are posted once each; a closed mailbox (the shard
 * has finished) needs none of them. */
void shard_stop(struct shard *sh)
{
    if (!sh->stop_posted)
        sh->stop_posted = mailbox_post(&sh->mbox, &sh->stop_mail) == 0;
}

void shard_close_all(struct shard *sh)
{
    if (!sh->close_all_posted)
        sh->close_all_posted = mailbox_post(&sh->mbox, &sh->close_all_mail) == 0;
}

void shard_finish(struct shard *sh)
{
    if (!sh->finish_posted)
        sh->finish_posted = mailbox_post(&sh->mbox, &sh->finish_mail) == 0;
}

void shard_join(struct shard *sh)
{
    if (!sh->thread_started)
        return;
    pthread_join(sh->thread, NULL);
    sh->thread_started = false;
}

void shard_free(struct shard *sh)
{
    if (!sh->loop_open)
        return;
    conn_set_close_all(&sh->conns, -1);
    close_handles(sh);
    uv_run(&sh->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&sh->loop) < 0)
        log_warn(sh->log, "serving thread %u: handles left open at exit", sh->index);
    sh->loop_open = false;
    mailbox_free(&sh->mbox);
    if (sh->rs)
        ruleset_unref(sh->rs);
    sh->rs = NULL;
}

size_t shard_load(const struct shard *sh)
{
    return (size_t)sh->stats.conn_current + atomic_load(&sh->pending);
}
