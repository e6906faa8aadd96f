/*
 * cli_args.c: parsing the `suit` command line, help text, addresses.
 *
 * A hand-written parser rather than getopt_long: getopt keeps its state in
 * globals (optind), and options here may come before or after the command.
 */
#include "cli_args.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "patient_flags.h"
#include "proto.h"
#include "suggest.h"

static const char *const cli_command_names[] = {
    [CLI_CMD_NONE] = "", [CLI_CMD_CHECK] = "check", [CLI_CMD_PING] = "ping",
    [CLI_CMD_INFO] = "info", [CLI_CMD_STATS] = "stats", [CLI_CMD_RELOAD] = "reload",
    [CLI_CMD_BENCH] = "bench", [CLI_CMD_HELP] = "help", [CLI_CMD_VERSION] = "version",
};
#define CLI_N_COMMANDS (sizeof cli_command_names / sizeof cli_command_names[0])
#define CLI_COMMAND_LIST "check, ping, info, stats, reload, bench"

const char *cli_command_name(enum cli_command c)
{
    if ((size_t)c < CLI_N_COMMANDS)
        return cli_command_names[c];
    return "";
}

static enum cli_command cli_command_parse(const char *s)
{
    for (size_t i = 1; i < CLI_N_COMMANDS; i++)
        if (!strcmp(cli_command_names[i], s))
            return (enum cli_command)i;
    return CLI_CMD_NONE;
}

/* The exit codes of the verdicts are enum suit_verdict's values. */
#define CLI_SAME(x, y) ((int)(x) == (int)(y))
_Static_assert(CLI_SAME(CLI_EXIT_SUITABLE, SUIT_VERDICT_SUITABLE) &&
                   CLI_SAME(CLI_EXIT_PRECAUTIONS, SUIT_VERDICT_PRECAUTIONS) &&
                   CLI_SAME(CLI_EXIT_INCOMPLETE, SUIT_VERDICT_INCOMPLETE) &&
                   CLI_SAME(CLI_EXIT_DEFER, SUIT_VERDICT_DEFER) &&
                   CLI_SAME(CLI_EXIT_REFER, SUIT_VERDICT_REFER) &&
                   CLI_SAME(CLI_EXIT_CONTRAINDICATED, SUIT_VERDICT_CONTRAINDICATED),
               "verdict exit codes follow the protocol's verdict order");

int cli_exit_for_verdict(const char *verdict)
{
    int v = verdict ? suit_verdict_parse(verdict) : -1;
    return v < 0 ? CLI_EXIT_SOFTWARE : v;
}

int cli_exit_for_error(int code)
{
    switch (code) {
    case PROTO_E_INVALID_PARAMS:
    case PROTO_E_TOO_LARGE:
        return CLI_EXIT_DATAERR;
    case PROTO_E_OVERLOADED:
    case PROTO_E_TIMEOUT:
        return CLI_EXIT_TEMPFAIL;
    case PROTO_E_NOT_PERMITTED:
        return CLI_EXIT_NOPERM;
    case PROTO_E_RULESET:
        return CLI_EXIT_CONFIG;
    default:   /* parse error, invalid request, no such method, internal */
        return CLI_EXIT_SOFTWARE;
    }
}

void cli_args_init(struct cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_s = CLI_DEFAULT_TIMEOUT_S;
    a->color = CLI_COLOR_AUTO;
}

void cli_args_close(struct cli_args *a)
{
    json_decref(a->flags_patient);
    a->flags_patient = NULL;
}

/* Options other than patient flags; `cmds` is the set of commands that
 * accept each (bit per enum cli_command; 0 = every command). */
enum cli_opt_id {
    OPT_HELP, OPT_VERSION, OPT_SOCKET, OPT_CONNECT, OPT_TOKEN_FILE, OPT_TIMEOUT, OPT_COLOR,
    OPT_JSON, OPT_EXPLAIN, OPT_PROMETHEUS, OPT_FILE, OPT_PATIENT, OPT_POLICY,
};

#define CMD_BIT(c) (1u << (c))

struct cli_opt {
    const char *name;
    enum cli_opt_id id;
    bool has_arg;
    unsigned cmds;
};

