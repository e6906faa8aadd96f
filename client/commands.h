/*
 * commands.h: the `suit` commands, each one connection to the daemon
 * speaking only the protocol (proto/rpc_client.h).
 */
#ifndef COMMANDS_H
#define COMMANDS_H

#include <stdio.h>

#include "cli_args.h"

struct cmd_env {
    const char *addr;      /* "unix:/path" or "tcp:host:port" */
    FILE *out, *err;
    FILE *in;              /* for check -f - */
    const char *token_file;   /* --token-file, else $SUIT_TOKEN_FILE; NULL = none */
    int color;             /* 1: ANSI colour on `out` */
};

/* Runs the command in `a` and returns the exit status (enum cli_exit, or
 * the verdict class for check).  Messages for people go to env->err. */
int cmd_run(const struct cli_args *a, const struct cmd_env *env);

/* The message for a failed connect, e.g. "cannot connect to unix:/x: No
 * such file or directory (is suitd running? start it with: suitd serve
 * --socket /x)". */
void cmd_connect_message(char *buf, size_t n, const char *addr, const char *syserr);

/* The "did you mean" line for a value outside a vocabulary:
 * "unknown area 'fase'; did you mean 'face'? allowed: face, neck".
 * `terms` may be empty (then only the value is named). */
void cmd_unknown_term_message(char *buf, size_t n, const char *kind, const char *value,
                              const char *const *terms, size_t n_terms);

#endif
