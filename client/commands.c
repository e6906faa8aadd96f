/*
 * commands.c: check, ping, info, stats and reload over one connection;
 * bench hands over to suit-bench.
 *
 * Results are turned into JSON (proto_msgpack_to_json) before anything is
 * printed, so the renderers are pure functions of JSON that the unit tests
 * feed with canned results.
 */
#include "commands.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "patient_flags.h"
#include "proto.h"
#include "render_info.h"
#include "render_stats.h"
#include "report.h"
#include "rpc_client.h"
#include "safe_text.h"
#include "suggest.h"

/* rpc_client returns -errno for system errors and PROTO_E_* (all below
 * -32000) for protocol ones. */
static bool cmd_is_errno(int rc)
{
    return rc < 0 && rc > -4096;
}

static bool cmd_denied(int rc)
{
    return rc == -EACCES || rc == -EPERM;
}

static bool cmd_is_system_socket(const char *addr)
{
    return !strncmp(addr, "unix:", 5) && !strcmp(addr + 5, PROTO_SYSTEM_SOCKET);
}

/* Why one attempt failed, for people. */
static const char *cmd_attempt_reason(const struct rpc_attempt *a)
{
    if (a->rc == RPC_E_NOHOST)
        return a->message;
    if (cmd_is_errno(a->rc))
        return strerror(-a->rc);
    return a->message[0] ? a->message : proto_code_name(a->rc);
}

static const char cmd_group_hint[] =
    "permission denied: add yourself to the suitd group, or use SUIT_ADDR=" PROTO_DEFAULT_TCP;

/* How to start the daemon that `addr` belongs to. */
static void cmd_start_hint(char *buf, size_t n, const char *addr, bool packaged)
{
    if (packaged && cmd_is_system_socket(addr))
        snprintf(buf, n, "systemctl start suitd");
    else if (!strncmp(addr, "unix:", 5))
        snprintf(buf, n, "suitd serve --socket %s", addr + 5);
    else if (!strncmp(addr, "tcp:", 4))
        snprintf(buf, n, "suitd serve --listen %s", addr + 4);
    else
        snprintf(buf, n, "suitd serve");
}

int cmd_connect_failure(char *buf, size_t n, const struct rpc_attempts *tried, bool packaged)
{
    buf[0] = '\0';
    if (tried->n == 0) {
        snprintf(buf, n, "no address to connect to");
        return CLI_EXIT_UNAVAILABLE;
    }
    const struct rpc_attempt *last = &tried->a[tried->n - 1];
    if (last->rc == RPC_E_UNTRUSTED) {
        /* A squatter, or a daemon of another user: never worth a retry. */
        snprintf(buf, n, "refusing %s: %s", last->cand->addr, last->message);
        return CLI_EXIT_NOPERM;
    }
    if (tried->n == 1 && last->cand->origin <= PROTO_ADDR_ENV) {
        /* The address a person or script gave: one line about it. */
        const char *addr = last->cand->addr;
        if (cmd_denied(last->rc)) {
            snprintf(buf, n, "cannot connect to %s: %s", addr,
                     cmd_is_system_socket(addr) ? cmd_group_hint
                                                : "permission denied: this user may not "
                                                  "use that socket (see its owner, group "
                                                  "and mode)");
            return CLI_EXIT_NOPERM;
        }
        if (last->rc == RPC_E_NOHOST) {
            snprintf(buf, n, "cannot connect to %s: %s", addr, last->message);
            return CLI_EXIT_NOHOST;
        }
        char hint[PROTO_ADDR_LEN + 32];
        cmd_start_hint(hint, sizeof hint, addr, packaged);
        snprintf(buf, n, "cannot connect to %s: %s (is suitd running? start it with: %s)",
                 addr, cmd_attempt_reason(last), hint);
        return CLI_EXIT_UNAVAILABLE;
    }

    /* The default addresses: list each, then say what to do. */
    size_t k = (size_t)snprintf(buf, n, "cannot reach suitd; tried, in order:");
    const struct rpc_attempt *denied = NULL;
    for (size_t i = 0; i < tried->n && k < n; i++) {
        const struct rpc_attempt *a = &tried->a[i];
        if (cmd_denied(a->rc) && !denied)
            denied = a;
        k += (size_t)snprintf(buf + k, n - k, "\n  %s (%s): %s", a->cand->addr,
                              proto_addr_origin_name(a->cand->origin), cmd_attempt_reason(a));
    }
    if (k >= n)
        return denied ? CLI_EXIT_NOPERM : CLI_EXIT_UNAVAILABLE;
    if (denied) {
        if (cmd_is_system_socket(denied->cand->addr))
            snprintf(buf + k, n - k, "\nsuit: %s", cmd_group_hint);
        else
            snprintf(buf + k, n - k, "\nsuit: permission denied on %s: that socket is not "
                                     "this user's to use", denied->cand->addr);
        return CLI_EXIT_NOPERM;
    }
    bool nothing_there = true;
    for (size_t i = 0; i < tried->n; i++)
        if (tried->a[i].rc != -ENOENT && tried->a[i].rc != -ECONNREFUSED)
            nothing_there = false;
    if (nothing_there && packaged)
        snprintf(buf + k, n - k, "\nsuit: suitd is not running: start it with: "
                                 "systemctl start suitd");
    else if (nothing_there)
        snprintf(buf + k, n - k, "\nsuit: is suitd running? start it with: suitd serve "
                                 "(or point suit at a daemon with --socket, --connect or "
                                 "SUIT_ADDR)");
    else
        snprintf(buf + k, n - k, "\nsuit: %s did not take the connection; suit stopped "
                                 "looking there", last->cand->addr);
    return CLI_EXIT_UNAVAILABLE;
}

