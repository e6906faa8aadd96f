/*
 * conn.c: see conn.h.
 */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Most requests are far below 8 KiB, and asking the decoder for more than
 * its initial buffer makes it reallocate on every connection's first read
 * (measured: 10,000 idle connections closing took seconds, all of it in
 * realloc page faults).  Only a message already partly buffered, i.e. a
 * big one, gets big reads. */
#define CONN_READ_SMALL (8u * 1024u)
#define CONN_READ_LARGE (64u * 1024u)
/* How often idle connections are looked for: often enough that a short
 * idle timeout (tests use 1 s) is kept to within a quarter of a second,
 * and once a second otherwise (the check walks every connection). */
#define CONN_SWEEP_FAST_MS 250
#define CONN_SWEEP_MS 1000
#define CONN_SWEEP_FAST_BELOW_S 10
/* The first output buffer; it doubles as needed. */
#define CONN_OUT_INITIAL 4096u

static void conn_process(struct conn *c);
static void update_reading(struct conn *c);
static void maybe_finish(struct conn *c);
static void account(struct conn *c);

void conn_ref(struct conn *c)
{
    c->refs++;
}

static void conn_free(struct conn *c)
{
    struct conn_set *set = c->set;
    proto_decoder_free(c->dec);
    free(c->out);
    free(c->wbuf);
    free(c);
    set->n_alive--;
    if (set->cb.freed)
        set->cb.freed(set);
}

