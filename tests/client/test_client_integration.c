/*
 * Integration tests of the `suit` binary against a real suitd.
 *
 * The daemon ($SUITD_BIN serve, bundled ruleset from $SUITD_RULES) is
 * started once per test case group on a temporary socket; each test runs
 * $SUIT_BIN with fork/exec and checks its stdout, stderr and exit status.
 * Tests that need no daemon (daemon down, bad flags, bad JSON) always run;
 * the others are skipped, with a message, only when $SUITD_BIN does not
 * exist.
 *
 * Golden files: tests/client/golden/NAME.txt hold the readable reports
 * (colour off, the return date of a deferral replaced by YYYY-MM-DD).  They
 * depend on the bundled ruleset's text; after changing the rules, rerun with
 *     SUIT_UPDATE_GOLDEN=1 ctest --test-dir build -R test_client_integration
 * and review the diff (git diff tests/client/golden) before committing.
 */
#define _XOPEN_SOURCE 700   /* posix_openpt and friends, for the terminal test */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#ifndef SUIT_GOLDEN_DIR
#error "SUIT_GOLDEN_DIR must name tests/client/golden"
#endif

/* ---- running processes -------------------------------------------------- */

struct run {
    char *out, *err;
    int status;   /* exit status, or 128 + signal */
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* How to run a child: extra environment ("NAME=value"; a bare "NAME"
 * unsets it), as another user (uid 0 = as we are), stdout on a terminal. */
struct run_opts {
    const char *env[4];
    uid_t uid;
    bool tty;
};

/* Runs argv (NULL-terminated; argv[0] is a path) with `input` on stdin. */
static void run_argv_opts(const char *const *argv, const char *input,
                          const struct run_opts *o, struct run *r)
{
    int in[2], out[2], err[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    int pty = -1;
    if (o && o->tty) {
        /* stdout on a pseudo-terminal; the parent reads its master side */
        pty = posix_openpt(O_RDWR | O_NOCTTY);
        ck_assert_int_ge(pty, 0);
        ck_assert_int_eq(grantpt(pty), 0);
        ck_assert_int_eq(unlockpt(pty), 0);
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (pty >= 0) {
            int slave = open(ptsname(pty), O_RDWR | O_NOCTTY);
            if (slave < 0)
                _exit(126);
            struct termios t;
            if (tcgetattr(slave, &t) == 0) {
                t.c_oflag &= ~(tcflag_t)OPOST;   /* no \n -> \r\n */
                tcsetattr(slave, TCSANOW, &t);
            }
            dup2(slave, 1);
            close(slave);
            close(pty);
        }
        for (int i = 0; i < 2; i++) {
            close(in[i]);
            close(out[i]);
            close(err[i]);
        }
        for (size_t i = 0; o && i < 4 && o->env[i]; i++) {
            if (strchr(o->env[i], '='))
                putenv((char *)o->env[i]);
            else
                unsetenv(o->env[i]);
        }
        if (o && o->uid && (setgroups(0, NULL) < 0 || setgid(o->uid) < 0 || setuid(o->uid) < 0)) {
            fprintf(stderr, "cannot become uid %u: %s\n", (unsigned)o->uid, strerror(errno));
            _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (input) {
        signal(SIGPIPE, SIG_IGN);
        ssize_t w = write(in[1], input, strlen(input));
        (void)w;
    }
    close(in[1]);
    struct buf bo = {0}, be = {0};
    buf_add(&bo, "", 0);
    buf_add(&be, "", 0);
    /* With a terminal, stdout is its master side (the pipe stays empty). */
    if (pty >= 0) {
        close(out[0]);
        out[0] = pty;
    }
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        int n = poll(fds, 2, 30000);
        ck_assert_msg(n > 0, "%s did not finish within 30 s", argv[0]);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char tmp[4096];
            ssize_t k = read(fds[i].fd, tmp, sizeof tmp);
            if (k <= 0) {   /* a pty master reads EIO once the child is gone */
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            buf_add(i == 0 ? &bo : &be, tmp, (size_t)k);
        }
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = bo.p;
    r->err = be.p;
}

static void run_argv(const char *const *argv, const char *input, const char *env,
                     struct run *r)
{
    struct run_opts o = {{env}, 0, false};
    run_argv_opts(argv, input, &o, r);
}

static const char *suit_bin(void)
{
    const char *b = getenv("SUIT_BIN");
    return b && *b ? b : "./client/suit";
}

/* Runs suit with up to 40 arguments. */
static void run_suit_env(const char *input, const char *env, struct run *r,
                         const char *const *args)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = suit_bin();
    for (; *args && n < 46; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    run_argv(argv, input, env, r);
}
/* Runs suit with run_opts. */
static void run_suit_opts(const struct run_opts *o, struct run *r, const char *const *args)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = suit_bin();
    for (; *args && n < 46; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    run_argv_opts(argv, NULL, o, r);
}
#define SUIT(r, ...) run_suit_env(NULL, NULL, (r), (const char *const[]){__VA_ARGS__, NULL})
#define SUIT_OPTS(r, o, ...) run_suit_opts((o), (r), (const char *const[]){__VA_ARGS__, NULL})
#define SUIT_IN(r, input, ...) \
    run_suit_env((input), NULL, (r), (const char *const[]){__VA_ARGS__, NULL})
#define SUIT_ENV(r, env, ...) \
    run_suit_env(NULL, (env), (r), (const char *const[]){__VA_ARGS__, NULL})

static void expect_status(const struct run *r, int want)
{
    ck_assert_msg(r->status == want, "exit status %d, want %d\nstdout:\n%s\nstderr:\n%s",
                  r->status, want, r->out, r->err);
}

/* ---- the daemon ---------------------------------------------------------- */

static char g_dir[256];
static char g_sock[300];
static char g_tcp[64];
static pid_t g_daemon = -1;
static bool g_with_token;      /* start the daemon with --token-file */
static bool g_rules_copy;      /* serve a copy of the ruleset in g_dir/rules */
static char g_token[320];      /* the token file's path */

static bool daemon_available(void)
{
    const char *b = getenv("SUITD_BIN");
    return b && *b && access(b, X_OK) == 0;
}

static void daemon_start(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/suit-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(g_sock, sizeof g_sock, "%s/suitd.sock", g_dir);
    char log[300];
    snprintf(log, sizeof log, "%s/suitd.log", g_dir);
    g_tcp[0] = '\0';
    snprintf(g_token, sizeof g_token, "%s/token", g_dir);
    if (g_with_token) {
        FILE *tf = fopen(g_token, "w");
        if (!tf || fputs("s3cret-token\n", tf) < 0 || fclose(tf)) {
            perror(g_token);
            exit(1);
        }
    }
    const char *rules = getenv("SUITD_RULES");
    char copy[400];
    if (g_rules_copy) {
        snprintf(copy, sizeof copy, "%s/rules", g_dir);
        char cmd[1000];
        snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", rules ? rules : "rules", copy);
        if (system(cmd) != 0) {
            fprintf(stderr, "cannot copy the ruleset: %s\n", cmd);
            exit(1);
        }
        rules = copy;
    }
    g_daemon = fork();
    if (g_daemon < 0) {
        perror("fork");
        exit(1);
    }
    if (g_daemon == 0) {
        /* The daemon logs to a file: a pipe nobody drains would block it. */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            _exit(127);
        dup2(fd, 2);
        close(fd);
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        if (g_with_token)
            execl(getenv("SUITD_BIN"), "suitd", "serve", "--socket", g_sock, "--listen",
                  "127.0.0.1:0", "--rules", rules ? rules : "rules", "--token-file", g_token,
                  (char *)NULL);
        else
            execl(getenv("SUITD_BIN"), "suitd", "serve", "--socket", g_sock, "--listen",
                  "127.0.0.1:0", "--rules", rules ? rules : "rules", (char *)NULL);
        _exit(127);
    }
    /* Wait for "suitd: ready", at most 30 s. */
    for (int i = 0; i < 3000; i++) {
        char *text = testutil_slurp(log);
        const char *ready = text ? strstr(text, "suitd: ready") : NULL;
        if (ready) {
            const char *tcp = strstr(text, "listening on tcp:");
            if (tcp)
                sscanf(tcp + strlen("listening on tcp:"), "%63s", g_tcp);
            free(text);
            return;
        }
        int st;
        if (waitpid(g_daemon, &st, WNOHANG) == g_daemon) {
            fprintf(stderr, "suitd exited before it was ready; its log:\n%s\n",
                    text ? text : "(none)");
            free(text);
            g_daemon = -1;
            exit(1);
        }
        free(text);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "suitd did not become ready within 30 s\n");
    kill(g_daemon, SIGKILL);
    exit(1);
}

static void daemon_stop(void)
{
    if (g_daemon > 0) {
        kill(g_daemon, SIGTERM);
        int st;
        for (int i = 0; i < 500 && waitpid(g_daemon, &st, WNOHANG) == 0; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (waitpid(g_daemon, &st, WNOHANG) == 0) {
            kill(g_daemon, SIGKILL);
            waitpid(g_daemon, &st, 0);
        }
        g_daemon = -1;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/suitd.log", g_dir);
    unlink(path);
    unlink(g_sock);
    unlink(g_token);
    if (g_rules_copy) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/rules'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s/rules\n", g_dir);
    }
    rmdir(g_dir);
}

/* ---- patients for each verdict class --------------------------------------- */

#define BASE_NO_AGE "--pregnant", "no", "--breastfeeding", "no", "--fitzpatrick", "2", \
                    "--area", "cheeks", "--indication", "acne-scars"
#define BASE "--age", "35", BASE_NO_AGE

struct verdict_case {
    const char *golden;          /* golden file name */
    const char *verdict;
    int status;
    const char *finding;         /* an id that must be among the findings */
    const char *args[16];
};

static const struct verdict_case verdict_cases[] = {
    {"check_suitable", "suitable", 0, NULL, {BASE}},
    {"check_precautions", "suitable-with-precautions", 1, "rosacea-quiescent",
     {BASE, "--condition", "rosacea"}},
    {"check_defer", "defer", 3, "isotretinoin-washout", {BASE, "--med", "isotretinoin:120"}},
    {"check_refer", "refer", 4, "anticoagulant", {BASE, "--med", "warfarin:0"}},
    {"check_contraindicated", "contraindicated", 5, "pregnant",
     {"--age", "35", "--pregnant", "yes", "--breastfeeding", "no", "--fitzpatrick", "2",
      "--area", "cheeks", "--indication", "acne-scars"}},
    {"check_incomplete", "incomplete", 2, "missing-age", {BASE_NO_AGE}},
};
#define N_VERDICT_CASES (sizeof verdict_cases / sizeof verdict_cases[0])

static void run_check(const struct verdict_case *c, const char *extra1, const char *extra2,
                      struct run *r)
{
    const char *args[24];
    size_t n = 0;
    args[n++] = "check";
    args[n++] = "--socket";
    args[n++] = g_sock;
    for (size_t i = 0; c->args[i]; i++)
        args[n++] = c->args[i];
    if (extra1)
        args[n++] = extra1;
    if (extra2)
        args[n++] = extra2;
    args[n] = NULL;
    run_suit_env(NULL, NULL, r, args);
}

/* The report's date depends on today and the ruleset's hash changes with
 * any edit of the rules: golden files hold placeholders for both (the hash
 * is checked against ping's in test_verdict_json). */
static void normalise(char *s)
{
    char *p = s;
    while ((p = strstr(p, "(on "))) {
        p += 4;
        if (strlen(p) >= 11 && p[4] == '-' && p[7] == '-' && p[10] == ')')
            memcpy(p, "YYYY-MM-DD", 10);
    }
    p = s;
    while ((p = strstr(p, "\nRuleset: "))) {
        p += 10;
        char *open = strchr(p, '(');
        char *nl = strchr(p, '\n');
        if (open && nl && open < nl && nl - open == 14 && open[13] == ')')
            memcpy(open + 1, "SHA256-PREFX", 12);
    }
}

static void check_golden(const char *name, char *got)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.txt", SUIT_GOLDEN_DIR, name);
    normalise(got);
    const char *update = getenv("SUIT_UPDATE_GOLDEN");
    if (update && *update && strcmp(update, "0")) {
        FILE *f = fopen(path, "w");
        ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
        fputs(got, f);
        ck_assert_int_eq(fclose(f), 0);
        return;
    }
    char *want = testutil_slurp(path);
    ck_assert_msg(want != NULL,
                  "golden file %s is missing: create it with SUIT_UPDATE_GOLDEN=1", path);
    if (strcmp(want, got)) {
        /* Check's messages are short: show the first differing line here,
         * and the whole report on stderr. */
        size_t line = 1, i = 0;
        for (; want[i] && want[i] == got[i]; i++)
            if (want[i] == '\n')
                line++;
        size_t start = i;
        while (start > 0 && got[start - 1] != '\n')
            start--;
        fprintf(stderr, "--- %s: the report differs from line %zu; got:\n%s---\n", path, line,
                got);
        int len = (int)strcspn(got + start, "\n");
        ck_abort_msg("report differs from %s at line %zu: got '%.*s' (if the ruleset "
                     "changed on purpose, regenerate with SUIT_UPDATE_GOLDEN=1 and review "
                     "the diff)", path, line, len < 160 ? len : 160, got + start);
    }
    free(want);
}

static json_t *parse_json(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, s);
    return j;
}

static bool has_finding(const json_t *result, const char *id)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(result, "findings"), i, f) {
        const char *fid = json_string_value(json_object_get(f, "id"));
        if (fid && !strcmp(fid, id))
            return true;
    }
    return false;
}

/* ---- tests with a daemon --------------------------------------------------- */

START_TEST(test_verdict_report)
{
    const struct verdict_case *c = &verdict_cases[_i];
    struct run r;
    run_check(c, NULL, NULL, &r);
    expect_status(&r, c->status);
    ck_assert_str_eq(r.err, "");
    ck_assert_ptr_null(strchr(r.out, '\033'));   /* not a terminal: no colour */
    ck_assert_msg(strstr(r.out, "\nRuleset: microneedling "), "%s", r.out);
    const char *last = "Decision support for a licensed professional; the decision stays "
                       "with the clinician.\n";
    size_t lo = strlen(r.out), ll = strlen(last);
    ck_assert(lo > ll && !strcmp(r.out + lo - ll, last));
    /* The short hash is the one the daemon reports for its ruleset. */
    struct run p;
    SUIT(&p, "ping", "--socket", g_sock, "--json");
    json_t *pj = parse_json(p.out);
    const char *sha =
        json_string_value(json_object_get(json_object_get(pj, "ruleset"), "sha256"));
    ck_assert_ptr_nonnull(sha);
    char line[64];
    snprintf(line, sizeof line, " (%.12s)\nPolicy: default (", sha);
    ck_assert_msg(strstr(r.out, line), "no '%s' in %s", line, r.out);
    /* then the policy that decided, by the hash the result carries */
    ck_assert_msg(strstr(r.out, ")\nDecision support"), "no policy line in %s", r.out);
    json_decref(pj);
    run_free(&p);
    check_golden(c->golden, r.out);
    run_free(&r);
}
END_TEST

START_TEST(test_verdict_json)
{
    const struct verdict_case *c = &verdict_cases[_i];
    struct run r;
    run_check(c, "--json", NULL, &r);
    expect_status(&r, c->status);
    json_t *j = parse_json(r.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "verdict")), c->verdict);
    if (c->finding)
        ck_assert_msg(has_finding(j, c->finding), "no finding %s in %s", c->finding, r.out);
    /* Exactly the protocol's keys, no trace without --explain. */
    static const char *const keys[] = {"verdict", "defer_days", "findings", "side_effects",
                                       "plan", "aftercare", "missing", "ruleset", "policy"};
    for (size_t i = 0; i < 9; i++)
        ck_assert_msg(json_object_get(j, keys[i]), "no key %s", keys[i]);
    ck_assert_uint_eq(json_object_size(j), 9);
    const char *sha = json_string_value(json_object_get(json_object_get(j, "ruleset"), "sha256"));
    ck_assert_ptr_nonnull(sha);
    ck_assert_uint_eq(strlen(sha), 64);
    if (!strcmp(c->verdict, "defer"))
        ck_assert_int_eq(json_integer_value(json_object_get(j, "defer_days")), 60);
    if (!strcmp(c->verdict, "incomplete")) {
        json_t *m = json_object_get(j, "missing");
        ck_assert_uint_eq(json_array_size(m), 1);
        ck_assert_str_eq(json_string_value(json_array_get(m, 0)), "age");
    }
    json_decref(j);
    run_free(&r);
}
END_TEST

