/*
 * test_prom.c: the Prometheus text writer and the translation of suitd's
 * `stats` result (proto_prom.c), shared by `suit stats --prometheus` and
 * suit-httpd's /metrics.
 *
 * The label values of the keyed maps must be the keys' own text, whatever
 * the daemon uses as keys: the canned results below carry the error map
 * both keyed by code (as the daemon does today) and by snake_case name,
 * and a drop reason and a counter no version knows yet.  Every output is
 * also given to `promtool check metrics` when promtool is installed (it
 * says SKIPPED otherwise; CI installs it).
 */
#include "proto_test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto_prom.h"

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
    return j;
}

static const char stats_codes[] =
    "{\"uptime_s\": 42, \"connections\": {\"current\": 1, \"total\": 7, \"refused\": 0,"
    " \"unauthenticated\": 3, \"refused_unauthenticated\": 4, \"refused_descriptors\": 5},"
    " \"requests\": {\"ping\": 2, \"assess\": 5},"
    " \"errors\": {\"-32602\": 3, \"-32700\": 1},"
    " \"latency_ms\": {\"count\": 7, \"p50\": 0.25, \"p90\": 0.5, \"p99\": 1.5, \"p99_9\": 2.0},"
    " \"queue_depth\": 0, \"workers\": 2, \"reloads\": {\"ok\": 1, \"failed\": 0},"
    " \"ruleset\": {\"name\": \"microneedling\", \"version\": \"1.0.0\", \"sha256\": \"ab\\\"c\"},"
    " \"dropped\": {\"idle\": 1, \"slow_reader\": 0}, \"version\": \"0.1.0\"}";

/* The same counters as a later daemon may send them: errors by name, a new
 * drop reason, and counters no version of this table knows. */
static const char stats_names[] =
    "{\"uptime_s\": 42, \"connections\": {\"current\": 1, \"total\": 7, \"refused\": 0,"
    " \"pre_auth\": 2},"
    " \"requests\": {\"ping\": 2, \"assess\": 5, \"frobnicate\": 1},"
    " \"errors\": {\"invalid_params\": 3, \"parse_error\": 1},"
    " \"latency_ms\": {\"count\": 7, \"p50\": 0.25, \"p99\": 1.5},"
    " \"queue_depth\": 0, \"workers\": 2, \"reloads\": {\"ok\": 1, \"failed\": 0},"
    " \"ruleset\": {\"name\": \"microneedling\", \"version\": \"1.0.0\", \"sha256\": \"ab\"},"
    " \"dropped\": {\"idle\": 1, \"header_timeout\": 4}, \"version\": \"0.2.0\","
    " \"auth\": {\"ok\": 3, \"failed\": 1}, \"engine_restarts\": 2, \"cpu\": 0.5,"
    " \"notes\": \"strings are skipped\", \"list\": [1, 2]}";

static char *render(const char *text)
{
    json_t *st = load(text);
    struct proto_prom p;
    proto_prom_init(&p);
    ck_assert_int_eq(proto_prom_stats(&p, st), 0);
    ck_assert(!p.failed);
    char *s = strdup(p.buf ? p.buf : "");
    proto_prom_free(&p);
    json_decref(st);
    return s;
}

static void expect_all(const char *s, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(s, want[i]), "missing:\n%s\nin:\n%s", want[i], s);
}

/* promtool's verdict on text: 0 ok, 1 rejected, -1 promtool is absent. */
static int promtool(const char *text, char *why, size_t n)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return -1;
    char path[] = "/tmp/test-prom-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t got = fread(why, 1, n - 1, f);
    why[got] = '\0';
    int st = pclose(f);
    unlink(path);
    return st == 0 && got == 0 ? 0 : 1;
}

static void check_promtool(const char *text)
{
    char why[4096];
    int rc = promtool(text, why, sizeof why);
    if (rc < 0) {
        printf("SKIPPED: promtool not installed (Debian package prometheus); "
               "the exposition was not checked by promtool\n");
        return;
    }
    ck_assert_msg(rc == 0, "promtool check metrics refused:\n%s\n---\n%s", why, text);
}

