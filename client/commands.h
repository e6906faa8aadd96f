/*
 * commands.h: the `suit` commands, each one connection to the daemon
 * speaking only the protocol (proto/rpc_client.h).
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli_args.h"
#include "rpc_client.h"

/* Where suit expects the package's unit; when it is there and no daemon
 * answers, suit says `systemctl start suitd`. */
#define CMD_SYSTEM_UNIT "/lib/systemd/system/suitd.service"

struct cmd_env {
    const struct proto_addr_list *addrs;   /* where to look, in order */
    bool packaged;         /* CMD_SYSTEM_UNIT exists: the system daemon is installed */
    FILE *out, *err;
    FILE *in;              /* for check -f - */
    const char *token_file;   /* --token-file, else $SUIT_TOKEN_FILE; NULL = none */
    int color;             /* 1: ANSI colour on `out` */
};

/* Runs the command in `a` and returns the exit status (enum cli_exit, or
 * the verdict class for check).  Messages for people go to env->err. */
int cmd_run(const struct cli_args *a, const struct cmd_env *env);

/* The message and exit status for a failed rpc_client_connect_first:
 * one line for an address that was given ("cannot connect to unix:/x: No
 * such file or directory (is suitd running? start it with: suitd serve
 * --socket /x)"), else every address tried, one per line, and what to do:
 * "permission denied: add yourself to the suitd group, or use
 * SUIT_ADDR=127.0.0.1:7433" (77), "systemctl start suitd" when `packaged`
 * (69), a host that does not resolve (68).  Lines after the first start
 * with "suit: " or two spaces; the caller prints "suit: " first. */
int cmd_connect_failure(char *buf, size_t n, const struct rpc_attempts *tried, bool packaged);

/* The "did you mean" line for a value outside a vocabulary:
 * "unknown area 'fase'; did you mean 'face'? allowed: face, neck".
 * `terms` may be empty (then only the value is named). */
void cmd_unknown_term_message(char *buf, size_t n, const char *kind, const char *value,
                              const char *const *terms, size_t n_terms);

#endif