void cmd_unknown_term_message(char *buf, size_t n, const char *kind, const char *value,
                              const char *const *terms, size_t n_terms)
{
    int k = snprintf(buf, n, "unknown %s '%s'", kind, value);
    if (k < 0 || (size_t)k >= n)
        return;
    const char *best = suggest_closest(value, terms, n_terms);
    if (best)
        k += snprintf(buf + k, n - (size_t)k, "; did you mean '%s'?", best);
    if ((size_t)k >= n || n_terms == 0)
        return;
    k += snprintf(buf + k, n - (size_t)k, "%sallowed: ", best ? " " : "; ");
    for (size_t i = 0; i < n_terms && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, "%s%s", i ? ", " : "", terms[i]);
}

struct cmd_conn {
    const struct cli_args *a;
    const struct cmd_env *env;
    struct rpc_client *c;
    const char *addr;           /* the address connected to */
    const char *denied_addr;    /* an earlier candidate that refused this user */
};

static int cmd_call(struct cmd_conn *cc, const char *method, rpc_pack_params_fn fn, void *arg,
                    json_t **result, struct proto_error *e_out);
static int cmd_auth(struct cmd_conn *cc);

static int cmd_connect(struct cmd_conn *cc)
{
    int ms = (int)(cc->a->timeout_s * 1000.0 + 0.5);
    struct rpc_attempts tried;
    int rc = rpc_client_connect_first(cc->env->addrs, ms > 0 ? ms : 1, &cc->c, &tried);
    for (size_t i = 0; i < tried.n; i++)
        if (cmd_denied(tried.a[i].rc) && !cc->denied_addr)
            cc->denied_addr = tried.a[i].cand->addr;
    if (rc == 0) {
        cc->addr = tried.a[tried.n - 1].cand->addr;
        return cc->env->token_file ? cmd_auth(cc) : 0;
    }
    char msg[4096];
    int status = cmd_connect_failure(msg, sizeof msg, &tried, cc->env->packaged);
    fprintf(cc->env->err, "suit: %s\n", msg);
    cc->c = NULL;
    return status;
}

static void cmd_pack_empty(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 0);
}

/* The params were converted once before sending (see cmd_check), so this
 * second conversion cannot fail. */