static const struct cli_opt cli_opts[] = {
    {"help", OPT_HELP, false, 0},
    {"version", OPT_VERSION, false, 0},
    {"socket", OPT_SOCKET, true, 0},
    {"connect", OPT_CONNECT, true, 0},
    {"token-file", OPT_TOKEN_FILE, true, 0},
    {"timeout", OPT_TIMEOUT, true, 0},
    {"color", OPT_COLOR, true, 0},
    {"colour", OPT_COLOR, true, 0},
    {"json", OPT_JSON, false,
     CMD_BIT(CLI_CMD_CHECK) | CMD_BIT(CLI_CMD_PING) | CMD_BIT(CLI_CMD_INFO) |
         CMD_BIT(CLI_CMD_STATS) | CMD_BIT(CLI_CMD_RELOAD)},
    {"explain", OPT_EXPLAIN, false, CMD_BIT(CLI_CMD_CHECK)},
    {"prometheus", OPT_PROMETHEUS, false, CMD_BIT(CLI_CMD_STATS)},
    {"file", OPT_FILE, true, CMD_BIT(CLI_CMD_CHECK)},
    {"policy", OPT_POLICY, true, CMD_BIT(CLI_CMD_CHECK)},
};

static const struct cli_opt cli_opt_patient = {"", OPT_PATIENT, true, CMD_BIT(CLI_CMD_CHECK)};

static const struct cli_opt *cli_opt_find(const char *name)
{
    for (size_t i = 0; i < sizeof cli_opts / sizeof cli_opts[0]; i++)
        if (!strcmp(cli_opts[i].name, name))
            return &cli_opts[i];
    if (pflags_is_flag(name))
        return &cli_opt_patient;
    return NULL;
}

