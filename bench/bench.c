/*
 * bench.c: suit-bench, the load generator and reference timer for suitd.
 *
 * Against a daemon: N connections, pipeline depth P, closed loop (as fast
 * as answers come back) or open loop (--rate), over a Unix socket or TCP,
 * sending the patients of a ruleset's case files; or the same patients as
 * JSON through suit-httpd (--http), to compare the two paths.  Reports throughput,
 * latency quantiles, errors by code and the daemon's RSS (--pid).
 *
 * --in-process: the same requests through the same code the daemon runs
 * for each one (decoder, frame, then the engine's request pipeline
 * engine_request_assess: patient conversion, engine, result packing), in
 * this thread, with no sockets and no worker hand-off.  That rate is the
 * reference the daemon's throughput is measured against.  --verify proves
 * the two run the same code: every case's reply, byte for byte.
 *
 * Exit status: 0 when the run answered requests with no error, 1 when any
 * request failed (or none was answered), 2 when the run could not start.
 * See BENCHMARKS.md for how the numbers there were produced.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_hist.h"
#include "bench_inproc.h"
#include "bench_load.h"
#include "bench_mix.h"
#include "bench_verify.h"
#include "engine.h"
#include "proto.h"
#include "rpc_client.h"


struct bench_opts {
    char addr[4200];
    const char *method;
    const char *mix_dir;
    const char *rules_dir;
    const char *policy;         /* --policy: the in-process ruleset's policy file */
    const char *policy_dir;     /* --policy-dir: the in-process ruleset's policy folder */
    char *policies[64];         /* --policies a,b: options.policy, alternating */
    size_t n_policies;
    char policies_arg[2048];
    bool in_process;
    bool verify;
    bool json;
    long patient;               /* -1: the whole mix */
    unsigned idle;
    long pid;                   /* 0: no RSS */
    char token[1024];           /* --token-file: the token, or empty */
    char http_host[256];        /* --http HOST:PORT, or empty */
    struct bench_load_opts load;
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: suit-bench [OPTIONS]\n"
        "\n"
        "Target (one of; without any, the daemon is found as suit finds it:\n"
        "$SUIT_ADDR, else your own socket, the system socket, then 127.0.0.1:7433):\n"
        "  --socket PATH          the daemon's Unix socket\n"
        "  --connect HOST:PORT    the daemon's TCP address\n"
        "  --http HOST:PORT       suit-httpd: POST /v1/assess (GET /v1/ping) with the\n"
        "                         same patients as JSON, HTTP/1.1 keep-alive, -P\n"
        "                         requests pipelined per connection\n"
        "  --token-file FILE      send `auth [token]` on every connection first\n"
        "                         (TCP listeners with a token require it); with\n"
        "                         --http, Authorization: Bearer in every request\n"
        "  --in-process           no daemon: run the mix through the engine in\n"
        "                         this thread (with --rules DIR)\n"
        "  --verify               send every case of the mix (errors included) to\n"
        "                         the daemon once and compare each reply, byte for\n"
        "                         byte, with the in-process pipeline's (--rules DIR,\n"
        "                         --policy FILE as the daemon was started with)\n"
        "Load:\n"
        "  -c N                   connections (default 1)\n"
        "  -P N                   requests outstanding per connection (default 1)\n"
        "  -d SECONDS             duration (default 5)\n"
        "  -n REQUESTS            stop after this many requests instead\n"
        "  --rate R               open loop: start R requests/s whatever the answers\n"
        "  --warmup SECONDS       run this long first, outside every figure\n"
        "  --method assess|ping   (default assess)\n"
        "  --mix DIR              patients from DIR/tests/*.json (default: --rules)\n"
        "  --patient I            only the I-th patient of the mix\n"
        "  --rules DIR            ruleset (default $SUITD_RULES or %s)\n"
        "  --policy FILE          the in-process ruleset's policy file\n"
        "  --policy-dir DIR       the in-process ruleset's policy folder (NAME.ini)\n"
        "  --policies A,B,...     send every patient under each named policy in\n"
        "                         turn (options.policy), alternating per request\n"
        "  --idle-connections N   open N more connections, ping each once, keep\n"
        "                         them idle until the end\n"
        "  --reload-at SECONDS    send `reload` on its own connection this long\n"
        "                         into the run; report its time and the rate\n"
        "                         while it ran\n"
        "  --interval MS          per-interval answer counts in --json (timeline)\n"
        "Report:\n"
        "  --pid PID              the daemon's VmRSS before and after\n"
        "  --json                 one JSON object on stdout\n"
        "  --help\n"
        "\n"
        "Exit status: 0 = no errors, 1 = some requests failed, 2 = could not run.\n",
        proto_default_rules_dir());
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "suit-bench: %s: expected a number in [%g, %g], got '%s'\n", opt, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    OPT_SOCKET = 256, OPT_CONNECT, OPT_RATE, OPT_METHOD, OPT_MIX, OPT_IN_PROCESS, OPT_RULES,
    OPT_IDLE, OPT_PID, OPT_JSON, OPT_WARMUP, OPT_INTERVAL, OPT_RELOAD_AT, OPT_PATIENT,
    OPT_TOKEN_FILE, OPT_VERIFY, OPT_POLICY, OPT_POLICY_DIR, OPT_POLICIES, OPT_HTTP, OPT_HELP,
};

