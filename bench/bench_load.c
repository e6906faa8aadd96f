/*
 * bench_load.c: see bench_load.h.
 */
#define _GNU_SOURCE     /* ppoll: a sub-millisecond timeout for --rate */
#include "bench_load.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "rpc_client.h"

/* The low bits of a msgid name the slot, the rest count its reuses, so a
 * late or duplicated answer cannot be matched to the wrong request. */
#define SLOT_BITS 10
#define MAX_DEPTH (1u << SLOT_BITS)
#define READ_CHUNK (64u * 1024u)

struct slot {
    uint32_t msgid;
    bool busy;
    uint64_t t0;                /* when it was due (open loop) or sent */
};

struct bconn {
    struct rpc_client *rc;      /* owns the fd; used only to connect */
    int fd;
    struct proto_decoder *dec;
    /* HTTP mode: answers come in request order, so the slots are a ring
     * of send times (head, count) and the input a plain buffer. */
    char *in;
    size_t in_len, in_cap;
    unsigned head, count;
    char *out;
    size_t out_len, out_off, out_cap;
    struct slot *slots;
    uint32_t *free_slots;
    unsigned n_free;
    uint32_t seq;
    bool dead;
};

struct run {
    const struct bench_load_opts *o;
    const struct bench_mix *mix;
    struct bench_load_result *res;
    struct bconn *conns;
    unsigned n_conns;
    size_t next_req;
    uint64_t outstanding;
    bool sending, measuring;
    uint64_t start_ns, measure_ns, last_answer_ns;
    unsigned timeline_cap;
    _Atomic uint64_t answered;  /* read by the reload thread */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pack_token(msgpack_packer *pk, void *arg)
{
    msgpack_pack_array(pk, 1);
    proto_pack_str(pk, arg);
}

int bench_connect(const char *addr, const char *token, struct rpc_client **out,
                  struct proto_error *err)
{
    int rc = rpc_client_connect(addr, 10000, out, err);
    if (rc < 0 || !token)
        return rc;
    msgpack_object result;
    rc = rpc_client_call(*out, "auth", pack_token, (void *)token, &result, err);
    if (rc < 0) {
        rpc_client_free(*out);
        *out = NULL;
    }
    return rc;
}

double bench_cpu_seconds(long pid)
{
    if (pid == 0) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
            return -1;
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields count from
     * the last ')'.  utime and stime are fields 14 and 15. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : -1;
}

const char *bench_code_name(int code)
{
    if (code >= 100 && code < 600)
        return "HTTP status";
    switch (code) {
    case BENCH_E_CLOSED:
        return "connection closed";
    case BENCH_E_LOST:
        return "no answer";
    case BENCH_E_BAD_FRAME:
        return "bad response frame";
    default:
        return proto_code_name(code);
    }
}

static void add_code(struct bench_load_result *res, int code, uint64_t n)
{
    res->errors += n;
    for (unsigned i = 0; i < res->n_codes; i++) {
        if (res->codes[i].code == code) {
            res->codes[i].count += n;
            return;
        }
    }
    /* The last entry absorbs any overflow of distinct codes. */
    unsigned i = res->n_codes < BENCH_MAX_CODES ? res->n_codes++ : BENCH_MAX_CODES - 1;
    res->codes[i].code = code;
    res->codes[i].count += n;
}

static int reserve_out(struct bconn *c, size_t more)
{
    if (c->out_len + more <= c->out_cap)
        return 0;
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + more <= c->out_cap)
            return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + more)
        cap *= 2;
    char *grown = realloc(c->out, cap);
    if (!grown)
        return -ENOMEM;
    c->out = grown;
    c->out_cap = cap;
    return 0;
}

/* Queues the mix's next request on c.  Returns false when c has no free
 * slot (or no memory). */
static bool send_one(struct run *r, struct bconn *c, uint64_t t0)
{
    if (c->dead || (r->o->http ? c->count == r->o->depth : c->n_free == 0))
        return false;
    const struct bench_request *q = &r->mix->reqs[r->next_req % r->mix->len];
    if (reserve_out(c, q->len) < 0)
        return false;
    if (r->o->http) {
        memcpy(c->out + c->out_len, q->bytes, q->len);
        c->out_len += q->len;
        c->slots[(c->head + c->count) % r->o->depth] = (struct slot){ .busy = true, .t0 = t0 };
        c->count++;
        r->next_req++;
        r->res->sent++;
        r->outstanding++;
        return true;
    }
    uint32_t slot = c->free_slots[--c->n_free];
    c->seq++;
    uint32_t msgid = ((c->seq & ((1u << (32 - SLOT_BITS)) - 1)) << SLOT_BITS) | slot;
    memcpy(c->out + c->out_len, q->bytes, q->len);
    bench_patch_msgid(c->out + c->out_len, msgid);
    c->out_len += q->len;
    c->slots[slot] = (struct slot){ .msgid = msgid, .busy = true, .t0 = t0 };
    r->next_req++;
    r->res->sent++;
    r->outstanding++;
    return true;
}

