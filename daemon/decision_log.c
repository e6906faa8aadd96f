/*
 * decision_log.c: see decision_log.h.
 *
 * Threads: the serving threads format and queue (decision_log_submit),
 * and the callbacks run on their loops (posted to the mailbox each
 * submit names); the main loop asks for reopens; the writer thread only
 * writes, reopens and counts.  Everything shared is under mu, except the
 * counters, which are atomics so that `stats` never waits for a writer
 * stuck in write().
 */
/* pthread_setname_np (glibc) */
#define _GNU_SOURCE
#include "decision_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container_of.h"

struct decision_log_entry {
    struct decision_log_entry *next;
    char *line;                 /* ends with '\n' */
    size_t len;
    decision_log_done_fn done;  /* NULL: nobody waits */
    void *arg;
    struct mailbox *reply;      /* where done runs */
    struct mail mail;           /* the entry, posted to reply once written */
    int status;
    /* The entry the writer holds, cancelled meanwhile: the writer and the
     * cancellation's mail each drop one reference. */
    atomic_int refs;
    struct mail cancel_mail;
    decision_log_done_fn cancel_done;
    void *cancel_arg;
};

static void entry_free(struct decision_log_entry *e)
{
    free(e->line);
    free(e);
}

static void entry_unref(struct decision_log_entry *e)
{
    if (atomic_fetch_sub(&e->refs, 1) == 1)
        entry_free(e);
}

/* On the submitter's loop: a written record's callback. */
static void on_written(struct mail *m)
{
    struct decision_log_entry *e = container_of(m, struct decision_log_entry, mail);
    e->done(e->arg, e->status);
    entry_unref(e);
}

/* On the submitter's loop: the callback of a record cancelled while the
 * writer was still writing it. */
static void on_cancelled(struct mail *m)
{
    struct decision_log_entry *e = container_of(m, struct decision_log_entry, cancel_mail);
    e->cancel_done(e->cancel_arg, -ECANCELED);
    entry_unref(e);
}

/* Opens path to append, refusing a symbolic link (O_NOFOLLOW: the daemon
 * may be root here, and a link planted at the path would make it append
 * to, and hand to --user, whatever the link names) and anything that is
 * not a regular file (a FIFO would block the writer, a device is not a
 * log).  Returns the descriptor or -errno. */
static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                  0640);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    /* O_NONBLOCK was only for the open (a FIFO would block it); regular
     * files ignore it, but clear it so the writer's semantics are plain. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* Writer thread: one failure.  The first is logged at once, then at most
 * one line per DECISION_LOG_ERROR_EVERY_S saying how many were lost since
 * (a full disk failed 371 records with 371 identical lines before). */
static void report_lost(struct decision_log *d, int err)
{
    atomic_fetch_add(&d->lost, 1);
    d->lost_unreported++;
    int64_t now = mono_s();
    if (d->last_error_s && now - d->last_error_s < DECISION_LOG_ERROR_EVERY_S)
        return;
    log_error(d->log, "cannot write the decision log %s: %s; %llu record(s) lost (counted in "
              "stats decision_log.lost)", d->path, strerror(err),
              (unsigned long long)d->lost_unreported);
    d->last_error_s = now;
    d->lost_unreported = 0;
}

/* Appends the whole record with one write() call, so a record is never
 * split between two calls (stdio split those over 4096 bytes) and a crash
 * tears none.  A short write (a full disk) is cut back off the file, so
 * that the next record does not start glued to half of this one.
 * Returns 0 or -errno. */
static int write_record(int fd, const char *line, size_t len)
{
    for (;;) {
        ssize_t n = write(fd, line, len);
        if (n == (ssize_t)len)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        int e = n < 0 ? errno : ENOSPC;
        if (n > 0) {
            /* Single writer and O_APPEND: the record is the last n bytes. */
            off_t end = lseek(fd, 0, SEEK_END);
            if (end >= n && ftruncate(fd, end - n) < 0)
                e = errno;
        }
        return -e;
    }
}

