/*
 * throttle.c: see throttle.h.
 */
#include "throttle.h"

void throttle_init(struct throttle *t, uint64_t interval_ns)
{
    t->interval_ns = interval_ns;
    t->last_ns = 0;
    t->started = false;
    t->suppressed = 0;
}

bool throttle_allow(struct throttle *t, uint64_t now_ns, uint64_t *held_back)
{
    if (t->started && now_ns - t->last_ns < t->interval_ns) {
        t->suppressed++;
        return false;
    }
    t->started = true;
    t->last_ns = now_ns;
    *held_back = t->suppressed;
    t->suppressed = 0;
    return true;
}
