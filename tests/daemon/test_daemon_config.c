/*
 * test_daemon_config.c: settings from defaults, the INI file and flags,
 * flags winning; every error names the flag or the file and line.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "testutil.h"

static char conf_path[64];

static void write_conf(const char *text)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/suitd-conf-XXXXXX");
    int fd = mkstemp(conf_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void unlink_conf(void)
{
    if (conf_path[0])
        unlink(conf_path);
}

static int load_args(struct config *c, char *err, size_t errlen, char **argv, int argc)
{
    return config_load(c, argc, argv, err, errlen);
}

#define LOAD(c, err, ...)                                                        \
    load_args((c), (err), sizeof(err), (char *[]){__VA_ARGS__},                  \
              (int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))

START_TEST(defaults)
{
    struct config c;
    char err[256];
    ck_assert_int_eq(config_load(&c, 0, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(c.n_listen, 1);
    ck_assert_str_eq(c.listen[0], "127.0.0.1:7433");
    ck_assert_ptr_nonnull(c.socket_path);
    ck_assert_str_eq(c.rules_dir, "/default/rules");
    ck_assert_uint_eq(c.workers, uv_available_parallelism());   /* "number of cores" */
    ck_assert_uint_eq(c.max_connections, 1024);
    ck_assert_uint_eq(c.max_message, 1048576);
    ck_assert_uint_eq(c.max_inflight, 64);
    ck_assert_uint_eq(c.max_queue, 4096);
    ck_assert_uint_eq(c.idle_timeout_s, 300);
    ck_assert_uint_eq(c.request_timeout_ms, 5000);
    ck_assert_uint_eq(c.max_output, 8u << 20);
    ck_assert_uint_eq(c.shutdown_timeout_s, 10);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_INFO);
    ck_assert(!c.log_facts);
    ck_assert_ptr_null(c.policy_file);
    ck_assert_ptr_null(c.token_file);
    config_close(&c);
}
END_TEST

START_TEST(flags_both_forms)
{
    struct config c;
    char err[256];
    ck_assert_int_eq(LOAD(&c, err, "--socket", "none", "--listen=[::1]:0", "--listen",
                          "127.0.0.1:9", "--workers=3", "--log-facts", "--log-level", "debug",
                          "--max-firings", "77", "--rule-deadline=12", "--idle-timeout", "0"),
                     0);
    ck_assert_ptr_null(c.socket_path);
    ck_assert_uint_eq(c.n_listen, 2);
    ck_assert_str_eq(c.listen[0], "[::1]:0");
    ck_assert_str_eq(c.listen[1], "127.0.0.1:9");
    ck_assert_uint_eq(c.workers, 3);
    ck_assert(c.log_facts);
    ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
    ck_assert_uint_eq(c.engine.max_firings, 77);
    ck_assert_uint_eq(c.engine.deadline_ms, 12);
    ck_assert_uint_eq(c.idle_timeout_s, 0);
    config_close(&c);

    ck_assert_int_eq(LOAD(&c, err, "--listen", "none", "--log-facts=false"), 0);
    ck_assert_uint_eq(c.n_listen, 0);
    ck_assert(!c.log_facts);
    config_close(&c);

    /* the operator's explicit "start anyway", off unless given */
    ck_assert_int_eq(LOAD(&c, err, "--start-with-failing-cases"), 0);
    ck_assert(c.start_with_failing_cases);
    config_close(&c);
    ck_assert_int_eq(LOAD(&c, err, "--start-with-failing-cases=no"), 0);
    ck_assert(!c.start_with_failing_cases);
    config_close(&c);
}
END_TEST

START_TEST(file_then_flags_win)
{
    struct config c;
    char err[256];
    write_conf("# comment\n[suitd]\nsocket = /tmp/x.sock\nlisten = 127.0.0.1:1, 127.0.0.1:2\n"
               "workers = 2\nmax_connections = 9\nlog_facts = yes\npolicy = /p.ini\n");
    ck_assert_int_eq(LOAD(&c, err, "--config", conf_path), 0);
    ck_assert_str_eq(c.socket_path, "/tmp/x.sock");
    ck_assert_uint_eq(c.n_listen, 2);
    ck_assert_str_eq(c.listen[1], "127.0.0.1:2");
    ck_assert_uint_eq(c.workers, 2);
    ck_assert_uint_eq(c.max_connections, 9);
    ck_assert(c.log_facts);
    ck_assert_str_eq(c.policy_file, "/p.ini");
    config_close(&c);

    /* Flags win, wherever they stand relative to --config; one --listen
     * flag replaces the file's whole list. */
    ck_assert_int_eq(LOAD(&c, err, "--workers", "5", "--config", conf_path, "--listen",
                          "127.0.0.1:3", "--socket", "none"), 0);
    ck_assert_uint_eq(c.workers, 5);
    ck_assert_uint_eq(c.n_listen, 1);
    ck_assert_str_eq(c.listen[0], "127.0.0.1:3");
    ck_assert_ptr_null(c.socket_path);
    ck_assert_uint_eq(c.max_connections, 9);
    config_close(&c);
    unlink_conf();
}
END_TEST