void conn_unref(struct conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

bool conn_is_admin(const struct conn *c)
{
    return c->lis->is_unix;
}

bool conn_needs_token(const struct conn *c)
{
    return c->lis->need_token;
}

static void on_close(uv_handle_t *h)
{
    conn_unref(h->data);
}

void conn_close(struct conn *c, int drop)
{
    if (c->closing)
        return;
    struct conn_set *set = c->set;
    c->closing = true;
    account(c);
    if (!c->authed) {
        atomic_fetch_sub(&set->shared->n_unauthed, 1);
        set->stats->conn_unauthenticated--;
    }
    uint64_t held = 0;
    if (drop >= 0) {
        set->stats->dropped[drop]++;
        /* An attacker can make these by the thousand a second. */
        if (throttle_allow(&set->drop_log, uv_hrtime(), &held))
            log_info(set->log, "conn %llu: closed (%s)%s", (unsigned long long)c->id,
                     stats_drop_name((enum stats_drop)drop),
                     held ? "; more closed since the last such line" : "");
    } else {
        log_debug(set->log, "conn %llu: closed", (unsigned long long)c->id);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        set->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    set->n_open--;
    atomic_fetch_sub(&set->shared->n_open, 1);
    set->stats->conn_current--;
    /* Nobody will read the answers: the owner spares the workers what has
     * not started yet. */
    if (set->cb.closed)
        set->cb.closed(c);
    uv_close(&c->u.h, on_close);
}

/* Lists hold a reference so a connection closed while listed stays valid
 * until the list is walked. */
static void mark_dirty(struct conn *c)
{
    if (c->in_dirty || c->closing)
        return;
    c->in_dirty = true;
    conn_ref(c);
    c->dirty_next = c->set->dirty;
    c->set->dirty = c;
}

static void on_idle(uv_idle_t *i);

static void mark_backlog(struct conn *c)
{
    if (c->in_backlog || c->closing)
        return;
    struct conn_set *set = c->set;
    c->in_backlog = true;
    conn_ref(c);
    c->backlog_next = set->backlog;
    set->backlog = c;
    /* Fails only on a NULL callback; starting a started handle is a no-op. */
    (void)uv_idle_start(&set->idle, on_idle);
}

/* ---- memory accounting ----------------------------------------------- */

/* Keeps the shared input_bytes and output_bytes equal to the sums of what
 * each open connection holds; a closing one holds nothing any more. */
static void account(struct conn *c)
{
    struct conn_set *set = c->set;
    size_t in = c->closing || !c->dec ? 0 : proto_decoder_buffered(c->dec);
    size_t out = c->closing ? 0 : c->out_len + c->wlen;
    /* Unsigned: a smaller amount wraps to the right difference. */
    if (in != c->held_in)
        atomic_fetch_add(&set->shared->input_bytes, in - c->held_in);
    if (out != c->held_out)
        atomic_fetch_add(&set->shared->output_bytes, out - c->held_out);
    c->held_in = in;
    c->held_out = out;
}

static bool output_high(const struct conn *c)
{
    return c->out_len + c->wlen >= CONN_OUTPUT_HIGH_WATER;
}

/* ---- output -------------------------------------------------------- */

static int out_write(void *data, const char *buf, size_t len)
{
    struct conn *c = data;
    if (c->out_failed)
        return -1;
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : CONN_OUT_INITIAL;
        while (cap < c->out_len + len)
            cap *= 2;
        char *n = realloc(c->out, cap);
        if (!n) {
            c->out_failed = true;
            return -1;
        }
        c->out = n;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
    return 0;
}

void conn_pack_begin(struct conn *c, msgpack_packer *pk)
{
    msgpack_packer_init(pk, c, out_write);
}

void conn_pack_end(struct conn *c)
{
    struct conn_set *set = c->set;
    if (c->closing)
        return;
    if (c->out_failed) {
        log_error(set->log, "conn %llu: out of memory for a response", (unsigned long long)c->id);
        conn_close(c, -1);
        return;
    }
    account(c);
    uint64_t held;
    if (c->out_len + c->wlen > set->lim.max_output) {
        if (throttle_allow(&set->refuse_log, uv_hrtime(), &held))
            log_warn(set->log, "conn %llu: %zu unsent bytes exceed --max-output %zu: the "
                     "client does not read its answers", (unsigned long long)c->id,
                     c->out_len + c->wlen, set->lim.max_output);
        conn_close(c, STATS_DROP_SLOW_READER);
        return;
    }
    if (atomic_load(&set->shared->output_bytes) > set->lim.max_output_memory) {
        if (throttle_allow(&set->refuse_log, uv_hrtime(), &held))
            log_warn(set->log, "conn %llu: %zu unsent bytes on all connections exceed "
                     "--max-output-memory %zu: closing this one (%zu unsent)",
                     (unsigned long long)c->id, atomic_load(&set->shared->output_bytes),
                     set->lim.max_output_memory, c->out_len + c->wlen);
        conn_close(c, STATS_DROP_SLOW_READER);
        return;
    }
    mark_dirty(c);
}

void conn_send(struct conn *c, const char *data, size_t len)
{
    if (c->closing)
        return;
    /* A failure sets out_failed, which conn_pack_end reports. */
    (void)out_write(c, data, len);
    conn_pack_end(c);
}

void conn_send_error(struct conn *c, uint32_t msgid, const struct proto_error *e)
{
    stats_error(c->set->stats, e->code);
    msgpack_packer pk;
    conn_pack_begin(c, &pk);
    proto_pack_error_response(&pk, msgid, e);
    conn_pack_end(c);
}

void conn_reply_error(struct conn *c, uint32_t msgid, int code, const char *fmt, ...)
{
    struct proto_error e;
    proto_error_init(&e);
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    conn_send_error(c, msgid, &e);
    proto_error_close(&e);
}

static void wrote(struct conn *c);

static void on_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    c->writing = false;
    c->wlen = 0;
    if (c->closing)
        return;
    if (status < 0) {
        log_debug(c->set->log, "conn %llu: write failed: %s", (unsigned long long)c->id,
                  uv_strerror(status));
        conn_close(c, -1);
        return;
    }
    wrote(c);
}

/* Output went out: what waited on it goes on. */
static void wrote(struct conn *c)
{
    account(c);
    if (c->out_len)
        mark_dirty(c);
    /* Below the high-water mark again: decode what waits, read on. */
    if (!output_high(c)) {
        if (!c->drained && !c->broken)
            mark_backlog(c);
        update_reading(c);
    }
    maybe_finish(c);
}

static void flush(struct conn *c)
{
    if (c->closing || c->writing || !c->out_len)
        return;
    /* Most answers fit in the socket's buffer: written at once with
     * uv_try_write they need no write request, and the one system call is
     * all they cost (libuv re-registers the descriptor with epoll, one more
     * system call, after every write request it completes). */
    uv_buf_t now = uv_buf_init(c->out, (unsigned)c->out_len);
    int n = uv_try_write(&c->u.s, &now, 1);
    if (n < 0 && n != UV_EAGAIN) {
        log_debug(c->set->log, "conn %llu: write failed: %s", (unsigned long long)c->id,
                  uv_strerror(n));
        conn_close(c, -1);
        return;
    }
    if (n > 0) {
        c->out_len -= (size_t)n;
        if (!c->out_len) {
            wrote(c);
            return;
        }
        memmove(c->out, c->out + n, c->out_len);
    }
    /* The rest waits for the socket: swap the buffers, so that answers
     * packed from now on go to the other one. */
    char *b = c->wbuf;
    size_t cap = c->wcap;
    c->wbuf = c->out;
    c->wcap = c->out_cap;
    c->wlen = c->out_len;
    c->out = b;
    c->out_cap = cap;
    c->out_len = 0;
    uv_buf_t buf = uv_buf_init(c->wbuf, (unsigned)c->wlen);
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, &c->u.s, &buf, 1, on_write);
    if (rc < 0) {
        c->wlen = 0;
        log_debug(c->set->log, "conn %llu: write failed: %s", (unsigned long long)c->id,
                  uv_strerror(rc));
        conn_close(c, -1);
        return;
    }
    c->writing = true;
}

