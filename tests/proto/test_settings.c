/*
 * test_settings.c: the settings reader suitd and suit-httpd share
 * (proto_settings.h), on a table of its own: flags in both forms, the INI
 * file and its errors with file:line, defaults < file < flags, lists
 * replaced rather than added to, every type's refusals, "did you mean",
 * actions, worked-out defaults and the --help layout.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto_settings.h"
#include "testutil.h"

enum level { LEVEL_LOW, LEVEL_HIGH };

struct conf {
    char *name;
    char *path;                 /* NULL: none */
    char *token;                /* NULL: none */
    char *dir;
    char **peers;
    size_t n_peers;
    unsigned count;
    size_t buffer;
    uint64_t big;
    uint32_t small;
    bool verbose;
    int mode;                   /* 1, 0 or PROTO_SETTINGS_AUTO */
    int level;
    unsigned computed;
    char *config_file;
};

#define FIELD(f) offsetof(struct conf, f)

static int level_parse(const char *v)
{
    return !strcmp(v, "low") ? LEVEL_LOW : !strcmp(v, "high") ? LEVEL_HIGH : -1;
}

static int fill_computed(void *conf)
{
    ((struct conf *)conf)->computed = 42;
    return 0;
}

static int fill_fails(void *conf)
{
    (void)conf;
    return -1;
}

static const char *dir_now(void)
{
    return "/dir/now";
}

static const struct proto_setting rows[] = {
    {"name", PROTO_SETTINGS_NONEMPTY, FIELD(name), .arg = "NAME", .def_str = "anon",
     .help = "a name"},
    {"path", PROTO_SETTINGS_OPT_STR, FIELD(path), .arg = "FILE", .help = "a path"},
    {"token", PROTO_SETTINGS_OPT_NONE, FIELD(token), .arg = "FILE", .help = "a token file"},
    {"dir", PROTO_SETTINGS_STR, FIELD(dir), .arg = "DIR", .default_text_fn = dir_now,
     .help = "a folder"},
    {"peer", PROTO_SETTINGS_LIST, FIELD(peers), .arg = "HOST", .count_offset = FIELD(n_peers),
     .def_str = "a,b", .help = "a peer, repeatable"},
    {"max_count", PROTO_SETTINGS_UINT, FIELD(count), 1, 100, 10, .arg = "N",
     .help = "how many"},
    {"buffer", PROTO_SETTINGS_SIZE, FIELD(buffer), 1024, (uint64_t)1 << 30, 8 << 20,
     .arg = "BYTES", .help = "bytes held"},
    {"big", PROTO_SETTINGS_U64, FIELD(big), 0, UINT64_MAX, 5, .arg = "N", .help = "big"},
    {"small", PROTO_SETTINGS_U32, FIELD(small), 0, UINT32_MAX, 7, .arg = "N", .help = "small"},
    {"verbose", PROTO_SETTINGS_BOOL, FIELD(verbose), .def = 0, .help = "say more"},
    {"mode", PROTO_SETTINGS_TRISTATE, FIELD(mode), .def_str = "auto", .arg = "BOOL",
     .help = "a mode"},
    {"level", PROTO_SETTINGS_ENUM, FIELD(level), .def_str = "low", .arg = "LEVEL",
     .parse = level_parse, .expected = "low or high", .help = "a level"},
    {"computed", PROTO_SETTINGS_UINT, FIELD(computed), 0, 1000, .arg = "N",
     .fill_default = fill_computed, .default_text = "worked out",
     .help = "a default worked out after reading"},
    {"config", PROTO_SETTINGS_CONFIG, FIELD(config_file), .arg = "FILE", .help = "INI file"},
    {"help", PROTO_SETTINGS_ACTION, 0, .help = "this text"},
    {"version", PROTO_SETTINGS_ACTION, 0, .help = "the version"},
};

static const struct proto_settings table = {
    .rows = rows,
    .n = sizeof rows / sizeof rows[0],
    .section = "test",
    .size = sizeof(struct conf),
    .usage_indent = 20,
};

static char conf_path[64];

