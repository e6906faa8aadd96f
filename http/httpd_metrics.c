/*
 * httpd_metrics.c: see httpd_metrics.h.
 */
#include "httpd_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto_prom.h"

static const char *const httpd_limit_names[HTTPD_LIMIT_COUNT] = {
    "max_body", "max_header_size", "max_connections", "max_connections_per_ip",
    "request_timeout", "idle_timeout",
};

static const char *const httpd_suitd_error_names[HTTPD_SUITD_ERROR_COUNT] = {
    "unreachable", "timeout", "overloaded", "closed", "bad_reply",
};

/* Every status the gateway or libmicrohttpd sends. */
static const unsigned httpd_statuses[HTTPD_METRICS_N_STATUS] = {
    200, 204, 304, 400, 401, 403, 404, 405, 408, 411, 412,
    413, 414, 415, 417, 431, 500, 501, 502, 503, 504, 505,
};

/* From half a millisecond (a ping through the gateway on one machine) to
 * ten seconds (past suitd's own deadline): where an answer's time says
 * something. */
static const double httpd_buckets[HTTPD_METRICS_N_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

const char *httpd_limit_name(enum httpd_limit l)
{
    return (unsigned)l < HTTPD_LIMIT_COUNT ? httpd_limit_names[l] : "unknown";
}

int httpd_metrics_init(struct httpd_metrics *m, const char *const *endpoints, size_t n)
{
    *m = (struct httpd_metrics){.endpoints = endpoints, .n_endpoints = n};
    m->ep = calloc(n ? n : 1, sizeof *m->ep);
    if (!m->ep)
        return -ENOMEM;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return 0;
}

void httpd_metrics_close(struct httpd_metrics *m)
{
    free(m->ep);
    m->ep = NULL;
}

static void httpd_count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t httpd_read(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void httpd_metrics_request(struct httpd_metrics *m, size_t endpoint, unsigned status,
                           uint64_t elapsed_ns)
{
    if (endpoint >= m->n_endpoints)
        endpoint = m->n_endpoints - 1;
    struct httpd_endpoint_metrics *e = &m->ep[endpoint];
    size_t s = HTTPD_METRICS_N_STATUS;
    for (size_t i = 0; i < HTTPD_METRICS_N_STATUS; i++)
        if (httpd_statuses[i] == status)
            s = i;
    httpd_count(&e->status[s], 1);
    double secs = (double)elapsed_ns / 1e9;
    size_t b = 0;
    while (b < HTTPD_METRICS_N_BUCKETS && secs > httpd_buckets[b])
        b++;
    httpd_count(&e->bucket[b], 1);
    httpd_count(&e->sum_ns, elapsed_ns);
}

static const char *const httpd_cds_indicators[3] = {"info", "warning", "critical"};

void httpd_metrics_cds_refusal(struct httpd_metrics *m, enum cds_jwt_reason r)
{
    if ((unsigned)r < CDS_JWT_REASON_COUNT)
        httpd_count(&m->cds_jwt_refusals[r], 1);
}

void httpd_metrics_cds_card(struct httpd_metrics *m, const char *indicator)
{
    for (size_t i = 0; i < 3; i++)
        if (!strcmp(indicator, httpd_cds_indicators[i]))
            httpd_count(&m->cds_cards[i], 1);
}

void httpd_metrics_cds_unsatisfied(struct httpd_metrics *m)
{
    httpd_count(&m->cds_unsatisfied, 1);
}

void httpd_metrics_limit(struct httpd_metrics *m, enum httpd_limit l)
{
    if ((unsigned)l < HTTPD_LIMIT_COUNT)
        httpd_count(&m->limits[l], 1);
}

void httpd_metrics_suitd_error(struct httpd_metrics *m, enum httpd_suitd_error e)
{
    if ((unsigned)e < HTTPD_SUITD_ERROR_COUNT)
        httpd_count(&m->suitd_errors[e], 1);
}

void httpd_metrics_render(const struct httpd_metrics *m, bool suitd_up, struct proto_prom *p)
{
    proto_prom_family(p, "suit_httpd_build_info", "gauge",
                      "The gateway's version; the value is always 1.");
    proto_prom_sample(p, "suit_httpd_build_info", (const char *const[]){"version", SUITD_VERSION, NULL}, 1);
    proto_prom_family(p, "suit_httpd_start_time_seconds", "gauge",
                      "When the gateway started, in seconds since the Unix epoch.");
    proto_prom_sample(p, "suit_httpd_start_time_seconds", NULL, m->start_time);

    proto_prom_family(p, "suit_httpd_requests_total", "counter",
                      "HTTP requests answered, by endpoint and status.");
    for (size_t i = 0; i < m->n_endpoints; i++)
        for (size_t s = 0; s <= HTTPD_METRICS_N_STATUS; s++) {
            uint64_t n = httpd_read(&m->ep[i].status[s]);
            if (!n)
                continue;
            char code[16];
            if (s < HTTPD_METRICS_N_STATUS)
                snprintf(code, sizeof code, "%u", httpd_statuses[s]);
            else
                snprintf(code, sizeof code, "other");
            proto_prom_sample(p, "suit_httpd_requests_total",
                              (const char *const[]){"endpoint", m->endpoints[i], "status", code, NULL},
                              (double)n);
        }

    proto_prom_family(p, "suit_httpd_request_duration_seconds", "histogram",
                      "Time from the request line to the end of the answer, by endpoint.");
    for (size_t i = 0; i < m->n_endpoints; i++) {
        const struct httpd_endpoint_metrics *e = &m->ep[i];
        const char *ep = m->endpoints[i];
        uint64_t cum = 0;
        for (size_t b = 0; b <= HTTPD_METRICS_N_BUCKETS; b++) {
            char le[32];
            cum += httpd_read(&e->bucket[b]);
            if (b < HTTPD_METRICS_N_BUCKETS)
                snprintf(le, sizeof le, "%g", httpd_buckets[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            proto_prom_sample(p, "suit_httpd_request_duration_seconds_bucket",
                              (const char *const[]){"endpoint", ep, "le", le, NULL}, (double)cum);
        }
        proto_prom_sample(p, "suit_httpd_request_duration_seconds_sum",
                          (const char *const[]){"endpoint", ep, NULL},
                          (double)httpd_read(&e->sum_ns) / 1e9);
        /* _count is the +Inf bucket's value, read once above: the two may
         * not disagree even while requests finish during the scrape. */
        proto_prom_sample(p, "suit_httpd_request_duration_seconds_count",
                          (const char *const[]){"endpoint", ep, NULL}, (double)cum);
    }

    proto_prom_family(p, "suit_httpd_limits_tripped_total", "counter",
                      "Requests or connections refused or closed by a limit, by the setting "
                      "that sets it.");
    for (size_t l = 0; l < HTTPD_LIMIT_COUNT; l++)
        proto_prom_sample(p, "suit_httpd_limits_tripped_total",
                          (const char *const[]){"limit", httpd_limit_names[l], NULL},
                          (double)httpd_read(&m->limits[l]));

    proto_prom_family(p, "suit_httpd_connections_current", "gauge",
                      "HTTP connections open now.");
    proto_prom_sample(p, "suit_httpd_connections_current", NULL,
                      (double)httpd_read(&m->conn_current));
    proto_prom_family(p, "suit_httpd_connections_total", "counter",
                      "HTTP connections accepted since the gateway started.");
    proto_prom_sample(p, "suit_httpd_connections_total", NULL,
                      (double)httpd_read(&m->conn_total));

    proto_prom_family(p, "suit_httpd_suitd_connects_total", "counter",
                      "Connections the gateway opened to suitd (one per HTTP thread, again "
                      "after each failure).");
    proto_prom_sample(p, "suit_httpd_suitd_connects_total", NULL,
                      (double)httpd_read(&m->suitd_connects));
    proto_prom_family(p, "suit_httpd_suitd_errors_total", "counter",
                      "Calls to suitd that failed, by reason.");
    for (size_t e = 0; e < HTTPD_SUITD_ERROR_COUNT; e++)
        proto_prom_sample(p, "suit_httpd_suitd_errors_total",
                          (const char *const[]){"reason", httpd_suitd_error_names[e], NULL},
                          (double)httpd_read(&m->suitd_errors[e]));
    proto_prom_family(p, "suit_httpd_cds_jwt_refusals_total", "counter",
                      "CDS Hooks calls refused with 401, by what was wrong with the JWT.");
    for (size_t r = 1; r < CDS_JWT_REASON_COUNT; r++)
        proto_prom_sample(p, "suit_httpd_cds_jwt_refusals_total",
                          (const char *const[]){"reason", cds_jwt_reason_name(r), NULL},
                          (double)httpd_read(&m->cds_jwt_refusals[r]));
    proto_prom_family(p, "suit_httpd_cds_cards_total", "counter",
                      "CDS Hooks cards answered, by indicator.");
    for (size_t i = 0; i < 3; i++)
        proto_prom_sample(p, "suit_httpd_cds_cards_total",
                          (const char *const[]){"indicator", httpd_cds_indicators[i], NULL},
                          (double)httpd_read(&m->cds_cards[i]));
    proto_prom_family(p, "suit_httpd_cds_unsatisfied_prefetch_total", "counter",
                      "CDS Hooks calls answered 412 because a safety-relevant prefetch was "
                      "missing.");
    proto_prom_sample(p, "suit_httpd_cds_unsatisfied_prefetch_total", NULL,
                      (double)httpd_read(&m->cds_unsatisfied));
    proto_prom_family(p, "suit_httpd_suitd_up", "gauge",
                      "1 when suitd answered this scrape's stats call, else 0 (and no suitd_ "
                      "families follow).");
    proto_prom_sample(p, "suit_httpd_suitd_up", NULL, suitd_up ? 1 : 0);
}