static bool may_send(const struct run *r)
{
    return r->sending && (!r->o->requests || r->res->sent < r->o->requests);
}

/* Every request still waiting on c becomes an error with `code`. */
static void fail_outstanding(struct run *r, struct bconn *c, int code)
{
    if (r->o->http) {
        r->outstanding -= c->count;
        if (c->count)
            add_code(r->res, code, c->count);
        c->count = 0;
        return;
    }
    uint64_t n = 0;
    for (unsigned i = 0; i < r->o->depth; i++) {
        if (c->slots[i].busy) {
            c->slots[i].busy = false;
            c->free_slots[c->n_free++] = i;
            n++;
        }
    }
    r->outstanding -= n;
    if (n)
        add_code(r->res, code, n);
}

static void kill_conn(struct run *r, struct bconn *c, int code)
{
    if (c->dead)
        return;
    c->dead = true;
    fail_outstanding(r, c, code);
}

static void record_timeline(struct run *r, uint64_t now)
{
    if (!r->o->interval_ms)
        return;
    uint64_t idx = (now - r->measure_ns) / ((uint64_t)r->o->interval_ms * 1000000u);
    if (idx >= r->timeline_cap) {
        unsigned cap = r->timeline_cap ? r->timeline_cap : 64;
        while (cap <= idx)
            cap *= 2;
        uint64_t *grown = realloc(r->res->timeline, cap * sizeof(*grown));
        if (!grown)
            return;
        memset(grown + r->timeline_cap, 0, (cap - r->timeline_cap) * sizeof(*grown));
        r->res->timeline = grown;
        r->timeline_cap = cap;
    }
    r->res->timeline[idx]++;
    if (idx + 1 > r->res->n_timeline)
        r->res->n_timeline = (unsigned)idx + 1;
}

/* One answer to a request sent at t0: code 0 for success, else the error
 * (a protocol code, or an HTTP status). */
static void answered(struct run *r, struct bconn *c, uint64_t t0, uint64_t now, int code)
{
    r->outstanding--;
    if (r->measuring) {
        bench_hist_record(&r->res->hist, now > t0 ? now - t0 : 0);
        if (code == 0)
            r->res->ok++;
        else
            add_code(r->res, code, 1);
        atomic_fetch_add_explicit(&r->answered, 1, memory_order_relaxed);
        record_timeline(r, now);
        r->last_answer_ns = now;
    }
    /* Closed loop: an answer frees a slot for the next request. */
    if (r->o->rate <= 0 && may_send(r))
        send_one(r, c, now);
}

static void on_frame(struct run *r, struct bconn *c, const msgpack_object *obj, uint64_t now)
{
    struct proto_message m;
    struct proto_error err;
    proto_error_init(&err);
    int rc = proto_message_parse(obj, &m, &err);
    proto_error_close(&err);
    if (rc < 0 || m.type != PROTO_RESPONSE || !m.has_msgid) {
        add_code(r->res, BENCH_E_BAD_FRAME, 1);
        return;
    }
    uint32_t slot = m.msgid & (MAX_DEPTH - 1);
    if (slot >= r->o->depth || !c->slots[slot].busy || c->slots[slot].msgid != m.msgid) {
        add_code(r->res, BENCH_E_BAD_FRAME, 1);
        return;
    }
    uint64_t t0 = c->slots[slot].t0;
    c->slots[slot].busy = false;
    c->free_slots[c->n_free++] = slot;
    int code = 0;
    if (m.error.type != MSGPACK_OBJECT_NIL) {
        proto_error_init(&err);
        code = rpc_error_from_object(&m.error, &err);
        proto_error_close(&err);
        code = code ? code : PROTO_E_INTERNAL;
    }
    answered(r, c, t0, now, code);
}

/* One read: the bytes read; 0 when there is nothing now or the daemon
 * closed the connection (then c is dead); -1 to try again (EINTR). */