/* Writer thread: reopens the path (SIGUSR1, logrotate).  On failure the
 * old descriptor is kept: records still reach the renamed file rather
 * than nowhere. */
static void writer_reopen(struct decision_log *d)
{
    int fd = open_log(d->path);
    if (fd < 0) {
        log_error(d->log, "cannot reopen the decision log %s: %s; still writing to the old "
                  "file", d->path, strerror(-fd));
        return;
    }
    if (d->uid != (uid_t)-1 && fchown(fd, d->uid, d->gid) < 0 && errno != EPERM)
        log_warn(d->log, "fchown %s: %s", d->path, strerror(errno));
    if (d->fd >= 0)
        close(d->fd);
    d->fd = fd;
    atomic_fetch_add(&d->reopened, 1);
    log_info(d->log, "decision log %s reopened", d->path);
}

static void *writer_main(void *arg)
{
    struct decision_log *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->head && !d->reopen && !d->stop)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->reopen) {
            d->reopen = false;
            pthread_mutex_unlock(&d->mu);
            writer_reopen(d);
            pthread_mutex_lock(&d->mu);
            continue;
        }
        struct decision_log_entry *e = d->head;
        if (!e) {
            if (d->stop)
                break;
            continue;
        }
        d->head = e->next;
        if (!d->head)
            d->tail = NULL;
        d->queued--;
        d->busy = true;
        d->current = e;
        pthread_mutex_unlock(&d->mu);

        int rc = write_record(d->fd, e->line, e->len);
        if (rc == 0)
            atomic_fetch_add(&d->written, 1);
        else
            report_lost(d, -rc);

        pthread_mutex_lock(&d->mu);
        d->busy = false;
        d->current = NULL;
        /* done is read under mu: decision_log_cancel_waiting may have
         * answered it meanwhile and cleared it. */
        if (e->done) {
            e->status = rc;
            e->mail.fn = on_written;
            /* A closed mailbox has nobody left to tell. */
            if (mailbox_post(e->reply, &e->mail) < 0)
                entry_unref(e);
        } else {
            entry_unref(e);
        }
        if (!d->head)
            pthread_cond_broadcast(&d->cv_idle);
    }
    pthread_cond_broadcast(&d->cv_idle);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int decision_log_init(struct decision_log *d, const char *path, bool required,
                      unsigned max_queue, const struct logger *lg)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    d->log = lg;
    d->required = required;
    d->max_queue = max_queue ? max_queue : DECISION_LOG_DEFAULT_QUEUE;
    d->uid = (uid_t)-1;
    d->gid = (gid_t)-1;
    if (gethostname(d->host, sizeof d->host) < 0)
        snprintf(d->host, sizeof d->host, "unknown");
    d->host[sizeof d->host - 1] = '\0';
    /* Unique across restarts without any state on disk: 64 random bits
     * per process, then a counter. */
    if (getrandom(&d->id_prefix, sizeof d->id_prefix, 0) != sizeof d->id_prefix) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        d->id_prefix = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
                       ((uint64_t)getpid() << 16);
    }
    if (!path)
        return 0;
    int fd = open_log(path);
    if (fd < 0)
        return fd;
    d->fd = fd;
    d->path = strdup(path);
    if (!d->path) {
        close(fd);
        d->fd = -1;
        return -ENOMEM;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    pthread_cond_init(&d->cv_idle, NULL);
    int rc = -pthread_create(&d->thread, NULL, writer_main, d);
    if (rc < 0) {
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        pthread_cond_destroy(&d->cv_idle);
        d->fd = -1;
        close(fd);
        free(d->path);
        d->path = NULL;
        return rc;
    }
#ifdef __GLIBC__
    (void)pthread_setname_np(d->thread, "suitd-dlog");
#endif
    d->thread_started = true;
    return 0;
}

bool decision_log_enabled(const struct decision_log *d)
{
    return d->path != NULL;
}

