/*
 * throttle.h: at most one log line per interval for an event that an
 * attacker can repeat at will (a wrong token, a refused connection, an
 * exhausted descriptor table), with the number of lines held back said in
 * the next one that is written: the event stays visible, the log stays
 * readable.  A plain value owned by whoever logs; loop thread only.
 */
#ifndef SUITD_THROTTLE_H
#define SUITD_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* The interval suitd uses for every throttled line. */
#define THROTTLE_DEFAULT_NS 1000000000u

struct throttle {
    uint64_t interval_ns;
    uint64_t last_ns;
    bool started;
    uint64_t suppressed;        /* events since the last line written */
};

void throttle_init(struct throttle *t, uint64_t interval_ns);
/* true: write the line now (*held_back is how many were skipped since the
 * last one); false: skip it (counted). */
bool throttle_allow(struct throttle *t, uint64_t now_ns, uint64_t *held_back);

#endif