static void cmd_pack_json(msgpack_packer *pk, void *arg)
{
    struct proto_error e;
    proto_error_init(&e);
    (void)proto_json_to_msgpack(arg, pk, &e);
    proto_error_close(&e);
}

/* Prints an error response: its name, code, message, field and details. */
static void cmd_print_error(const struct cmd_conn *cc, const char *method,
                            const struct proto_error *e)
{
    fprintf(cc->env->err, "suit: %s failed: %s (%s %d)\n", method,
            e->message[0] ? e->message : proto_code_name(e->code), proto_code_name(e->code),
            e->code);
    for (size_t i = 0; i < e->n_details; i++)
        fprintf(cc->env->err, "  %s\n", e->details[i]);
    /* Refused over the TCP fallback, after the Unix socket refused us. */
    if (e->code == PROTO_E_NOT_PERMITTED && cc->denied_addr)
        fprintf(cc->env->err, "suit: (%s refused this user: %s)\n", cc->denied_addr,
                cmd_is_system_socket(cc->denied_addr) ? cmd_group_hint
                                                      : "permission denied");
}

/* One call.  Returns 0 with *result (JSON, caller frees), or an exit
 * status; with `e_out` non-NULL an error response is left there for the
 * caller to explain (not printed), and its exit status returned. */
static int cmd_call(struct cmd_conn *cc, const char *method, rpc_pack_params_fn fn, void *arg,
                    json_t **result, struct proto_error *e_out)
{
    struct proto_error e;
    proto_error_init(&e);
    msgpack_object res;
    *result = NULL;
    int rc = rpc_client_call(cc->c, method, fn, arg, &res, &e);
    if (rc == 0) {
        proto_error_close(&e);
        *result = proto_msgpack_to_json(&res);
        if (!*result) {
            fprintf(cc->env->err, "suit: %s: cannot convert the answer to JSON\n", method);
            return CLI_EXIT_SOFTWARE;
        }
        /* For people: no terminal escapes from the daemon's strings (JSON
         * output escapes them itself). */
        if (!cc->a->json && safe_text_json(*result) < 0) {
            fprintf(cc->env->err, "suit: out of memory\n");
            return CLI_EXIT_SOFTWARE;
        }
        return 0;
    }
    if (cmd_is_errno(rc)) {
        int status = CLI_EXIT_UNAVAILABLE;
        if ((rc == -ETIMEDOUT || rc == -EAGAIN) && !strcmp(method, "reload")) {
            fprintf(cc->env->err,
                    "suit: the reload did not finish within %g s (--timeout); the daemon "
                    "carries on with it until its own --reload-timeout, and the old "
                    "ruleset serves until a new one has passed its tests: see `suit stats` "
                    "(reloads) or the daemon's log, or wait longer with --timeout\n",
                    cc->a->timeout_s);
            status = CLI_EXIT_TEMPFAIL;
        } else if (rc == -ETIMEDOUT || rc == -EAGAIN) {
            fprintf(cc->env->err, "suit: no answer from %s within %g s (--timeout)\n",
                    cc->addr, cc->a->timeout_s);
            status = CLI_EXIT_TEMPFAIL;
        } else {
            fprintf(cc->env->err, "suit: connection to %s failed: %s\n", cc->addr,
                    e.message[0] ? e.message : strerror(-rc));
        }
        proto_error_close(&e);
        return status;
    }
    if (e.code == PROTO_OK)
        e.code = rc;
    /* The message may quote what was sent, or be a hostile daemon's. */
    safe_text_error(&e);
    int status = cli_exit_for_error(e.code);
    if (e_out) {
        *e_out = e;   /* ownership of the strings moves to the caller */
        return status;
    }
    cmd_print_error(cc, method, &e);
    proto_error_close(&e);
    return status;
}