static ssize_t read_some(struct run *r, struct bconn *c, char *buf, size_t len)
{
    ssize_t n = read(c->fd, buf, len);
    if (n < 0 && errno == EINTR)
        return -1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n <= 0) {
        kill_conn(r, c, BENCH_E_CLOSED);
        return 0;
    }
    return n;
}

/* HTTP mode: the length of the first complete response in buf (head and
 * Content-Length body) with its status, 0 when more bytes are needed, -1
 * when it is not HTTP (suit-httpd always sends Content-Length). */
static long http_response(const char *buf, size_t len, int *status)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return len > 65536 ? -1 : 0;
    size_t head = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7))
        return -1;
    *status = atoi(buf + 9);
    size_t body = 0;
    for (const char *p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') && !strncasecmp(p, "Content-Length:", 15)) {
            body = (size_t)strtoull(p + 15, NULL, 10);
            break;
        }
    }
    return len >= head + body ? (long)(head + body) : 0;
}

static void http_read_conn(struct run *r, struct bconn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < READ_CHUNK) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 2 * READ_CHUNK;
            char *g = realloc(c->in, cap);
            if (!g) {
                kill_conn(r, c, PROTO_E_INTERNAL);
                return;
            }
            c->in = g;
            c->in_cap = cap;
        }
        ssize_t n = read_some(r, c, c->in + c->in_len, c->in_cap - c->in_len);
        if (n < 0)
            continue;
        if (n == 0)
            return;
        c->in_len += (size_t)n;
        uint64_t now = now_ns();
        size_t off = 0;
        long len;
        int status = 0;
        while ((len = http_response(c->in + off, c->in_len - off, &status)) > 0) {
            off += (size_t)len;
            if (!c->count) {
                add_code(r->res, BENCH_E_BAD_FRAME, 1);
                continue;
            }
            uint64_t t0 = c->slots[c->head].t0;
            c->head = (c->head + 1) % r->o->depth;
            c->count--;
            answered(r, c, t0, now, status == 200 ? 0 : status);
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        if (len < 0) {
            add_code(r->res, BENCH_E_BAD_FRAME, 1);
            kill_conn(r, c, BENCH_E_BAD_FRAME);
            return;
        }
    }
}

static void read_conn(struct run *r, struct bconn *c)
{
    if (r->o->http) {
        http_read_conn(r, c);
        return;
    }
    for (;;) {
        char *buf;
        size_t len;
        if (proto_decoder_reserve(c->dec, READ_CHUNK, &buf, &len) < 0) {
            kill_conn(r, c, PROTO_E_INTERNAL);
            return;
        }
        ssize_t n = read_some(r, c, buf, len);
        if (n < 0)
            continue;
        if (n == 0)
            return;
        if (proto_decoder_commit(c->dec, (size_t)n) < 0) {
            add_code(r->res, BENCH_E_BAD_FRAME, 1);
            kill_conn(r, c, BENCH_E_BAD_FRAME);
            return;
        }
        uint64_t now = now_ns();
        msgpack_object obj;
        int rc;
        while ((rc = proto_decoder_next(c->dec, &obj)) == 1)
            on_frame(r, c, &obj, now);
        if (rc < 0) {
            add_code(r->res, BENCH_E_BAD_FRAME, 1);
            kill_conn(r, c, BENCH_E_BAD_FRAME);
            return;
        }
        if ((size_t)n < len)
            return;
    }
}

static void flush_conn(struct run *r, struct bconn *c)
{
    while (!c->dead && c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            kill_conn(r, c, BENCH_E_CLOSED);
            return;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
}

/* ---- reload while under load ------------------------------------------ */

struct reloader {
    pthread_t tid;
    struct run *run;
    const char *addr;
    const char *token;
    uint64_t at_ns;             /* absolute CLOCK_MONOTONIC time */
    uint64_t t0, t1, a0, a1;
    int rc;
    char msg[256];
};

static void pack_no_params(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 0);
}

