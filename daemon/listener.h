/*
 * listener.h: the sockets suitd accepts clients on: its Unix socket and
 * TCP addresses, or the sockets systemd passed (socket activation).
 *
 * A listener accepts its clients itself (accept4 on a uv_poll of the
 * listening socket, not uv_listen) and hands each descriptor to the
 * callback its owner set; it knows nothing of connections.  It does so
 * because libuv, out of descriptors, accepts and closes the waiting
 * clients itself and tells nobody.  Instead suitd keeps a reserve
 * descriptor (as nginx and Redis do): on EMFILE or ENFILE it closes the
 * reserve, accepts every waiting client and hands each to the owner marked
 * out_of_fds (who answers `overloaded`, counts and closes it), then opens
 * the reserve again.  The Unix socket allows admin methods; a TCP listener
 * needs the token when the daemon has one.
 */
#ifndef SUITD_LISTENER_H
#define SUITD_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "log.h"

/* A Unix or TCP stream handle, as a listener or a connection holds one. */
union listener_stream {
    uv_handle_t h;
    uv_stream_t s;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
};

struct listener;
/* A client accepted on lis: fd is the owner's to use or close.  With
 * out_of_fds the process has no descriptor to spare (fd is the reserve's
 * slot): refuse it and close fd before returning. */
typedef void (*listener_cb)(struct listener *lis, int fd, bool out_of_fds);

struct listener {
    union listener_stream u;
    uv_poll_t poll;             /* readable: clients are waiting */
    bool poll_open;
    int fd;                     /* the listening socket (owned by u) */
    struct listeners *set;
    bool is_unix;               /* admin methods allowed */
    bool need_token;            /* first request must be `auth` */
    bool open;
    char *unlink_path;          /* socket file we created, removed at exit */
    char name[300];             /* "unix:/path" or "tcp:host:port" */
};

struct listeners {
    uv_loop_t *loop;
    const struct logger *log;
    listener_cb on_client;
    void *data;                 /* the owner's */
    struct listener *v;         /* allocated once: libuv handles must not move */
    size_t n;
    uint64_t last_accept_warn_ns;
    int reserve_fd;             /* -1 while it is in use or could not be opened */
    uv_timer_t resume;          /* polls again after an accept error without a reserve */
    bool resume_open;
    bool closed;
};

/* Binds the Unix socket and the TCP addresses of cfg (or takes systemd's
 * sockets), logging each "suitd: listening on ..." line.  have_token says
 * whether the daemon has a token: without one a non-loopback address is
 * refused, with one every TCP listener requires it.  Returns 0, or -1
 * after logging why; either way listeners_close and listeners_free undo
 * what was done. */
int listeners_open(struct listeners *ls, uv_loop_t *loop, const struct config *cfg,
                   bool have_token, const struct logger *lg, listener_cb on_client, void *data);
/* Gives the socket files suitd created to uid:gid (before dropping root,
 * so that the daemon's user keeps its 0660 access and can remove them). */
void listeners_chown(struct listeners *ls, uid_t uid, gid_t gid);
/* Stops accepting and removes the socket files; the handles finish
 * closing when the loop runs. */
void listeners_close(struct listeners *ls);
/* Frees the listeners once their handles have closed. */
void listeners_free(struct listeners *ls);

#endif
