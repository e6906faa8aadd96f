/*
 * report.h: the readable `suit check` report, rendered from the `assess`
 * result exactly as the protocol returns it (as JSON), so that it can be
 * tested from canned results without a daemon.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct json_t;

struct report_opts {
    bool color;      /* ANSI colour */
    bool explain;    /* print the rules that fired (result.trace) */
    time_t now;      /* "today", for the date a deferral ends */
};

/* Writes the report: verdict first (with the return date for a deferral),
 * findings grouped by severity (heaviest first), side effects, course plan
 * with costs, aftercare, missing facts, the rules that fired (explain),
 * then the ruleset identity and the decision-support line.  Returns 0, or
 * -1 when `result` is not an assess result (no verdict string). */
int report_render(FILE *out, const struct json_t *result, const struct report_opts *o);

/* The calendar date `days` after `now`, local time, as YYYY-MM-DD.
 * Returns 0, or -1 if it cannot be represented. */
int report_date_after(time_t now, long long days, char *buf, size_t n);

/* "$4,200": whole US dollars with thousands separators. */
void report_usd(long long v, char *buf, size_t n);

/* The ruleset line: "Ruleset: NAME VERSION (sha256 first 12)". */
void report_ruleset_line(FILE *out, const struct json_t *ruleset);

#endif