/* Every family declared exactly once, every sample under a declared
 * family, and a family's samples together. */
static void check_families(const char *s)
{
    char *copy = strdup(s), *save = NULL;
    char last[256] = "";
    char seen[64][256];
    size_t n_seen = 0;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP ", 7))
            continue;
        if (!strncmp(line, "# TYPE ", 7)) {
            char fam[256];
            ck_assert_int_eq(sscanf(line + 7, "%255s", fam), 1);
            for (size_t i = 0; i < n_seen; i++)
                ck_assert_msg(strcmp(seen[i], fam), "family %s declared twice", fam);
            ck_assert_uint_lt(n_seen, 64);
            snprintf(seen[n_seen++], sizeof seen[0], "%s", fam);
            snprintf(last, sizeof last, "%s", fam);
            continue;
        }
        size_t n = strcspn(line, "{ ");
        ck_assert_msg(!strncmp(line, last, strlen(last)) &&
                          (n == strlen(last) || !strncmp(line + strlen(last), "_count", 6)),
                      "sample outside its family %s: %s", last, line);
    }
    free(copy);
}

START_TEST(stats_keyed_by_code)
{
    char *s = render(stats_codes);
    static const char *const want[] = {
        "# HELP suitd_uptime_seconds Seconds since the daemon started.\n"
        "# TYPE suitd_uptime_seconds gauge\nsuitd_uptime_seconds 42\n",
        "# TYPE suitd_connections_current gauge\nsuitd_connections_current 1\n",
        "# TYPE suitd_connections_total counter\nsuitd_connections_total 7\n",
        "# TYPE suitd_connections_refused_total counter\nsuitd_connections_refused_total 0\n",
        "# TYPE suitd_connections_unauthenticated gauge\nsuitd_connections_unauthenticated 3\n",
        "# TYPE suitd_connections_refused_unauthenticated_total counter\n"
        "suitd_connections_refused_unauthenticated_total 4\n",
        "# TYPE suitd_connections_refused_descriptors_total counter\n"
        "suitd_connections_refused_descriptors_total 5\n",
        "# TYPE suitd_requests_total counter\n"
        "suitd_requests_total{method=\"ping\"} 2\n"
        "suitd_requests_total{method=\"assess\"} 5\n",
        "# TYPE suitd_errors_total counter\n"
        "suitd_errors_total{code=\"-32602\"} 3\nsuitd_errors_total{code=\"-32700\"} 1\n",
        "# TYPE suitd_latency_seconds summary\n"
        "suitd_latency_seconds{quantile=\"0.5\"} 0.00025\n"
        "suitd_latency_seconds{quantile=\"0.9\"} 0.0005\n"
        "suitd_latency_seconds{quantile=\"0.99\"} 0.0015\n"
        "suitd_latency_seconds{quantile=\"0.999\"} 0.002\n"
        "suitd_latency_seconds_count 7\n",
        "# TYPE suitd_queue_depth gauge\nsuitd_queue_depth 0\n",
        "# TYPE suitd_workers gauge\nsuitd_workers 2\n",
        "suitd_reloads_total{result=\"ok\"} 1\nsuitd_reloads_total{result=\"failed\"} 0\n",
        "# TYPE suitd_ruleset_info gauge\n"
        "suitd_ruleset_info{name=\"microneedling\",version=\"1.0.0\",sha256=\"ab\\\"c\"} 1\n",
        "# TYPE suitd_dropped_total counter\n"
        "suitd_dropped_total{reason=\"idle\"} 1\nsuitd_dropped_total{reason=\"slow_reader\"} 0\n",
        "# TYPE suitd_version_info gauge\nsuitd_version_info{version=\"0.1.0\"} 1\n",
    };
    expect_all(s, want, sizeof want / sizeof want[0]);
    check_families(s);
    check_promtool(s);
    free(s);
}
END_TEST

