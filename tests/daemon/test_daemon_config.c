/*
 * test_daemon_config.c: settings from defaults, the INI file and flags,
 * flags winning; every error names the flag or the file and line.
 */
#include <check.h>
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
    ck_assert_ptr_nonnull(strstr(err, "unknown setting"));
    unlink_conf();
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
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
