/*
 * decision_log.h: the optional audit trail (--decision-log FILE), one JSON
 * line per assessment:
 *
 *   {"decision_id":"5f0c3a9e21d84b17-7","time":"2026-01-02T03:04:05.678Z",
 *    "instance":{"host":"clinic-1","version":"0.9.0","pid":4242},
 *    "msgid":7,"conn":12,"request_id":"visit-81",
 *    "ruleset":{"name":"...","version":"...","sha256":"<sha256>"},
 *    "policy":{"name":"clinic-a","sha256":"<sha256>"},
 *    "verdict":"defer","defer_days":60,"findings":["..."],
 *    "latency_ms":1.234}
 *
 * It holds no patient facts: only what the daemon concluded, when, for
 * whom (the client's own request_id) and under which rules.
 *
 * The loop thread formats a line and queues it; a writer thread appends
 * it with one write() call (a record is never split, whatever its size,
 * and a short write on a full disk is truncated back, so a record is
 * whole or absent).  A slow or stalled log device therefore never holds up
 * the loop: when the queue (--decision-log-queue) is full the record is
 * dropped and counted.  Records that could not be written are counted as
 * lost, and the error line is rate-limited.  With --decision-log-required
 * an assessment is answered only once its record is written (the answer
 * waits for the writer), else with an error: no unrecorded decision goes
 * out.  decision_log_reopen (SIGUSR1) reopens the path, for logrotate.
 *
 * The file is opened with O_NOFOLLOW and must be a regular file: a
 * symbolic link planted at the path is refused, and the ownership handed
 * to --user is that of the descriptor (fchown), never of a path.
 */
#ifndef SUITD_DECISION_LOG_H
#define SUITD_DECISION_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "log.h"
#include "mailbox.h"
#include "suit_types.h"

#define DECISION_LOG_DEFAULT_QUEUE 4096
/* At most one "cannot write" error line per this many seconds; the next
 * says how many records were lost meanwhile. */
#define DECISION_LOG_ERROR_EVERY_S 10
/* "16 hex digits-counter" (see decision_log_next_id). */
#define DECISION_LOG_ID_LEN 48

/* Called on the submitter's loop (the mailbox given to
 * decision_log_submit) once a record queued with a callback is written
 * (status 0) or not (-errno; -ECANCELED: decision_log_cancel_waiting). */
typedef void (*decision_log_done_fn)(void *arg, int status);

struct decision_log_entry;

struct decision_log_counts {
    uint64_t written, lost, dropped, queued, reopened;
};

struct decision_log {
    char *path;                 /* NULL: no decision log */
    const struct logger *log;
    bool required;              /* --decision-log-required */
    unsigned max_queue;
    uid_t uid;                  /* for reopen after --user: -1 keeps it */
    gid_t gid;
    char host[256];
    uint64_t id_prefix;         /* random per process */
    atomic_uint_fast64_t next_seq;

    /* shared with the writer, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work for the writer, or stop */
    pthread_cond_t cv_idle;     /* the writer finished everything queued */
    struct decision_log_entry *head, *tail;     /* to write */
    unsigned queued;
    bool busy;                  /* the writer holds an entry: current */
    struct decision_log_entry *current;
    bool stop, reopen;
    int fd;                     /* the writer's; -1 while none is open */
    pthread_t thread;
    bool thread_started;

    atomic_uint_least64_t written, lost, dropped, reopened;
    /* writer thread only: the error line's rate limit */
    int64_t last_error_s;
    uint64_t lost_unreported;
    /* under mu: the same for records dropped at a full queue */
    int64_t last_drop_s;
    uint64_t drops_unreported;
};

/* Sets up d; path NULL means no log (every call below is then a no-op,
 * decision_log_enabled is false).  Opens path for appending (0640) and
 * starts the writer thread.  Returns 0 or -errno (-ELOOP: a symbolic link;
 * -EINVAL: not a regular file); d then needs no close. */
int decision_log_init(struct decision_log *d, const char *path, bool required,
                      unsigned max_queue, const struct logger *lg);
bool decision_log_enabled(const struct decision_log *d);
/* Hands the open file to uid:gid (fchown of the descriptor, before the
 * daemon drops root), and remembers them for the files a reopen creates.
 * 0 or -errno. */
int decision_log_chown(struct decision_log *d, uid_t uid, gid_t gid);
/* The next decision id: the process's random prefix and a counter, unique
 * across restarts and instances.  Any thread. */
void decision_log_next_id(struct decision_log *d, char buf[DECISION_LOG_ID_LEN]);
/* Asks the writer to reopen the path (logrotate renamed it) before its
 * next record; records already queued go to the new file. */
void decision_log_reopen(struct decision_log *d);

/* What a record says.  Strings may be NULL (left out). */
struct decision_record {
    const char *decision_id;
    uint64_t conn_id;
    uint32_t msgid;
    const char *request_id;
    const struct suit_result *result;   /* NULL or unused when error_code != 0 */
    int error_code;
    double latency_ms;
};
/* Formats r as one line and queues it for the writer (any thread).  done
 * (may be NULL) runs on reply's loop when it is written or not; a reply
 * mailbox closed by then means nobody is told.  Returns 0; -EAGAIN when
 * the queue is full (counted as dropped; done never runs); -ENOMEM;
 * -EINVAL for a done without a reply.  A no-op returning 0 without a
 * log. */
int decision_log_submit(struct decision_log *d, const struct decision_record *r,
                        struct mailbox *reply, decision_log_done_fn done, void *arg);
/* Records queued with a callback are answered with -ECANCELED (the
 * shutdown deadline; their callbacks are posted to their mailboxes), the
 * one the writer is stuck on included (its write goes on, but nobody
 * waits for it any more).  Returns whether there was any. */
bool decision_log_cancel_waiting(struct decision_log *d);
void decision_log_counts(struct decision_log *d, struct decision_log_counts *c);
/* After the serving loops have ended: lets the writer finish what is queued (at most
 * wait_ms; a stalled device is then left behind with its records counted
 * lost) and frees everything. */
void decision_log_close(struct decision_log *d, unsigned wait_ms);

#endif