static void cmd_print_json(FILE *out, const json_t *j)
{
    json_dumpf(j, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', out);
}

/* Reads the token as the daemon does (proto_token_read). */
static int cmd_read_token(const char *path, char *buf, size_t n, FILE *err)
{
    int rc = proto_token_read(path, buf, n);
    if (rc == PROTO_E_TOO_LARGE || rc == PROTO_E_INVALID_PARAMS) {
        fprintf(err, "suit: token file %s: %s\n", path,
                rc == PROTO_E_TOO_LARGE ? "token too long" : "empty");
        return CLI_EXIT_DATAERR;
    }
    if (rc < 0) {
        fprintf(err, "suit: cannot read the token file %s: %s\n", path, strerror(-rc));
        return CLI_EXIT_NOINPUT;
    }
    return 0;
}

static void cmd_pack_token(msgpack_packer *pk, void *arg)
{
    msgpack_pack_array(pk, 1);
    proto_pack_str(pk, arg);
}

/* `auth [token]` as the first request, as TCP listeners with a token
 * require (harmless elsewhere: the daemon answers true). */
static int cmd_auth(struct cmd_conn *cc)
{
    char token[1024];
    int rc = cmd_read_token(cc->env->token_file, token, sizeof token, cc->env->err);
    if (rc)
        return rc;
    json_t *res = NULL;
    rc = cmd_call(cc, "auth", cmd_pack_token, token, &res, NULL);
    memset(token, 0, sizeof token);
    json_decref(res);
    return rc;
}

/* ---- check ------------------------------------------------------------ */

static int cmd_load_patient(const struct cli_args *a, const struct cmd_env *env,
                            json_t **patient)
{
    *patient = NULL;
    json_t *p = NULL;
    if (a->file) {
        FILE *f = env->in;
        bool is_stdin = !strcmp(a->file, "-");
        if (!is_stdin && !(f = fopen(a->file, "r"))) {
            fprintf(env->err, "suit: cannot read %s: %s\n", a->file, strerror(errno));
            return CLI_EXIT_NOINPUT;
        }
        json_error_t jerr;
        p = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
        if (!is_stdin)
            fclose(f);
        if (!p) {
            fprintf(env->err, "suit: %s:%d:%d: bad JSON: %s\n",
                    is_stdin ? "<stdin>" : a->file, jerr.line, jerr.column, jerr.text);
            return CLI_EXIT_DATAERR;
        }
        if (!json_is_object(p)) {
            fprintf(env->err, "suit: %s: the patient must be a JSON object with the "
                              "protocol's keys (age, pregnant, ...)\n",
                    is_stdin ? "<stdin>" : a->file);
            json_decref(p);
            return CLI_EXIT_DATAERR;
        }
    } else {
        p = json_object();
        if (!p)
            return CLI_EXIT_SOFTWARE;
    }
    if (a->flags_patient) {
        char err[256];
        if (pflags_merge(p, a->flags_patient, err, sizeof err)) {
            fprintf(env->err, "suit: %s\n", err);
            json_decref(p);
            return CLI_EXIT_DATAERR;
        }
    }
    *patient = p;
    return 0;
}

/* An invalid-params answer about the area, indication or setting: fetch
 * the vocabularies and say which values are allowed and which is closest.
 * Returns true when it explained the error. */
static bool cmd_explain_unknown_term(struct cmd_conn *cc, const json_t *patient,
                                     const struct proto_error *e)
{
    static const char *const kinds[] = {"area", "indication", "setting"};
    const char *kind = NULL;
    for (size_t i = 0; i < 3 && !kind; i++) {
        size_t kl = strlen(kinds[i]);
        if ((e->field && !strcmp(e->field, kinds[i])) ||
            (!e->field && !strncmp(e->message, kinds[i], kl) &&
             (e->message[kl] == ':' || e->message[kl] == ' ')))
            kind = kinds[i];
    }
    const char *value = kind ? json_string_value(json_object_get(patient, kind)) : NULL;
    if (!value)
        return false;

    json_t *rs = NULL;
    const char **terms = NULL;
    size_t n = 0;
    if (cmd_call(cc, "ruleset", cmd_pack_empty, NULL, &rs, NULL) == 0)
        n = info_vocab_terms(rs, kind, &terms);
    char msg[4096];
    if (n > 0)
        cmd_unknown_term_message(msg, sizeof msg, kind, value, terms, n);
    else  /* no vocabulary: the daemon's details may list the values */
        cmd_unknown_term_message(msg, sizeof msg, kind, value,
                                 (const char *const *)e->details, e->n_details);
    /* The term comes from the patient file, which may not be this
     * user's own text. */
    char *safe = safe_text_escape(msg, false);
    fprintf(cc->env->err, "suit: %s\n", safe ? safe : "unknown term (unprintable)");
    free(safe);
    free(terms);
    json_decref(rs);
    return true;
}

static int cmd_check(struct cmd_conn *cc)
{
    json_t *patient;
    int rc = cmd_load_patient(cc->a, cc->env, &patient);
    if (rc)
        return rc;
    json_t *params = json_array();
    json_t *options = cc->a->explain || cc->a->policy ? json_object() : NULL;
    if (options && ((cc->a->explain && json_object_set_new(options, "explain", json_true())) ||
                    (cc->a->policy && json_object_set_new(options, "policy",
                                                          json_string(cc->a->policy))))) {
        json_decref(options);
        options = NULL;
    }
    if (!params || json_array_append(params, patient) ||
        ((cc->a->explain || cc->a->policy) && json_array_append_new(params, options))) {
        fprintf(cc->env->err, "suit: out of memory\n");
        json_decref(params);
        json_decref(patient);
        return CLI_EXIT_SOFTWARE;
    }

    /* Convert once up front: a failure here is bad input, before any
     * connection is made. */
    struct proto_error e;
    proto_error_init(&e);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rc = proto_json_to_msgpack(params, &pk, &e);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
        fprintf(cc->env->err, "suit: the patient cannot be sent: %s\n", e.message);
        proto_error_close(&e);
        json_decref(params);
        json_decref(patient);
        return CLI_EXIT_DATAERR;
    }

    json_t *result = NULL;
    if ((rc = cmd_connect(cc)) == 0)
        rc = cmd_call(cc, "assess", cmd_pack_json, params, &result, &e);
    if (rc && e.code != PROTO_OK) {
        if (e.code != PROTO_E_INVALID_PARAMS || !cmd_explain_unknown_term(cc, patient, &e))
            cmd_print_error(cc, "assess", &e);
    }
    if (rc == 0) {
        const char *verdict = json_string_value(json_object_get(result, "verdict"));
        if (cc->a->json) {
            cmd_print_json(cc->env->out, result);
        } else {
            struct report_opts o = {cc->env->color != 0, cc->a->explain, time(NULL)};
            if (report_render(cc->env->out, result, &o))
                fprintf(cc->env->err, "suit: the daemon's answer has no verdict\n");
        }
        rc = cli_exit_for_verdict(verdict);
    }
    proto_error_close(&e);
    json_decref(result);
    json_decref(params);
    json_decref(patient);
    return rc;
}