static int cli_fail(struct cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Puts the message in a->err for the caller to print; returns -1. */
static int cli_fail(struct cli_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int cli_apply(struct cli_args *a, const struct cli_opt *o, const char *name,
                     const char *val)
{
    switch (o->id) {
    case OPT_HELP:
        a->cmd = CLI_CMD_HELP;
        return 0;
    case OPT_VERSION:
        if (a->cmd == CLI_CMD_NONE)
            a->cmd = CLI_CMD_VERSION;
        return 0;
    case OPT_SOCKET:
        if (!*val)
            return cli_fail(a, "--socket needs a path");
        a->socket = val;
        return 0;
    case OPT_CONNECT:
        if (!strchr(val, ':'))
            return cli_fail(a, "--connect expects HOST:PORT, e.g. --connect 127.0.0.1:7433");
        a->connect = val;
        return 0;
    case OPT_TOKEN_FILE:
        if (!*val)
            return cli_fail(a, "--token-file needs a file name");
        a->token_file = val;
        return 0;
    case OPT_TIMEOUT: {
        char *end;
        errno = 0;
        double t = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(t) || t <= 0 || t > 86400)
            return cli_fail(a, "--timeout expects seconds greater than 0, e.g. --timeout 10 "
                               "(got '%s')", val);
        a->timeout_s = t;
        a->timeout_given = true;
        return 0;
    }
    case OPT_COLOR:
        if (!strcmp(val, "auto"))
            a->color = CLI_COLOR_AUTO;
        else if (!strcmp(val, "always"))
            a->color = CLI_COLOR_ALWAYS;
        else if (!strcmp(val, "never"))
            a->color = CLI_COLOR_NEVER;
        else
            return cli_fail(a, "--color expects auto, always or never (got '%s')", val);
        return 0;
    case OPT_JSON:
        a->json = true;
        return 0;
    case OPT_EXPLAIN:
        a->explain = true;
        return 0;
    case OPT_PROMETHEUS:
        a->prometheus = true;
        return 0;
    case OPT_FILE:
        if (!*val)
            return cli_fail(a, "-f needs a file name, or - for standard input");
        a->file = val;
        return 0;
    case OPT_POLICY:
        if (!suit_policy_name_valid(val, strlen(val)))
            return cli_fail(a, "--policy expects a policy name (lowercase letters, digits and "
                               "hyphens, e.g. --policy clinic-a; suit info lists them), got '%s'",
                            val);
        a->policy = val;
        return 0;
    case OPT_PATIENT:
        if (!a->flags_patient && !(a->flags_patient = json_object()))
            return cli_fail(a, "out of memory");
        a->has_patient_flags = true;
        return pflags_apply(a->flags_patient, name, val, a->err, sizeof a->err);
    }
    return cli_fail(a, "internal error parsing options");
}

/* "unknown option '--agee'; did you mean '--age'? (see suit --help)" */
static int cli_unknown_option(struct cli_args *a, const char *arg, const char *name)
{
    const char *cands[sizeof cli_opts / sizeof cli_opts[0] + 32];
    size_t n = 0;
    for (size_t i = 0; i < sizeof cli_opts / sizeof cli_opts[0]; i++)
        cands[n++] = cli_opts[i].name;
    for (size_t i = 0; pflags_flag_name(i) && n < sizeof cands / sizeof cands[0]; i++)
        cands[n++] = pflags_flag_name(i);
    const char *best = name ? suggest_closest(name, cands, n) : NULL;
    if (best)
        return cli_fail(a, "unknown option '%s'; did you mean '--%s'? (see suit --help)", arg,
                        best);
    return cli_fail(a, "unknown option '%s' (see suit --help)", arg);
}

/* "unknown command 'chek'; did you mean 'check'? (commands: ...)" */
static int cli_unknown_command(struct cli_args *a, const char *arg)
{
    const char *cands[CLI_N_COMMANDS];
    size_t n = 0;
    for (size_t i = 1; i < CLI_N_COMMANDS; i++)
        if (i != CLI_CMD_VERSION)
            cands[n++] = cli_command_names[i];
    const char *best = suggest_closest(arg, cands, n);
    if (best)
        return cli_fail(a, "unknown command '%s'; did you mean '%s'? (commands: "
                           CLI_COMMAND_LIST "; see suit --help)", arg, best);
    return cli_fail(a, "unknown command '%s' (commands: " CLI_COMMAND_LIST
                       "; see suit --help)", arg);
}

int cli_args_parse(struct cli_args *a, int argc, char **argv)
{
    enum cli_command cmd = CLI_CMD_NONE;
    bool want_help = false, saw_help_cmd = false;
    const struct cli_opt *used[64];
    const char *used_names[64];
    size_t n_used = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct cli_opt *o = NULL;
        char name[64];
        const char *val = NULL;

        if (!strcmp(arg, "-h")) {
            o = cli_opt_find("help");
            snprintf(name, sizeof name, "help");
        } else if (!strcmp(arg, "-f")) {
            o = cli_opt_find("file");
            snprintf(name, sizeof name, "file");
        } else if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
            const char *eq = strchr(arg + 2, '=');
            size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
            if (len >= sizeof name)
                return cli_unknown_option(a, arg, NULL);
            memcpy(name, arg + 2, len);
            name[len] = '\0';
            o = cli_opt_find(name);
            if (!o)
                return cli_unknown_option(a, arg, name);
            if (eq) {
                if (!o->has_arg)
                    return cli_fail(a, "option '--%s' takes no value", name);
                val = eq + 1;
            }
        } else if (arg[0] == '-' && arg[1]) {
            return cli_unknown_option(a, arg, arg + 1);
        } else {
            /* A word: the command, or the topic of `suit help`. */
            enum cli_command c = cli_command_parse(arg);
            if (cmd == CLI_CMD_NONE && !saw_help_cmd) {
                if (c == CLI_CMD_NONE || c == CLI_CMD_VERSION)
                    return cli_unknown_command(a, arg);
                if (c == CLI_CMD_HELP) {
                    saw_help_cmd = true;
                } else if (c == CLI_CMD_BENCH && !want_help) {
                    /* Everything after `bench` is suit-bench's. */
                    cmd = c;
                    a->bench_argv = argv + i + 1;
                    a->bench_argc = argc - i - 1;
                    break;
                } else {
                    cmd = c;
                }
                continue;
            }
            if (saw_help_cmd && cmd == CLI_CMD_NONE && c != CLI_CMD_NONE &&
                c != CLI_CMD_HELP && c != CLI_CMD_VERSION) {
                cmd = c;
                continue;
            }
            return cli_fail(a, "unexpected argument '%s' (see suit --help)", arg);
        }

        if (o->has_arg && !val) {
            if (i + 1 >= argc)
                return cli_fail(a, "option '%s' needs a value", arg);
            val = argv[++i];
        }
        if (o->id == OPT_HELP) {
            want_help = true;
            continue;
        }
        if (cli_apply(a, o, name, val))
            return -1;
        if (n_used < sizeof used / sizeof used[0]) {
            used[n_used] = o;
            used_names[n_used] = o->id == OPT_PATIENT ? NULL : o->name;
            n_used++;
        }
    }

    if (want_help || saw_help_cmd) {
        a->cmd = CLI_CMD_HELP;
        a->help_for = cmd;
        return 0;
    }
    if (a->cmd == CLI_CMD_VERSION && cmd == CLI_CMD_NONE)
        return 0;
    if (cmd == CLI_CMD_NONE)
        return cli_fail(a, "no command given (commands: " CLI_COMMAND_LIST "; see suit --help)");
    a->cmd = cmd;
    if (!a->timeout_given && cmd == CLI_CMD_RELOAD)
        a->timeout_s = CLI_RELOAD_TIMEOUT_S;

    for (size_t i = 0; i < n_used; i++) {
        if (used[i]->cmds && !(used[i]->cmds & CMD_BIT(cmd))) {
            if (used[i]->id == OPT_PATIENT)
                return cli_fail(a, "patient facts are options of 'suit check', not '%s'",
                                cli_command_name(cmd));
            return cli_fail(a, "option '--%s' does not apply to 'suit %s'", used_names[i],
                            cli_command_name(cmd));
        }
    }
    if (a->socket && a->connect)
        return cli_fail(a, "give either --socket or --connect, not both");
    if (a->json && a->prometheus)
        return cli_fail(a, "give either --json or --prometheus, not both");
    if (cmd == CLI_CMD_CHECK && !a->file && !a->has_patient_flags)
        return cli_fail(a, "suit check needs the patient's facts: flags such as --age 34 "
                           "--pregnant no ..., or -f FILE (see suit check --help)");
    return 0;
}