int decision_log_chown(struct decision_log *d, uid_t uid, gid_t gid)
{
    if (!d->path)
        return 0;
    pthread_mutex_lock(&d->mu);
    d->uid = uid;
    d->gid = gid;
    int rc = fchown(d->fd, uid, gid) < 0 ? -errno : 0;
    pthread_mutex_unlock(&d->mu);
    return rc;
}

void decision_log_next_id(struct decision_log *d, char buf[DECISION_LOG_ID_LEN])
{
    snprintf(buf, DECISION_LOG_ID_LEN, "%016llx-%llu", (unsigned long long)d->id_prefix,
             (unsigned long long)(atomic_fetch_add(&d->next_seq, 1) + 1));
}

void decision_log_reopen(struct decision_log *d)
{
    if (!d->path)
        return;
    pthread_mutex_lock(&d->mu);
    d->reopen = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void iso_time(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The line for r, '\n'-terminated, or NULL out of memory.  A line missing
 * a key would be a wrong audit record: any failure (jansson's setters fail
 * on a NULL value, i.e. out of memory) drops the whole line instead. */
static char *format_record(struct decision_log *d, const struct decision_record *r,
                           size_t *len)
{
    char when[64];
    iso_time(when, sizeof when);
    json_t *o = json_object();
    json_t *inst = json_object();
    if (!o || !inst) {
        json_decref(o);
        json_decref(inst);
        return NULL;
    }
    int bad = json_object_set_new(inst, "host", json_string(d->host));
    bad |= json_object_set_new(inst, "version", json_string(SUITD_VERSION));
    bad |= json_object_set_new(inst, "pid", json_integer((json_int_t)getpid()));
    if (r->decision_id)
        bad |= json_object_set_new(o, "decision_id", json_string(r->decision_id));
    bad |= json_object_set_new(o, "time", json_string(when));
    bad |= json_object_set_new(o, "instance", inst);
    bad |= json_object_set_new(o, "msgid", json_integer(r->msgid));
    bad |= json_object_set_new(o, "conn", json_integer((json_int_t)r->conn_id));
    if (r->request_id)
        bad |= json_object_set_new(o, "request_id", json_string(r->request_id));
    if (r->error_code || !r->result) {
        bad |= json_object_set_new(o, "error", json_integer(r->error_code));
    } else {
        const struct suit_result *s = r->result;
        bad |= json_object_set_new(o, "ruleset", str_or_null(s->ruleset.sha256));
        bad |= json_object_set_new(o, "ruleset_name", str_or_null(s->ruleset.name));
        bad |= json_object_set_new(o, "ruleset_version", str_or_null(s->ruleset.version));
        bad |= json_object_set_new(o, "policy", str_or_null(s->policy.name));
        bad |= json_object_set_new(o, "policy_sha256", str_or_null(s->policy.sha256));
        bad |= json_object_set_new(o, "verdict", json_string(suit_verdict_name(s->verdict)));
        if (s->defer_days >= 0)
            bad |= json_object_set_new(o, "defer_days", json_integer(s->defer_days));
        json_t *ids = json_array();
        for (size_t i = 0; ids && i < s->n_findings; i++)
            bad |= json_array_append_new(ids, json_string(s->findings[i].id ? s->findings[i].id
                                                                            : ""));
        bad |= json_object_set_new(o, "findings", ids);
    }
    /* Microseconds: the loop's clock is nanoseconds, but digits beyond
     * that are noise (jansson would print 17 significant digits). */
    bad |= json_object_set_new(o, "latency_ms", json_real((double)(int64_t)(r->latency_ms *
                                                                           1000.0 + 0.5) /
                                                          1000.0));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    *len = n + 1;
    return line;
}

int decision_log_submit(struct decision_log *d, const struct decision_record *r,
                        struct mailbox *reply, decision_log_done_fn done, void *arg)
{
    if (!d->path)
        return 0;
    if (done && !reply)
        return -EINVAL;
    pthread_mutex_lock(&d->mu);
    bool full = d->queued >= d->max_queue;
    if (full) {
        /* Counted, and said at most once per DECISION_LOG_ERROR_EVERY_S:
         * a stalled device under load would otherwise log every request. */
        atomic_fetch_add(&d->dropped, 1);
        d->drops_unreported++;
        int64_t now = mono_s();
        if (!d->last_drop_s || now - d->last_drop_s >= DECISION_LOG_ERROR_EVERY_S) {
            log_warn(d->log, "the decision log %s is not keeping up: %u records queued; "
                     "%llu record(s) dropped (stats decision_log.dropped)", d->path,
                     d->max_queue, (unsigned long long)d->drops_unreported);
            d->last_drop_s = now;
            d->drops_unreported = 0;
        }
    }
    pthread_mutex_unlock(&d->mu);
    if (full)
        return -EAGAIN;
    struct decision_log_entry *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->line = format_record(d, r, &e->len);
    if (!e->line) {
        free(e);
        atomic_fetch_add(&d->lost, 1);
        return -ENOMEM;
    }
    e->done = done;
    e->arg = arg;
    e->reply = reply;
    atomic_init(&e->refs, 1);
    pthread_mutex_lock(&d->mu);
    if (d->tail)
        d->tail->next = e;
    else
        d->head = e;
    d->tail = e;
    d->queued++;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

bool decision_log_cancel_waiting(struct decision_log *d)
{
    if (!d->path)
        return false;
    bool any = false;
    pthread_mutex_lock(&d->mu);
    struct decision_log_entry *cur = d->current;
    if (cur && cur->done) {
        /* The writer still holds it (its write goes on, and the writer
         * frees it): the cancellation's mail holds a second reference. */
        cur->cancel_done = cur->done;
        cur->cancel_arg = cur->arg;
        cur->done = NULL;
        cur->cancel_mail.fn = on_cancelled;
        atomic_fetch_add(&cur->refs, 1);
        if (mailbox_post(cur->reply, &cur->cancel_mail) < 0)
            atomic_fetch_sub(&cur->refs, 1);
        any = true;
    }
    struct decision_log_entry **pp = &d->head;
    d->tail = NULL;
    while (*pp) {
        struct decision_log_entry *e = *pp;
        if (e->done) {
            *pp = e->next;
            d->queued--;
            e->next = NULL;
            e->status = -ECANCELED;
            e->mail.fn = on_written;
            if (mailbox_post(e->reply, &e->mail) < 0)
                entry_free(e);
            any = true;
        } else {
            d->tail = e;
            pp = &e->next;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return any;
}

void decision_log_counts(struct decision_log *d, struct decision_log_counts *c)
{
    memset(c, 0, sizeof *c);
    if (!d->path)
        return;
    c->written = atomic_load(&d->written);
    c->lost = atomic_load(&d->lost);
    c->dropped = atomic_load(&d->dropped);
    c->reopened = atomic_load(&d->reopened);
    pthread_mutex_lock(&d->mu);
    c->queued = d->queued + (d->busy ? 1 : 0);
    pthread_mutex_unlock(&d->mu);
}

void decision_log_close(struct decision_log *d, unsigned wait_ms)
{
    if (!d->path)
        return;
    bool finished = true;
    if (d->thread_started) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->cv);
        while ((d->head || d->busy) &&
               pthread_cond_timedwait(&d->cv_idle, &d->mu, &until) != ETIMEDOUT) {
        }
        finished = !d->head && !d->busy;
        unsigned left = d->queued + (d->busy ? 1 : 0);
        pthread_mutex_unlock(&d->mu);
        if (!finished) {
            /* A write() that never returns cannot be interrupted: leave
             * the thread (and the struct it uses) to the process's exit. */
            log_error(d->log, "the decision log %s is not taking writes: %u record(s) not "
                      "written at exit", d->path, left);
            pthread_detach(d->thread);
            return;
        }
        pthread_join(d->thread, NULL);
    }
    if (d->fd >= 0)
        close(d->fd);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    pthread_cond_destroy(&d->cv_idle);
    free(d->path);
    d->path = NULL;
    d->fd = -1;
}