static void on_flush(uv_prepare_t *p)
{
    struct conn_set *set = p->data;
    struct conn *c = set->dirty;
    set->dirty = NULL;
    while (c) {
        struct conn *next = c->dirty_next;
        c->dirty_next = NULL;
        c->in_dirty = false;
        flush(c);
        conn_unref(c);
        c = next;
    }
}

/* ---- input --------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    char *base = NULL;
    size_t len = 0;
    (void)suggested;
    size_t want = !c->authed                       ? CONN_PREAUTH_MAX_BYTES
                  : proto_decoder_buffered(c->dec) ? CONN_READ_LARGE
                                                   : CONN_READ_SMALL;
    if (proto_decoder_reserve(c->dec, want, &base, &len) < 0) {
        base = NULL;
        len = 0;
    }
    *buf = uv_buf_init(base, (unsigned)len);
}

/* The stream cannot be trusted any more: no msgid can be recovered from
 * bytes that are not MessagePack.  As PROTOCOL.md section 7 specifies, the
 * error goes out under msgid 0 (clients number their requests from 1, so
 * it cannot be mistaken for an answer), then the connection reads no
 * further, still answers the requests it received before the bad bytes,
 * and closes once all that is written. */
static void input_refused(struct conn *c, int code, const char *why, enum stats_drop drop)
{
    struct conn_set *set = c->set;
    uint64_t held;
    if (throttle_allow(&set->refuse_log, uv_hrtime(), &held))
        log_warn(set->log, "conn %llu: %s: %s; closing", (unsigned long long)c->id,
                 proto_code_name(code), why ? why : "?");
    set->stats->dropped[drop]++;
    conn_reply_error(c, 0, code, "%s", why && *why ? why : proto_code_name(code));
    c->broken = true;
    c->read_done = true;
    c->drained = true;
    update_reading(c);
    account(c);
    maybe_finish(c);
}