int cli_addr_candidates(const struct cli_args *a, const char *env_addr, const char *xdg,
                        uid_t euid, struct proto_addr_list *l, char *err, size_t errlen)
{
    char given[PROTO_ADDR_LEN];
    int len = 0;
    if (a->socket)
        len = snprintf(given, sizeof given, "unix:%s", a->socket);
    else if (a->connect)
        len = snprintf(given, sizeof given, "tcp:%s", a->connect);
    if (len < 0 || (size_t)len >= sizeof given) {
        snprintf(err, errlen, "address is too long");
        return -1;
    }
    unsigned flags = a->cmd == CLI_CMD_RELOAD ? PROTO_ADDR_UNIX_ONLY : 0;
    if (proto_addr_candidates(l, len ? given : NULL, env_addr, xdg, euid, flags)) {
        snprintf(err, errlen, "%s is too long",
                 env_addr && *env_addr && !len ? "SUIT_ADDR" : "XDG_RUNTIME_DIR");
        return -1;
    }
    return 0;
}

bool cli_use_color(enum cli_color c, bool is_tty, const char *no_color, const char *term)
{
    if (c == CLI_COLOR_ALWAYS)
        return true;
    if (c == CLI_COLOR_NEVER)
        return false;
    return is_tty && !(no_color && *no_color) && !(term && !strcmp(term, "dumb"));
}

/* The verdict codes rise with severity (enum suit_verdict); the others are
 * sysexits(3). */