static void *reloader_main(void *p)
{
    struct reloader *rl = p;
    uint64_t now = now_ns();
    if (rl->at_ns > now) {
        uint64_t d = rl->at_ns - now;
        struct timespec ts = { .tv_sec = (time_t)(d / 1000000000u),
                               .tv_nsec = (long)(d % 1000000000u) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    struct proto_error err;
    proto_error_init(&err);
    struct rpc_client *rc = NULL;
    rl->rc = bench_connect(rl->addr, rl->token, &rc, &err);
    if (rl->rc == 0) {
        msgpack_object result;
        rl->a0 = atomic_load(&rl->run->answered);
        rl->t0 = now_ns();
        rl->rc = rpc_client_call(rc, "reload", pack_no_params, NULL, &result, &err);
        rl->t1 = now_ns();
        rl->a1 = atomic_load(&rl->run->answered);
        rpc_client_free(rc);
    }
    if (rl->rc < 0)
        snprintf(rl->msg, sizeof rl->msg, "%.200s", err.message);
    proto_error_close(&err);
    return NULL;
}

/* ---- the run ----------------------------------------------------------- */

static void close_conns(struct run *r)
{
    for (unsigned i = 0; i < r->n_conns; i++) {
        struct bconn *c = &r->conns[i];
        if (c->rc)
            rpc_client_free(c->rc);
        if (c->dec)
            proto_decoder_free(c->dec);
        free(c->out);
        free(c->in);
        free(c->slots);
        free(c->free_slots);
    }
    free(r->conns);
}

static int open_conns(struct run *r, char *msg, size_t msglen)
{
    r->conns = calloc(r->o->conns, sizeof(*r->conns));
    if (!r->conns) {
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }
    r->n_conns = r->o->conns;
    for (unsigned i = 0; i < r->n_conns; i++) {
        struct bconn *c = &r->conns[i];
        struct proto_error err;
        proto_error_init(&err);
        /* HTTP sends its token in each request, not with auth. */
        int rc = bench_connect(r->o->addr, r->o->http ? NULL : r->o->token, &c->rc, &err);
        if (rc < 0) {
            snprintf(msg, msglen, "connection %u: %s", i + 1, err.message);
            proto_error_close(&err);
            return rc;
        }
        proto_error_close(&err);
        c->fd = rpc_client_fd(c->rc);
        c->slots = calloc(r->o->depth, sizeof(*c->slots));
        c->free_slots = calloc(r->o->depth, sizeof(*c->free_slots));
        if (!c->slots || !c->free_slots || proto_decoder_create(NULL, &c->dec) < 0) {
            snprintf(msg, msglen, "out of memory");
            return -ENOMEM;
        }
        /* Pop order does not matter; push them so slot 0 goes first. */
        for (unsigned s = 0; s < r->o->depth; s++)
            c->free_slots[s] = r->o->depth - 1 - s;
        c->n_free = r->o->depth;
    }
    return 0;
}

static struct timespec ts_of(uint64_t ns)
{
    return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
                              .tv_nsec = (long)(ns % 1000000000u) };
}

int bench_load_run(const struct bench_load_opts *o, const struct bench_mix *mix,
                   struct bench_load_result *res, char *msg, size_t msglen)
{
    memset(res, 0, sizeof(*res));
    res->daemon_cpu_s = -1;
    bench_hist_init(&res->hist);
    if (o->depth == 0 || o->depth > MAX_DEPTH || o->conns == 0) {
        snprintf(msg, msglen, "need 1 <= -P <= %u and -c >= 1", MAX_DEPTH);
        return -EINVAL;
    }
    struct run r = { .o = o, .mix = mix, .res = res };
    atomic_init(&r.answered, 0);
    int rc = open_conns(&r, msg, msglen);
    if (rc < 0) {
        close_conns(&r);
        return rc;
    }
    struct pollfd *pfd = calloc(r.n_conns, sizeof(*pfd));
    if (!pfd) {
        close_conns(&r);
        snprintf(msg, msglen, "out of memory");
        return -ENOMEM;
    }

    const uint64_t warm_ns = (uint64_t)(o->warmup_s * 1e9);
    r.start_ns = now_ns();
    r.measure_ns = r.start_ns + warm_ns;
    r.measuring = warm_ns == 0;
    r.sending = true;
    double cpu0 = o->cpu_pid > 0 ? bench_cpu_seconds(o->cpu_pid) : -1;
    double self0 = bench_cpu_seconds(0);
    const uint64_t send_end = o->duration_s > 0
                                  ? r.measure_ns + (uint64_t)(o->duration_s * 1e9) : 0;
    const uint64_t interval = o->rate > 0 ? (uint64_t)(1e9 / o->rate) : 0;
    uint64_t next_due = r.start_ns;
    uint64_t drain_end = 0;
    unsigned rr = 0;

    struct reloader rl = { .run = &r, .addr = o->addr, .token = o->token, .rc = 0 };
    bool reloading = false;
    if (o->reload_at_s > 0) {
        rl.at_ns = r.measure_ns + (uint64_t)(o->reload_at_s * 1e9);
        reloading = pthread_create(&rl.tid, NULL, reloader_main, &rl) == 0;
        if (!reloading)
            snprintf(res->reload_msg, sizeof res->reload_msg, "cannot start the reload thread");
    }

    if (o->rate <= 0) {
        for (unsigned i = 0; i < r.n_conns; i++)
            while (may_send(&r) && send_one(&r, &r.conns[i], r.start_ns))
                ;
    }

    for (;;) {
        uint64_t now = now_ns();
        if (!r.measuring && now >= r.measure_ns) {
            r.measuring = true;
            r.measure_ns = now;
            cpu0 = o->cpu_pid > 0 ? bench_cpu_seconds(o->cpu_pid) : -1;
            self0 = bench_cpu_seconds(0);
        }
        if (r.sending && ((send_end && now >= send_end) ||
                          (o->requests && res->sent >= o->requests))) {
            r.sending = false;
            drain_end = now + (uint64_t)(o->drain_s * 1e9);
        }
        if (!r.sending && (r.outstanding == 0 || now >= drain_end))
            break;

        /* Open loop: start every request that is due, on any free slot. */
        uint64_t wait = 100000000u;     /* never sleep past 100 ms */
        if (interval && r.sending) {
            while (may_send(&r) && next_due <= now) {
                bool sent = false;
                for (unsigned k = 0; k < r.n_conns && !sent; k++) {
                    struct bconn *c = &r.conns[(rr + k) % r.n_conns];
                    sent = send_one(&r, c, next_due);
                }
                if (!sent)
                    break;          /* all slots busy: it waits, and that counts */
                if (now - next_due > 1000000u)
                    res->late++;
                next_due += interval;
                rr++;
            }
            if (next_due > now && next_due - now < wait)
                wait = next_due - now;
        }
        if (send_end && r.sending && send_end > now && send_end - now < wait)
            wait = send_end - now;
        if (!r.measuring && r.measure_ns - now < wait)
            wait = r.measure_ns - now;
        if (!r.sending && drain_end > now && drain_end - now < wait)
            wait = drain_end - now;

        for (unsigned i = 0; i < r.n_conns; i++) {
            struct bconn *c = &r.conns[i];
            flush_conn(&r, c);
            pfd[i].fd = c->dead ? -1 : c->fd;
            pfd[i].events = (short)(POLLIN | (c->out_off < c->out_len ? POLLOUT : 0));
            pfd[i].revents = 0;
        }
        struct timespec ts = ts_of(wait);
        int n = ppoll(pfd, r.n_conns, &ts, NULL);
        if (n < 0 && errno != EINTR) {
            snprintf(msg, msglen, "ppoll: %s", strerror(errno));
            break;
        }
        for (unsigned i = 0; n > 0 && i < r.n_conns; i++) {
            struct bconn *c = &r.conns[i];
            if (c->dead || !pfd[i].revents)
                continue;
            if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                read_conn(&r, c);
        }
        bool alive = false;
        for (unsigned i = 0; i < r.n_conns; i++)
            alive |= !r.conns[i].dead;
        if (!alive)
            break;
    }
    double cpu1 = o->cpu_pid > 0 ? bench_cpu_seconds(o->cpu_pid) : -1;
    res->daemon_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    res->self_cpu_s = bench_cpu_seconds(0) - self0;
    uint64_t end = r.last_answer_ns > r.measure_ns ? r.last_answer_ns : now_ns();
    res->elapsed_s = (double)(end - r.measure_ns) / 1e9;
    for (unsigned i = 0; i < r.n_conns; i++)
        fail_outstanding(&r, &r.conns[i], BENCH_E_LOST);

    if (reloading) {
        pthread_join(rl.tid, NULL);
        res->reload_done = true;
        res->reload_rc = rl.rc;
        snprintf(res->reload_msg, sizeof res->reload_msg, "%s", rl.msg);
        if (rl.t1 > rl.t0) {
            double win = (double)(rl.t1 - rl.t0) / 1e9;
            res->reload_start_s = rl.t0 > r.measure_ns ? (double)(rl.t0 - r.measure_ns) / 1e9 : 0;
            res->reload_ms = win * 1e3;
            res->reload_rate = (double)(rl.a1 - rl.a0) / win;
            double rest = res->elapsed_s - win;
            uint64_t total = atomic_load(&r.answered);
            if (rest > 0)
                res->outside_rate = (double)(total - (rl.a1 - rl.a0)) / rest;
        }
    }
    free(pfd);
    close_conns(&r);
    return 0;
}

void bench_load_result_close(struct bench_load_result *res)
{
    free(res->timeline);
    res->timeline = NULL;
    res->n_timeline = 0;
}