static void parse_failed(struct conn *c, int code, const char *why)
{
    input_refused(c, code, why, STATS_DROP_PARSE_ERROR);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    (void)buf;
    if (c->closing)
        return;
    if (nread > 0) {
        /* No c->last_active_ns here: bytes of an unfinished frame are no
         * sign of life (a byte every few minutes would hold the slot). */
        int rc = proto_decoder_commit(c->dec, (size_t)nread);
        if (rc < 0) {
            parse_failed(c, rc, proto_decoder_error(c->dec));
            return;
        }
        account(c);
        if (atomic_load(&c->set->shared->input_bytes) > c->set->lim.max_input_memory) {
            char why[160];
            snprintf(why, sizeof why, "overloaded: %zu bytes of unfinished requests "
                     "(--max-input-memory %zu); retry later", atomic_load(&c->set->shared->input_bytes),
                     c->set->lim.max_input_memory);
            input_refused(c, PROTO_E_OVERLOADED, why, STATS_DROP_INPUT_MEMORY);
            return;
        }
        c->drained = false;
        conn_process(c);
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_EOF) {
        /* Half-close: keep answering, close once everything is written. */
        c->read_done = true;
        update_reading(c);
        maybe_finish(c);
        return;
    }
    if (nread == UV_ENOBUFS) {
        /* The decoder would not take more bytes: a frame over the limit. */
        const char *why = proto_decoder_error(c->dec);
        parse_failed(c, PROTO_E_TOO_LARGE, why && *why ? why : "message too large");
        return;
    }
    log_debug(c->set->log, "conn %llu: read failed: %s", (unsigned long long)c->id,
              uv_strerror((int)nread));
    conn_close(c, -1);
}

static void update_reading(struct conn *c)
{
    bool want = !c->closing && !c->read_done && !c->broken && c->drained &&
                c->inflight < c->set->lim.max_inflight && !output_high(c);
    if (want == c->reading)
        return;
    if (want) {
        int rc = uv_read_start(&c->u.s, on_alloc, on_read);
        if (rc < 0) {
            log_debug(c->set->log, "conn %llu: cannot read: %s", (unsigned long long)c->id,
                      uv_strerror(rc));
            conn_close(c, -1);
            return;
        }
    } else if (!c->closing) {
        uv_read_stop(&c->u.s);
    }
    c->reading = want;
}

/* Closes a connection whose reading side is finished once every request
 * it sent has been answered and written. */
static void maybe_finish(struct conn *c)
{
    if (c->closing || !c->read_done)
        return;
    /* A broken stream has nothing more to decode, drained or not. */
    if ((!c->drained && !c->broken) || c->in_backlog || c->inflight || c->writing || c->out_len)
        return;
    conn_close(c, -1);
}

/* Before `auth` only a small frame is decoded at all (msgpack-c spends
 * about 100 ms of the loop on a 1 MiB frame of 1-byte elements). */
static void preauth_too_large(struct conn *c)
{
    char why[128];
    snprintf(why, sizeof why, "message too large: before auth a request may be at most %u "
             "bytes", CONN_PREAUTH_MAX_BYTES);
    parse_failed(c, PROTO_E_TOO_LARGE, why);
}

/* Decodes and dispatches frames until the decoder needs more bytes, the
 * connection has --max-inflight requests out, or this turn's budget is
 * used up (then it goes on the backlog for the next turn). */
static void conn_process(struct conn *c)
{
    struct conn_set *set = c->set;
    unsigned n = 0;
    while (!c->closing && !c->broken && c->inflight < set->lim.max_inflight &&
           !output_high(c)) {
        if (n == CONN_FRAMES_PER_TURN) {
            mark_backlog(c);
            break;
        }
        msgpack_object obj;
        int rc = proto_decoder_next(c->dec, &obj);
        if (rc == 0) {
            c->drained = true;
            /* What is left is one unfinished frame. */
            if (!c->authed && proto_decoder_buffered(c->dec) > CONN_PREAUTH_MAX_BYTES) {
                preauth_too_large(c);
                return;
            }
            break;
        }
        if (rc < 0) {
            parse_failed(c, rc, proto_decoder_error(c->dec));
            return;
        }
        if (!c->authed && proto_decoder_last_size(c->dec) > CONN_PREAUTH_MAX_BYTES) {
            preauth_too_large(c);
            return;
        }
        n++;
        set->cb.frame(c, &obj);
    }
    if (c->closing)
        return;
    account(c);
    update_reading(c);
    maybe_finish(c);
}

