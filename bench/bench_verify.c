/*
 * bench_verify.c: see bench_verify.h.
 */
#include "bench_verify.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_load.h"
#include "rpc_client.h"

/* How long the daemon may take to answer one request. */
#define VERIFY_TIMEOUT_MS 30000

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one whole reply frame into buf (its exact bytes: *len). */
static int read_frame(int fd, msgpack_sbuffer *buf, size_t *len, char *msg, size_t msglen)
{
    buf->size = 0;
    for (;;) {
        if (buf->size) {
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            size_t off = 0;
            msgpack_unpack_return r = msgpack_unpack_next(&up, buf->data, buf->size, &off);
            msgpack_unpacked_destroy(&up);
            if (r == MSGPACK_UNPACK_SUCCESS || r == MSGPACK_UNPACK_EXTRA_BYTES) {
                *len = off;
                return 0;
            }
            if (r != MSGPACK_UNPACK_CONTINUE) {
                snprintf(msg, msglen, "the daemon sent bytes that are not MessagePack");
                return -1;
            }
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, VERIFY_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            snprintf(msg, msglen, "no answer within %d ms", VERIFY_TIMEOUT_MS);
            return -1;
        }
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(msg, msglen, "the daemon closed the connection");
            return -1;
        }
        if (msgpack_sbuffer_write(buf, chunk, (size_t)n) < 0) {
            snprintf(msg, msglen, "out of memory");
            return -1;
        }
    }
}

int bench_verify_run(const char *addr, const char *token, struct bench_inproc *ip,
                     const struct bench_mix *mix, FILE *out, struct bench_verify_result *res,
                     char *msg, size_t msglen)
{
    memset(res, 0, sizeof *res);
    struct proto_error err;
    proto_error_init(&err);
    struct rpc_client *c = NULL;
    int rc = bench_connect(addr, token, &c, &err);
    if (rc < 0) {
        snprintf(msg, msglen, "cannot connect to %s: %s", addr, err.message);
        proto_error_close(&err);
        return rc;
    }
    int fd = rpc_client_fd(c);
    msgpack_sbuffer daemon, local;
    msgpack_sbuffer_init(&daemon);
    msgpack_sbuffer_init(&local);
    for (size_t i = 0; i < mix->len && rc == 0; i++) {
        const struct bench_request *q = &mix->reqs[i];
        char *req = malloc(q->len);
        if (!req) {
            snprintf(msg, msglen, "out of memory");
            rc = -1;
            break;
        }
        memcpy(req, q->bytes, q->len);
        bench_patch_msgid(req, (uint32_t)(i + 1));
        size_t dlen = 0;
        if (write_all(fd, req, q->len) < 0) {
            snprintf(msg, msglen, "cannot send request %zu: %s", i + 1, strerror(errno));
            rc = -1;
        } else if (read_frame(fd, &daemon, &dlen, msg, msglen) < 0) {
            rc = -1;
        }
        if (rc == 0) {
            local.size = 0;
            (void)bench_inproc_answer(ip, req, q->len, &local, &err, NULL);
            proto_error_close(&err);
            if (dlen == local.size && !memcmp(daemon.data, local.data, dlen)) {
                res->same++;
            } else {
                size_t k = 0;
                while (k < dlen && k < local.size && daemon.data[k] == local.data[k])
                    k++;
                fprintf(out, "differ: %s: daemon %zu bytes, in-process %zu bytes, first "
                        "difference at byte %zu\n", q->name, dlen, local.size, k);
                res->differ++;
            }
        }
        free(req);
    }
    msgpack_sbuffer_destroy(&daemon);
    msgpack_sbuffer_destroy(&local);
    rpc_client_free(c);
    return rc;
}