/* No --socket or --connect: look where suit looks (SUIT_ADDR, the user's
 * own socket, the system socket, 127.0.0.1:7433; proto_addr_candidates),
 * and keep the first address that takes a connection. */
static int find_daemon(struct bench_opts *b)
{
    struct proto_addr_list l;
    if (proto_addr_candidates(&l, NULL, getenv("SUIT_ADDR"), getenv("XDG_RUNTIME_DIR"),
                              geteuid(), 0) < 0) {
        fprintf(stderr, "suit-bench: SUIT_ADDR or XDG_RUNTIME_DIR is too long\n");
        return -1;
    }
    struct rpc_attempts tried;
    struct rpc_client *c;
    if (rpc_client_connect_first(&l, 10000, &c, &tried) == 0) {
        snprintf(b->addr, sizeof b->addr, "%s", tried.a[tried.n - 1].cand->addr);
        rpc_client_free(c);
        return 0;
    }
    fprintf(stderr, "suit-bench: cannot reach suitd; tried, in order:\n");
    for (size_t i = 0; i < tried.n; i++)
        fprintf(stderr, "  %s (%s)\n", tried.a[i].message,
                proto_addr_origin_name(tried.a[i].cand->origin));
    fprintf(stderr, "suit-bench: start it, say where it is (--socket PATH, --connect "
                    "HOST:PORT or SUIT_ADDR), or use --in-process\n");
    return -1;
}

