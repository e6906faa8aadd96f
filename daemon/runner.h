/*
 * runner.h: runs one serving loop's jobs (assessments, ruleset
 * descriptions) on that loop's own thread with that loop's own engine.
 *
 * Share-nothing serving: every serving thread owns an event loop, its
 * connections and one struct engine (CLIPS environments are not
 * thread-safe, and one per thread needs no lock).  A request is evaluated
 * on the thread that read it, so it crosses no thread and wakes nobody:
 * the hand-offs to a pool of workers and back cost more CPU than the
 * evaluation itself (BENCHMARKS.md section 9).
 *
 * The jobs submitted during one loop iteration (the frames its reads
 * decoded) run together in a check handle, right after the iteration's
 * I/O callbacks: their answers are queued for the writes of the next
 * prepare phase, so a pipelined read's answers go out in one write.  As
 * with libuv's uv_queue_work, `done` gets a status: 0 after run() ran, or
 * UV_ECANCELED when it never will (cancelled before its turn, or the
 * runner was closed with the job still waiting); a submit that fails
 * never calls done.
 *
 * How long one evaluation may hold the loop is bounded by the engine's
 * firing cap and deadline (--max-firings, --rule-deadline) and by the
 * request's own deadline, which the job passes to the engine.  A turn
 * ends once it has run for RUNNER_TURN_NS: the jobs left wait for the
 * next iteration's turn (an idle handle keeps the loop from blocking
 * meanwhile), so that the loop writes the answers it has, reads, and sees
 * clients that left (whose jobs are then cancelled) between slices of a
 * long queue.
 *
 * Hot reload: the reload's thread builds each serving thread's new engine
 * and runner_use_engine swaps it in between two jobs (a job never sees two
 * rulesets); runner_set_ruleset builds one on the loop instead, keeping
 * the old one if the build fails, because serving the previous ruleset
 * beats failing.
 */
#ifndef SUITD_RUNNER_H
#define SUITD_RUNNER_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "engine.h"
#include "log.h"

/* The longest a turn goes on starting jobs: about 200 assessments of the
 * bundled ruleset, so a turn's fixed cost is shared, while no connection
 * waits more than a few milliseconds for the loop to read or write. */
#define RUNNER_TURN_NS (2u * 1000u * 1000u)

struct runner_job;
/* Runs on the loop thread in the runner's turn.  eng is NULL only if no
 * engine could be built at all: the job must then report an internal
 * error. */
typedef void (*runner_run_fn)(struct runner_job *job, struct engine *eng);
/* Right after run() (status 0), or instead of it (UV_ECANCELED). */
typedef void (*runner_done_fn)(struct runner_job *job, int status);

struct runner_job {
    runner_run_fn run;
    runner_done_fn done;
    /* Set when nobody wants the answer any more (deadline, connection
     * gone): a job not yet run then never runs. */
    bool cancelled;
    struct runner_job *next;    /* private to the runner */
};

struct runner {
    uv_loop_t *loop;
    const struct logger *log;
    unsigned index;                 /* the serving thread's, for logs */
    struct engine_limits limits;
    struct engine *eng;             /* NULL only if no build ever succeeded */
    uint64_t resets_seen;           /* eng's policy_resets already counted */
    uv_check_t turn;
    uv_idle_t more;                 /* jobs left after a turn: do not block */
    struct runner_job *head, *tail; /* waiting for this iteration's turn */
    /* Read by `stats` on other serving threads. */
    atomic_size_t waiting;
    atomic_uint_fast64_t policy_resets;
    bool closed;
    bool turn_open, more_open;
};

/* Builds the loop's engine from rs (the engine takes its own ref) and
 * sets up the check handle.  0, or a negative errno / libuv error after
 * logging why (nothing to close then). */
int runner_init(struct runner *r, uv_loop_t *loop, unsigned index, struct ruleset *rs,
                const struct engine_limits *lim, const struct logger *lg);
/* Queues job for this iteration's turn.  0, UV_EINVAL when run or done is
 * not set, or UV_ECANCELED when the runner is closed; on an error done()
 * never runs. */
int runner_submit(struct runner *r, struct runner_job *job);
/* Jobs submitted and not yet done. */
size_t runner_waiting(const struct runner *r);
/* Environments reset to another named policy so far (any thread). */
uint64_t runner_policy_resets(const struct runner *r);
/* Builds an engine for rs now and serves it from the next job on. */
void runner_set_ruleset(struct runner *r, struct ruleset *rs);
/* Serves eng (built elsewhere, from the reload's thread; the runner owns
 * it now) from the next job on, freeing the old one. */
void runner_use_engine(struct runner *r, struct engine *eng);
/* Hands back the waiting jobs (done with UV_ECANCELED, before this
 * returns), frees the engine and closes the handle (the loop must run
 * once more). */
void runner_close(struct runner *r);
#endif
