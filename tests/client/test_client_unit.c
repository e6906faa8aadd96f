/*
 * Unit tests of the `suit` client's pure parts: command line, flags to
 * patient JSON, addresses, exit codes, suggestions, the readable report,
 * and the stats renderers.  No daemon needed.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_args.h"
#include "commands.h"
#include "patient_flags.h"
#include "render_info.h"
#include "render_stats.h"
#include "report.h"
#include "safe_text.h"
#include "suggest.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static int parse(struct cli_args *a, const char *const *argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    cli_args_init(a);
    return cli_args_parse(a, argc, (char **)argv);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
    return j;
}

/* Runs fn into a memory stream and returns what it wrote (caller frees). */
struct capture {
    char *buf;
    size_t len;
    FILE *f;
};
static FILE *cap_open(struct capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    ck_assert_ptr_nonnull(c->f);
    return c->f;
}
static char *cap_close(struct capture *c)
{
    fclose(c->f);
    return c->buf;
}

/* ---- command line ----------------------------------------------------- */

START_TEST(test_flags_full_example)
{
    const char *argv[] = {"suit", "check", "--age", "34", "--pregnant", "no",
                          "--breastfeeding", "no", "--fitzpatrick", "5", "--area", "face",
                          "--indication", "acne-scars", "--condition", "hsv-history",
                          "--condition", "sunburn:5", "--med", "isotretinoin:120",
                          "--procedure", "botulinum-toxin:10", "--allergy", "nickel",
                          "--setting", "home-roller", "--depth", "0.5", NULL};
    struct cli_args a;
    ck_assert_int_eq(parse(&a, argv), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_CHECK);
    json_t *want = load(
        "{\"age\": 34, \"pregnant\": false, \"breastfeeding\": false, \"fitzpatrick\": 5,"
        " \"area\": \"face\", \"indication\": \"acne-scars\","
        " \"conditions\": [\"hsv-history\", {\"name\": \"sunburn\", \"days_ago\": 5}],"
        " \"medications\": [{\"name\": \"isotretinoin\", \"days_since_last_dose\": 120}],"
        " \"procedures\": [{\"name\": \"botulinum-toxin\", \"days_ago\": 10}],"
        " \"allergies\": [\"nickel\"], \"setting\": \"home-roller\","
        " \"needle_depth_mm\": 0.5}");
    char *got = json_dumps(a.flags_patient, JSON_SORT_KEYS);
    ck_assert_msg(json_equal(want, a.flags_patient), "got %s", got);
    /* Integers stay integers: the protocol rejects 34.0 for an age. */
    ck_assert(json_is_integer(json_object_get(a.flags_patient, "age")));
    ck_assert(json_is_real(json_object_get(a.flags_patient, "needle_depth_mm")));
    free(got);
    json_decref(want);
    cli_args_close(&a);
}
END_TEST

START_TEST(test_flags_med_malformed)
{
    static const char *const bad[] = {"isotretinoin", "isotretinoin:", ":120",
                                      "isotretinoin:abc", "isotretinoin:-3", "isotretinoin:1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {"suit", "check", "--med", bad[i], NULL};
        struct cli_args a;
        ck_assert_int_eq(parse(&a, argv), -1);
        ck_assert_str_eq(a.err, "--med expects NAME:DAYS, e.g. --med isotretinoin:120");
        cli_args_close(&a);
    }
}
END_TEST

START_TEST(test_flags_variants)
{
    const char *argv[] = {"suit", "check", "--med=warfarin:now", "--fitzpatrick", "IV",
                          "--pregnant", "YES", "--procedure", "chemical-peel:0", NULL};
    struct cli_args a;
    ck_assert_int_eq(parse(&a, argv), 0);
    json_t *want = load("{\"medications\": [{\"name\": \"warfarin\", \"days_since_last_dose\": 0}],"
                        " \"fitzpatrick\": 4, \"pregnant\": true,"
                        " \"procedures\": [{\"name\": \"chemical-peel\", \"days_ago\": 0}]}");
    ck_assert(json_equal(want, a.flags_patient));
    json_decref(want);
    cli_args_close(&a);

    const char *bad_age[] = {"suit", "check", "--age", "34y", NULL};
    ck_assert_int_eq(parse(&a, bad_age), -1);
    ck_assert_ptr_nonnull(strstr(a.err, "--age expects a whole number"));
    cli_args_close(&a);
    const char *bad_preg[] = {"suit", "check", "--pregnant", "maybe", NULL};
    ck_assert_int_eq(parse(&a, bad_preg), -1);
    ck_assert_str_eq(a.err, "--pregnant expects yes or no, e.g. --pregnant no");
    cli_args_close(&a);
    const char *bad_proc[] = {"suit", "check", "--procedure", "laser", NULL};
    ck_assert_int_eq(parse(&a, bad_proc), -1);
    ck_assert_str_eq(a.err,
                     "--procedure expects NAME:DAYS, e.g. --procedure botulinum-toxin:10");
    cli_args_close(&a);
    const char *bad_cond[] = {"suit", "check", "--condition", "sunburn:soon", NULL};
    ck_assert_int_eq(parse(&a, bad_cond), -1);
    ck_assert_str_eq(a.err, "--condition expects NAME or NAME:DAYS, e.g. --condition sunburn:5");
    cli_args_close(&a);
    const char *bad_depth[] = {"suit", "check", "--depth", "deep", NULL};
    ck_assert_int_eq(parse(&a, bad_depth), -1);
    cli_args_close(&a);
}
END_TEST