/* Returns 0, 1 after --help, -1 on a usage error (message printed). */
static int parse_args(struct bench_opts *b, int argc, char **argv)
{
    static const struct option longs[] = {
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "connect", required_argument, NULL, OPT_CONNECT },
        { "rate", required_argument, NULL, OPT_RATE },
        { "method", required_argument, NULL, OPT_METHOD },
        { "mix", required_argument, NULL, OPT_MIX },
        { "in-process", no_argument, NULL, OPT_IN_PROCESS },
        { "rules", required_argument, NULL, OPT_RULES },
        { "idle-connections", required_argument, NULL, OPT_IDLE },
        { "pid", required_argument, NULL, OPT_PID },
        { "json", no_argument, NULL, OPT_JSON },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "reload-at", required_argument, NULL, OPT_RELOAD_AT },
        { "patient", required_argument, NULL, OPT_PATIENT },
        { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
        { "verify", no_argument, NULL, OPT_VERIFY },
        { "policy", required_argument, NULL, OPT_POLICY },
        { "http", required_argument, NULL, OPT_HTTP },
        { "policy-dir", required_argument, NULL, OPT_POLICY_DIR },
        { "policies", required_argument, NULL, OPT_POLICIES },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    memset(b, 0, sizeof(*b));
    b->method = "assess";
    b->patient = -1;
    b->rules_dir = proto_default_rules_dir();
    b->load.conns = 1;
    b->load.depth = 1;
    b->load.drain_s = 10;
    double d = 5, v;
    bool have_d = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:P:d:n:", longs, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (parse_num("-c", optarg, 0, 100000, &v) < 0)
                return -1;
            b->load.conns = (unsigned)v;
            break;
        case 'P':
            if (parse_num("-P", optarg, 1, 1024, &v) < 0)
                return -1;
            b->load.depth = (unsigned)v;
            break;
        case 'd':
            if (parse_num("-d", optarg, 0.001, 86400, &d) < 0)
                return -1;
            have_d = true;
            break;
        case 'n':
            if (parse_num("-n", optarg, 1, 1e12, &v) < 0)
                return -1;
            b->load.requests = (uint64_t)v;
            break;
        case OPT_SOCKET:
            snprintf(b->addr, sizeof b->addr, "unix:%s", optarg);
            break;
        case OPT_CONNECT:
            snprintf(b->addr, sizeof b->addr, "tcp:%s", optarg);
            break;
        case OPT_HTTP:
            snprintf(b->addr, sizeof b->addr, "tcp:%s", optarg);
            snprintf(b->http_host, sizeof b->http_host, "%s", optarg);
            b->load.http = true;
            break;
        case OPT_RATE:
            if (parse_num("--rate", optarg, 1, 1e8, &b->load.rate) < 0)
                return -1;
            break;
        case OPT_METHOD:
            b->method = optarg;
            break;
        case OPT_MIX:
            b->mix_dir = optarg;
            break;
        case OPT_IN_PROCESS:
            b->in_process = true;
            break;
        case OPT_RULES:
            b->rules_dir = optarg;
            break;
        case OPT_POLICY:
            b->policy = optarg;
            break;
        case OPT_POLICY_DIR:
            b->policy_dir = optarg;
            break;
        case OPT_POLICIES:
            snprintf(b->policies_arg, sizeof b->policies_arg, "%s", optarg);
            b->n_policies = 0;
            for (char *tok = strtok(b->policies_arg, ","); tok; tok = strtok(NULL, ",")) {
                if (b->n_policies == sizeof b->policies / sizeof b->policies[0] ||
                    !suit_policy_name_valid(tok, strlen(tok))) {
                    fprintf(stderr, "suit-bench: --policies: '%s' is not a policy name (or "
                                    "more than 64 names)\n", tok);
                    return -1;
                }
                b->policies[b->n_policies++] = tok;
            }
            break;
        case OPT_VERIFY:
            b->verify = true;
            break;
        case OPT_IDLE:
            if (parse_num("--idle-connections", optarg, 0, 1000000, &v) < 0)
                return -1;
            b->idle = (unsigned)v;
            break;
        case OPT_PID:
            if (parse_num("--pid", optarg, 1, 1e9, &v) < 0)
                return -1;
            b->pid = (long)v;
            break;
        case OPT_JSON:
            b->json = true;
            break;
        case OPT_WARMUP:
            if (parse_num("--warmup", optarg, 0, 3600, &b->load.warmup_s) < 0)
                return -1;
            break;
        case OPT_INTERVAL:
            if (parse_num("--interval", optarg, 1, 3600000, &v) < 0)
                return -1;
            b->load.interval_ms = (unsigned)v;
            break;
        case OPT_RELOAD_AT:
            if (parse_num("--reload-at", optarg, 0.001, 86400, &b->load.reload_at_s) < 0)
                return -1;
            break;
        case OPT_PATIENT:
            if (parse_num("--patient", optarg, 0, 1e9, &v) < 0)
                return -1;
            b->patient = (long)v;
            break;
        case OPT_TOKEN_FILE: {
            int rc = proto_token_read(optarg, b->token, sizeof b->token);
            if (rc < 0) {
                fprintf(stderr, "suit-bench: token file %s: %s\n", optarg,
                        rc == PROTO_E_TOO_LARGE     ? "token too long"
                        : rc == PROTO_E_INVALID_PARAMS ? "empty"
                                                      : strerror(-rc));
                return -1;
            }
            b->load.token = b->token;
            break;
        }
        case OPT_HELP:
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "suit-bench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!b->in_process && !b->addr[0] && find_daemon(b) < 0)
        return -1;
    if ((b->in_process || b->verify) && strcmp(b->method, "assess")) {
        fprintf(stderr, "suit-bench: --in-process and --verify run assess only\n");
        return -1;
    }
    if (b->n_policies && strcmp(b->method, "assess")) {
        fprintf(stderr, "suit-bench: --policies applies to assess only\n");
        return -1;
    }
    if (b->in_process && b->verify) {
        fprintf(stderr, "suit-bench: --verify compares a daemon with the in-process "
                        "pipeline: give --socket or --connect, not --in-process\n");
        return -1;
    }
    if (b->load.http && (b->in_process || b->idle || b->load.reload_at_s > 0)) {
        fprintf(stderr, "suit-bench: --http drives suit-httpd only: no --in-process, "
                        "--idle-connections or --reload-at\n");
        return -1;
    }
    if (b->load.requests && have_d) {
        fprintf(stderr, "suit-bench: give -d or -n, not both\n");
        return -1;
    }
    if (!b->load.requests)
        b->load.duration_s = d;
    if (b->load.conns == 0 && !b->idle) {
        fprintf(stderr, "suit-bench: -c 0 needs --idle-connections\n");
        return -1;
    }
    if (!b->mix_dir)
        b->mix_dir = b->rules_dir;
    b->load.addr = b->addr;
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* VmRSS of pid in KiB, or -1. */
static long read_rss_kib(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* ---- report ------------------------------------------------------------ */

struct report {
    const char *mode;           /* "daemon" or "in-process" */
    const struct bench_opts *b;
    const struct bench_load_result *res;
    size_t mix_len, mix_skipped;
    long rss_before, rss_idle, rss_after;
    /* in-process only */
    double load_ms, engine_ms, cases_ms;
    int cases_failed;
    const struct bench_hist *engine_hist;
};

static double us(uint64_t ns)
{
    return (double)ns / 1e3;
}

static json_t *latency_json(const struct bench_hist *h)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min", us(h->count ? h->min_ns : 0),
                     "mean", bench_hist_mean(h) / 1e3, "p50", us(bench_hist_quantile(h, 0.5)),
                     "p90", us(bench_hist_quantile(h, 0.9)), "p99",
                     us(bench_hist_quantile(h, 0.99)), "p99.9",
                     us(bench_hist_quantile(h, 0.999)), "max", us(h->max_ns), "count",
                     (double)h->count);
}