static void on_idle(uv_idle_t *i)
{
    struct conn_set *set = i->data;
    struct conn *c = set->backlog;
    set->backlog = NULL;
    while (c) {
        struct conn *next = c->backlog_next;
        c->backlog_next = NULL;
        c->in_backlog = false;
        if (!c->closing)
            conn_process(c);
        conn_unref(c);
        c = next;
    }
    if (!set->backlog)
        uv_idle_stop(&set->idle);
}

void conn_request_start(struct conn *c)
{
    c->inflight++;
}

void conn_request_done(struct conn *c)
{
    if (c->inflight)
        c->inflight--;
    if (c->closing)
        return;
    c->last_active_ns = uv_hrtime();
    if (!c->drained && !c->broken)
        mark_backlog(c);
    update_reading(c);
    maybe_finish(c);
}

void conn_touch(struct conn *c)
{
    c->last_active_ns = uv_hrtime();
}

void conn_set_authenticated(struct conn *c)
{
    if (c->authed)
        return;
    c->authed = true;
    atomic_fetch_sub(&c->set->shared->n_unauthed, 1);
    c->set->stats->conn_unauthenticated--;
}

void conn_preauth_refused(struct conn *c)
{
    if (c->authed || c->closing)
        return;
    if (++c->preauth_refused < CONN_PREAUTH_MAX_REFUSED)
        return;
    c->set->stats->dropped[STATS_DROP_UNAUTHENTICATED]++;
    log_debug(c->set->log, "conn %llu: %u requests refused before auth; closing",
              (unsigned long long)c->id, c->preauth_refused);
    conn_refuse_input(c);
}

void conn_stop_reading(struct conn *c)
{
    if (c->closing)
        return;
    c->read_done = true;
    update_reading(c);
    maybe_finish(c);
}

void conn_refuse_input(struct conn *c)
{
    c->broken = true;
    conn_stop_reading(c);
}

/* ---- accept -------------------------------------------------------- */

/* Over a limit (or shutting down): accepted and closed at once, so the
 * client sees the refusal immediately instead of waiting in the kernel's
 * backlog, with an `overloaded` error saying why. */
static void refuse(struct conn_set *set, struct listener *lis, int fd, const char *why)
{
    if (!set->stopping) {
        /* Say why before closing, under msgid 0 (no request to answer yet).
         * A fresh socket's send buffer always has room for these few bytes,
         * so one non-blocking send is enough; if it fails, the close alone
         * still tells the client. */
        struct proto_error e;
        proto_error_init(&e);
        proto_error_set(&e, PROTO_E_OVERLOADED, "%s; retry later", why);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_pack_error_response(&pk, 0, &e);
        /* Best effort: MSG_NOSIGNAL, as the peer may be gone already. */
        (void)send(fd, sb.data, sb.size, MSG_NOSIGNAL | MSG_DONTWAIT);
        msgpack_sbuffer_destroy(&sb);
        proto_error_close(&e);
    }
    close(fd);
    set->stats->conn_refused++;
    uint64_t held;
    if (throttle_allow(&set->refuse_log, uv_hrtime(), &held))
        log_info(set->log, "refused a connection on %s: %s (%llu more since the last such "
                 "line)", lis->name, why, (unsigned long long)held);
}

