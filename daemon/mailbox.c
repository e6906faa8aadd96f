/*
 * mailbox.c: see mailbox.h.
 */
#include "mailbox.h"

#include <string.h>

#include "container_of.h"

static void deliver(struct mailbox *mb)
{
    pthread_mutex_lock(&mb->mu);
    struct mail *m = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->mu);
    while (m) {
        struct mail *next = m->next;
        m->next = NULL;
        m->fn(m);               /* may free m */
        m = next;
    }
}

static void on_async(uv_async_t *a)
{
    deliver(container_of(a, struct mailbox, async));
}

int mailbox_init(struct mailbox *mb, uv_loop_t *loop)
{
    memset(mb, 0, sizeof *mb);
    int rc = uv_async_init(loop, &mb->async, on_async);
    if (rc < 0)
        return rc;
    pthread_mutex_init(&mb->mu, NULL);
    mb->open = true;
    mb->handle_open = true;
    return 0;
}

int mailbox_post(struct mailbox *mb, struct mail *m)
{
    if (!m->fn)
        return UV_EINVAL;
    m->next = NULL;
    pthread_mutex_lock(&mb->mu);
    if (!mb->open) {
        pthread_mutex_unlock(&mb->mu);
        return UV_ECANCELED;
    }
    bool wake = !mb->head;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    /* Under the lock, so that mailbox_close cannot close the handle
     * between the append and the send.  One send per batch: a later post
     * finds the list non-empty and the wake-up already on its way. */
    if (wake)
        (void)uv_async_send(&mb->async);   /* fails only on a closing handle */
    pthread_mutex_unlock(&mb->mu);
    return 0;
}

void mailbox_close(struct mailbox *mb)
{
    if (!mb->handle_open)
        return;
    pthread_mutex_lock(&mb->mu);
    mb->open = false;
    pthread_mutex_unlock(&mb->mu);
    deliver(mb);
    mb->handle_open = false;
    uv_close((uv_handle_t *)&mb->async, NULL);
}

void mailbox_free(struct mailbox *mb)
{
    pthread_mutex_destroy(&mb->mu);
}
