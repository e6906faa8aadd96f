/*
 * mailbox.h: messages from any thread to one event loop's thread.
 *
 * The daemon's threads share nothing but messages: the main loop hands a
 * serving loop its new connections, a new ruleset and the shutdown's
 * steps; a serving loop asks the main loop for a reload and gets its
 * outcome back; the decision log's writer tells a serving loop that a
 * record is written.  Each of those is a struct mail, embedded in whatever
 * it carries, posted to the receiving loop's mailbox and delivered there
 * (its fn runs on that loop's thread), in the order posted, in one batch
 * per wake-up (one uv_async_send, however many were posted meanwhile).
 *
 * Ownership: a mail that mailbox_post took belongs to the mailbox until
 * its fn runs; fn then owns it again (frees or reuses it).  A post that
 * fails (the mailbox is closed) leaves the mail with the caller, and its
 * fn never runs.  Mail still waiting when the mailbox is closed is
 * delivered by mailbox_close, on the owner's thread, so that every
 * posted mail's fn runs exactly once.
 */
#ifndef SUITD_MAILBOX_H
#define SUITD_MAILBOX_H
#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

struct mail;
typedef void (*mail_fn)(struct mail *m);

struct mail {
    struct mail *next;          /* private to the mailbox */
    mail_fn fn;
};

struct mailbox {
    uv_async_t async;
    pthread_mutex_t mu;
    struct mail *head, *tail;   /* under mu */
    bool open;                  /* under mu: posts accepted */
    bool handle_open;           /* owner thread */
};

/* On the owner's thread, before any other thread can post.  0, or the
 * libuv error of uv_async_init (nothing to close then). */
int mailbox_init(struct mailbox *mb, uv_loop_t *loop);
/* Any thread.  0: m->fn (which must be set) will run on the owner's loop.
 * UV_ECANCELED: the mailbox is closed; m is still the caller's. */
int mailbox_post(struct mailbox *mb, struct mail *m);
/* Owner's thread: refuses further posts, delivers what is waiting, and
 * closes the handle (the loop must run once more).  The struct must stay
 * valid until every thread that might post has been told it is closed
 * (joined); mailbox_free then releases the lock. */
void mailbox_close(struct mailbox *mb);
void mailbox_free(struct mailbox *mb);
#endif
