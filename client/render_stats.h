/*
 * render_stats.h: the daemon's `stats` result as readable text or in the
 * Prometheus text exposition format (version 0.0.4), for node_exporter's
 * textfile collector.  Pure functions of the result JSON.
 */
#ifndef RENDER_STATS_H
#define RENDER_STATS_H

#include <stdio.h>

struct json_t;

/* An indented tree of the counters. */
void stats_render_text(FILE *out, const struct json_t *stats);

/* Every number becomes a sample named suitd_<path> (path joined by '_',
 * invalid characters replaced by '_').  Maps keyed by method name
 * (requests, requests_by_method ...) give a `method` label, maps keyed by
 * error code (errors, errors_by_code ...) a `code` label, latency maps with
 * keys p50/p90/p99/p99.9 a `quantile` label; the ruleset identity becomes
 * suitd_ruleset_info{name,version,sha256} 1.  Counters (names with
 * total, refused, ok, failed, or under requests/errors/reloads) get the
 * _total suffix and TYPE counter; the rest are gauges.  Each family is
 * written once, with its # HELP and # TYPE lines, samples grouped.
 * Returns 0, or -1 on allocation failure. */
int stats_render_prometheus(FILE *out, const struct json_t *stats);

#endif