static const char cli_exit_table[] =
    "Exit status (check: the verdict class; a larger code is never a milder outcome,\n"
    "and anything above 1 means do not treat today):\n"
    "  0   suitable\n"
    "  1   suitable with precautions\n"
    "  2   incomplete (required facts missing: ask, then assess again)\n"
    "  3   defer (come back later)\n"
    "  4   refer to a physician\n"
    "  5   contraindicated\n"
    "  64  usage error (bad command line)\n"
    "  65  bad input data (unreadable patient JSON, or the daemon's invalid params:\n"
    "      an unknown area, an age out of range, an unknown key ...)\n"
    "  66  the -f FILE (or the --token-file) cannot be read\n"
    "  68  the daemon's host name does not resolve\n"
    "  69  daemon unavailable (nothing listens, or the connection failed)\n"
    "  70  protocol or internal error\n"
    "  75  temporary failure: the daemon is overloaded or timed out; retry later\n"
    "  77  permission denied: the socket's group, a wrong or missing token, or an\n"
    "      admin method (reload) on TCP\n"
    "  78  the daemon's ruleset is at fault (a reload refused: its tests failed)\n";

static const char cli_conn_help[] =
    "Connection options (any command):\n"
    "  --socket PATH        the daemon's Unix socket\n"
    "  --connect HOST:PORT  the daemon's TCP address\n"
    "  --token-file FILE    send the shared token in FILE first (TCP listeners of a\n"
    "                       daemon started with --token-file; also SUIT_TOKEN_FILE)\n"
    "  --timeout SECONDS    for connecting and for each answer (default 10; 120 for\n"
    "                       reload)\n"
    "  --color=WHEN         auto (default: only on a terminal, with NO_COLOR unset\n"
    "                       and TERM not dumb), always or never\n"
    "Without --socket or --connect, suit uses $SUIT_ADDR (a socket path or\n"
    "HOST:PORT); else it tries, in order, your own daemon's socket\n"
    "($XDG_RUNTIME_DIR/suitd.sock, else /tmp/suitd-UID.sock; not for root), the\n"
    "system daemon's /run/suitd/suitd.sock (group suitd), then 127.0.0.1:7433.\n";