START_TEST(errors_name_their_source)
{
    struct config c;
    char err[256];
    ck_assert_int_eq(LOAD(&c, err, "--workers", "zero"), -1);
    ck_assert_ptr_nonnull(strstr(err, "--workers"));
    ck_assert_int_eq(LOAD(&c, err, "--workers", "0"), -1);
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    ck_assert_int_eq(LOAD(&c, err, "--max-queue", "-1"), -1);
    ck_assert_int_eq(LOAD(&c, err, "--log-level", "loud"), -1);
    ck_assert_ptr_nonnull(strstr(err, "debug, info, warn or error"));
    ck_assert_int_eq(LOAD(&c, err, "--nope"), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown option '--nope'"));
    ck_assert_int_eq(LOAD(&c, err, "--max-conections", "9"), -1);
    ck_assert_str_eq(err, "unknown option '--max-conections'; did you mean '--max-connections'? "
                          "(see --help)");
    ck_assert_int_eq(LOAD(&c, err, "--workers", "1025"), -1);
    ck_assert_str_eq(err, "--workers: '1025' is out of range (1 to 1024)");
    ck_assert_int_eq(LOAD(&c, err, "--rules"), -1);
    ck_assert_ptr_nonnull(strstr(err, "needs a value"));
    ck_assert_int_eq(LOAD(&c, err, "serve"), -1);
    ck_assert_int_eq(LOAD(&c, err, "--config", "/nonexistent/suitd.conf"), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/suitd.conf"));

    write_conf("[suitd]\nworkers = 2\n\nmax_output = big\n");
    ck_assert_int_eq(LOAD(&c, err, "--config", conf_path), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:4: max_output", conf_path);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    unlink_conf();

    write_conf("[server]\nworkers = 2\n");
    ck_assert_int_eq(LOAD(&c, err, "--config", conf_path), -1);
    ck_assert_ptr_nonnull(strstr(err, "[suitd]"));
    unlink_conf();

    write_conf("[suitd]\nworker = 2\n");
    ck_assert_int_eq(LOAD(&c, err, "--config", conf_path), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown setting; did you mean 'workers'?"));
    unlink_conf();
}
END_TEST

/* Whitespace runs (line breaks of wrapped text included) as one space. */
static char *squeeze(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        bool ws = *p == ' ' || *p == '\n' || *p == '\t';
        if (ws && o > s && o[-1] == ' ')
            continue;
        *o++ = ws ? ' ' : *p;
    }
    *o = '\0';
    return s;
}

static bool is_number(enum proto_settings_type type)
{
    return type == PROTO_SETTINGS_UINT || type == PROTO_SETTINGS_SIZE ||
           type == PROTO_SETTINGS_U64 || type == PROTO_SETTINGS_U32;
}

static void flag_of(const struct proto_setting *s, char *buf, size_t n, const char *dash)
{
    size_t o = (size_t)snprintf(buf, n, "%s%s", dash, dash);
    for (const char *p = s->name; *p && o + 3 < n; p++) {
        if (*p == '_')
            o += (size_t)snprintf(buf + o, n - o, "%s", dash);
        else
            buf[o++] = *p;
    }
    buf[o] = '\0';
}

/* --help is made from the table: every setting, its value name and its
 * default, which is the value config_load really gives. */
START_TEST(usage_lists_every_setting_with_its_default)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_usage(out);
    fclose(out);
    squeeze(text);
    size_t n = config_settings()->n;
    const struct proto_setting *t = config_settings()->rows;
    ck_assert_uint_ge(n, 20);
    struct config c;
    char err[256];
    ck_assert_int_eq(config_load(&c, 0, NULL, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++) {
        char flag[80], want[400], dflt[200];
        flag_of(&t[i], flag, sizeof flag, "-");
        snprintf(want, sizeof want, "%s%s%s ", flag, t[i].arg ? " " : "", t[i].arg ? t[i].arg : "");
        ck_assert_msg(strstr(text, want), "--help lacks '%s'", want);
        proto_settings_default_text(&t[i], dflt, sizeof dflt);
        if (dflt[0] && t[i].type != PROTO_SETTINGS_BOOL) {
            snprintf(want, sizeof want, "(default %s)", dflt);
            ck_assert_msg(strstr(text, squeeze(want)), "--help lacks '%s'", want);
        }
        /* A constant default is the value a fresh config holds. */
        const char *f = (const char *)&c + t[i].offset;
        if (!t[i].fill_default && t[i].type == PROTO_SETTINGS_UINT)
            ck_assert_uint_eq(*(const unsigned *)f, t[i].def);
        if (!t[i].fill_default && t[i].type == PROTO_SETTINGS_SIZE)
            ck_assert_uint_eq(*(const size_t *)f, t[i].def);
        if (!t[i].fill_default && t[i].type == PROTO_SETTINGS_U64)
            ck_assert_uint_eq(*(const uint64_t *)f, t[i].def);
        if (!t[i].fill_default && t[i].type == PROTO_SETTINGS_U32)
            ck_assert_uint_eq(*(const uint32_t *)f, t[i].def);
        if (is_number(t[i].type))
            ck_assert_msg(t[i].min <= t[i].max && (t[i].fill_default || t[i].def >= t[i].min) &&
                          t[i].def <= t[i].max, "%s: default outside its range", t[i].name);
    }
    config_close(&c);
    free(text);
}
END_TEST

/* Every number is checked against the table's range, both ends. */
START_TEST(every_range_is_enforced)
{
    size_t n = config_settings()->n;
    const struct proto_setting *t = config_settings()->rows;
    for (size_t i = 0; i < n; i++) {
        if (!is_number(t[i].type))
            continue;
        char flag[80], val[32], err[256];
        flag_of(&t[i], flag, sizeof flag, "-");
        struct config c;
        snprintf(val, sizeof val, "%llu", (unsigned long long)t[i].max);
        ck_assert_msg(LOAD(&c, err, flag, val) == 0, "%s %s: %s", flag, val, err);
        config_close(&c);
        snprintf(val, sizeof val, "%llu", (unsigned long long)t[i].max + 1);
        ck_assert_msg(LOAD(&c, err, flag, val) == -1, "%s %s accepted", flag, val);
        ck_assert_msg(strstr(err, "out of range"), "%s", err);
        if (t[i].min > 0) {
            snprintf(val, sizeof val, "%llu", (unsigned long long)t[i].min - 1);
            ck_assert_msg(LOAD(&c, err, flag, val) == -1, "%s %s accepted", flag, val);
        }
    }
}
END_TEST

/* The packaged files document every setting: suitd.conf with its
 * built-in default, the man pages by name. */
START_TEST(packaged_docs_name_every_setting)
{
    const char *src = getenv("SUITD_SOURCE_DIR");
    ck_assert_ptr_nonnull(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/packaging/suitd.conf", src);
    char *conf = testutil_slurp(path);
    snprintf(path, sizeof path, "%s/packaging/suitd.8", src);
    char *man8 = testutil_slurp(path);
    snprintf(path, sizeof path, "%s/packaging/suitd.conf.5", src);
    char *man5 = testutil_slurp(path);
    ck_assert(conf && man8 && man5);
    size_t n = config_settings()->n;
    const struct proto_setting *t = config_settings()->rows;
    for (size_t i = 0; i < n; i++) {
        char want[300], flag[80];
        flag_of(&t[i], flag, sizeof flag, "\\-");
        ck_assert_msg(strstr(man8, flag), "suitd.8 lacks %s", flag);
        if (t[i].type == PROTO_SETTINGS_ACTION || t[i].type == PROTO_SETTINGS_CONFIG)
            continue;
        ck_assert_msg(strstr(man5, t[i].name), "suitd.conf.5 lacks %s", t[i].name);
        snprintf(want, sizeof want, "\n%s = ", t[i].name);
        char commented[300];
        snprintf(commented, sizeof commented, "\n; %s =", t[i].name);
        ck_assert_msg(strstr(conf, want) || strstr(conf, commented), "suitd.conf lacks %s",
                      t[i].name);
        if (t[i].fill_default)
            continue;
        char dflt[64] = "";
        /* The file spells numbers in bytes, where --help may say MiB. */
        if (is_number(t[i].type))
            snprintf(dflt, sizeof dflt, "%llu", (unsigned long long)t[i].def);
        else
            proto_settings_default_text(&t[i], dflt, sizeof dflt);
        snprintf(want, sizeof want, "\n; %s = %s\n", t[i].name, dflt);
        if (t[i].type != PROTO_SETTINGS_OPT_STR)
            ck_assert_msg(strstr(conf, want), "suitd.conf lacks '%s'", want + 1);
    }
    free(conf);
    free(man8);
    free(man5);
}
END_TEST

int main(void)
{
    /* The default rules folder (proto_default_rules_dir) comes from here. */
    setenv("SUITD_RULES", "/default/rules", 1);
    Suite *s = suite_create("daemon_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, flags_both_forms);
    tcase_add_test(tc, file_then_flags_win);
    tcase_add_test(tc, errors_name_their_source);
    tcase_add_test(tc, usage_lists_every_setting_with_its_default);
    tcase_add_test(tc, every_range_is_enforced);
    tcase_add_test(tc, packaged_docs_name_every_setting);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
