/*
 * suit: the command-line client of suitd.  main() only parses the command
 * line, resolves the address and dispatches; see commands.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli_args.h"
#include "commands.h"
#include "proto.h"

int main(int argc, char **argv)
{
    struct cli_args a;
    cli_args_init(&a);
    int rc;
    if (cli_args_parse(&a, argc, argv)) {
        fprintf(stderr, "suit: %s\n", a.err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (a.cmd == CLI_CMD_HELP) {
        cli_usage(stdout, a.help_for);
        rc = 0;
        goto done;
    }
    if (a.cmd == CLI_CMD_VERSION) {
        printf("suit %s (protocol %s)\n", SUITD_VERSION, PROTO_VERSION);
        rc = 0;
        goto done;
    }
    struct proto_addr_list addrs;
    char err[256];
    if (cli_addr_candidates(&a, getenv("SUIT_ADDR"), getenv("XDG_RUNTIME_DIR"), geteuid(),
                            &addrs, err, sizeof err)) {
        fprintf(stderr, "suit: %s\n", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    struct cmd_env env = {
        .addrs = &addrs, .packaged = access(CMD_SYSTEM_UNIT, F_OK) == 0,
        .out = stdout, .err = stderr, .in = stdin,
        .color = cli_use_color(a.color, isatty(STDOUT_FILENO), getenv("NO_COLOR"),
                               getenv("TERM")),
        .token_file = a.token_file,
    };
    const char *tf = getenv("SUIT_TOKEN_FILE");
    if (!env.token_file && tf && *tf)
        env.token_file = tf;
    rc = cmd_run(&a, &env);
done:
    cli_args_close(&a);
    return rc;
}