static const char *write_conf(const char *text)
{
    snprintf(conf_path, sizeof conf_path, "/tmp/test-settings-XXXXXX");
    int fd = mkstemp(conf_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return conf_path;
}

static int load_args(struct conf *c, char *err, size_t errlen, char **argv, int argc)
{
    const struct proto_setting *action = NULL;
    int rc = proto_settings_load(&table, c, argc, argv, &action, err, errlen);
    ck_assert(rc == 1 ? action != NULL : action == NULL);
    return rc;
}

#define LOAD(c, err, ...)                                                        \
    load_args((c), (err), sizeof(err), (char *[]){__VA_ARGS__},                  \
              (int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))

/* Loads argv, expecting a refusal that says exactly `want`; a refused
 * load leaves the struct zeroed. */
#define REFUSED(want, ...)                                                       \
    do {                                                                         \
        struct conf c_;                                                          \
        char err_[512];                                                          \
        ck_assert_int_eq(LOAD(&c_, err_, __VA_ARGS__), -1);                      \
        ck_assert_str_eq(err_, want);                                            \
        ck_assert_ptr_null(c_.name);                                             \
        ck_assert_uint_eq(c_.n_peers, 0);                                        \
    } while (0)

START_TEST(defaults)
{
    struct conf c;
    char err[256];
    const struct proto_setting *action;
    ck_assert_int_eq(proto_settings_load(&table, &c, 0, NULL, &action, err, sizeof err), 0);
    ck_assert_str_eq(c.name, "anon");
    ck_assert_ptr_null(c.path);
    ck_assert_ptr_null(c.dir);          /* default_text_fn is --help's only */
    ck_assert_uint_eq(c.n_peers, 2);
    ck_assert_str_eq(c.peers[0], "a");
    ck_assert_str_eq(c.peers[1], "b");
    ck_assert_uint_eq(c.count, 10);
    ck_assert_uint_eq(c.buffer, 8u << 20);
    ck_assert_uint_eq(c.big, 5);
    ck_assert_uint_eq(c.small, 7);
    ck_assert(!c.verbose);
    ck_assert_int_eq(c.mode, PROTO_SETTINGS_AUTO);
    ck_assert_int_eq(c.level, LEVEL_LOW);
    ck_assert_uint_eq(c.computed, 42);
    proto_settings_close(&table, &c);
    ck_assert_ptr_null(c.name);
    ck_assert_uint_eq(c.n_peers, 0);
}
END_TEST

START_TEST(flags_both_forms_and_every_type)
{
    struct conf c;
    char err[256];
    ck_assert_int_eq(LOAD(&c, err, "--name=x", "--path", "/p", "--token", "/t", "--dir=",
                          "--peer", "h1, h2", "--peer=h3", "--max-count", "100", "--buffer",
                          "1024", "--big=18446744073709551615", "--small", "4294967295",
                          "--verbose", "--mode=OFF", "--level", "high", "--computed=3"),
                     0);
    ck_assert_str_eq(c.name, "x");
    ck_assert_str_eq(c.path, "/p");
    ck_assert_str_eq(c.token, "/t");
    ck_assert_str_eq(c.dir, "");        /* STR takes "" */
    ck_assert_uint_eq(c.n_peers, 3);    /* the first flag replaced the default */
    ck_assert_str_eq(c.peers[0], "h1");
    ck_assert_str_eq(c.peers[1], "h2");
    ck_assert_str_eq(c.peers[2], "h3");
    ck_assert_uint_eq(c.count, 100);
    ck_assert_uint_eq(c.buffer, 1024);
    ck_assert_uint_eq(c.big, UINT64_MAX);
    ck_assert_uint_eq(c.small, UINT32_MAX);
    ck_assert(c.verbose);
    ck_assert_int_eq(c.mode, 0);
    ck_assert_int_eq(c.level, LEVEL_HIGH);
    ck_assert_uint_eq(c.computed, 3);   /* given: not worked out */
    proto_settings_close(&table, &c);

    /* "" clears an optional string; "none" clears only OPT_NONE; "none"
     * empties a list; a bare tristate is 1; bools in any case. */
    ck_assert_int_eq(LOAD(&c, err, "--path", "/p", "--path=", "--token=/t", "--token", "none",
                          "--peer", "none", "--mode", "--verbose=Yes"), 0);
    ck_assert_ptr_null(c.path);
    ck_assert_ptr_null(c.token);
    ck_assert_uint_eq(c.n_peers, 0);
    ck_assert_int_eq(c.mode, 1);
    ck_assert(c.verbose);
    proto_settings_close(&table, &c);
    ck_assert_int_eq(LOAD(&c, err, "--path", "none", "--verbose=off", "--mode=auto"), 0);
    ck_assert_str_eq(c.path, "none");
    ck_assert(!c.verbose);
    ck_assert_int_eq(c.mode, PROTO_SETTINGS_AUTO);
    proto_settings_close(&table, &c);
}
END_TEST

START_TEST(unknown_names_with_did_you_mean)
{
    REFUSED("unknown option '--max-cont'; did you mean '--max-count'? (see --help)",
            "--max-cont", "5");
    REFUSED("unknown option '--verbsoe'; did you mean '--verbose'? (see --help)",
            "--verbsoe");
    /* The value never shows in the message. */
    REFUSED("unknown option '--lvel'; did you mean '--level'? (see --help)", "--lvel=high");
    REFUSED("unknown option '--frobnicate' (see --help)", "--frobnicate");
    REFUSED("unexpected argument 'stray' (see --help)", "stray");
    REFUSED("unexpected argument '--' (see --help)", "--");
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = longname[1] = '-';
    longname[sizeof longname - 1] = '\0';
    char want[300];
    snprintf(want, sizeof want, "unknown option '%.62s' (see --help)", longname);
    REFUSED(want, longname);

    /* In a file: the INI key, file:line, and only settings a file may
     * set are suggested. */
    const char *path = write_conf("[test]\nname = n\n\nmax_cont = 5\n");
    snprintf(want, sizeof want, "%s:4: max_cont: unknown setting; did you mean 'max_count'?",
             path);
    REFUSED(want, "--config", conf_path);
    unlink(path);
    path = write_conf("[test]\nconfg = /x\n");
    snprintf(want, sizeof want, "%s:2: confg: unknown setting", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);
}
END_TEST

START_TEST(numbers_out_of_range_and_bad_sizes)
{
    REFUSED("--max-count: '0' is out of range (1 to 100)", "--max-count", "0");
    REFUSED("--max-count: '101' is out of range (1 to 100)", "--max-count=101");
    REFUSED("--max-count: expected a non-negative integer, got '-1'", "--max-count", "-1");
    REFUSED("--max-count: expected a non-negative integer, got '+5'", "--max-count", "+5");
    REFUSED("--max-count: expected a non-negative integer, got ' 5'", "--max-count", " 5");
    REFUSED("--max-count: expected a non-negative integer, got ''", "--max-count=");
    REFUSED("--buffer: expected a non-negative integer, got '8M'", "--buffer", "8M");
    REFUSED("--buffer: expected a non-negative integer, got '1.5'", "--buffer", "1.5");
    REFUSED("--buffer: '1023' is out of range (1024 to 1073741824)", "--buffer", "1023");
    REFUSED("--big: expected a non-negative integer, got '18446744073709551616'", "--big",
            "18446744073709551616");
    REFUSED("--small: '4294967296' is out of range (0 to 4294967295)", "--small",
            "4294967296");
    REFUSED("--verbose: expected true or false, got 'maybe'", "--verbose=maybe");
    REFUSED("--mode: expected true, false or auto, got 'sometimes'", "--mode=sometimes");
    REFUSED("--level: expected low or high, got 'loud'", "--level", "loud");
    REFUSED("--name: needs a value", "--name=");
    REFUSED("option '--name' needs a value", "--name");
}
END_TEST

START_TEST(file_errors_name_file_and_line)
{
    char want[300];
    const char *path = write_conf("[other]\nname = n\n");
    /* inih names the section's first setting's line. */
    snprintf(want, sizeof want, "%s:2: unknown section [other] (settings go in [test])", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);

    /* The first bad line is the one reported. */
    path = write_conf("; comment\n[test]\nmax_count = 7\nbuffer = 8M\nmax_count = 0\n");
    snprintf(want, sizeof want, "%s:4: buffer: expected a non-negative integer, got '8M'", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);

    path = write_conf("[test]\nmax_count = 500\n");
    snprintf(want, sizeof want, "%s:2: max_count: '500' is out of range (1 to 100)", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);

    path = write_conf("[test]\nconfig = /other.conf\n");
    snprintf(want, sizeof want, "%s:2: config: cannot be set in a config file", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);

    path = write_conf("[test]\nhelp = 1\n");
    snprintf(want, sizeof want, "%s:2: help: cannot be set in a config file", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);

    path = write_conf("[test]\nthis line has no equals sign\n");
    snprintf(want, sizeof want, "%s:2: syntax error", path);
    REFUSED(want, "--config", conf_path);
    unlink(path);

    REFUSED("/nonexistent/test.conf: cannot open config file: No such file or directory",
            "--config", "/nonexistent/test.conf");
}
END_TEST

START_TEST(command_line_overrides_file)
{
    const char *path = write_conf("[test]\nname = from-file\nmax_count = 7\npeer = f1\n"
                                  "peer = f2, f3\nverbose = yes\nlevel = high\ncomputed = 9\n");
    struct conf c;
    char err[512];
    /* The file over the defaults: its first peer line replaced the
     * default list, later lines added. */
    ck_assert_msg(LOAD(&c, err, "--config", conf_path) == 0, "%s", err);
    ck_assert_str_eq(c.name, "from-file");
    ck_assert_uint_eq(c.count, 7);
    ck_assert_uint_eq(c.n_peers, 3);
    ck_assert_str_eq(c.peers[0], "f1");
    ck_assert_str_eq(c.peers[2], "f3");
    ck_assert(c.verbose);
    ck_assert_int_eq(c.level, LEVEL_HIGH);
    ck_assert_uint_eq(c.computed, 9);   /* set by the file: not worked out */
    ck_assert_str_eq(c.config_file, conf_path);
    proto_settings_close(&table, &c);

    /* Flags win wherever they stand relative to --config; the first peer
     * flag replaces the file's whole list, the next adds. */
    ck_assert_msg(LOAD(&c, err, "--max-count", "3", "--peer", "c1", "--config", conf_path,
                       "--peer=c2", "--verbose=false", "--level", "low") == 0, "%s", err);
    ck_assert_str_eq(c.name, "from-file");     /* not given as a flag */
    ck_assert_uint_eq(c.count, 3);
    ck_assert_uint_eq(c.n_peers, 2);
    ck_assert_str_eq(c.peers[0], "c1");
    ck_assert_str_eq(c.peers[1], "c2");
    ck_assert(!c.verbose);
    ck_assert_int_eq(c.level, LEVEL_LOW);
    proto_settings_close(&table, &c);
    unlink(path);
}
END_TEST

/* An action is found before anything is read: --help with a missing
 * config file still prints help; an error before it still wins. */
START_TEST(actions)
{
    struct conf c;
    char err[256];
    const struct proto_setting *action = NULL;
    char *argv[] = {"--config", "/nonexistent/x.conf", "--max-count=0", "--version", "--help"};
    ck_assert_int_eq(proto_settings_load(&table, &c, 5, argv, &action, err, sizeof err), 1);
    ck_assert_str_eq(action->name, "version");
    ck_assert_ptr_null(c.name);         /* closed */
    ck_assert_ptr_null(c.config_file);
    REFUSED("unknown option '--nope' (see --help)", "--nope", "--help");
}
END_TEST

START_TEST(worked_out_default_that_fails)
{
    static const struct proto_setting bad_rows[] = {
        {"name", PROTO_SETTINGS_NONEMPTY, FIELD(name), .def_str = "anon", .help = "a name"},
        {"socket_path", PROTO_SETTINGS_OPT_NONE, FIELD(path), .fill_default = fill_fails,
         .help = "worked out"},
    };
    static const struct proto_settings bad = {bad_rows, 2, "test", sizeof(struct conf), 20};
    struct conf c;
    char err[256];
    const struct proto_setting *action;
    ck_assert_int_eq(proto_settings_load(&bad, &c, 0, NULL, &action, err, sizeof err), -1);
    ck_assert_str_eq(err, "--socket-path: cannot work out the default");
    ck_assert_ptr_null(c.name);
    /* Given, it is not worked out. */
    char *argv[] = {"--socket-path=/s"};
    ck_assert_int_eq(proto_settings_load(&bad, &c, 1, argv, &action, err, sizeof err), 0);
    ck_assert_str_eq(c.path, "/s");
    proto_settings_close(&bad, &c);

    static const struct proto_settings huge = {rows, PROTO_SETTINGS_MAX_ROWS + 1, "test",
                                               sizeof(struct conf), 20};
    ck_assert_int_eq(proto_settings_load(&huge, &c, 0, NULL, &action, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "PROTO_SETTINGS_MAX_ROWS"));
    static const struct proto_setting long_rows[] = {
        {"a_name_of_sixty_four_characters_that_no_flag_could_ever_reach_xy", PROTO_SETTINGS_BOOL,
         FIELD(verbose), .help = "too long"},
    };
    static const struct proto_settings long_table = {long_rows, 1, "test", sizeof(struct conf),
                                                     20};
    ck_assert_uint_eq(strlen(long_rows[0].name), PROTO_SETTINGS_MAX_NAME + 1);
    ck_assert_int_eq(proto_settings_load(&long_table, &c, 0, NULL, &action, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "PROTO_SETTINGS_MAX_NAME"));
}
END_TEST

START_TEST(checks_across_settings_say_the_flag)
{
    char err[128];
    ck_assert_int_eq(proto_settings_fail(err, sizeof err, "max_count", "%d is %s", 3, "odd"), -1);
    ck_assert_str_eq(err, "--max-count: 3 is odd");
}
END_TEST

START_TEST(usage_layout)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    proto_settings_usage(&table, out);
    fclose(out);
    /* The text at column 20; a flag too long for that puts it on the
     * next line; each default as its type shows it. */
    ck_assert_msg(strstr(text, "  --name NAME       a name (default anon)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --path FILE       a path\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --dir DIR         a folder (default /dir/now)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --peer HOST       a peer, repeatable (default a,b)\n"), "%s",
                  text);
    ck_assert_msg(strstr(text, "  --max-count N     how many (default 10)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --buffer BYTES    bytes held (default 8 MiB)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --verbose         say more\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --mode BOOL       a mode (default auto)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --level LEVEL     a level (default low)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --computed N      a default worked out after reading (default "
                               "worked out)\n"), "%s", text);
    ck_assert_msg(strstr(text, "  --help            this text\n"), "%s", text);
    free(text);

    static const struct proto_setting wide[] = {
        {"a_rather_long_name", PROTO_SETTINGS_UINT, FIELD(count), 0, 9, 1, .arg = "N",
         .help = "wide"},
        {"quiet_default", PROTO_SETTINGS_UINT, FIELD(count), 0, 9, 1, .default_text = "",
         .help = "the help says it"},
    };
    static const struct proto_settings t2 = {wide, 2, "test", sizeof(struct conf), 20};
    text = NULL;
    out = open_memstream(&text, &len);
    proto_settings_usage(&t2, out);
    fclose(out);
    ck_assert_str_eq(text, "  --a-rather-long-name N\n"
                           "                    wide (default 1)\n"
                           "  --quiet-default   the help says it\n");
    free(text);

    char buf[64];
    proto_settings_default_text(&rows[7], buf, sizeof buf);     /* big: U64 */
    ck_assert_str_eq(buf, "5");
    proto_settings_default_text(&rows[9], buf, sizeof buf);     /* verbose */
    ck_assert_str_eq(buf, "false");
    proto_settings_default_text(&rows[1], buf, sizeof buf);     /* path: none */
    ck_assert_str_eq(buf, "");
    ck_assert_ptr_eq(proto_settings_find(&table, "max_count"), &rows[5]);
    ck_assert_ptr_null(proto_settings_find(&table, "max-count"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto_settings");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, flags_both_forms_and_every_type);
    tcase_add_test(tc, unknown_names_with_did_you_mean);
    tcase_add_test(tc, numbers_out_of_range_and_bad_sizes);
    tcase_add_test(tc, file_errors_name_file_and_line);
    tcase_add_test(tc, command_line_overrides_file);
    tcase_add_test(tc, actions);
    tcase_add_test(tc, worked_out_default_that_fails);
    tcase_add_test(tc, checks_across_settings_say_the_flag);
    tcase_add_test(tc, usage_layout);
    suite_add_tcase(s, tc);
    return testutil_run(s);
}