void cli_usage(FILE *out, enum cli_command cmd)
{
    switch (cmd) {
    case CLI_CMD_CHECK:
        fprintf(out,
            "usage: suit check [PATIENT FLAGS] [-f FILE|-] [--policy NAME] [--json] [--explain]\n"
            "                  [OPTIONS]\n"
            "\n"
            "Assess one patient's suitability for micro-needling and print a report:\n"
            "the verdict, findings by severity with action and source, the side effects\n"
            "that apply, the course plan with its cost range, aftercare, missing facts.\n"
            "\n"
            "Patient flags:\n"
            "  --age YEARS                 required\n"
            "  --pregnant yes|no           required\n"
            "  --breastfeeding yes|no      required\n"
            "  --fitzpatrick 1-6           skin type, required (I-VI also accepted)\n"
            "  --area AREA                 treatment area, required (e.g. face)\n"
            "  --indication INDICATION     required (e.g. acne-scars)\n"
            "  --condition NAME[:DAYS]     repeatable; DAYS = how long ago\n"
            "  --med NAME:DAYS             repeatable; DAYS since the last dose (0 or now =\n"
            "                              taking it now)\n"
            "  --procedure NAME:DAYS       repeatable; DAYS since the procedure\n"
            "  --allergy NAME              repeatable\n"
            "  --setting clinic|home-roller|home-rf\n"
            "  --depth MM                  needle depth, for home rollers\n"
            "  -f, --file FILE             the patient as a JSON object with the protocol's\n"
            "                              keys (see proto/PROTOCOL.md); - reads stdin.\n"
            "                              Flags given too are merged over the file.\n"
            "\n"
            "Output:\n"
            "  --json       the result exactly as the daemon returns it, as JSON\n"
            "  --explain    also list the rules that fired, in order\n"
            "\n"
            "Policy:\n"
            "  --policy NAME  decide under the daemon's named policy NAME (a clinic's\n"
            "               waiting periods; suitd --policy-dir), not `default`;\n"
            "               suit info lists them\n"
            "\n"
            "Example:\n"
            "  suit check --age 34 --pregnant no --breastfeeding no --fitzpatrick 3 \\\n"
            "      --area face --indication acne-scars --med isotretinoin:120\n"
            "\n%s\n%s", cli_conn_help, cli_exit_table);
        return;
    case CLI_CMD_PING:
        fprintf(out,
            "usage: suit ping [--json] [OPTIONS]\n"
            "\n"
            "Ask the daemon for its version and ruleset, and print the round-trip time\n"
            "(--json: the daemon's answer plus \"round_trip_ms\").  Exit status 0 when it\n"
            "answers, 69 when nothing listens, 77 when the socket is not yours to use.\n\n%s",
            cli_conn_help);
        return;
    case CLI_CMD_INFO:
        fprintf(out,
            "usage: suit info [--json] [OPTIONS]\n"
            "\n"
            "Show the ruleset in force: name, version, sha256, when it was loaded, its\n"
            "rule count, the policy values (washout and hold days ...) and the\n"
            "vocabularies (areas, indications, conditions, medications, procedures,\n"
            "allergies) that the daemon understands.\n\n%s", cli_conn_help);
        return;
    case CLI_CMD_STATS:
        fprintf(out,
            "usage: suit stats [--json | --prometheus] [OPTIONS]\n"
            "\n"
            "Show the daemon's counters: uptime, connections, requests by method,\n"
            "errors by name, latency percentiles, queue depth, reloads.\n"
            "  --json        as the daemon returns them\n"
            "  --prometheus  in the Prometheus text exposition format (metric names\n"
            "                prefixed suitd_), e.g. for node_exporter's textfile collector:\n"
            "                suit stats --prometheus > /var/lib/node_exporter/suitd.prom.$$ &&\n"
            "                mv /var/lib/node_exporter/suitd.prom.$$ "
            "/var/lib/node_exporter/suitd.prom\n\n%s",
            cli_conn_help);
        return;
    case CLI_CMD_RELOAD:
        fprintf(out,
            "usage: suit reload [--json] [--timeout SECONDS] [OPTIONS]\n"
            "\n"
            "Ask the daemon to load its ruleset and policy again, and wait until it has.\n"
            "The new ruleset's own test cases must pass before it replaces the old one;\n"
            "when they do not, the old ruleset keeps serving and suit prints why (exit\n"
            "status 78).  Accepted on the Unix socket only (root and the suitd group), so\n"
            "the TCP fallback is not tried.  suit waits up to --timeout (default 120 s);\n"
            "past that it exits 75 while the daemon carries on with the reload.  The\n"
            "package's `systemctl reload suitd` runs this command.\n\n%s", cli_conn_help);
        return;
    case CLI_CMD_BENCH:
        fprintf(out,
            "usage: suit [--socket PATH | --connect HOST:PORT] [--token-file FILE] bench\n"
            "            [SUIT-BENCH OPTIONS]\n"
            "\n"
            "Run suit-bench, suitd's load generator (installed next to suit), with every\n"
            "argument after `bench`; suit's --socket, --connect and --token-file (or\n"
            "SUIT_TOKEN_FILE) are passed on.  Like suit, suit-bench finds the daemon by\n"
            "SUIT_ADDR, your own socket, the system socket, then 127.0.0.1:7433.\n"
            "`suit bench --help` lists its options; suit-bench(1) has the rest.\n"
            "Example: suit bench -c 4 -P 8 -d 10\n");
        return;
    default:
        break;
    }
    fprintf(out,
        "usage: suit COMMAND [OPTIONS]\n"
        "\n"
        "The command-line client of suitd, the micro-needling suitability daemon.\n"
        "\n"
        "Commands:\n"
        "  check    assess one patient (flags or -f FILE); readable report, or --json\n"
        "  ping     check that the daemon answers; version, ruleset, round-trip time\n"
        "  info     the ruleset in force, its policy values and vocabularies\n"
        "  stats    the daemon's counters (readable, --json, or --prometheus)\n"
        "  reload   load the ruleset again and wait for the outcome (Unix socket only)\n"
        "  bench    run suit-bench, the load generator, against the daemon\n"
        "  help [COMMAND]   this help, or one command's (also: suit COMMAND --help)\n"
        "\n"
        "Options: --help, --version, and the connection options below.\n\n%s\n%s\n"
        "suit is decision support for a licensed professional; the decision stays with\n"
        "the clinician.\n", cli_conn_help, cli_exit_table);
}
