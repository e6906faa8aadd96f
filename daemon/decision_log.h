/*
 * decision_log.h: the optional audit trail (--decision-log FILE), one JSON
 * line per assessment:
 *
 *   {"time":"2026-01-02T03:04:05.678Z","msgid":7,"conn":12,
 *    "ruleset":"<sha256>","policy":"clinic-a","policy_sha256":"<sha256>",
 *    "verdict":"defer","findings":["..."],
 *    "latency_ms":1.234}
 *
 * It holds no patient facts: only what the daemon concluded and when.
 * Written on the loop thread; each line is flushed so a crash loses none.
 */
#ifndef SUITD_DECISION_LOG_H
#define SUITD_DECISION_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "suit_types.h"

struct decision_log {
    FILE *f;
    char *path;
};

/* Opens (appends to) path; -errno on failure. */
int decision_log_open(struct decision_log *d, const char *path);
void decision_log_close(struct decision_log *d);
/* Error results (code != 0) are logged with "error": code and no verdict. */
int decision_log_write(struct decision_log *d, uint64_t conn_id, uint32_t msgid,
                       const struct suit_result *r, int error_code, double latency_ms);

#endif
