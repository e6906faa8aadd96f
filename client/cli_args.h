/*
 * cli_args.h: the `suit` command line: commands, options, exit codes and
 * where to connect.  Pure functions of argv and the environment values the
 * caller passes in, so that they can be unit-tested without a daemon.
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct json_t;
struct proto_addr_list;

/* Exit status: the verdict class for scripts, then sysexits(3) codes for
 * everything that is not a verdict.  Documented in --help, suit(1) and the
 * README.
 *
 * The verdict codes are the protocol's verdict order (enum suit_verdict),
 * which is the engine's severity order: a larger code is never a milder
 * outcome, and every code above 1 means "do not treat today".  (Before
 * 0.1.0-2, incomplete was 5 and defer, refer and contraindicated 2 to 4.) */
enum cli_exit {
    CLI_EXIT_SUITABLE = 0,
    CLI_EXIT_PRECAUTIONS = 1,
    CLI_EXIT_INCOMPLETE = 2,      /* required facts missing: ask, assess again */
    CLI_EXIT_DEFER = 3,
    CLI_EXIT_REFER = 4,
    CLI_EXIT_CONTRAINDICATED = 5,
    CLI_EXIT_USAGE = 64,        /* EX_USAGE: bad command line */
    CLI_EXIT_DATAERR = 65,      /* EX_DATAERR: bad input (JSON, invalid params, too large) */
    CLI_EXIT_NOINPUT = 66,      /* EX_NOINPUT: -f FILE or the token file cannot be read */
    CLI_EXIT_NOHOST = 68,       /* EX_NOHOST: the daemon's host name does not resolve */
    CLI_EXIT_UNAVAILABLE = 69,  /* EX_UNAVAILABLE: cannot reach the daemon */
    CLI_EXIT_SOFTWARE = 70,     /* EX_SOFTWARE: protocol or internal error */
    CLI_EXIT_TEMPFAIL = 75,     /* EX_TEMPFAIL: overloaded or timed out; retry later */
    CLI_EXIT_NOPERM = 77,       /* EX_NOPERM: authentication, admin refusal, socket mode */
    CLI_EXIT_CONFIG = 78,       /* EX_CONFIG: the daemon's ruleset or policy is at fault */
};

/* Maps a verdict string to its exit status; CLI_EXIT_SOFTWARE when the
 * verdict is not one the protocol defines (a newer daemon, or a bug). */
int cli_exit_for_verdict(const char *verdict);
/* Maps an error response's code (enum proto_code) to its exit status. */
int cli_exit_for_error(int code);

enum cli_command {
    CLI_CMD_NONE = 0,
    CLI_CMD_CHECK,
    CLI_CMD_PING,
    CLI_CMD_INFO,
    CLI_CMD_STATS,
    CLI_CMD_RELOAD,
    CLI_CMD_BENCH,      /* `suit bench ARGS...`: runs suit-bench */
    CLI_CMD_HELP,       /* `suit help [COMMAND]` or `suit --help` */
    CLI_CMD_VERSION,
};
const char *cli_command_name(enum cli_command c);

enum cli_color { CLI_COLOR_AUTO = 0, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

#define CLI_DEFAULT_TIMEOUT_S 10.0
/* suit reload waits this long by default: a reload loads the ruleset into
 * fresh engines and runs all its test cases first (the bundled ruleset
 * takes well under a second; a large clinic ruleset may take minutes).
 * packaging/suitd.service's TimeoutStartSec= (which systemd applies to
 * ExecReload=) is a little longer. */
#define CLI_RELOAD_TIMEOUT_S 120.0

/* Everything the command line said.  Strings point into argv except
 * `flags_patient`, which this struct owns. */
struct cli_args {
    enum cli_command cmd;
    enum cli_command help_for;   /* CLI_CMD_HELP: which command, or NONE */
    const char *socket;          /* --socket PATH */
    const char *connect;         /* --connect HOST:PORT */
    const char *token_file;      /* --token-file FILE: sent with `auth` first */
    double timeout_s;            /* --timeout SECONDS, else the command's default */
    bool timeout_given;
    enum cli_color color;
    bool json, explain, prometheus;
    const char *file;            /* check -f FILE ("-" = stdin) */
    const char *policy;          /* check --policy NAME: options.policy */
    struct json_t *flags_patient;   /* patient facts given as flags */
    bool has_patient_flags;
    char **bench_argv;           /* bench: the arguments after `bench` */
    int bench_argc;
    char err[512];               /* usage error message */
};

void cli_args_init(struct cli_args *a);
void cli_args_close(struct cli_args *a);
/* Parses argv (argv[0] is the program).  Options may come before or after
 * the command.  Returns 0, or -1 with a->err set (a usage error). */
int cli_args_parse(struct cli_args *a, int argc, char **argv);

/* Prints the general help, or one command's help. */
void cli_usage(FILE *out, enum cli_command cmd);

/* Where to look for the daemon, in order (proto_addr_candidates): --socket
 * or --connect, else SUIT_ADDR (`env_addr`), else the user's own socket,
 * the system socket and, except for the Unix-only `reload`, the default
 * TCP address.  Returns 0, or -1 with `err` set. */
int cli_addr_candidates(const struct cli_args *a, const char *env_addr, const char *xdg,
                        uid_t euid, struct proto_addr_list *l, char *err, size_t errlen);

/* Colour on only for CLI_COLOR_ALWAYS, or AUTO on a terminal that can show
 * it (TERM unset, or not "dumb") with NO_COLOR unset or empty (see
 * no-color.org). */
bool cli_use_color(enum cli_color c, bool is_tty, const char *no_color, const char *term);

#endif