START_TEST(test_defer_date)
{
    struct run r;
    run_check(&verdict_cases[2], NULL, NULL, &r);
    expect_status(&r, 3);
    char want[64], date[16];
    time_t when = time(NULL);
    struct tm tm;
    localtime_r(&when, &tm);
    tm.tm_mday += 60;
    tm.tm_hour = 12;
    tm.tm_isdst = -1;
    mktime(&tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    snprintf(want, sizeof want, "Defer: come back in 60 days (on %s)\n", date);
    ck_assert_msg(!strncmp(r.out, want, strlen(want)), "want '%s' first, got:\n%s", want, r.out);
    run_free(&r);
}
END_TEST

START_TEST(test_explain)
{
    struct run r;
    run_check(&verdict_cases[2], "--explain", NULL, &r);
    expect_status(&r, 3);
    ck_assert_ptr_nonnull(strstr(r.out, "\nRules fired, in order\n  1. "));
    check_golden("check_defer_explain", r.out);
    run_free(&r);

    run_check(&verdict_cases[2], "--explain", "--json", &r);
    expect_status(&r, 3);
    json_t *j = parse_json(r.out);
    json_t *trace = json_object_get(j, "trace");
    ck_assert(json_is_array(trace));
    ck_assert_uint_gt(json_array_size(trace), 0);
    json_decref(j);
    run_free(&r);
}
END_TEST

START_TEST(test_patient_file_and_stdin)
{
    static const char patient[] =
        "{\"age\": 35, \"pregnant\": false, \"breastfeeding\": false, \"fitzpatrick\": 2,"
        " \"area\": \"cheeks\", \"indication\": \"acne-scars\","
        " \"medications\": [{\"name\": \"isotretinoin\", \"days_since_last_dose\": 120}]}";
    struct run flags, in, file;
    run_check(&verdict_cases[2], "--json", NULL, &flags);
    SUIT_IN(&in, patient, "check", "--socket", g_sock, "-f", "-", "--json");
    expect_status(&in, 3);
    ck_assert_str_eq(in.out, flags.out);

    char path[400];
    snprintf(path, sizeof path, "%s/patient.json", g_dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(patient, f);
    fclose(f);
    SUIT(&file, "check", "--socket", g_sock, "-f", path, "--json");
    expect_status(&file, 3);
    ck_assert_str_eq(file.out, flags.out);
    run_free(&file);

    /* Flags are merged over the file: pregnancy makes it contraindicated. */
    SUIT(&file, "check", "--socket", g_sock, "-f", path, "--pregnant", "yes");
    expect_status(&file, 5);
    unlink(path);
    run_free(&file);
    run_free(&in);
    run_free(&flags);
}
END_TEST

START_TEST(test_unknown_area)
{
    struct run r;
    SUIT(&r, "check", "--socket", g_sock, "--age", "35", "--pregnant", "no", "--breastfeeding",
         "no", "--fitzpatrick", "2", "--area", "cheks", "--indication", "acne-scars");
    expect_status(&r, 65);
    ck_assert_msg(strstr(r.err, "suit: unknown area 'cheks'; did you mean 'cheeks'? allowed: "),
                  "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "forehead"));
    ck_assert_str_eq(r.out, "");
    run_free(&r);

    SUIT(&r, "check", "--socket", g_sock, "--age", "35", "--pregnant", "no", "--breastfeeding",
         "no", "--fitzpatrick", "2", "--area", "cheeks", "--indication", "acne-scra");
    expect_status(&r, 65);
    ck_assert_msg(strstr(r.err, "suit: unknown indication 'acne-scra'; did you mean "
                                "'acne-scars'? allowed: "), "%s", r.err);
    run_free(&r);
}
END_TEST

/* A misspelt medication is never milder than the medication: the verdict
 * is incomplete (exit 2) and suit shows what the term probably means. */
START_TEST(test_near_miss)
{
    static const struct verdict_case c = {"check_near_miss", "incomplete", 2,
                                          "near-miss-medication",
                                          {BASE, "--med", "isotretinion:1"}};
    struct run r;
    run_check(&c, NULL, NULL, &r);
    expect_status(&r, 2);   /* incomplete */
    ck_assert_msg(strstr(r.out, "\n      Suggested term: isotretinoin (correct the term and "
                                "check again; if it is right as sent, check it by hand)\n"),
                  "%s", r.out);
    check_golden(c.golden, r.out);
    run_free(&r);

    run_check(&c, "--json", NULL, &r);
    expect_status(&r, 2);   /* incomplete */
    json_t *j = parse_json(r.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "incomplete");
    json_t *f, *findings = json_object_get(j, "findings");
    size_t i, seen = 0;
    json_array_foreach(findings, i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        json_t *sg = json_object_get(f, "suggestion");
        if (!strcmp(id, "near-miss-medication")) {
            ck_assert_str_eq(json_string_value(sg), "isotretinoin");
            seen++;
        } else {
            ck_assert_ptr_null(sg);
        }
    }
    ck_assert_uint_eq(seen, 1);
    json_decref(j);
    run_free(&r);

    /* the same term spelt right, padded, is the contraindication itself */
    static const struct verdict_case padded = {NULL, "contraindicated", 5, NULL,
                                               {BASE, "--med", " isotretinoin :0"}};
    run_check(&padded, NULL, NULL, &r);
    expect_status(&r, 5);
    ck_assert_ptr_nonnull(strstr(r.out, "[isotretinoin-current]"));
    run_free(&r);
}
END_TEST

START_TEST(test_invalid_params)
{
    struct run r;
    SUIT(&r, "check", "--socket", g_sock, BASE, "--fitzpatrick", "9");
    expect_status(&r, 65);
    ck_assert_msg(strstr(r.err, "suit: assess failed: ") && strstr(r.err, "fitzpatrick") &&
                      strstr(r.err, "invalid params"), "%s", r.err);
    run_free(&r);
}
END_TEST

START_TEST(test_ping)
{
    struct run r;
    SUIT(&r, "ping", "--socket", g_sock);
    expect_status(&r, 0);
    ck_assert_msg(!strncmp(r.out, "suitd ", 6) && strstr(r.out, " is up (round trip ") &&
                      strstr(r.out, "\nRuleset: microneedling 1."), "%s", r.out);
    run_free(&r);

    SUIT(&r, "ping", "--socket", g_sock, "--json");
    expect_status(&r, 0);
    json_t *j = parse_json(r.out);
    ck_assert(json_is_string(json_object_get(j, "version")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "ruleset"), "name")),
                     "microneedling");
    json_decref(j);
    run_free(&r);

    /* Over TCP, and through SUIT_ADDR (both forms). */
    ck_assert_msg(g_tcp[0], "the daemon did not log a TCP address");
    SUIT(&r, "ping", "--connect", g_tcp);
    expect_status(&r, 0);
    run_free(&r);
    char env[400];
    snprintf(env, sizeof env, "SUIT_ADDR=%s", g_tcp);
    SUIT_ENV(&r, env, "ping");
    expect_status(&r, 0);
    run_free(&r);
    snprintf(env, sizeof env, "SUIT_ADDR=%s", g_sock);
    SUIT_ENV(&r, env, "ping");
    expect_status(&r, 0);
    run_free(&r);
}
END_TEST

START_TEST(test_info)
{
    struct run r;
    SUIT(&r, "info", "--socket", g_sock);
    expect_status(&r, 0);
    ck_assert_msg(!strncmp(r.out, "Ruleset: microneedling ", 23), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\nPolicy\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "isotretinoin-washout-days"));
    ck_assert_ptr_nonnull(strstr(r.out, "\nVocabularies\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "cheeks"));
    run_free(&r);

    SUIT(&r, "info", "--socket", g_sock, "--json");
    expect_status(&r, 0);
    json_t *j = parse_json(r.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "microneedling");
    ck_assert_ptr_nonnull(json_object_get(j, "vocabularies"));
    ck_assert_ptr_nonnull(json_object_get(j, "policy"));
    json_decref(j);
    run_free(&r);
}
END_TEST

START_TEST(test_stats)
{
    struct run r;
    SUIT(&r, "ping", "--socket", g_sock);
    run_free(&r);
    SUIT(&r, "stats", "--socket", g_sock);
    expect_status(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "requests:\n"));
    run_free(&r);

    SUIT(&r, "stats", "--socket", g_sock, "--json");
    expect_status(&r, 0);
    json_t *j = parse_json(r.out);
    json_t *req = json_object_get(j, "requests");
    ck_assert(json_is_object(req));
    ck_assert_int_ge(json_integer_value(json_object_get(req, "ping")), 1);
    json_decref(j);
    run_free(&r);

    SUIT(&r, "stats", "--socket", g_sock, "--prometheus");
    expect_status(&r, 0);
    /* The exposition shared with suit-httpd's /metrics (proto_prom.c)
     * must pass promtool, Prometheus's own checker, when it is installed. */
    if (system("command -v promtool >/dev/null 2>&1") == 0) {
        char path[] = "/tmp/suit-prom-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, r.out, strlen(r.out)), (ssize_t)strlen(r.out));
        close(fd);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s >%s.out 2>&1", path, path);
        int st = system(cmd);
        char outp[64];
        snprintf(outp, sizeof outp, "%s.out", path);
        char *why = testutil_slurp(outp);
        ck_assert_msg(st == 0 && why && !why[0], "promtool refused suit stats --prometheus:\n%s",
                      why ? why : "?");
        free(why);
        unlink(outp);
        unlink(path);
    } else {
        printf("SKIPPED: promtool not installed (Debian package prometheus): suit stats "
               "--prometheus was not checked by promtool\n");
    }
    ck_assert_ptr_nonnull(strstr(r.out, "# TYPE suitd_requests_total counter\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "suitd_requests_total{method=\"ping\"} "));
    ck_assert_ptr_nonnull(strstr(r.out, "suitd_ruleset_info{name=\"microneedling\""));
    /* Every line is a comment or `name[{labels}] value`. */
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP suitd_", 13) || !strncmp(line, "# TYPE suitd_", 13))
            continue;
        ck_assert_msg(!strncmp(line, "suitd_", 6), "bad line: %s", line);
        char *sp = strrchr(line, ' ');
        ck_assert_ptr_nonnull(sp);
        char *end;
        strtod(sp + 1, &end);
        ck_assert_msg(*end == '\0', "bad value in: %s", line);
    }
    run_free(&r);
}
END_TEST

START_TEST(test_reload)
{
    struct run r;
    SUIT(&r, "reload", "--socket", g_sock);
    expect_status(&r, 0);
    ck_assert_msg(!strncmp(r.out, "Reloaded.\n", 10), "%s", r.out);
    run_free(&r);
    /* Admin methods are refused on TCP: a server error, not a crash. */
    SUIT(&r, "reload", "--connect", g_tcp);
    expect_status(&r, 77);
    ck_assert_msg(strstr(r.err, "suit: reload failed: "), "%s", r.err);
    run_free(&r);
}
END_TEST

/* Input the daemon refuses is a data error (65), not a server error. */
START_TEST(test_invalid_input_exit_codes)
{
    struct run r;
    SUIT(&r, "check", "--socket", g_sock, BASE, "--age", "200");
    expect_status(&r, 65);
    ck_assert_msg(strstr(r.err, "age") && strstr(r.err, "invalid params"), "%s", r.err);
    run_free(&r);
    SUIT(&r, "check", "--socket", g_sock, BASE, "--fitzpatrick", "7");
    expect_status(&r, 65);
    run_free(&r);
    /* An unknown JSON key: a typo must not silently drop a fact. */
    SUIT_IN(&r, "{\"age\": 35, \"pregnant\": false, \"breastfeeding\": false, "
                "\"fitzpatrick\": 2, \"area\": \"cheeks\", \"indication\": \"acne-scars\", "
                "\"medication\": []}", "check", "--socket", g_sock, "-f", "-");
    expect_status(&r, 65);
    ck_assert_msg(strstr(r.err, "medication"), "%s", r.err);
    run_free(&r);
}
END_TEST

/* ping --json keeps the round-trip time that the readable output shows. */
START_TEST(test_ping_json_round_trip)
{
    struct run r;
    SUIT(&r, "ping", "--socket", g_sock, "--json");
    expect_status(&r, 0);
    json_t *j = parse_json(r.out);
    json_t *rtt = json_object_get(j, "round_trip_ms");
    ck_assert_msg(json_is_real(rtt), "no round_trip_ms in %s", r.out);
    ck_assert(json_real_value(rtt) > 0 && json_real_value(rtt) < 30000);
    ck_assert(json_is_object(json_object_get(j, "ruleset")));
    json_decref(j);
    run_free(&r);
}
END_TEST

/* Colour only on a terminal that can show it: a real pseudo-terminal,
 * with TERM=xterm and TERM=dumb. */
START_TEST(test_color_on_terminal)
{
    struct run r;
    struct run_opts o = {{"TERM=xterm", "NO_COLOR"}, 0, true};
    SUIT_OPTS(&r, &o, "check", "--socket", g_sock, BASE);
    expect_status(&r, 0);
    ck_assert_msg(strchr(r.out, '\033'), "no colour on a terminal:\n%s", r.out);
    run_free(&r);
    o.env[0] = "TERM=dumb";
    SUIT_OPTS(&r, &o, "check", "--socket", g_sock, BASE);
    expect_status(&r, 0);
    ck_assert_msg(!strchr(r.out, '\033'), "colour with TERM=dumb:\n%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "Suitable"));
    run_free(&r);
    o.env[0] = "TERM=dumb";
    SUIT_OPTS(&r, &o, "check", "--socket", g_sock, "--color=always", BASE);
    ck_assert_ptr_nonnull(strchr(r.out, '\033'));
    run_free(&r);
}
END_TEST

/* Whether anything accepts connections at a Unix path or TCP address. */
static bool something_listens(const char *addr)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7433)};
    int fd;
    int rc;
    if (addr[0] == '/') {
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", addr);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
    } else {
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
    }
    close(fd);
    return rc == 0;
}

