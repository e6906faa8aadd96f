/*
 * dispatch.h: what the daemon does with one decoded frame: classify it,
 * check authentication and admin rights, and either answer at once on the
 * loop (ping, stats, errors) or hand the work to a worker (assess, ruleset)
 * or to the reload (reload), answering when it comes back.  Also owns
 * request deadlines.
 */
#ifndef SUITD_DISPATCH_H
#define SUITD_DISPATCH_H

#include <msgpack.h>
#include <stdint.h>

struct conn;
struct server;

void dispatch_frame(struct conn *c, const msgpack_object *obj);
/* Answers [1, msgid, {code, message}, nil] on c and counts the error. */
void dispatch_reply_error(struct conn *c, uint32_t msgid, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The connection closed: cancels its requests still waiting for a worker
 * (they come back skipped and are freed unanswered). */
void dispatch_conn_closed(struct conn *c);
/* Timer callback body: answers every request past its deadline. */
void dispatch_expire(struct server *srv);

#endif