static double throughput(const struct bench_load_result *res)
{
    /* Answers per second, errors included: an error is an answer too. */
    return res->elapsed_s > 0 ? (double)res->hist.count / res->elapsed_s : 0;
}

static void print_json(const struct report *rp)
{
    const struct bench_opts *b = rp->b;
    const struct bench_load_result *res = rp->res;
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(rp->mode));
    json_object_set_new(o, "method", json_string(b->method));
    if (!b->in_process)
        json_object_set_new(o, "address", json_string(b->addr));
    json_object_set_new(o, "transport", json_string(b->in_process ? "none"
                                                   : b->load.http ? "http" : "msgpack"));
    json_object_set_new(o, "connections", json_integer(b->load.conns));
    json_object_set_new(o, "pipeline", json_integer(b->load.depth));
    json_object_set_new(o, "rate_target", json_real(b->load.rate));
    json_object_set_new(o, "mix_cases", json_integer((json_int_t)rp->mix_len));
    json_object_set_new(o, "mix_skipped", json_integer((json_int_t)rp->mix_skipped));
    json_object_set_new(o, "elapsed_s", json_real(res->elapsed_s));
    json_object_set_new(o, "sent", json_integer((json_int_t)res->sent));
    json_object_set_new(o, "ok", json_integer((json_int_t)res->ok));
    json_object_set_new(o, "errors", json_integer((json_int_t)res->errors));
    json_object_set_new(o, "late", json_integer((json_int_t)res->late));
    json_object_set_new(o, "throughput", json_real(throughput(res)));
    json_t *codes = json_object();
    for (unsigned i = 0; i < res->n_codes; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", res->codes[i].code);
        json_object_set_new(codes, k, json_pack("{s:s,s:I}", "name",
                                                bench_code_name(res->codes[i].code), "count",
                                                (json_int_t)res->codes[i].count));
    }
    json_object_set_new(o, "errors_by_code", codes);
    json_object_set_new(o, "latency_us", latency_json(&res->hist));
    json_object_set_new(o, "self_cpu_s", json_real(res->self_cpu_s));
    if (res->daemon_cpu_s >= 0) {
        json_object_set_new(o, "daemon_cpu_s", json_real(res->daemon_cpu_s));
        json_object_set_new(o, "daemon_cores",
                            json_real(res->elapsed_s > 0 ? res->daemon_cpu_s / res->elapsed_s : 0));
        json_object_set_new(o, "daemon_cpu_us_per_request",
                            json_real(res->hist.count ? 1e6 * res->daemon_cpu_s /
                                                            (double)res->hist.count : 0));
    }
    if (b->in_process)
        json_object_set_new(o, "cpu_us_per_request",
                            json_real(res->hist.count ? 1e6 * res->self_cpu_s /
                                                            (double)res->hist.count : 0));
    json_t *rss = json_object();
    if (rp->rss_before >= 0)
        json_object_set_new(rss, "before", json_integer(rp->rss_before));
    if (rp->rss_idle >= 0)
        json_object_set_new(rss, "idle_connections", json_integer(rp->rss_idle));
    if (rp->rss_after >= 0)
        json_object_set_new(rss, "after", json_integer(rp->rss_after));
    json_object_set_new(o, "rss_kib", rss);
    json_object_set_new(o, "idle_connections", json_integer(b->idle));
    if (rp->engine_hist) {
        json_object_set_new(o, "ruleset_load_ms", json_real(rp->load_ms));
        json_object_set_new(o, "engine_create_ms", json_real(rp->engine_ms));
        json_object_set_new(o, "cases_ms", json_real(rp->cases_ms));
        json_object_set_new(o, "cases_failed", json_integer(rp->cases_failed));
        json_object_set_new(o, "engine_latency_us", latency_json(rp->engine_hist));
        double busy = (double)rp->engine_hist->sum_ns / 1e9;
        json_object_set_new(o, "engine_only_throughput",
                            json_real(busy > 0 ? (double)rp->engine_hist->count / busy : 0));
    }
    if (res->reload_done) {
        json_object_set_new(o, "reload",
                            json_pack("{s:i,s:s,s:f,s:f,s:f,s:f}", "code", res->reload_rc,
                                      "message", res->reload_msg, "start_s",
                                      res->reload_start_s, "ms", res->reload_ms,
                                      "rate_during", res->reload_rate, "rate_outside",
                                      res->outside_rate));
    }
    if (res->n_timeline) {
        json_t *tl = json_array();
        for (unsigned i = 0; i < res->n_timeline; i++)
            json_array_append_new(tl, json_integer((json_int_t)res->timeline[i]));
        json_object_set_new(o, "interval_ms", json_integer(b->load.interval_ms));
        json_object_set_new(o, "timeline", tl);
    }
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(o);
}