/* Without an address, a user's own daemon ($XDG_RUNTIME_DIR/suitd.sock)
 * is found first; a socket the user may not use is skipped and named.
 * Root's own daemon is the system one, so as root this runs suit as
 * nobody, with the test daemon's socket handed to nobody. */
START_TEST(test_default_own_socket)
{
    bool root = geteuid() == 0;
    uid_t user = root ? 65534 : 0;
    char xdg[320];
    snprintf(xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", g_dir);
    struct run_opts o = {{xdg, "SUIT_ADDR"}, user, false};
    ck_assert_int_eq(chmod(g_dir, 0711), 0);
    if (root)
        ck_assert_int_eq(chown(g_sock, 65534, 65534), 0);
    struct run r;
    SUIT_OPTS(&r, &o, "ping");
    expect_status(&r, 0);
    ck_assert_msg(strstr(r.out, " is up (round trip "), "%s", r.out);
    run_free(&r);

    /* The socket no longer this user's: permission denied, named. */
    if (root)
        ck_assert_int_eq(chown(g_sock, 0, 0), 0);
    else
        ck_assert_int_eq(chmod(g_sock, 0), 0);
    SUIT_OPTS(&r, &o, "ping", "--socket", g_sock);
    expect_status(&r, 77);
    ck_assert_msg(strstr(r.err, "permission denied: this user may not use that socket"), "%s",
                  r.err);
    run_free(&r);
    if (something_listens(PROTO_SYSTEM_SOCKET) || something_listens("127.0.0.1:7433")) {
        printf("test_default_own_socket: a daemon listens on this machine's default "
               "addresses: the fall-through part is not run\n");
    } else {
        SUIT_OPTS(&r, &o, "ping");
        expect_status(&r, 77);
        char want[512];
        snprintf(want, sizeof want, "suit: cannot reach suitd; tried, in order:\n"
                 "  unix:%s (your own daemon): Permission denied\n"
                 "  unix:/run/suitd/suitd.sock (the system daemon): ", g_sock);
        ck_assert_msg(!strncmp(r.err, want, strlen(want)), "%s", r.err);
        ck_assert_msg(strstr(r.err, "  tcp:127.0.0.1:7433 (the default TCP address): "
                                    "Connection refused\n"), "%s", r.err);
        ck_assert_msg(strstr(r.err, "suit: permission denied on unix:"), "%s", r.err);
        run_free(&r);
    }
    if (!root)
        ck_assert_int_eq(chmod(g_sock, 0660), 0);
    ck_assert_int_eq(chmod(g_dir, 0700), 0);
}
END_TEST

/* `suit bench` runs suit-bench with suit's address. */
START_TEST(test_bench)
{
    struct run r;
    SUIT(&r, "bench", "--help");
    expect_status(&r, 0);
    ck_assert_msg(strstr(r.out, "usage: suit-bench"), "%s%s", r.out, r.err);
    run_free(&r);
    SUIT(&r, "--socket", g_sock, "bench", "--method", "ping", "-n", "50", "--json");
    expect_status(&r, 0);
    json_t *j = parse_json(r.out);
    char want[400];
    snprintf(want, sizeof want, "unix:%s", g_sock);
    ck_assert_str_eq(json_string_value(json_object_get(j, "address")), want);
    json_decref(j);
    run_free(&r);
    /* suit-bench finds the daemon as suit does: here through SUIT_ADDR. */
    char env[400];
    snprintf(env, sizeof env, "SUIT_ADDR=%s", g_tcp);
    SUIT_ENV(&r, env, "bench", "--method", "ping", "-n", "20", "--json");
    expect_status(&r, 0);
    j = parse_json(r.out);
    snprintf(want, sizeof want, "tcp:%s", g_tcp);
    ck_assert_str_eq(json_string_value(json_object_get(j, "address")), want);
    json_decref(j);
    run_free(&r);
}
END_TEST

static void daemon_start_copy(void)
{
    g_rules_copy = true;
    daemon_start();
}

/* A reload whose ruleset does not load is refused (78, EX_CONFIG); the old
 * ruleset keeps serving. */
START_TEST(test_reload_refused)
{
    char path[400];
    snprintf(path, sizeof path, "%s/rules/plan.clp", g_dir);
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fputs("\n(defrule broken-on-purpose\n", f);
    ck_assert_int_eq(fclose(f), 0);
    struct run r;
    SUIT(&r, "reload", "--socket", g_sock);
    expect_status(&r, 78);
    ck_assert_msg(strstr(r.err, "suit: reload failed: "), "%s", r.err);
    run_free(&r);
    SUIT(&r, "check", "--socket", g_sock, BASE);
    expect_status(&r, 0);
    run_free(&r);
}
END_TEST

static void daemon_start_token(void)
{
    g_rules_copy = false;
    g_with_token = true;
    daemon_start();
}

/* A daemon with --token-file requires `auth [token]` first on TCP. */
START_TEST(test_token)
{
    struct run r;
    ck_assert_msg(g_tcp[0], "the daemon did not log a TCP address");
    SUIT(&r, "ping", "--connect", g_tcp);
    expect_status(&r, 77);
    ck_assert_msg(strstr(r.err, "suit: ping failed: ") && strstr(r.err, "not permitted"),
                  "%s", r.err);
    run_free(&r);

    SUIT(&r, "ping", "--connect", g_tcp, "--token-file", g_token);
    expect_status(&r, 0);
    run_free(&r);
    char env[400];
    snprintf(env, sizeof env, "SUIT_TOKEN_FILE=%s", g_token);
    SUIT_ENV(&r, env, "check", "--connect", g_tcp, BASE);
    expect_status(&r, 0);
    run_free(&r);

    char wrong[400];
    snprintf(wrong, sizeof wrong, "%s/wrong", g_dir);
    FILE *f = fopen(wrong, "w");
    ck_assert_ptr_nonnull(f);
    fputs("guess\n", f);
    fclose(f);
    SUIT(&r, "ping", "--connect", g_tcp, "--token-file", wrong);
    expect_status(&r, 77);
    ck_assert_msg(strstr(r.err, "suit: auth failed: wrong token"), "%s", r.err);
    run_free(&r);
    unlink(wrong);

    SUIT(&r, "ping", "--connect", g_tcp, "--token-file", "/nonexistent-suit-test/token");
    expect_status(&r, 66);
    run_free(&r);
    /* The Unix socket needs no token, and sending one does no harm. */
    SUIT(&r, "ping", "--socket", g_sock, "--token-file", g_token);
    expect_status(&r, 0);
    run_free(&r);
}
END_TEST

/* ---- tests without a daemon ------------------------------------------------ */

START_TEST(test_daemon_down)
{
    struct run r;
    SUIT(&r, "ping", "--socket", "/nonexistent-suit-test/suitd.sock");
    expect_status(&r, 69);
    ck_assert_str_eq(r.err, "suit: cannot connect to unix:/nonexistent-suit-test/suitd.sock: "
                            "No such file or directory (is suitd running? start it with: "
                            "suitd serve --socket /nonexistent-suit-test/suitd.sock)\n");
    ck_assert_str_eq(r.out, "");
    run_free(&r);

    SUIT_ENV(&r, "SUIT_ADDR=/nonexistent-suit-test/x.sock", "check", BASE);
    expect_status(&r, 69);
    ck_assert_ptr_nonnull(strstr(r.err, "cannot connect to unix:/nonexistent-suit-test/x.sock"));
    run_free(&r);
}
END_TEST

/* A server that accepts connections and never answers: --timeout ends the
 * wait, with exit status 75 (EX_TEMPFAIL: retry later).  A reload that
 * runs out of time says that the daemon carries on with it. */
START_TEST(test_timeout)
{
    char dir[] = "/tmp/suit-timeout-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/mute.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    struct run r;
    SUIT(&r, "ping", "--socket", sa.sun_path, "--timeout", "0.3");
    expect_status(&r, 75);
    char want[200];
    snprintf(want, sizeof want, "suit: no answer from unix:%s within 0.3 s (--timeout)\n",
             sa.sun_path);
    ck_assert_str_eq(r.err, want);
    run_free(&r);
    SUIT(&r, "reload", "--socket", sa.sun_path, "--timeout", "0.3");
    expect_status(&r, 75);
    ck_assert_msg(strstr(r.err, "suit: the reload did not finish within 0.3 s (--timeout); "
                                "the daemon carries on with it"), "%s", r.err);
    run_free(&r);
    close(fd);
    unlink(sa.sun_path);
    rmdir(dir);
}
END_TEST

/* A host name that does not resolve says so (exit 68, EX_NOHOST). */
START_TEST(test_host_does_not_resolve)
{
    struct run r;
    SUIT(&r, "ping", "--connect", "nosuch.invalid:7433");
    expect_status(&r, 68);
    ck_assert_msg(strstr(r.err, "suit: cannot connect to tcp:nosuch.invalid:7433: cannot "
                                "resolve host 'nosuch.invalid': "), "%s", r.err);
    ck_assert_ptr_null(strstr(r.err, "route"));
    run_free(&r);
}
END_TEST

/* Did you mean, for commands and options. */
START_TEST(test_did_you_mean)
{
    struct run r;
    SUIT(&r, "chek", "--age", "3");
    expect_status(&r, 64);
    ck_assert_msg(strstr(r.err, "suit: unknown command 'chek'; did you mean 'check'?"), "%s",
                  r.err);
    run_free(&r);
    SUIT(&r, "check", "--agee", "35");
    expect_status(&r, 64);
    ck_assert_msg(strstr(r.err, "suit: unknown option '--agee'; did you mean '--age'?"), "%s",
                  r.err);
    run_free(&r);
}
END_TEST

START_TEST(test_bad_flags)
{
    struct run r;
    SUIT(&r, "check", BASE, "--med", "isotretinoin");
    expect_status(&r, 64);
    ck_assert_str_eq(r.err, "suit: --med expects NAME:DAYS, e.g. --med isotretinoin:120\n");
    run_free(&r);
    SUIT(&r, "check", "--frobnicate");
    expect_status(&r, 64);
    run_free(&r);
    SUIT(&r, "launch");
    expect_status(&r, 64);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown command 'launch'"));
    run_free(&r);
    SUIT(&r, "stats", "--explain");
    expect_status(&r, 64);
    run_free(&r);
}
END_TEST

START_TEST(test_bad_json)
{
    struct run r;
    SUIT_IN(&r, "{\"age\": 35,", "check", "--socket", "/nonexistent-suit-test/s", "-f", "-");
    expect_status(&r, 65);
    ck_assert_msg(strstr(r.err, "suit: <stdin>:") && strstr(r.err, "bad JSON"), "%s", r.err);
    run_free(&r);
    SUIT_IN(&r, "[1, 2]", "check", "-f", "-");
    expect_status(&r, 65);
    ck_assert_ptr_nonnull(strstr(r.err, "must be a JSON object"));
    run_free(&r);
    SUIT(&r, "check", "-f", "/nonexistent-suit-test/patient.json");
    expect_status(&r, 66);
    run_free(&r);
}
END_TEST

START_TEST(test_help)
{
    struct run r;
    SUIT(&r, "--help");
    expect_status(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: suit COMMAND"));
    ck_assert_ptr_nonnull(strstr(r.out, "Exit status (check: the verdict class;"));
    run_free(&r);
    SUIT(&r, "check", "--help");
    expect_status(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: suit check"));
    ck_assert_ptr_nonnull(strstr(r.out, "--med NAME:DAYS"));
    run_free(&r);
    SUIT(&r, "stats", "-h");
    expect_status(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--prometheus"));
    run_free(&r);
}
END_TEST

int main(void)
{
    /* Deterministic output: no inherited address or colour preference. */
    unsetenv("SUIT_ADDR");
    unsetenv("NO_COLOR");

    Suite *s = suite_create("client_integration");
    TCase *tc = tcase_create("offline");
    tcase_add_test(tc, test_daemon_down);
    tcase_add_test(tc, test_bad_flags);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_bad_json);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_host_does_not_resolve);
    tcase_add_test(tc, test_did_you_mean);
    suite_add_tcase(s, tc);

    bool have_daemon = daemon_available();
    if (have_daemon) {
        tc = tcase_create("daemon");
        tcase_add_unchecked_fixture(tc, daemon_start, daemon_stop);
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_verdict_report, 0, (int)N_VERDICT_CASES);
        tcase_add_loop_test(tc, test_verdict_json, 0, (int)N_VERDICT_CASES);
        tcase_add_test(tc, test_defer_date);
        tcase_add_test(tc, test_explain);
        tcase_add_test(tc, test_patient_file_and_stdin);
        tcase_add_test(tc, test_unknown_area);
        tcase_add_test(tc, test_near_miss);
        tcase_add_test(tc, test_invalid_params);
        tcase_add_test(tc, test_ping);
        tcase_add_test(tc, test_info);
        tcase_add_test(tc, test_stats);
        tcase_add_test(tc, test_reload);
        tcase_add_test(tc, test_invalid_input_exit_codes);
        tcase_add_test(tc, test_ping_json_round_trip);
        tcase_add_test(tc, test_color_on_terminal);
        tcase_add_test(tc, test_bench);
        tcase_add_test(tc, test_default_own_socket);
        suite_add_tcase(s, tc);
        tc = tcase_create("reload_refused");
        tcase_add_unchecked_fixture(tc, daemon_start_copy, daemon_stop);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_reload_refused);
        suite_add_tcase(s, tc);
        tc = tcase_create("token");
        tcase_add_unchecked_fixture(tc, daemon_start_token, daemon_stop);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_token);
        suite_add_tcase(s, tc);
    } else {
        printf("test_client_integration: SKIPPING the daemon tests: SUITD_BIN (%s) does "
               "not exist; only the offline tests run\n",
               getenv("SUITD_BIN") ? getenv("SUITD_BIN") : "unset");
    }

    return testutil_run(s);
}
