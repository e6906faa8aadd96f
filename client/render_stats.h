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

/* The Prometheus text of proto_prom_stats (proto/proto_prom.h: the names
 * and rules, shared with suit-httpd's /metrics).  Returns 0, or -1 on
 * allocation failure or a failed write. */
int stats_render_prometheus(FILE *out, const struct json_t *stats);

#endif