static void print_latency(const char *label, const struct bench_hist *h)
{
    printf("%-11s p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f (us)\n", label,
           us(bench_hist_quantile(h, 0.5)), us(bench_hist_quantile(h, 0.9)),
           us(bench_hist_quantile(h, 0.99)), us(bench_hist_quantile(h, 0.999)), us(h->max_ns),
           bench_hist_mean(h) / 1e3);
}

static void print_text(const struct report *rp)
{
    const struct bench_opts *b = rp->b;
    const struct bench_load_result *res = rp->res;
    if (b->in_process)
        printf("suit-bench: %s in-process, one thread, %zu patients (%zu skipped: expect "
               "errors)\n", b->method, rp->mix_len, rp->mix_skipped);
    else
        printf("suit-bench: %s over %s%s, %u connections, pipeline %u%s, %zu %s\n", b->method,
               b->load.http ? "http://" : "", b->load.http ? b->http_host : b->addr, b->load.conns, b->load.depth, b->load.rate > 0 ? " (open loop)" : "",
               rp->mix_len, strcmp(b->method, "ping") ? "patients" : "request");
    if (rp->engine_hist)
        printf("ruleset    load %.1f ms, engine %.1f ms, own cases %.1f ms (%d failed)\n",
               rp->load_ms, rp->engine_ms, rp->cases_ms, rp->cases_failed);
    printf("requests   %llu ok, %llu errors, %llu sent in %.2f s\n",
           (unsigned long long)res->ok, (unsigned long long)res->errors,
           (unsigned long long)res->sent, res->elapsed_s);
    for (unsigned i = 0; i < res->n_codes; i++)
        printf("  error %d (%s): %llu\n", res->codes[i].code, bench_code_name(res->codes[i].code),
               (unsigned long long)res->codes[i].count);
    printf("throughput %.1f req/s", throughput(res));
    if (b->load.rate > 0)
        printf(" (target %.1f, %llu started >1 ms late)", b->load.rate,
               (unsigned long long)res->late);
    printf("\n");
    print_latency("latency", &res->hist);
    if (res->daemon_cpu_s >= 0 && res->elapsed_s > 0 && res->hist.count)
        printf("cpu        daemon %.2f s (%.2f cores, %.1f us/request), suit-bench %.2f s\n",
               res->daemon_cpu_s, res->daemon_cpu_s / res->elapsed_s,
               1e6 * res->daemon_cpu_s / (double)res->hist.count, res->self_cpu_s);
    else if (b->in_process && res->hist.count)
        printf("cpu        %.2f s (%.1f us/request)\n", res->self_cpu_s,
               1e6 * res->self_cpu_s / (double)res->hist.count);
    if (rp->engine_hist) {
        double busy = (double)rp->engine_hist->sum_ns / 1e9;
        printf("engine     engine_assess alone: %.1f req/s\n",
               busy > 0 ? (double)rp->engine_hist->count / busy : 0);
        print_latency("  latency", rp->engine_hist);
    }
    if (res->reload_done) {
        if (res->reload_rc == 0)
            printf("reload     %.1f ms at %.2f s; %.1f req/s during it, %.1f outside (%.0f%%)\n",
                   res->reload_ms, res->reload_start_s, res->reload_rate, res->outside_rate,
                   res->outside_rate > 0 ? 100 * res->reload_rate / res->outside_rate : 0);
        else
            printf("reload     failed (%d): %s\n", res->reload_rc, res->reload_msg);
    }
    if (rp->rss_before >= 0 || rp->rss_after >= 0) {
        printf("rss        before %ld KiB", rp->rss_before);
        if (rp->rss_idle >= 0)
            printf(", with %u idle connections %ld KiB", b->idle, rp->rss_idle);
        printf(", after %ld KiB\n", rp->rss_after);
    }
}

