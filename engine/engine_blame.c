/*
 * engine_blame.c: which rule to blame when a run does not settle (issue 12:
 * "a rule that can loop").  A rule author told only "firing cap of 10000
 * rule firings reached" has to bisect the ruleset; the error names the rule
 * instead, in its message and its details (the error data).
 *
 *   firing cap reached, activations left: the rules that fired most.  When
 *     the run was watched (explain, the case runner's coverage) the whole
 *     trace is counted; else ENG_BLAME_SAMPLE more firings are run with the
 *     watch on and counted.  Only a run that has already failed pays this,
 *     never one that settles: no per-firing hook on the hot path.
 *   deadline passed: the rule that was executing when the periodic check
 *     saw the deadline (a (while ...) in an action), recorded then; if none
 *     was (the time went between firings, or in a left-hand side), the next
 *     activation on the agenda.
 */
#include <string.h>

#include <clips/clips.h>

#include "engine_internal.h"

/* Firings watched to find a loop's rule when the run was not watched: a
 * loop of a few rules shows in far fewer; 1000 firings cost about 2 ms
 * (1.3 us each plus the trace line). */
#define ENG_BLAME_SAMPLE 1000

void eng_blame_running(void *env, struct eng_capture *cap)
{
    if (cap->culprit[0])
        return;
    struct defrule *r = EngineData(env)->ExecutingRule;
    const char *name = r ? EnvGetDefruleName(env, r) : NULL;
    if (name)
        snprintf(cap->culprit, sizeof cap->culprit, "%s", name);
}

/* The most frequent rule name of "FIRE    n rule: f-1,..." lines. */
static void count_trace(const char *trace, struct eng_blame *b)
{
    struct {
        char name[sizeof b->rule];
        unsigned n;
    } seen[32];
    size_t n_seen = 0;
    b->fired = b->of = 0;
    for (const char *p = trace; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *q = p + 4, *end = p + len;
        if (len > 4 && !strncmp(p, "FIRE", 4)) {
            while (q < end && (*q == ' ' || (*q >= '0' && *q <= '9')))
                q++;
            const char *name = q;
            while (q < end && *q != ' ' && !(*q == ':' && (q + 1 == end || q[1] != ':')))
                q += (*q == ':' && q[1] == ':') ? 2 : 1;
            size_t nl = (size_t)(q - name);
            if (nl && nl < sizeof b->rule) {
                size_t k = 0;
                while (k < n_seen && (strlen(seen[k].name) != nl ||
                                      strncmp(seen[k].name, name, nl)))
                    k++;
                if (k == n_seen && n_seen < sizeof seen / sizeof seen[0]) {
                    memcpy(seen[k].name, name, nl);
                    seen[k].name[nl] = '\0';
                    seen[k].n = 0;
                    n_seen++;
                }
                if (k < n_seen)
                    seen[k].n++;
                b->of++;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    for (size_t k = 0; k < n_seen; k++)
        if (seen[k].n > b->fired) {
            b->fired = seen[k].n;
            memcpy(b->rule, seen[k].name, sizeof b->rule);
        }
}

int eng_blame(void *env, struct eng_capture *cap, bool cap_reached, struct eng_blame *b)
{
    memset(b, 0, sizeof *b);
    if (!cap_reached) {
        if (cap->culprit[0]) {
            snprintf(b->rule, sizeof b->rule, "%s", cap->culprit);
            b->running = true;
            return 0;
        }
        void *act = EnvGetNextActivation(env, NULL);
        const char *name = act ? EnvGetActivationName(env, act) : NULL;
        if (!name)
            return -1;
        snprintf(b->rule, sizeof b->rule, "%s", name);
        b->next = true;
        return 0;
    }
    if (!cap->trace.len) {
        /* watch a sample of what the loop keeps doing */
        SetHaltExecution(env, FALSE);
        EnvSetHaltRules(env, FALSE);
        EnvWatch(env, "rules");
        EnvRun(env, ENG_BLAME_SAMPLE);
        EnvUnwatch(env, "rules");
        SetHaltExecution(env, FALSE);
        EnvSetHaltRules(env, FALSE);
        b->sampled = true;
    }
    count_trace(cap->trace.data, b);
    return b->fired ? 0 : -1;
}

void eng_blame_report(const struct ruleset *rs, const struct eng_blame *b,
                      struct proto_error *err)
{
    const char *file = NULL;
    long line = 0;
    const char *bare = strstr(b->rule, "::") ? strstr(b->rule, "::") + 2 : b->rule;
    for (size_t i = 0; rs && i < rs->n_files && !line; i++)
        if ((line = eng_construct_line(rs->files[i].text, "defrule", bare)))
            file = rs->files[i].name;
    char where[300] = "";
    if (file)
        snprintf(where, sizeof where, " (%s:%ld)", file, line);
    char said[200];
    if (b->running)
        snprintf(said, sizeof said, "was running when the deadline passed");
    else if (b->next)
        snprintf(said, sizeof said, "was the next to fire when the deadline passed");
    else
        snprintf(said, sizeof said, "fired %u of the %s%u firings", b->fired,
                 b->sampled ? "next " : "", b->of);
    size_t len = strlen(err->message);
    snprintf(err->message + len, sizeof err->message - len, "; rule %s %s", bare, said);
    proto_error_add_detail(err, "rule %s%s %s", bare, where, said);
}
