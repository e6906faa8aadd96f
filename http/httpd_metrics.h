/*
 * httpd_metrics.h: the gateway's own counters, updated from every HTTP
 * thread (relaxed atomics: each counter is independent, and a scrape that
 * sees one a request ahead of another is still a valid snapshot), and
 * their Prometheus rendering.  suitd's own counters are added to /metrics
 * by proto_prom_stats, not here.
 *
 * Families (all prefixed suit_httpd_):
 *   requests_total{endpoint,status}           counter
 *   request_duration_seconds{endpoint}        histogram (_bucket{le}, _sum, _count)
 *   limits_tripped_total{limit}               counter, one label per limit setting
 *   connections_current, connections_total    gauge, counter
 *   suitd_connects_total                      counter: connections made to suitd
 *   suitd_errors_total{reason}                counter: calls to suitd that failed
 *   suitd_up                                  gauge: suitd answered this scrape
 *   build_info{version}, start_time_seconds   gauges
 *   cds_jwt_refusals_total{reason}            counter: CDS Hooks calls refused (401), by
 *                                             cds_jwt_reason_name
 *   cds_cards_total{indicator}                counter: cards answered, by indicator
 *   cds_unsatisfied_prefetch_total            counter: CDS Hooks calls answered 412
 *
 * Endpoints are the route table's names (plus "other" for paths no route
 * has), so the label set stays bounded whatever clients send.
 */
#ifndef HTTPD_METRICS_H
#define HTTPD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cds_jwt.h"

struct proto_prom;

/* Every limit that is counted when it trips; the label is the setting's
 * name. */
enum httpd_limit {
    HTTPD_LIMIT_MAX_BODY = 0,
    HTTPD_LIMIT_MAX_HEADER_SIZE,
    HTTPD_LIMIT_MAX_CONNECTIONS,
    HTTPD_LIMIT_MAX_CONNECTIONS_PER_IP,
    HTTPD_LIMIT_REQUEST_TIMEOUT,
    HTTPD_LIMIT_IDLE_TIMEOUT,
    HTTPD_LIMIT_COUNT
};
const char *httpd_limit_name(enum httpd_limit l);

/* Why a call to suitd failed (the label of suitd_errors_total). */
enum httpd_suitd_error {
    HTTPD_SUITD_UNREACHABLE = 0,    /* could not connect (or authenticate) */
    HTTPD_SUITD_TIMEOUT,            /* suitd's timeout error, or no answer in time */
    HTTPD_SUITD_OVERLOADED,         /* suitd's overloaded error */
    HTTPD_SUITD_CLOSED,             /* the connection broke during the call */
    HTTPD_SUITD_BAD_REPLY,          /* an answer that was not a valid response */
    HTTPD_SUITD_ERROR_COUNT
};

/* HTTP statuses counted one by one; any other status counts as "other". */
#define HTTPD_METRICS_N_STATUS 22
/* Histogram bucket upper bounds, in seconds (+Inf is implicit). */
#define HTTPD_METRICS_N_BUCKETS 14

struct httpd_endpoint_metrics {
    _Atomic uint64_t status[HTTPD_METRICS_N_STATUS + 1];
    _Atomic uint64_t bucket[HTTPD_METRICS_N_BUCKETS + 1];  /* not cumulative */
    _Atomic uint64_t sum_ns;
};

struct httpd_metrics {
    const char *const *endpoints;   /* names, owned by the caller */
    size_t n_endpoints;             /* the last one is "other" */
    struct httpd_endpoint_metrics *ep;
    _Atomic uint64_t limits[HTTPD_LIMIT_COUNT];
    _Atomic uint64_t suitd_errors[HTTPD_SUITD_ERROR_COUNT];
    _Atomic uint64_t suitd_connects;
    _Atomic uint64_t conn_current, conn_total;
    _Atomic uint64_t cds_jwt_refusals[CDS_JWT_REASON_COUNT];
    _Atomic uint64_t cds_cards[3];  /* info, warning, critical */
    _Atomic uint64_t cds_unsatisfied;
    double start_time;              /* Unix time */
};

/* endpoints: n names (the routes'), the last of which stands for every
 * path no route has.  Returns 0 or -ENOMEM. */
int httpd_metrics_init(struct httpd_metrics *m, const char *const *endpoints, size_t n);
void httpd_metrics_close(struct httpd_metrics *m);

void httpd_metrics_request(struct httpd_metrics *m, size_t endpoint, unsigned status,
                           uint64_t elapsed_ns);
void httpd_metrics_limit(struct httpd_metrics *m, enum httpd_limit l);
void httpd_metrics_suitd_error(struct httpd_metrics *m, enum httpd_suitd_error e);

void httpd_metrics_cds_refusal(struct httpd_metrics *m, enum cds_jwt_reason r);
/* indicator: "info", "warning" or "critical". */
void httpd_metrics_cds_card(struct httpd_metrics *m, const char *indicator);
void httpd_metrics_cds_unsatisfied(struct httpd_metrics *m);

/* Writes every family above into p; suitd_up is `suitd_up`. */
void httpd_metrics_render(const struct httpd_metrics *m, bool suitd_up, struct proto_prom *p);

#endif