START_TEST(test_args_usage_errors)
{
    static const struct {
        const char *argv[8];
        const char *want;   /* substring of the message */
    } cases[] = {
        {{"suit", NULL}, "no command given"},
        {{"suit", "chek", NULL}, "unknown command 'chek'; did you mean 'check'? (commands: "},
        {{"suit", "relaod", NULL}, "unknown command 'relaod'; did you mean 'reload'?"},
        {{"suit", "launch", NULL}, "unknown command 'launch' (commands: check, ping"},
        {{"suit", "check", "--bogus", NULL}, "unknown option '--bogus' (see suit --help)"},
        {{"suit", "check", "--agee", "3", NULL},
         "unknown option '--agee'; did you mean '--age'? (see suit --help)"},
        {{"suit", "check", "--pregant", "no", NULL}, "did you mean '--pregnant'?"},
        {{"suit", "ping", "--jsn", NULL}, "unknown option '--jsn'; did you mean '--json'?"},
        {{"suit", "ping", "--sockett=/x", NULL}, "did you mean '--socket'?"},
        {{"suit", "ping", "-json", NULL}, "unknown option '-json'; did you mean '--json'?"},
        {{"suit", "stats", "--age", "3", NULL}, "patient facts are options of 'suit check'"},
        {{"suit", "ping", "--prometheus", NULL}, "'--prometheus' does not apply to 'suit ping'"},
        {{"suit", "check", NULL}, "needs the patient's facts"},
        {{"suit", "ping", "--socket", "/x", "--connect", "h:1", NULL}, "either --socket or"},
        {{"suit", "ping", "--timeout", "0", NULL}, "--timeout expects seconds"},
        {{"suit", "ping", "--timeout", NULL}, "needs a value"},
        {{"suit", "ping", "--color=sometimes", NULL}, "--color expects auto, always or never"},
        {{"suit", "ping", "extra", NULL}, "unexpected argument 'extra'"},
        {{"suit", "ping", "--json=1", NULL}, "takes no value"},
        {{"suit", "stats", "--json", "--prometheus", NULL}, "either --json or --prometheus"},
        {{"suit", "ping", "--connect", "nohost", NULL}, "--connect expects HOST:PORT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cli_args a;
        ck_assert_int_eq(parse(&a, cases[i].argv), -1);
        ck_assert_msg(strstr(a.err, cases[i].want), "case %zu: '%s' lacks '%s'", i, a.err,
                      cases[i].want);
        cli_args_close(&a);
    }
}
END_TEST

START_TEST(test_args_ok)
{
    struct cli_args a;
    const char *a1[] = {"suit", "--socket", "/tmp/s", "--timeout", "2.5", "stats",
                        "--prometheus", NULL};
    ck_assert_int_eq(parse(&a, a1), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_STATS);
    ck_assert(a.prometheus);
    ck_assert_str_eq(a.socket, "/tmp/s");
    ck_assert(a.timeout_s == 2.5);
    cli_args_close(&a);

    const char *a2[] = {"suit", "check", "-f", "-", "--json", "--explain", "--color", "never",
                        NULL};
    ck_assert_int_eq(parse(&a, a2), 0);
    ck_assert_str_eq(a.file, "-");
    ck_assert(a.json && a.explain);
    ck_assert_int_eq(a.color, CLI_COLOR_NEVER);
    ck_assert_ptr_null(a.flags_patient);
    cli_args_close(&a);

    const char *h1[] = {"suit", "check", "--help", NULL};
    ck_assert_int_eq(parse(&a, h1), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_HELP);
    ck_assert_int_eq(a.help_for, CLI_CMD_CHECK);
    cli_args_close(&a);
    const char *h2[] = {"suit", "help", "stats", NULL};
    ck_assert_int_eq(parse(&a, h2), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_HELP);
    ck_assert_int_eq(a.help_for, CLI_CMD_STATS);
    cli_args_close(&a);
    const char *h3[] = {"suit", "-h", NULL};
    ck_assert_int_eq(parse(&a, h3), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_HELP);
    ck_assert_int_eq(a.help_for, CLI_CMD_NONE);
    cli_args_close(&a);
    const char *v[] = {"suit", "--version", NULL};
    ck_assert_int_eq(parse(&a, v), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_VERSION);
    cli_args_close(&a);
}
END_TEST

START_TEST(test_help_texts)
{
    /* Exit codes are documented in the general and the check help. */
    static const enum cli_command cmds[] = {CLI_CMD_NONE, CLI_CMD_CHECK};
    for (size_t i = 0; i < 2; i++) {
        struct capture c;
        cli_usage(cap_open(&c), cmds[i]);
        char *s = cap_close(&c);
        ck_assert_ptr_nonnull(strstr(s, "  2   incomplete"));
        ck_assert_ptr_nonnull(strstr(s, "  5   contraindicated"));
        ck_assert_ptr_nonnull(strstr(s, "a larger code is never a milder outcome"));
        ck_assert_ptr_nonnull(strstr(s, "  64  usage error"));
        ck_assert_ptr_nonnull(strstr(s, "  65  bad input data"));
        ck_assert_ptr_nonnull(strstr(s, "  68  the daemon's host name does not resolve"));
        ck_assert_ptr_nonnull(strstr(s, "  69  daemon unavailable"));
        ck_assert_ptr_nonnull(strstr(s, "  70  protocol or internal error"));
        ck_assert_ptr_nonnull(strstr(s, "  75  temporary failure"));
        ck_assert_ptr_nonnull(strstr(s, "  77  permission denied"));
        ck_assert_ptr_nonnull(strstr(s, "  78  the daemon's ruleset"));
        ck_assert_ptr_nonnull(strstr(s, "SUIT_ADDR"));
        ck_assert_ptr_nonnull(strstr(s, "/run/suitd/suitd.sock (group suitd), then "
                                        "127.0.0.1:7433"));
        free(s);
    }
    struct capture c;
    cli_usage(cap_open(&c), CLI_CMD_BENCH);
    char *s = cap_close(&c);
    ck_assert_ptr_nonnull(strstr(s, "Run suit-bench"));
    free(s);
    cli_usage(cap_open(&c), CLI_CMD_RELOAD);
    s = cap_close(&c);
    ck_assert_ptr_nonnull(strstr(s, "default 120 s"));
    free(s);
}
END_TEST

START_TEST(test_exit_codes)
{
    /* The protocol's verdict order: a larger code is never milder. */
    static const char *const order[] = {"suitable", "suitable-with-precautions", "incomplete",
                                        "defer", "refer", "contraindicated"};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(cli_exit_for_verdict(order[i]), i);
        ck_assert_int_eq(cli_exit_for_verdict(order[i]), suit_verdict_parse(order[i]));
    }
    ck_assert_int_eq(cli_exit_for_verdict("maybe"), 70);
    ck_assert_int_eq(cli_exit_for_verdict(NULL), 70);

    ck_assert_int_eq(cli_exit_for_error(PROTO_E_INVALID_PARAMS), 65);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_TOO_LARGE), 65);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_OVERLOADED), 75);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_TIMEOUT), 75);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_NOT_PERMITTED), 77);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_RULESET), 78);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_PARSE), 70);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_INVALID_REQUEST), 70);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_METHOD_NOT_FOUND), 70);
    ck_assert_int_eq(cli_exit_for_error(PROTO_E_INTERNAL), 70);
    ck_assert_int_eq(cli_exit_for_error(-1), 70);
}
END_TEST