START_TEST(stats_keyed_by_name_and_new_keys)
{
    char *s = render(stats_names);
    static const char *const want[] = {
        /* the same family names, the new keys as label values */
        "suitd_errors_total{code=\"invalid_params\"} 3\n"
        "suitd_errors_total{code=\"parse_error\"} 1\n",
        "suitd_dropped_total{reason=\"header_timeout\"} 4\n",
        "suitd_requests_total{method=\"frobnicate\"} 1\n",
        "suitd_version_info{version=\"0.2.0\"} 1\n",
        /* counters no rule names, by their words */
        "# TYPE suitd_auth_ok_total counter\nsuitd_auth_ok_total 3\n",
        "# TYPE suitd_auth_failed_total counter\nsuitd_auth_failed_total 1\n",
        "# TYPE suitd_engine_restarts gauge\nsuitd_engine_restarts 2\n",
        "# TYPE suitd_cpu gauge\nsuitd_cpu 0.5\n",
        "# TYPE suitd_connections_pre_auth gauge\nsuitd_connections_pre_auth 2\n",
    };
    expect_all(s, want, sizeof want / sizeof want[0]);
    ck_assert_ptr_null(strstr(s, "notes"));
    ck_assert_ptr_null(strstr(s, "list"));
    check_families(s);
    check_promtool(s);
    free(s);
}
END_TEST

START_TEST(sanitised_name_clash)
{
    /* "alpha.beta" and "alpha_beta" both sanitise to suitd_alpha_beta: one
     * family, one sample; and a string with a newline stays inside its
     * label. */
    char *s = render("{\"alpha\": {\"beta\": 1}, \"alpha_beta\": 2,"
                     " \"ruleset\": {\"name\": \"x\\ny\"}}");
    ck_assert_ptr_nonnull(strstr(s, "# TYPE suitd_alpha_beta gauge\nsuitd_alpha_beta 1\n"));
    ck_assert_ptr_null(strstr(s, "suitd_alpha_beta 2"));
    ck_assert_ptr_nonnull(strstr(s, "suitd_ruleset_info{name=\"x\\ny\"} 1\n"));
    check_families(s);
    check_promtool(s);
    free(s);
}
END_TEST

START_TEST(writer)
{
    struct proto_prom p;
    proto_prom_init(&p);
    proto_prom_family(&p, "x_total", "counter", "Things\\counted\nhere.");
    proto_prom_sample(&p, "x_total", (const char *const[]){"a", "q\"\\\n", "b", "2", NULL}, 3);
    proto_prom_sample(&p, "x_total", NULL, 0.1);
    proto_prom_family(&p, "h_seconds", "histogram", "Latency.");
    proto_prom_sample(&p, "h_seconds_bucket", (const char *const[]){"le", "+Inf", NULL}, 1e20);
    ck_assert(!p.failed);
    ck_assert_str_eq(p.buf, "# HELP x_total Things\\\\counted\\nhere.\n"
                            "# TYPE x_total counter\n"
                            "x_total{a=\"q\\\"\\\\\\n\",b=\"2\"} 3\n"
                            "x_total 0.1\n"
                            "# HELP h_seconds Latency.\n"
                            "# TYPE h_seconds histogram\n"
                            "h_seconds_bucket{le=\"+Inf\"} 1e+20\n");
    proto_prom_free(&p);
    ck_assert_int_eq(proto_prom_stats(&p, NULL), -1);
    proto_prom_free(&p);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"stats_keyed_by_code", stats_keyed_by_code},
        {"stats_keyed_by_name_and_new_keys", stats_keyed_by_name_and_new_keys},
        {"sanitised_name_clash", sanitised_name_clash},
        {"writer", writer},
    };
    return testutil_run(testutil_suite("prom", cases, sizeof cases / sizeof cases[0], 30, NULL));
}
