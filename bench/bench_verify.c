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

/* A daemon with a decision log adds the decision's id to each result (the
 * only thing the in-process pipeline cannot know): the reply is packed
 * again without that key before the comparison.  Returns 1 with the bytes
 * in out when there was one to drop, 0 when the reply is compared as it
 * came, -1 out of memory. */
static int drop_decision_id(const char *data, size_t len, msgpack_sbuffer *out)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int rc = 0;
    if (msgpack_unpack_next(&up, data, len, NULL) != MSGPACK_UNPACK_SUCCESS)
        goto done;
    const msgpack_object *o = &up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4 ||
        o->via.array.ptr[3].type != MSGPACK_OBJECT_MAP)
        goto done;
    const msgpack_object_map *m = &o->via.array.ptr[3].via.map;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (!(k->type == MSGPACK_OBJECT_STR && k->via.str.size == 11 &&
              !memcmp(k->via.str.ptr, "decision_id", 11)))
            keep++;
    }
    if (keep == m->size)
        goto done;
    out->size = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int bad = msgpack_pack_array(&pk, 4);
    for (uint32_t i = 0; i < 3; i++)
        bad |= msgpack_pack_object(&pk, o->via.array.ptr[i]);
    bad |= msgpack_pack_map(&pk, keep);
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 11 &&
            !memcmp(k->via.str.ptr, "decision_id", 11))
            continue;
        bad |= msgpack_pack_object(&pk, *k);
        bad |= msgpack_pack_object(&pk, m->ptr[i].val);
    }
    rc = bad ? -1 : 1;
done:
    msgpack_unpacked_destroy(&up);
    return rc;
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
    msgpack_sbuffer daemon, local, stripped;
    msgpack_sbuffer_init(&daemon);
    msgpack_sbuffer_init(&local);
    msgpack_sbuffer_init(&stripped);
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
            const char *dd = daemon.data;
            int sr = drop_decision_id(daemon.data, dlen, &stripped);
            if (sr < 0) {
                snprintf(msg, msglen, "out of memory");
                rc = -1;
                free(req);
                break;
            }
            if (sr == 1) {
                dd = stripped.data;
                dlen = stripped.size;
            }
            if (dlen == local.size && !memcmp(dd, local.data, dlen)) {
                res->same++;
            } else {
                size_t k = 0;
                while (k < dlen && k < local.size && dd[k] == local.data[k])
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
    msgpack_sbuffer_destroy(&stripped);
    rpc_client_free(c);
    return rc;
}