void conn_accept(struct conn_set *set, struct listener *lis, int fd, bool out_of_fds)
{
    char why[160];
    if (out_of_fds) {
        set->stats->conn_refused_descriptors++;
        uint64_t held;
        if (throttle_allow(&set->fd_log, uv_hrtime(), &held))
            log_warn(set->log, "out of file descriptors (%llu connections open): refusing "
                     "clients on %s (%llu more refused since the last such line); raise "
                     "the descriptor limit (LimitNOFILE=) or lower --max-connections",
                     (unsigned long long)atomic_load(&set->shared->n_open), lis->name,
                     (unsigned long long)held);
        refuse(set, lis, fd, "out of file descriptors");
        return;
    }
    /* TCP clients stop at --max-connections; the Unix socket has
     * --unix-reserve more, so that reload and stats always get through. */
    size_t cap = (size_t)set->lim.max_connections + (lis->is_unix ? set->lim.unix_reserve : 0);
    if (set->stopping) {
        refuse(set, lis, fd, "the daemon is shutting down");
        return;
    }
    /* Taken first, then checked: two serving threads accepting at once
     * cannot both take the last place. */
    struct conn_shared *sh = set->shared;
    if (atomic_fetch_add(&sh->n_open, 1) >= cap) {
        atomic_fetch_sub(&sh->n_open, 1);
        snprintf(why, sizeof why, "too many connections (--max-connections %u%s)",
                 set->lim.max_connections, lis->is_unix ? " plus --unix-reserve" : "");
        refuse(set, lis, fd, why);
        return;
    }
    if (lis->need_token && atomic_fetch_add(&sh->n_unauthed, 1) >= set->lim.max_unauthenticated) {
        atomic_fetch_sub(&sh->n_unauthed, 1);
        atomic_fetch_sub(&sh->n_open, 1);
        set->stats->conn_refused_unauthenticated++;
        snprintf(why, sizeof why, "too many connections waiting to authenticate "
                 "(--max-unauthenticated %u)", set->lim.max_unauthenticated);
        refuse(set, lis, fd, why);
        return;
    }
    struct conn *c = calloc(1, sizeof *c + set->session_size);
    if (!c) {
        if (lis->need_token)
            atomic_fetch_sub(&sh->n_unauthed, 1);
        atomic_fetch_sub(&sh->n_open, 1);
        refuse(set, lis, fd, "out of memory");
        return;
    }
    c->set = set;
    c->lis = lis;
    c->refs = 1;                /* the handle */
    c->drained = true;
    int rc = lis->is_unix ? uv_pipe_init(set->loop, &c->u.pipe, 0)
                          : uv_tcp_init(set->loop, &c->u.tcp);
    if (rc < 0) {
        free(c);
        if (lis->need_token)
            atomic_fetch_sub(&sh->n_unauthed, 1);
        atomic_fetch_sub(&sh->n_open, 1);
        refuse(set, lis, fd, "cannot set up a connection");
        return;
    }
    c->u.h.data = c;
    set->n_alive++;
    /* From here on the handle exists: close, never free directly. */
    c->id = atomic_fetch_add(&sh->next_id, 1) + 1;
    c->next = set->all;
    if (set->all)
        set->all->prev = c;
    set->all = c;
    set->n_open++;              /* the shared count was taken above */
    set->stats->conn_current++;
    set->stats->conn_total++;
    c->connected_ns = c->last_active_ns = uv_hrtime();
    c->authed = !lis->need_token;
    if (!c->authed)
        set->stats->conn_unauthenticated++;

    rc = lis->is_unix ? uv_pipe_open(&c->u.pipe, fd) : uv_tcp_open(&c->u.tcp, fd);
    if (rc < 0) {
        /* The handle did not take the descriptor. */
        close(fd);
        log_debug(set->log, "accept on %s failed: %s", lis->name, uv_strerror(rc));
        conn_close(c, -1);
        return;
    }
    if (proto_decoder_create(&set->lim.proto, &c->dec) < 0) {
        log_error(set->log, "conn %llu: cannot create a decoder", (unsigned long long)c->id);
        conn_close(c, -1);
        return;
    }
    /* Without it small answers wait for delayed ACKs; failing to set it
     * only costs latency, so the connection goes on either way. */
    if (!lis->is_unix)
        (void)uv_tcp_nodelay(&c->u.tcp, 1);
    log_debug(set->log, "conn %llu: accepted on %s", (unsigned long long)c->id, lis->name);
    update_reading(c);
}