/* ---- in-process -------------------------------------------------------- */

/* Times one ruleset load, one engine build and one run of the ruleset's own
 * cases (what a hot reload does), then runs the mix through the daemon's
 * per-request code (bench_inproc_answer: the frame decoder and parser,
 * then the engine's request pipeline, engine_request_assess). */
static int run_in_process(const struct bench_opts *b, const struct bench_mix *mix,
                          struct bench_load_result *res, struct report *rp,
                          struct bench_hist *engine_hist)
{
    memset(res, 0, sizeof(*res));
    bench_hist_init(&res->hist);
    bench_hist_init(engine_hist);
    struct proto_error err;
    proto_error_init(&err);
    struct bench_inproc ip;
    if (bench_inproc_open(&ip, b->rules_dir, b->policy, b->policy_dir, &err) < 0) {
        fprintf(stderr, "suit-bench: %s\n", err.message);
        for (size_t i = 0; i < err.n_details; i++)
            fprintf(stderr, "  %s\n", err.details[i]);
        proto_error_close(&err);
        return -1;
    }
    rp->load_ms = ip.load_ms;
    rp->engine_ms = ip.engine_ms;
    rp->cases_ms = ip.cases_ms;
    rp->cases_failed = ip.cases_failed;

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint64_t start = now_ns();
    uint64_t warm_end = start + (uint64_t)(b->load.warmup_s * 1e9);
    uint64_t end = b->load.duration_s > 0 ? warm_end + (uint64_t)(b->load.duration_s * 1e9) : 0;
    bool measuring = b->load.warmup_s <= 0;
    uint64_t measure_start = start, now = start;
    double cpu0 = bench_cpu_seconds(0);
    for (uint64_t i = 0;; i++) {
        if (!measuring && now >= warm_end) {
            measuring = true;
            measure_start = now;
            cpu0 = bench_cpu_seconds(0);
        }
        if ((end && now >= end) || (b->load.requests && res->sent >= b->load.requests))
            break;
        const struct bench_request *q = &mix->reqs[i % mix->len];
        uint64_t a = now_ns(), engine_ns;
        sb.size = 0;
        int rc = bench_inproc_answer(&ip, q->bytes, q->len, &sb, &err, &engine_ns);
        now = now_ns();
        res->sent++;
        if (measuring) {
            bench_hist_record(&res->hist, now - a);
            if (engine_ns)
                bench_hist_record(engine_hist, engine_ns);
            if (rc == 0) {
                res->ok++;
            } else {
                int code = err.code ? err.code : rc;
                res->errors++;
                bool found = false;
                for (unsigned k = 0; k < res->n_codes && !found; k++)
                    if (res->codes[k].code == code) {
                        res->codes[k].count++;
                        found = true;
                    }
                if (!found && res->n_codes < BENCH_MAX_CODES) {
                    res->codes[res->n_codes].code = code;
                    res->codes[res->n_codes++].count = 1;
                }
            }
        }
        proto_error_close(&err);
    }
    res->elapsed_s = (double)(now - measure_start) / 1e9;
    res->self_cpu_s = bench_cpu_seconds(0) - cpu0;
    res->daemon_cpu_s = -1;
    msgpack_sbuffer_destroy(&sb);
    bench_inproc_close(&ip);
    return 0;
}