static void expect_addrs(const struct proto_addr_list *l, const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    ck_assert_uint_eq(l->n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(l->c[i].addr, want[i]);
}
#define EXPECT_ADDRS(l, ...) expect_addrs((l), (const char *const[]){__VA_ARGS__, NULL})

START_TEST(test_addresses)
{
    char buf[256], err[128];
    ck_assert_int_eq(proto_default_socket(buf, sizeof buf, "/run/user/1000", 1000), 0);
    ck_assert_str_eq(buf, "/run/user/1000/suitd.sock");
    ck_assert_int_eq(proto_default_socket(buf, sizeof buf, "", 0), 0);
    ck_assert_str_eq(buf, "/run/suitd/suitd.sock");
    ck_assert_int_eq(proto_default_socket(buf, sizeof buf, "/run/user/0", 0), 0);
    ck_assert_str_eq(buf, "/run/suitd/suitd.sock");
    ck_assert_int_eq(proto_default_socket(buf, sizeof buf, NULL, 1234), 0);
    ck_assert_str_eq(buf, "/tmp/suitd-1234/suitd.sock");
    ck_assert_int_eq(proto_private_dir(buf, sizeof buf, 1234), 0);
    ck_assert_str_eq(buf, "/tmp/suitd-1234");
    ck_assert_int_eq(proto_default_socket(buf, 8, NULL, 1234), -1);
    /* This process's, from its environment (suitd's and suit-httpd's
     * default). */
    char *own, *saved = getenv("XDG_RUNTIME_DIR") ? strdup(getenv("XDG_RUNTIME_DIR")) : NULL;
    setenv("XDG_RUNTIME_DIR", "/run/user/test", 1);
    ck_assert_ptr_nonnull(own = proto_default_socket_dup());
    ck_assert_str_eq(own, geteuid() == 0 ? "/run/suitd/suitd.sock" : "/run/user/test/suitd.sock");
    free(own);
    if (saved)
        setenv("XDG_RUNTIME_DIR", saved, 1);
    else
        unsetenv("XDG_RUNTIME_DIR");
    free(saved);

    /* The order: own socket, system socket, default TCP. */
    struct proto_addr_list l;
    struct cli_args a;
    cli_args_init(&a);
    a.cmd = CLI_CMD_PING;
    ck_assert_int_eq(cli_addr_candidates(&a, NULL, NULL, 1234, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:/tmp/suitd-1234/suitd.sock", "unix:/run/suitd/suitd.sock",
                 "tcp:127.0.0.1:7433");
    ck_assert_int_eq(l.c[0].origin, PROTO_ADDR_USER);
    ck_assert_int_eq(l.c[1].origin, PROTO_ADDR_SYSTEM);
    ck_assert_int_eq(l.c[2].origin, PROTO_ADDR_TCP_DEFAULT);
    ck_assert_int_eq(cli_addr_candidates(&a, "", "/run/user/1000", 1000, &l, err, sizeof err),
                     0);
    EXPECT_ADDRS(&l, "unix:/run/user/1000/suitd.sock", "unix:/run/suitd/suitd.sock",
                 "tcp:127.0.0.1:7433");
    /* Root's own daemon is the system one: listed once. */
    ck_assert_int_eq(cli_addr_candidates(&a, NULL, "/run/user/0", 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:/run/suitd/suitd.sock", "tcp:127.0.0.1:7433");
    /* reload is Unix-only: no TCP fallback. */
    a.cmd = CLI_CMD_RELOAD;
    ck_assert_int_eq(cli_addr_candidates(&a, NULL, NULL, 1234, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:/tmp/suitd-1234/suitd.sock", "unix:/run/suitd/suitd.sock");
    a.cmd = CLI_CMD_PING;

    /* SUIT_ADDR, in each form, is the only candidate. */
    ck_assert_int_eq(cli_addr_candidates(&a, "/srv/s.sock", NULL, 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:/srv/s.sock");
    ck_assert_int_eq(l.c[0].origin, PROTO_ADDR_ENV);
    ck_assert_int_eq(cli_addr_candidates(&a, "127.0.0.1:7433", NULL, 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "tcp:127.0.0.1:7433");
    ck_assert_int_eq(cli_addr_candidates(&a, "tcp:db:1", NULL, 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "tcp:db:1");
    ck_assert_int_eq(cli_addr_candidates(&a, "unix:rel.sock", NULL, 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:rel.sock");
    ck_assert_int_eq(cli_addr_candidates(&a, "suitd.sock", NULL, 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:suitd.sock");
    /* Flags win over SUIT_ADDR. */
    a.connect = "10.0.0.1:9";
    ck_assert_int_eq(cli_addr_candidates(&a, "/srv/s.sock", NULL, 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "tcp:10.0.0.1:9");
    ck_assert_int_eq(l.c[0].origin, PROTO_ADDR_GIVEN);
    a.connect = NULL;
    a.socket = "/x.sock";
    ck_assert_int_eq(cli_addr_candidates(&a, "h:1", "/run/user/1", 0, &l, err, sizeof err), 0);
    EXPECT_ADDRS(&l, "unix:/x.sock");
    a.socket = NULL;
    /* Too long for an address: a usage error naming the culprit. */
    char longpath[PROTO_ADDR_LEN + 10];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    ck_assert_int_eq(cli_addr_candidates(&a, longpath, NULL, 0, &l, err, sizeof err), -1);
    ck_assert_str_eq(err, "SUIT_ADDR is too long");
    ck_assert_int_eq(cli_addr_candidates(&a, NULL, longpath, 1000, &l, err, sizeof err), -1);
    ck_assert_str_eq(err, "XDG_RUNTIME_DIR is too long");
    cli_args_close(&a);

    /* The timeout default is the command's. */
    const char *ping[] = {"suit", "ping", NULL};
    ck_assert_int_eq(parse(&a, ping), 0);
    ck_assert(a.timeout_s == CLI_DEFAULT_TIMEOUT_S);
    cli_args_close(&a);
    const char *reload[] = {"suit", "reload", NULL};
    ck_assert_int_eq(parse(&a, reload), 0);
    ck_assert(a.timeout_s == CLI_RELOAD_TIMEOUT_S && a.timeout_s >= 120);
    cli_args_close(&a);
    const char *reload5[] = {"suit", "reload", "--timeout", "5", NULL};
    ck_assert_int_eq(parse(&a, reload5), 0);
    ck_assert(a.timeout_s == 5);
    cli_args_close(&a);
}
END_TEST

/* `suit bench ...` keeps everything after `bench` for suit-bench. */
START_TEST(test_args_bench)
{
    struct cli_args a;
    const char *b[] = {"suit", "--socket", "/x.sock", "bench", "-c", "4", "--json", "--help",
                       NULL};
    ck_assert_int_eq(parse(&a, b), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_BENCH);
    ck_assert_str_eq(a.socket, "/x.sock");
    ck_assert_int_eq(a.bench_argc, 4);
    ck_assert_str_eq(a.bench_argv[0], "-c");
    ck_assert_str_eq(a.bench_argv[3], "--help");
    cli_args_close(&a);
    const char *h[] = {"suit", "help", "bench", NULL};
    ck_assert_int_eq(parse(&a, h), 0);
    ck_assert_int_eq(a.cmd, CLI_CMD_HELP);
    ck_assert_int_eq(a.help_for, CLI_CMD_BENCH);
    cli_args_close(&a);
    const char *j[] = {"suit", "--json", "bench", NULL};
    ck_assert_int_eq(parse(&a, j), -1);
    ck_assert_ptr_nonnull(strstr(a.err, "'--json' does not apply to 'suit bench'"));
    cli_args_close(&a);
}
END_TEST

START_TEST(test_color_choice)
{
    ck_assert(cli_use_color(CLI_COLOR_AUTO, true, NULL, NULL));
    ck_assert(cli_use_color(CLI_COLOR_AUTO, true, "", "xterm-256color"));
    ck_assert(!cli_use_color(CLI_COLOR_AUTO, true, "1", "xterm"));
    ck_assert(!cli_use_color(CLI_COLOR_AUTO, false, NULL, "xterm"));
    ck_assert(!cli_use_color(CLI_COLOR_AUTO, true, NULL, "dumb"));   /* TERM=dumb */
    ck_assert(cli_use_color(CLI_COLOR_ALWAYS, false, "1", "dumb"));
    ck_assert(!cli_use_color(CLI_COLOR_NEVER, true, NULL, NULL));
}
END_TEST

START_TEST(test_merge)
{
    json_t *base = load("{\"age\": 30, \"conditions\": [\"rosacea\"], \"area\": \"neck\"}");
    json_t *flags = load("{\"age\": 31, \"conditions\": [\"eczema\"], \"allergies\": [\"nickel\"]}");
    char err[128];
    ck_assert_int_eq(pflags_merge(base, flags, err, sizeof err), 0);
    json_t *want = load("{\"age\": 31, \"conditions\": [\"rosacea\", \"eczema\"],"
                        " \"area\": \"neck\", \"allergies\": [\"nickel\"]}");
    ck_assert(json_equal(base, want));
    json_decref(want);
    json_decref(base);
    base = load("{\"conditions\": \"rosacea\"}");
    ck_assert_int_eq(pflags_merge(base, flags, err, sizeof err), -1);
    ck_assert_str_eq(err, "'conditions' in the patient file is not a list");
    json_decref(base);
    json_decref(flags);
    ck_assert_str_eq(pflags_flag_for_fact("fitzpatrick"), "--fitzpatrick");
    ck_assert_ptr_null(pflags_flag_for_fact("shoe-size"));
}
END_TEST

/* ---- suggestions and messages ----------------------------------------- */

START_TEST(test_distance)
{
    ck_assert_uint_eq(suggest_distance("face", "face"), 0);
    ck_assert_uint_eq(suggest_distance("fase", "face"), 1);
    ck_assert_uint_eq(suggest_distance("fcae", "face"), 1);   /* transposition */
    ck_assert_uint_eq(suggest_distance("FACE", "face"), 0);
    ck_assert_uint_eq(suggest_distance("", "neck"), 4);
    ck_assert_uint_eq(suggest_distance("kitten", "sitting"), 3);
    static const char *const areas[] = {"face", "neck", "decolletage", "hands", "scalp"};
    ck_assert_str_eq(suggest_closest("fase", areas, 5), "face");
    ck_assert_str_eq(suggest_closest("decoletage", areas, 5), "decolletage");
    ck_assert_str_eq(suggest_closest("Neck", areas, 5), "neck");
    ck_assert_ptr_null(suggest_closest("elbow", areas, 5));
    static const char *const ind[] = {"acne-scars", "wrinkles", "stretch-marks"};
    ck_assert_str_eq(suggest_closest("acne", ind, 3), "acne-scars");
}
END_TEST

START_TEST(test_messages)
{
    char buf[512];
    static const char *const areas[] = {"face", "neck", "scalp"};
    cmd_unknown_term_message(buf, sizeof buf, "area", "fase", areas, 3);
    ck_assert_str_eq(buf, "unknown area 'fase'; did you mean 'face'? allowed: face, neck, scalp");
    cmd_unknown_term_message(buf, sizeof buf, "area", "elbow", areas, 3);
    ck_assert_str_eq(buf, "unknown area 'elbow'; allowed: face, neck, scalp");
    cmd_unknown_term_message(buf, sizeof buf, "indication", "x", NULL, 0);
    ck_assert_str_eq(buf, "unknown indication 'x'");
}
END_TEST

/* Attempts as rpc_client_connect_first records them. */
static void add_attempt(struct rpc_attempts *t, struct proto_addr_list *l, const char *addr,
                        enum proto_addr_origin origin, int rc, const char *message)
{
    struct proto_addr_candidate *c = &l->c[l->n++];
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->origin = origin;
    struct rpc_attempt *a = &t->a[t->n++];
    a->cand = c;
    a->rc = rc;
    snprintf(a->message, sizeof a->message, "%s", message ? message : "");
}

START_TEST(test_connect_messages)
{
    char buf[2048];
    struct rpc_attempts t;
    struct proto_addr_list l;

    /* An address that was given: one line about it. */
    memset(&t, 0, sizeof t);
    memset(&l, 0, sizeof l);
    add_attempt(&t, &l, "unix:/tmp/s.sock", PROTO_ADDR_GIVEN, -ENOENT, NULL);
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, false), 69);
    ck_assert_str_eq(buf, "cannot connect to unix:/tmp/s.sock: No such file or directory "
                          "(is suitd running? start it with: suitd serve --socket /tmp/s.sock)");
    memset(&t, 0, sizeof t);
    memset(&l, 0, sizeof l);
    add_attempt(&t, &l, "tcp:127.0.0.1:9", PROTO_ADDR_ENV, -ECONNREFUSED, NULL);
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, true), 69);
    ck_assert_str_eq(buf, "cannot connect to tcp:127.0.0.1:9: Connection refused "
                          "(is suitd running? start it with: suitd serve --listen 127.0.0.1:9)");
    /* The system socket on a packaged system: systemctl. */
    memset(&t, 0, sizeof t);
    memset(&l, 0, sizeof l);
    add_attempt(&t, &l, "unix:/run/suitd/suitd.sock", PROTO_ADDR_GIVEN, -ENOENT, NULL);
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, true), 69);
    ck_assert_ptr_nonnull(strstr(buf, "(is suitd running? start it with: systemctl start suitd)"));
    /* EACCES on the system socket: the group, or TCP. */
    t.a[0].rc = -EACCES;
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, true), 77);
    ck_assert_str_eq(buf, "cannot connect to unix:/run/suitd/suitd.sock: permission denied: add "
                          "yourself to the suitd group, or use SUIT_ADDR=127.0.0.1:7433");
    /* A host that does not resolve says so (it used to say "No route to host"). */
    memset(&t, 0, sizeof t);
    memset(&l, 0, sizeof l);
    add_attempt(&t, &l, "tcp:nosuch.invalid:7433", PROTO_ADDR_GIVEN, RPC_E_NOHOST,
                "cannot resolve host 'nosuch.invalid': Name or service not known");
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, false), 68);
    ck_assert_str_eq(buf, "cannot connect to tcp:nosuch.invalid:7433: cannot resolve host "
                          "'nosuch.invalid': Name or service not known");

    /* The defaults: every address tried, then what to do. */
    memset(&t, 0, sizeof t);
    memset(&l, 0, sizeof l);
    add_attempt(&t, &l, "unix:/run/user/1000/suitd.sock", PROTO_ADDR_USER, -ENOENT, NULL);
    add_attempt(&t, &l, "unix:/run/suitd/suitd.sock", PROTO_ADDR_SYSTEM, -EACCES, NULL);
    add_attempt(&t, &l, "tcp:127.0.0.1:7433", PROTO_ADDR_TCP_DEFAULT, -ECONNREFUSED, NULL);
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, true), 77);
    ck_assert_str_eq(buf,
        "cannot reach suitd; tried, in order:\n"
        "  unix:/run/user/1000/suitd.sock (your own daemon): No such file or directory\n"
        "  unix:/run/suitd/suitd.sock (the system daemon): Permission denied\n"
        "  tcp:127.0.0.1:7433 (the default TCP address): Connection refused\n"
        "suit: permission denied: add yourself to the suitd group, or use "
        "SUIT_ADDR=127.0.0.1:7433");
    t.a[1].rc = -ENOENT;
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, true), 69);
    ck_assert_ptr_nonnull(strstr(buf, "\nsuit: suitd is not running: start it with: "
                                      "systemctl start suitd"));
    ck_assert_int_eq(cmd_connect_failure(buf, sizeof buf, &t, false), 69);
    ck_assert_ptr_nonnull(strstr(buf, "\nsuit: is suitd running? start it with: suitd serve"));
    ck_assert_ptr_null(strstr(buf, "systemctl"));
    /* A tiny buffer truncates, never overflows. */
    char small[16];
    ck_assert_int_eq(cmd_connect_failure(small, sizeof small, &t, false), 69);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

/* ---- report ------------------------------------------------------------ */

static const char canned_defer[] =
    "{\"verdict\": \"defer\", \"defer_days\": 60,"
    " \"findings\": ["
    "  {\"id\": \"spf-advice\", \"category\": \"candidacy\", \"severity\": \"info\","
    "   \"summary\": \"Use sunscreen\", \"detail\": \"\", \"source\": \"AAD\", \"action\": \"\","
    "   \"defer_days\": null},"
    "  {\"id\": \"isotretinoin-washout\", \"category\": \"medication\", \"severity\": \"defer\","
    "   \"summary\": \"Isotretinoin stopped 120 days ago\","
    "   \"detail\": \"Wound healing may be impaired.\", \"source\": \"SP, DP\","
    "   \"action\": \"Wait until 180 days after the last dose.\", \"defer_days\": 60},"
    "  {\"id\": \"dark-skin-pih\", \"category\": \"side-effect\", \"severity\": \"caution\","
    "   \"summary\": \"Risk of hyperpigmentation\", \"detail\": \"Fitzpatrick V.\","
    "   \"source\": \"DP\", \"action\": \"Use conservative depth.\", \"defer_days\": null}],"
    " \"side_effects\": ["
    "  {\"effect\": \"Infection\", \"kind\": \"serious\", \"likelihood\": \"rare\", \"note\": \"\"},"
    "  {\"effect\": \"Redness\", \"kind\": \"expected\", \"likelihood\": \"common\","
    "   \"note\": \"settles in 1-3 days\"}],"
    " \"plan\": {\"sessions_min\": 3, \"sessions_max\": 6, \"interval_weeks\": 4,"
    "   \"interval_weeks_max\": 6, \"cost_per_session_usd\": {\"min\": 100, \"typical\": 300,"
    "   \"max\": 700}, \"course_cost_usd\": {\"min\": 300, \"max\": 4200}},"
    " \"aftercare\": [\"No make-up for 24 hours.\", \"Sunscreen daily.\"],"
    " \"missing\": [],"
    " \"ruleset\": {\"name\": \"microneedling\", \"version\": \"1.0.0\","
    "   \"sha256\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},"
    " \"trace\": [\"medications::isotretinoin-washout\", \"side-effects::dark-skin\"]}";

static const char want_defer[] =
    "Defer: come back in 60 days (on 2026-03-02)\n"
    "\n"
    "Findings\n"
    "  Defer\n"
    "    - Isotretinoin stopped 120 days ago [isotretinoin-washout]\n"
    "      Wound healing may be impaired.\n"
    "      Action: Wait until 180 days after the last dose.\n"
    "      Source: SP, DP\n"
    "  Caution\n"
    "    - Risk of hyperpigmentation [dark-skin-pih]\n"
    "      Fitzpatrick V.\n"
    "      Action: Use conservative depth.\n"
    "      Source: DP\n"
    "  Information\n"
    "    - Use sunscreen [spf-advice]\n"
    "      Source: AAD\n"
    "\n"
    "Side effects for this patient\n"
    "  Expected\n"
    "    - Redness (common): settles in 1-3 days\n"
    "  Serious (tell the patient what to watch for)\n"
    "    - Infection (rare)\n"
    "\n"
    "Course plan (if treatment goes ahead later)\n"
    "  Sessions: 3 to 6, every 4 to 6 weeks\n"
    "  Cost per session: $100 to $700 (typical $300)\n"
    "  Course total: $300 to $4,200\n"
    "\n"
    "Aftercare\n"
    "  1. No make-up for 24 hours.\n"
    "  2. Sunscreen daily.\n"
    "\n"
    "Ruleset: microneedling 1.0.0 (0123456789ab)\n"
    "Decision support for a licensed professional; the decision stays with the clinician.\n";

/* 2026-01-01 12:00 UTC */
#define FIXED_NOW ((time_t)1767268800)

static char *render(const char *json, bool color, bool explain)
{
    json_t *r = load(json);
    struct capture c;
    struct report_opts o = {color, explain, FIXED_NOW};
    ck_assert_int_eq(report_render(cap_open(&c), r, &o), 0);
    json_decref(r);
    return cap_close(&c);
}

START_TEST(test_report_defer)
{
    char *s = render(canned_defer, false, false);
    ck_assert_str_eq(s, want_defer);
    ck_assert_ptr_null(strchr(s, '\033'));
    free(s);
}
END_TEST

START_TEST(test_report_explain_and_color)
{
    char *s = render(canned_defer, true, true);
    ck_assert_ptr_nonnull(strstr(s, "\033[1;36mDefer\033[0m: come back in 60 days"));
    ck_assert_ptr_nonnull(strstr(s, "Rules fired, in order\033[0m\n"
                                    "  1. medications::isotretinoin-washout\n"
                                    "  2. side-effects::dark-skin\n"));
    free(s);
}
END_TEST

START_TEST(test_report_contraindicated_no_plan)
{
    static const char json[] =
        "{\"verdict\": \"contraindicated\", \"defer_days\": null,"
        " \"findings\": [{\"id\": \"pregnancy\", \"severity\": \"contraindicated\","
        "   \"summary\": \"Pregnant\", \"source\": \"SP\", \"action\": \"Do not treat.\"},"
        "  {\"id\": \"missing-age\", \"severity\": \"incomplete\", \"summary\": \"Age not given\","
        "   \"source\": \"input\"}],"
        " \"side_effects\": [], \"plan\": null, \"aftercare\": [], \"missing\": [\"age\"],"
        " \"ruleset\": {\"name\": \"m\", \"version\": \"2\", \"sha256\": \"ab\"}}";
    char *s = render(json, false, false);
    ck_assert_ptr_nonnull(strstr(s, "Contraindicated: do not treat\n"));
    ck_assert_ptr_nonnull(strstr(s, "  Contraindicated\n    - Pregnant [pregnancy]\n"));
    ck_assert_ptr_nonnull(strstr(s, "  Incomplete\n    - Age not given [missing-age]\n"));
    /* heaviest first */
    ck_assert(strstr(s, "  Contraindicated\n") < strstr(s, "  Incomplete\n"));
    ck_assert_ptr_nonnull(strstr(s, "Course plan (if treatment goes ahead later)\n  none: no course is planned"));
    ck_assert_ptr_nonnull(strstr(s, "Missing facts (give them for a verdict)\n  - age (--age)\n"));
    ck_assert_ptr_null(strstr(s, "Side effects"));
    ck_assert_ptr_null(strstr(s, "Aftercare"));
    ck_assert_ptr_nonnull(strstr(s, "Ruleset: m 2 (ab)\n"));
    free(s);
}
END_TEST

/* A near-miss finding's `suggestion` is shown on its own line, from the
 * machine-readable field; findings without one show nothing extra. */
START_TEST(test_report_near_miss)
{
    static const char json[] =
        "{\"verdict\": \"incomplete\", \"defer_days\": null,"
        " \"findings\": [{\"id\": \"near-miss-medication\", \"category\": \"input\","
        "   \"severity\": \"incomplete\", \"summary\": \"Medication not recognised\","
        "   \"detail\": \"Close to a known term.\", \"source\": \"input\", \"action\": \"\","
        "   \"defer_days\": null, \"suggestion\": \"isotretinoin\"},"
        "  {\"id\": \"unrecognised-allergy\", \"category\": \"input\", \"severity\": \"caution\","
        "   \"summary\": \"Allergy not recognised: latex\", \"source\": \"input\"}],"
        " \"side_effects\": [], \"plan\": null, \"aftercare\": [], \"missing\": [],"
        " \"ruleset\": {\"name\": \"m\", \"version\": \"2\", \"sha256\": \"ab\"}}";
    char *s = render(json, false, false);
    ck_assert_ptr_nonnull(strstr(s, "Incomplete: facts are missing or must be confirmed"));
    ck_assert_ptr_nonnull(strstr(s,
        "    - Medication not recognised [near-miss-medication]\n"
        "      Suggested term: isotretinoin (correct the term and check again; if it is right "
        "as sent, check it by hand)\n"
        "      Close to a known term.\n"));
    ck_assert_ptr_nonnull(strstr(s, "    - Allergy not recognised: latex [unrecognised-allergy]\n"
                                    "      Source: input\n"));
    ck_assert_ptr_null(strstr(strstr(s, "Suggested term") + 1, "Suggested term"));
    free(s);
    s = render(json, true, false);
    ck_assert_ptr_nonnull(strstr(s, "      \033[1mSuggested term: isotretinoin\033[0m (correct"));
    free(s);
}
END_TEST

START_TEST(test_report_verdict_lines)
{
    static const struct {
        const char *json, *first;
    } cases[] = {
        {"{\"verdict\": \"suitable\"}", "Suitable: nothing found that stands in the way\n"},
        {"{\"verdict\": \"suitable-with-precautions\"}", "Suitable with precautions: treat, "},
        {"{\"verdict\": \"refer\"}", "Refer: a physician should assess"},
        {"{\"verdict\": \"incomplete\"}", "Incomplete: facts are missing or must be confirmed"},
        {"{\"verdict\": \"defer\", \"defer_days\": null}", "Defer: no fixed date; come back when"},
        {"{\"verdict\": \"defer\", \"defer_days\": 1}", "Defer: come back in 1 day (on 2026-01-02)"},
        {"{\"verdict\": \"someday\"}", "Verdict: someday\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = render(cases[i].json, false, false);
        ck_assert_msg(!strncmp(s, cases[i].first, strlen(cases[i].first)), "case %zu: %s", i, s);
        free(s);
    }
    json_t *bad = load("{\"findings\": []}");
    struct capture c;
    struct report_opts o = {false, false, FIXED_NOW};
    ck_assert_int_eq(report_render(cap_open(&c), bad, &o), -1);
    free(cap_close(&c));
    json_decref(bad);
}
END_TEST

START_TEST(test_dates_and_money)
{
    char buf[32];
    ck_assert_int_eq(report_date_after(FIXED_NOW, 0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "2026-01-01");
    ck_assert_int_eq(report_date_after(FIXED_NOW, 59, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "2026-03-01");
    ck_assert_int_eq(report_date_after(FIXED_NOW, 366, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "2027-01-02");
    ck_assert_int_eq(report_date_after(FIXED_NOW, -1, buf, sizeof buf), -1);
    report_usd(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "$0");
    report_usd(999, buf, sizeof buf);
    ck_assert_str_eq(buf, "$999");
    report_usd(4200, buf, sizeof buf);
    ck_assert_str_eq(buf, "$4,200");
    report_usd(1234567, buf, sizeof buf);
    ck_assert_str_eq(buf, "$1,234,567");
}
END_TEST

/* ---- info, stats -------------------------------------------------------- */

START_TEST(test_vocab_terms)
{
    json_t *rs = load("{\"name\": \"m\", \"vocabularies\": {\"areas\": [\"face\", \"neck\"],"
                      " \"indications\": [{\"name\": \"acne-scars\", \"label\": \"Acne scars\"}]}}");
    const char **t;
    ck_assert_uint_eq(info_vocab_terms(rs, "area", &t), 2);
    ck_assert_str_eq(t[0], "face");
    ck_assert_str_eq(t[1], "neck");
    free(t);
    ck_assert_uint_eq(info_vocab_terms(rs, "indication", &t), 1);
    ck_assert_str_eq(t[0], "acne-scars");
    free(t);
    ck_assert_uint_eq(info_vocab_terms(rs, "allergy", &t), 0);
    ck_assert_ptr_null(t);

    struct capture c;
    info_render(cap_open(&c), rs);
    char *s = cap_close(&c);
    ck_assert_ptr_nonnull(strstr(s, "  areas (2): face, neck\n"));
    free(s);
    json_decref(rs);
}
END_TEST

START_TEST(test_info_render_forms)
{
    json_t *ping = load("{\"version\": \"0.1.0\", \"ruleset\": {\"name\": \"m\","
                        " \"version\": \"1\", \"sha256\": \"0123456789abcdef\"}}");
    struct capture c;
    info_render_ping(cap_open(&c), ping, 0.25);
    char *s = cap_close(&c);
    ck_assert_str_eq(s, "suitd 0.1.0 is up (round trip 0.250 ms)\n"
                        "Ruleset: m 1 (0123456789ab)\n");
    free(s);
    json_decref(ping);

    /* Policy as a list of {name, value, description} is read too. */
    json_t *rs = load("{\"name\": \"m\", \"version\": \"1\", \"sha256\": \"ab\","
                      " \"rule_count\": 9, \"policy\": [{\"name\": \"nsaid-hold-days\","
                      " \"value\": 3, \"description\": \"Days to hold NSAIDs\"}],"
                      " \"synonyms\": {\"botox\": \"botulinum-toxin\"}}");
    info_render(cap_open(&c), rs);
    s = cap_close(&c);
    ck_assert_str_eq(s, "Ruleset: m 1 (ab)\n"
                        "  sha256: ab\n"
                        "  rule_count: 9\n"
                        "\nPolicy\n"
                        "  nsaid-hold-days  3  Days to hold NSAIDs\n"
                        "\nSynonyms (accepted, and read as)\n"
                        "  botox -> botulinum-toxin\n");
    free(s);
    json_decref(rs);

    /* With policy_details (the daemon's form metadata): units, and a
     * default a policy file changed. */
    rs = load("{\"name\": \"m\", \"version\": \"1\", \"sha256\": \"ab\","
              " \"policy\": {\"min-age\": 18, \"washout\": 90},"
              " \"policy_details\": {\"min-age\": {\"value\": 18, \"default\": 18,"
              " \"unit\": \"years\", \"description\": \"Below: refer.\"},"
              " \"washout\": {\"value\": 90, \"default\": 180, \"unit\": \"days\","
              " \"description\": \"After isotretinoin.\"}}}");
    info_render(cap_open(&c), rs);
    s = cap_close(&c);
    ck_assert_ptr_nonnull(strstr(s, "\nPolicy\n"
                                    "  min-age  18 years  Below: refer.\n"
                                    "  washout  90 days (default 180)  After isotretinoin.\n"));
    free(s);
    json_decref(rs);
}
END_TEST

static const char canned_stats[] =
    "{\"uptime_s\": 42, \"connections\": {\"current\": 1, \"total\": 7, \"refused\": 0},"
    " \"requests\": {\"ping\": 2, \"assess\": 5},"
    " \"errors\": {\"invalid_params\": 3},"
    " \"latency_ms\": {\"count\": 7, \"p50\": 0.25, \"p90\": 0.5, \"p99\": 1.5, \"p99_9\": 2.0},"
    " \"queue_depth\": 0, \"workers\": 2, \"reloads\": {\"ok\": 1, \"failed\": 0},"
    " \"ruleset\": {\"name\": \"microneedling\", \"version\": \"1.0.0\", \"sha256\": \"ab\\\"c\"},"
    " \"dropped\": {\"idle\": 1}, \"version\": \"0.1.0\"}";

START_TEST(test_prometheus)
{
    json_t *st = load(canned_stats);
    struct capture c;
    ck_assert_int_eq(stats_render_prometheus(cap_open(&c), st), 0);
    char *s = cap_close(&c);
    static const char *const want[] = {
        "# HELP suitd_uptime_seconds Seconds since the daemon started.\n"
        "# TYPE suitd_uptime_seconds gauge\nsuitd_uptime_seconds 42\n",
        "# TYPE suitd_connections_current gauge\nsuitd_connections_current 1\n",
        "# TYPE suitd_connections_total counter\nsuitd_connections_total 7\n",
        "suitd_connections_refused_total 0\n",
        "# TYPE suitd_requests_total counter\n"
        "suitd_requests_total{method=\"ping\"} 2\n"
        "suitd_requests_total{method=\"assess\"} 5\n",
        "suitd_errors_total{code=\"invalid_params\"} 3\n",
        "# TYPE suitd_latency_seconds summary\n"
        "suitd_latency_seconds{quantile=\"0.5\"} 0.00025\n",
        "suitd_latency_seconds{quantile=\"0.999\"} 0.002\nsuitd_latency_seconds_count 7\n",
        "suitd_latency_seconds{quantile=\"0.999\"} 0.002\n",
        "# TYPE suitd_queue_depth gauge\nsuitd_queue_depth 0\n",
        "suitd_reloads_total{result=\"ok\"} 1\nsuitd_reloads_total{result=\"failed\"} 0\n",
        "suitd_ruleset_info{name=\"microneedling\",version=\"1.0.0\",sha256=\"ab\\\"c\"} 1\n",
        "suitd_dropped_total{reason=\"idle\"} 1\n",
        "suitd_version_info{version=\"0.1.0\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(s, want[i]), "missing:\n%s\nin:\n%s", want[i], s);
    /* Each family has exactly one HELP and one TYPE line, and every
     * sample line starts with a family name that was declared. */
    int types = 0;
    for (char *p = s; (p = strstr(p, "# TYPE suitd_requests_total ")); p++)
        types++;
    ck_assert_int_eq(types, 1);
    char *copy = strdup(s), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char fam[128];
        size_t n = strcspn(line, "{ ");
        ck_assert_uint_lt(n, sizeof fam);
        memcpy(fam, line, n);
        fam[n] = '\0';
        ck_assert_uint_eq(strncmp(fam, "suitd_", 6), 0);
        char decl[160];
        snprintf(decl, sizeof decl, "# TYPE %s ", fam);
        if (!strstr(s, decl) && n > 6 && !strcmp(fam + n - 6, "_count")) {
            /* a summary's _count sample belongs to the summary */
            fam[n - 6] = '\0';
            snprintf(decl, sizeof decl, "# TYPE %s summary\n", fam);
        }
        ck_assert_msg(strstr(s, decl), "no TYPE for %s", fam);
    }
    free(copy);
    free(s);
    json_decref(st);
}
END_TEST

START_TEST(test_stats_text)
{
    json_t *st = load(canned_stats);
    struct capture c;
    stats_render_text(cap_open(&c), st);
    char *s = cap_close(&c);
    ck_assert_ptr_nonnull(strstr(s, "uptime_s: 42\nconnections:\n  current: 1\n"));
    ck_assert_ptr_nonnull(strstr(s, "requests:\n  ping: 2\n  assess: 5\n"));
    free(s);
    json_decref(st);
}
END_TEST

/* Terminal controls from the daemon are printed visibly, never raw; text
 * that is safe (UTF-8 included) is left as it is. */
START_TEST(test_safe_text)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain caf\xc3\xa9 \xe2\x9c\x93\ttab", "plain caf\xc3\xa9 \xe2\x9c\x93\ttab"},
        {"\x1b[2Jx", "\\e[2Jx"},
        {"a\x07" "b\x7f", "a\\x07b\\x7f"},
        {"\xc2\x9b" "31m", "\\u009b31m"},           /* C1 CSI */
        {"bad \xff\xc3", "bad \\xff\\xc3"},        /* not UTF-8 */
        {"\xc0\xaf", "\\xc0\\xaf"},                /* overlong '/' */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},    /* a surrogate */
        {"line\nnext\r", "line\\nnext\\r"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = safe_text_escape(cases[i].in, false);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e, cases[i].out);
        ck_assert(safe_text_needs_escape(cases[i].in, false) == (strcmp(e, cases[i].in) != 0));
        free(e);
    }
    char *e = safe_text_escape("two\nlines", true);
    ck_assert_str_eq(e, "two\nlines");
    free(e);

    json_t *j = json_pack("{s:s,s:[s,{s:s}]}", "a", "ok", "b", "x\x1b]52;c;AA==\x07", "c",
                          "\x1b[0m");
    ck_assert_int_eq(safe_text_json(j), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "a")), "ok");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "b"), 0)),
                     "x\\e]52;c;AA==\\x07");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(j, "b"),
                                                                      1), "c")), "\\e[0m");
    json_decref(j);

    struct proto_error pe;
    proto_error_init(&pe);
    proto_error_set(&pe, PROTO_E_INVALID_PARAMS, "unknown area '\x1b[2J'");
    proto_error_set_field(&pe, "area\x1b");
    safe_text_error(&pe);
    ck_assert_str_eq(pe.message, "unknown area '\\e[2J'");
    ck_assert_str_eq(pe.field, "area\\e");
    proto_error_close(&pe);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("args");
    tcase_add_test(tc, test_flags_full_example);
    tcase_add_test(tc, test_flags_med_malformed);
    tcase_add_test(tc, test_flags_variants);
    tcase_add_test(tc, test_args_usage_errors);
    tcase_add_test(tc, test_args_ok);
    tcase_add_test(tc, test_help_texts);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_addresses);
    tcase_add_test(tc, test_args_bench);
    tcase_add_test(tc, test_color_choice);
    tcase_add_test(tc, test_merge);
    suite_add_tcase(s, tc);
    tc = tcase_create("suggest");
    tcase_add_test(tc, test_distance);
    tcase_add_test(tc, test_messages);
    tcase_add_test(tc, test_connect_messages);
    suite_add_tcase(s, tc);
    tc = tcase_create("report");
    tcase_add_test(tc, test_report_defer);
    tcase_add_test(tc, test_report_explain_and_color);
    tcase_add_test(tc, test_report_contraindicated_no_plan);
    tcase_add_test(tc, test_report_near_miss);
    tcase_add_test(tc, test_report_verdict_lines);
    tcase_add_test(tc, test_dates_and_money);
    suite_add_tcase(s, tc);
    tc = tcase_create("render");
    tcase_add_test(tc, test_vocab_terms);
    tcase_add_test(tc, test_info_render_forms);
    tcase_add_test(tc, test_prometheus);
    tcase_add_test(tc, test_stats_text);
    tcase_add_test(tc, test_safe_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Dates in the report are local: fix the zone so they are testable. */
    setenv("TZ", "UTC", 1);
    tzset();
    return testutil_run(client_suite());
}
