/*
 * config.h: the daemon's settings, from defaults, an INI file (--config,
 * section [suitd], the flag names without dashes and with underscores) and
 * command-line flags, in that order: flags win.
 */
#ifndef SUITD_CONFIG_H
#define SUITD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "log.h"

#define CONFIG_DEFAULT_PORT "7433"

struct config {
    char *socket_path;          /* NULL: no Unix socket ("none") */
    char **listen;              /* "HOST:PORT" entries; empty: no TCP */
    size_t n_listen;
    char *rules_dir;
    char *policy_file;          /* NULL: none */
    char *config_file;
    char *decision_log;         /* NULL: none */
    char *token_file;           /* NULL: none */
    char *user;                 /* NULL: keep the current user */
    unsigned workers;           /* 0 before defaults: number of cores */
    enum log_level log_level;
    bool log_facts;
    unsigned max_connections;
    size_t max_message;
    unsigned max_inflight;
    unsigned max_queue;
    unsigned idle_timeout_s;    /* 0: never */
    unsigned request_timeout_ms;
    size_t max_output;
    unsigned shutdown_timeout_s;
    bool start_with_failing_cases;  /* serve even if the ruleset's cases fail (start only) */
    struct engine_limits engine;
};

/* Fills c from defaults, the config file and argv (all of argv[0..argc) are
 * options: there is no program name in front).  Returns 0, 1 when --help
 * was printed (exit 0), or -1 with a message in err. */
int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen);
void config_close(struct config *c);
void config_usage(FILE *out);

#endif