/* ---- ping, info, stats, reload ---------------------------------------- */

static double cmd_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmd_simple(struct cmd_conn *cc)
{
    const struct cli_args *a = cc->a;
    const char *method = a->cmd == CLI_CMD_PING   ? "ping"
                         : a->cmd == CLI_CMD_INFO ? "ruleset"
                         : a->cmd == CLI_CMD_STATS ? "stats"
                                                   : "reload";
    int rc = cmd_connect(cc);
    if (rc)
        return rc;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *result = NULL;
    rc = cmd_call(cc, method, cmd_pack_empty, NULL, &result, NULL);
    double ms = cmd_ms_since(&t0);
    if (rc)
        return rc;
    FILE *out = cc->env->out;
    if (a->json && a->cmd == CLI_CMD_PING) {
        /* The daemon's answer plus what only the client can measure;
         * microseconds are all a round trip can honestly claim. */
        if (json_is_object(result))
            json_object_set_new(result, "round_trip_ms", json_real(round(ms * 1000.0) / 1000.0));
        json_dumpf(result, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        fputc('\n', out);
    } else if (a->json) {
        cmd_print_json(out, result);
    } else if (a->cmd == CLI_CMD_PING) {
        info_render_ping(out, result, ms);
    } else if (a->cmd == CLI_CMD_INFO) {
        info_render(out, result);
    } else if (a->cmd == CLI_CMD_STATS && a->prometheus) {
        if (stats_render_prometheus(out, result))
            rc = CLI_EXIT_SOFTWARE;
    } else if (a->cmd == CLI_CMD_STATS) {
        stats_render_text(out, result);
    } else {
        /* reload answers {ruleset, cases_passed} (PROTOCOL.md 4.5) */
        const json_t *rs = json_object_get(result, "ruleset");
        fprintf(out, "Reloaded.\n");
        if (json_is_object(rs))
            report_ruleset_line(out, rs);
    }
    json_decref(result);
    return rc;
}

/* ---- bench --------------------------------------------------------------- */

/* suit-bench next to this suit (the package installs both in /usr/bin),
 * else in ../bench/ (a build tree: build/client/suit, build/bench/
 * suit-bench); empty when neither exists, and then PATH decides. */
static void cmd_bench_path(char *buf, size_t n)
{
    char self[PATH_MAX];
    buf[0] = '\0';
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return;
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = '\0';
    static const char *const rel[] = {"/suit-bench", "/../bench/suit-bench"};
    for (size_t i = 0; i < 2; i++) {
        int k = snprintf(buf, n, "%s%s", self, rel[i]);
        if (k > 0 && (size_t)k < n && access(buf, X_OK) == 0)
            return;
    }
    buf[0] = '\0';
}

/* Replaces this process with suit-bench; returns only when that fails. */
static int cmd_bench(const struct cli_args *a, const struct cmd_env *env)
{
    char path[PATH_MAX];
    cmd_bench_path(path, sizeof path);
    size_t max = (size_t)a->bench_argc + 8;
    char **argv = calloc(max, sizeof *argv);
    if (!argv) {
        fprintf(env->err, "suit: out of memory\n");
        return CLI_EXIT_SOFTWARE;
    }
    size_t k = 0;
    argv[k++] = "suit-bench";
    if (a->socket) {
        argv[k++] = "--socket";
        argv[k++] = (char *)a->socket;
    } else if (a->connect) {
        argv[k++] = "--connect";
        argv[k++] = (char *)a->connect;
    }
    if (env->token_file) {
        argv[k++] = "--token-file";
        argv[k++] = (char *)env->token_file;
    }
    for (int i = 0; i < a->bench_argc; i++)
        argv[k++] = a->bench_argv[i];
    argv[k] = NULL;
    fflush(env->out);
    if (path[0])
        execv(path, argv);
    else
        execvp("suit-bench", argv);
    fprintf(env->err, "suit: cannot run suit-bench: %s (the suitd package installs it next "
                      "to suit; a build tree has it in build/bench/)\n", strerror(errno));
    free(argv);
    return CLI_EXIT_UNAVAILABLE;
}

int cmd_run(const struct cli_args *a, const struct cmd_env *env)
{
    struct cmd_conn cc = {a, env, NULL, NULL, NULL};
    int rc;
    switch (a->cmd) {
    case CLI_CMD_CHECK:
        rc = cmd_check(&cc);
        break;
    case CLI_CMD_PING:
    case CLI_CMD_INFO:
    case CLI_CMD_STATS:
    case CLI_CMD_RELOAD:
        rc = cmd_simple(&cc);
        break;
    case CLI_CMD_BENCH:
        rc = cmd_bench(a, env);
        break;
    default:
        fprintf(env->err, "suit: nothing to do\n");
        rc = CLI_EXIT_USAGE;
        break;
    }
    if (cc.c)
        rpc_client_free(cc.c);
    if (fflush(env->out) && rc < CLI_EXIT_USAGE) {
        fprintf(env->err, "suit: cannot write the output: %s\n", strerror(errno));
        rc = CLI_EXIT_SOFTWARE;
    }
    return rc;
}
