/*
 * notify.h: what suitd tells systemd through sd_notify(3): READY=1,
 * RELOADING=1 (with MONOTONIC_USEC=), STOPPING=1, each with a STATUS= line
 * naming the ruleset served and the outcome of the last reload, which
 * `systemctl status suitd` shows:
 *
 *   serving microneedling 1.0.0 (aaf842cd8e00); last reload 2026-12-01
 *   23:00:00 refused: 3 test cases failed (see suitd test)
 *
 * Not under systemd (no NOTIFY_SOCKET) nothing is sent; built without
 * libsystemd, neither.  One struct notify per daemon, on the loop thread.
 */
#ifndef SUITD_NOTIFY_H
#define SUITD_NOTIFY_H

#include <stddef.h>
#include <time.h>

#include "proto.h"
#include "reload.h"

struct notify {
    /* The last reload: "2026-12-01 23:00:00 refused: ..."; "" before one.
     * Room for the time, a word and a whole error message. */
    char last[sizeof ((struct proto_error *)0)->message + 64];
};

void notify_init(struct notify *n);
/* Remembers a reload's outcome (decided at `when`, local time) for the
 * STATUS lines from now on. */
void notify_remember(struct notify *n, const struct reload_outcome *o, time_t when);
/* The STATUS= text: "[state; ]serving NAME VERSION (SHA12)[; last reload
 * ...]"; state may be NULL.  Returns snprintf's count. */
int notify_status(const struct notify *n, const char *state, const struct suit_ruleset_id *id,
                  char *buf, size_t len);

/* Each sends its state and the STATUS line for the ruleset id served. */
void notify_ready(const struct notify *n, const struct suit_ruleset_id *id);
void notify_reloading(const struct notify *n, const struct suit_ruleset_id *id);
void notify_stopping(const struct notify *n, const struct suit_ruleset_id *id);

#endif