/* ---- idle ---------------------------------------------------------- */

static void on_sweep(uv_timer_t *t)
{
    struct conn_set *set = t->data;
    uint64_t now_ns = uv_hrtime(), idle_ns = (uint64_t)set->lim.idle_timeout_s * 1000000000u;
    uint64_t auth_ns = (uint64_t)set->lim.auth_timeout_s * 1000000000u;
    struct conn *c = set->all;
    while (c) {
        struct conn *next = c->next;
        /* Output stuck that long means a peer that stopped reading: the
         * same fate, counted as a slow reader. */
        if (!c->authed && auth_ns && now_ns - c->connected_ns >= auth_ns)
            conn_close(c, STATS_DROP_AUTH_TIMEOUT);
        else if (idle_ns && !c->inflight && now_ns - c->last_active_ns >= idle_ns)
            conn_close(c, c->writing || c->out_len ? STATS_DROP_SLOW_READER : STATS_DROP_IDLE);
        c = next;
    }
}

/* ---- the set -------------------------------------------------------- */

void conn_shared_init(struct conn_shared *sh)
{
    atomic_init(&sh->n_open, 0);
    atomic_init(&sh->n_unauthed, 0);
    atomic_init(&sh->input_bytes, 0);
    atomic_init(&sh->output_bytes, 0);
    atomic_init(&sh->next_id, 0);
}

void conn_set_init(struct conn_set *set, uv_loop_t *loop, const struct conn_limits *lim,
                   const struct logger *lg, struct stats *stats, struct conn_shared *shared,
                   const struct conn_callbacks *cb, void *data, size_t session_size)
{
    memset(set, 0, sizeof *set);
    conn_shared_init(&set->own);
    set->shared = shared ? shared : &set->own;
    set->loop = loop;
    set->log = lg;
    set->stats = stats;
    set->lim = *lim;
    set->cb = *cb;
    set->data = data;
    set->session_size = session_size;
    /* None of these can fail on an initialised loop: prepare, idle and
     * timer handles only fill in the struct; the starts fail only on a
     * NULL callback. */
    (void)uv_prepare_init(loop, &set->flush);
    (void)uv_idle_init(loop, &set->idle);
    (void)uv_timer_init(loop, &set->sweep);
    set->flush.data = set->idle.data = set->sweep.data = set;
    set->handles_open = true;
    (void)uv_prepare_start(&set->flush, on_flush);
    throttle_init(&set->drop_log, THROTTLE_DEFAULT_NS);
    throttle_init(&set->refuse_log, THROTTLE_DEFAULT_NS);
    throttle_init(&set->fd_log, THROTTLE_DEFAULT_NS);
    if (lim->idle_timeout_s || lim->auth_timeout_s) {
        unsigned shortest = lim->idle_timeout_s;
        if (lim->auth_timeout_s && (!shortest || lim->auth_timeout_s < shortest))
            shortest = lim->auth_timeout_s;
        uint64_t every = shortest < CONN_SWEEP_FAST_BELOW_S ? CONN_SWEEP_FAST_MS : CONN_SWEEP_MS;
        (void)uv_timer_start(&set->sweep, on_sweep, every, every);
    }
}

void conn_set_stop(struct conn_set *set)
{
    set->stopping = true;
    struct conn *c = set->all;
    while (c) {
        struct conn *next = c->next;
        conn_stop_reading(c);
        c = next;
    }
}

void conn_set_close_all(struct conn_set *set, int drop)
{
    struct conn *c = set->all;
    while (c) {
        struct conn *next = c->next;
        conn_close(c, drop);
        c = next;
    }
}

void conn_set_close(struct conn_set *set)
{
    if (!set->handles_open)
        return;
    set->handles_open = false;
    uv_close((uv_handle_t *)&set->flush, NULL);
    uv_close((uv_handle_t *)&set->idle, NULL);
    uv_close((uv_handle_t *)&set->sweep, NULL);
}
