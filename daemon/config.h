/*
 * config.h: the daemon's settings, from defaults, an INI file (--config,
 * section [suitd], the flag names without dashes and with underscores) and
 * command-line flags, in that order: flags win.  Each setting is one row of
 * a table (config.c) from which parsing, defaults, the known-name check and
 * --help are derived, by the reader suit-httpd uses too (proto_settings.h).
 */
#ifndef SUITD_CONFIG_H
#define SUITD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"
#include "log.h"
#include "proto_settings.h"

#define CONFIG_DEFAULT_PORT "7433"

struct config {
    char *socket_path;          /* NULL: no Unix socket ("none") */
    char **listen;              /* "HOST:PORT" entries; empty: no TCP */
    size_t n_listen;
    char *rules_dir;
    char *policy_file;          /* NULL: none */
    char *policy_dir;           /* NULL: none */
    char *config_file;
    char *decision_log;         /* NULL: none */
    bool decision_log_required; /* no answer without its record */
    unsigned decision_log_queue;    /* records waiting for the writer */
    char *token_file;           /* NULL: none */
    char *user;                 /* NULL: keep the current user */
    unsigned workers;           /* 0 before defaults: number of cores */
    enum log_level log_level;
    bool log_facts;
    unsigned max_connections;
    unsigned unix_reserve;      /* Unix-socket connections beyond max_connections */
    unsigned max_unauthenticated;   /* connections not yet past `auth` */
    unsigned auth_timeout_s;    /* `auth` deadline after connecting; 0: never */
    size_t max_input_memory;    /* bytes of unfinished requests, all connections */
    size_t max_output_memory;   /* unsent answer bytes, all connections */
    size_t max_message;
    unsigned max_inflight;
    unsigned max_queue;
    unsigned idle_timeout_s;    /* 0: never */
    unsigned request_timeout_ms;
    size_t max_output;
    unsigned shutdown_timeout_s;
    unsigned reload_timeout_s;  /* a reload not done by then is abandoned */
    bool start_with_failing_cases;  /* serve even if the ruleset's cases fail (start only) */
    struct engine_limits engine;
};

/* The table config.c reads the settings with (proto_settings.h), for the
 * tests that hold --help and the packaged files to it. */
const struct proto_settings *config_settings(void);

/* Fills c from defaults, the config file and argv (all of argv[0..argc) are
 * options: there is no program name in front).  Returns 0, 1 when --help
 * was printed (exit 0), or -1 with a message in err. */
int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen);
void config_close(struct config *c);
void config_usage(FILE *out);

#endif