/* ---- idle connections --------------------------------------------------- */

static void pack_no_params(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 0);
}

/* Opens n connections and pings each once, so the daemon has set each one
 * up completely.  Returns how many are open. */
static unsigned open_idle(const char *addr, const char *token, unsigned n,
                          struct rpc_client **out)
{
    unsigned i;
    for (i = 0; i < n; i++) {
        struct proto_error err;
        proto_error_init(&err);
        msgpack_object result;
        int rc = bench_connect(addr, token, &out[i], &err);
        if (rc == 0)
            rc = rpc_client_call(out[i], "ping", pack_no_params, NULL, &result, &err);
        if (rc < 0) {
            fprintf(stderr, "suit-bench: idle connection %u: %s\n", i + 1, err.message);
            proto_error_close(&err);
            if (out[i])
                rpc_client_free(out[i]);
            break;
        }
        proto_error_close(&err);
    }
    return i;
}

/* Enough descriptors for the idle connections and the load. */
static void raise_fd_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want + 64) {
        rl.rlim_cur = rl.rlim_max < want + 64 ? rl.rlim_max : want + 64;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fprintf(stderr, "suit-bench: cannot raise the descriptor limit: %s\n",
                    strerror(errno));
    }
}

int main(int argc, char **argv)
{
    struct bench_opts b;
    int rc = parse_args(&b, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN);

    struct bench_mix mix;
    memset(&mix, 0, sizeof(mix));
    struct proto_error err;
    proto_error_init(&err);
    /* Idle connections alone (-c 0) send no patients. */
    bool need_mix = b.in_process || b.load.conns > 0;
    if (need_mix && (bench_mix_load(&mix, b.method, b.mix_dir, b.patient, b.verify, &err) < 0 ||
                     bench_mix_policies(&mix, b.policies, b.n_policies, &err) < 0)) {
        fprintf(stderr, "suit-bench: %s\n", err.message);
        proto_error_close(&err);
        return 2;
    }
    if (need_mix && b.load.http) {
        struct bench_mix http;
        int hrc = bench_mix_http(&mix, b.http_host, b.token[0] ? b.token : NULL, &http, &err);
        bench_mix_close(&mix);
        if (hrc < 0) {
            fprintf(stderr, "suit-bench: %s\n", err.message);
            proto_error_close(&err);
            return 2;
        }
        mix = http;
    }
    proto_error_close(&err);

    struct report rp = { .b = &b, .mix_len = mix.len, .mix_skipped = mix.skipped,
                         .rss_before = -1, .rss_idle = -1, .rss_after = -1 };
    struct bench_load_result res;
    struct bench_hist *engine_hist = NULL;
    struct rpc_client **idle = NULL;
    unsigned n_idle = 0;
    char msg[512] = "";
    int status = 0;

    if (b.verify) {
        struct bench_inproc ip;
        proto_error_init(&err);
        if (bench_inproc_open(&ip, b.rules_dir, b.policy, b.policy_dir, &err) < 0) {
            fprintf(stderr, "suit-bench: %s\n", err.message);
            proto_error_close(&err);
            bench_mix_close(&mix);
            return 2;
        }
        struct bench_verify_result vr;
        rc = bench_verify_run(b.addr, b.load.token, &ip, &mix, stdout, &vr, msg, sizeof msg);
        bench_inproc_close(&ip);
        bench_mix_close(&mix);
        memset(b.token, 0, sizeof b.token);
        if (rc < 0) {
            fprintf(stderr, "suit-bench: --verify: %s\n", msg);
            return 2;
        }
        printf("verify     %zu of %zu replies identical to the in-process pipeline's, "
               "%zu differ\n", vr.same, vr.same + vr.differ, vr.differ);
        return vr.differ || !vr.same ? 1 : 0;
    }
    if (b.in_process) {
        rp.mode = "in-process";
        engine_hist = malloc(sizeof(*engine_hist));
        if (!engine_hist || run_in_process(&b, &mix, &res, &rp, engine_hist) < 0) {
            free(engine_hist);
            bench_mix_close(&mix);
            return 2;
        }
        rp.engine_hist = engine_hist;
        rp.rss_before = read_rss_kib((long)getpid());
        rp.rss_after = rp.rss_before;
    } else {
        rp.mode = "daemon";
        raise_fd_limit(b.idle + b.load.conns + 8);
        if (b.pid)
            rp.rss_before = read_rss_kib(b.pid);
        if (b.idle) {
            idle = calloc(b.idle, sizeof(*idle));
            n_idle = idle ? open_idle(b.addr, b.load.token, b.idle, idle) : 0;
            if (n_idle < b.idle) {
                fprintf(stderr, "suit-bench: opened %u of %u idle connections\n", n_idle,
                        b.idle);
                status = 2;
            }
            /* Let the daemon finish whatever the last pings started. */
            usleep(200000);
            if (b.pid)
                rp.rss_idle = read_rss_kib(b.pid);
        }
        b.load.cpu_pid = b.pid;
        if (status == 0 && b.load.conns > 0) {
            if (bench_load_run(&b.load, &mix, &res, msg, sizeof msg) < 0) {
                fprintf(stderr, "suit-bench: %s\n", msg);
                status = 2;
            }
        } else {
            memset(&res, 0, sizeof(res));
            bench_hist_init(&res.hist);
            res.daemon_cpu_s = -1;
            if (status == 0 && b.load.duration_s > 0)
                usleep((useconds_t)(b.load.duration_s * 1e6));
        }
        if (b.pid)
            rp.rss_after = read_rss_kib(b.pid);
    }

    if (status == 0) {
        rp.res = &res;
        if (b.json)
            print_json(&rp);
        else
            print_text(&rp);
        if (res.errors || (b.load.conns > 0 && res.ok == 0) ||
            (res.reload_done && res.reload_rc != 0))
            status = 1;
        bench_load_result_close(&res);
    }
    for (unsigned i = 0; i < n_idle; i++)
        rpc_client_free(idle[i]);
    free(idle);
    free(engine_hist);
    bench_mix_close(&mix);
    memset(b.token, 0, sizeof b.token);
    return status;
}
