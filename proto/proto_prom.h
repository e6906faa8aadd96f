/*
 * proto_prom.h: the Prometheus text exposition format (version 0.0.4), and
 * the one translation of suitd's `stats` result into it.  Shared by
 * `suit stats --prometheus` (node_exporter's textfile collector) and
 * suit-httpd's GET /metrics, so both print the same names by the same
 * rules.  Pure functions writing into a growing buffer: no I/O.
 *
 *   struct proto_prom p;
 *   proto_prom_init(&p);
 *   proto_prom_family(&p, "x_total", "counter", "Things.");
 *   proto_prom_sample(&p, "x_total", (const char *[]){"kind", "a", NULL}, 3);
 *   proto_prom_stats(&p, stats);            (suitd's counters)
 *   if (!p.failed) write(fd, p.buf, p.len);
 *   proto_prom_free(&p);
 *
 * The output passes `promtool check metrics`: each family is declared once
 * (# HELP, # TYPE) with its samples together, counters end in _total,
 * latency is a summary in seconds.
 */
#ifndef PROTO_PROM_H
#define PROTO_PROM_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;

struct proto_prom {
    char *buf;          /* the text so far, NUL-terminated (NULL when empty) */
    size_t len, cap;
    bool failed;        /* an allocation failed: the text is incomplete */
};

void proto_prom_init(struct proto_prom *p);
void proto_prom_free(struct proto_prom *p);

/* "# HELP name help" and "# TYPE name type"; type is counter, gauge,
 * summary or histogram.  The caller writes each family once. */
void proto_prom_family(struct proto_prom *p, const char *name, const char *type,
                       const char *help);
/* "name{l1="v1",...} value".  labels is NULL or a NULL-terminated list of
 * label name, value pairs; values are escaped as the format asks
 * (backslash, double quote, newline). */
void proto_prom_sample(struct proto_prom *p, const char *name, const char *const *labels,
                       double value);

/* suitd's `stats` result (as JSON: proto_msgpack_to_json of the result)
 * under fixed names:
 *
 *   uptime_s               suitd_uptime_seconds                 gauge
 *   connections.current    suitd_connections_current            gauge
 *   connections.total      suitd_connections_total              counter
 *   connections.refused    suitd_connections_refused_total      counter
 *   connections.unauthenticated  suitd_connections_unauthenticated gauge
 *   connections.refused_unauthenticated
 *                          suitd_connections_refused_unauthenticated_total counter
 *   connections.refused_descriptors
 *                          suitd_connections_refused_descriptors_total counter
 *   requests{K: n}         suitd_requests_total{method="K"}     counter
 *   errors{K: n}           suitd_errors_total{code="K"}         counter
 *   dropped{K: n}          suitd_dropped_total{reason="K"}      counter
 *   reloads{K: n}          suitd_reloads_total{result="K"}      counter
 *   latency_ms{pNN, count} suitd_latency_seconds{quantile}      summary (_count)
 *   queue_depth            suitd_queue_depth                    gauge
 *   workers                suitd_workers                        gauge
 *   ruleset{name,...}      suitd_ruleset_info{name,version,sha256} 1
 *   version                suitd_version_info{version} 1
 *
 * A labelled map follows whatever keys the daemon sends: the label value
 * is the key's text (an error code "-32602" or a name "invalid_params"
 * alike), so a new drop reason or error name needs no change here.  A key
 * this table does not know still becomes suitd_<path> (joined by '_',
 * invalid characters replaced), a counter with _total when its name says
 * it counts (total, refused, ok, failed, requests, errors ...), else a
 * gauge; strings and lists there are skipped.  Returns 0, or -1 when stats
 * is not an object or memory ran out (p->failed). */
int proto_prom_stats(struct proto_prom *p, const struct json_t *stats);

#endif
