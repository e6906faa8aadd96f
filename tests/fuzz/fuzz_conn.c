/*
 * libFuzzer harness: the daemon's connection layer and dispatch, driven by
 * a byte stream from a fake client.  One real server (server_init with one
 * serving thread and the bundled ruleset, no listeners) lives for the
 * whole run; its serving thread's loop is driven here, on the harness's
 * thread (server_start is not called); each input becomes one connection
 * on one end of a socketpair (the fake transport) handed to that loop's
 * conn_accept as the serving thread does.  The harness
 * writes the stream, half-closes, reads every answer and runs the loop
 * until the connection is freed.
 *
 * Input: 1 byte (bit 0: the connection is on a listener that needs the
 * token "fuzz-token", else on one that needs none; bit 1: the stream is
 * written in 7-byte pieces with a loop turn between them, else at once),
 * then the stream.  Checks: no crash, leak or UB; the connection always
 * ends (the daemon closes it after the half-close); every answer is a
 * well-formed MessagePack-RPC response.  Admin methods are out of reach
 * (neither fake listener is the Unix socket), so a `reload` per input does
 * not slow the run down.
 *
 * The ruleset directory comes from $SUITD_RULES, else the source tree's
 * rules/ (compiled in as SUITD_FUZZ_RULES).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "listener.h"
#include "proto.h"
#include "server.h"

#define FUZZ_TOKEN "fuzz-token"
/* Loop turns one input may take before the harness calls it a hang. */
#define FUZZ_MAX_TURNS 200000

static uv_loop_t fuzz_loop;
static struct config fuzz_cfg;
static struct logger fuzz_log;
static struct server fuzz_srv;
static struct listener fuzz_open_lis, fuzz_token_lis;
static char fuzz_dir[] = "/tmp/fuzz-conn-XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    const char *rules = getenv("SUITD_RULES");
    if (!rules || !*rules)
        rules = SUITD_FUZZ_RULES;
    if (!mkdtemp(fuzz_dir))
        abort();
    char tok[sizeof fuzz_dir + 16];
    snprintf(tok, sizeof tok, "%s/token", fuzz_dir);
    FILE *f = fopen(tok, "w");
    if (!f || fputs(FUZZ_TOKEN "\n", f) < 0 || fclose(f) != 0)
        abort();
    char *args[] = {"--rules", (char *)rules, "--socket", "none", "--listen", "none",
                    "--workers", "1", "--token-file", tok, "--request-timeout", "2000",
                    "--rule-deadline", "1000", "--log-level", "error", NULL};
    char err[512];
    if (config_load(&fuzz_cfg, (int)(sizeof args / sizeof args[0]) - 1, args, err,
                    sizeof err) != 0) {
        fprintf(stderr, "fuzz_conn: config: %s\n", err);
        abort();
    }
    log_init(&fuzz_log, fuzz_cfg.log_level, false);
    struct ruleset *rs = NULL;
    struct proto_error perr;
    proto_error_init(&perr);
    if (ruleset_load(rules, NULL, &rs, &perr) != 0) {
        fprintf(stderr, "fuzz_conn: cannot load %s: %s\n", rules, perr.message);
        abort();
    }
    proto_error_close(&perr);
    if (uv_loop_init(&fuzz_loop) < 0 ||
        server_init(&fuzz_srv, &fuzz_loop, &fuzz_cfg, &fuzz_log, rs) != 0 ||
        fuzz_srv.n_shards != 1)
        abort();
    ruleset_unref(rs);
    snprintf(fuzz_open_lis.name, sizeof fuzz_open_lis.name, "fuzz:open");
    snprintf(fuzz_token_lis.name, sizeof fuzz_token_lis.name, "fuzz:token");
    fuzz_token_lis.need_token = true;
    return 0;
}

/* Every answer must be a response frame: [1, msgid, error, result]. */
static void check_answers(struct proto_decoder *dec)
{
    msgpack_object obj;
    int rc;
    while ((rc = proto_decoder_next(dec, &obj)) == 1) {
        struct proto_message m;
        struct proto_error err;
        proto_error_init(&err);
        if (proto_message_parse(&obj, &m, &err) != 0 || m.type != PROTO_RESPONSE) {
            fprintf(stderr, "fuzz_conn: the daemon sent a frame that is not a response: %s\n",
                    err.message);
            abort();
        }
        proto_error_close(&err);
    }
    if (rc < 0) {
        fprintf(stderr, "fuzz_conn: the daemon sent bytes that do not decode: %s\n",
                proto_decoder_error(dec));
        abort();
    }
}

/* Reads what the daemon wrote; returns 1 at EOF (the daemon closed). */
static int drain(int fd, struct proto_decoder *dec)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (proto_decoder_feed(dec, buf, (size_t)n) != 0)
                abort();
            check_answers(dec);
            continue;
        }
        if (n == 0)
            return 1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return 1;       /* a reset: closed too */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct listener *lis = (data[0] & 1) ? &fuzz_token_lis : &fuzz_open_lis;
    bool pieces = (data[0] & 2) != 0;
    data++;
    size--;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    struct shard *sh = &fuzz_srv.shards[0];
    conn_accept(&sh->conns, lis, sv[0], false);

    struct proto_limits lim;
    proto_limits_default(&lim);
    lim.max_message = 64u * 1024u * 1024u;
    struct proto_decoder *dec = NULL;
    if (proto_decoder_create(&lim, &dec) != 0)
        abort();

    size_t sent = 0;
    bool closed = false, half_closed = false;
    for (int turn = 0; turn < FUZZ_MAX_TURNS && !closed; turn++) {
        if (sent < size) {
            size_t want = pieces ? 7 : size - sent;
            if (want > size - sent)
                want = size - sent;
            ssize_t n = write(sv[1], data + sent, want);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sent = size;    /* the daemon closed already */
        }
        if (sent == size && !half_closed) {
            shutdown(sv[1], SHUT_WR);
            half_closed = true;
        }
        uv_run(&sh->loop, UV_RUN_NOWAIT);
        uv_run(&fuzz_loop, UV_RUN_NOWAIT);
        closed = drain(sv[1], dec) == 1;
        if (!closed && turn > 1000)
            usleep(100);    /* do not spin */
    }
    if (!closed) {
        fprintf(stderr, "fuzz_conn: the connection did not end after the half-close\n");
        abort();
    }
    close(sv[1]);
    /* Let the close callbacks and the last references go. */
    for (int i = 0; i < FUZZ_MAX_TURNS && (sh->conns.n_alive || runner_waiting(&sh->runner));
         i++) {
        uv_run(&sh->loop, UV_RUN_NOWAIT);
        uv_run(&fuzz_loop, UV_RUN_NOWAIT);
        if (i > 1000)
            usleep(100);
    }
    for (int i = 0; i < 4; i++) {
        uv_run(&sh->loop, UV_RUN_NOWAIT);
        uv_run(&fuzz_loop, UV_RUN_NOWAIT);
    }
    proto_decoder_free(dec);
    return 0;
}
