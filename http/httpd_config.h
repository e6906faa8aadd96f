/*
 * httpd_config.h: suit-httpd's settings, from defaults, an INI file
 * (--config FILE, section [suit-httpd], the flag names without dashes and
 * with underscores) and command-line flags, in that order: flags win.  The
 * same conventions as suitd's settings.
 *
 * Every setting is one row of one table (httpd_config.c): its name, type,
 * range, default and help.  --help, the parser and the checks all read
 * that table, and the man page and example file are tested against it.
 */
#ifndef HTTPD_CONFIG_H
#define HTTPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "httpd_log.h"

#define HTTPD_DEFAULT_LISTEN "127.0.0.1:7480"
/* The value of struct httpd_config.ui that follows the listen address. */
#define HTTPD_UI_AUTO (-1)

struct httpd_config {
    char *suitd;                    /* suitd's address (rpc_client syntax) */
    char *suitd_token_file;         /* NULL: no auth towards suitd */
    char *listen;                   /* HOST:PORT */
    char *token_file;               /* NULL: no bearer token */
    char **cors_origins;            /* allowed Origin values, exact */
    size_t n_cors_origins;
    bool open_health_metrics;       /* /healthz, /readyz, /metrics to anyone */
    unsigned threads;
    uint64_t max_body;
    uint64_t max_header_size;
    unsigned max_connections;
    unsigned max_connections_per_ip;   /* 0: no limit */
    unsigned request_timeout_s;
    unsigned idle_timeout_s;
    unsigned suitd_timeout_ms;
    unsigned connect_timeout_ms;
    unsigned retry_after_s;
    unsigned shutdown_timeout_s;
    int ui;                         /* the consultation page: 1 on, 0 off,
                                     * HTTPD_UI_AUTO: on when listen is loopback */
    char *ui_dir;                   /* its files */
    /* The CDS Hooks service (http/CDS-HOOKS.md). */
    char *public_url;               /* the base URL clients call; NULL: no CDS calls */
    char **cds_hooks;               /* the hooks offered (cds_hook_names) */
    size_t n_cds_hooks;
    char **cds_jwks;                /* ISSUER=FILE */
    size_t n_cds_jwks;
    char **cds_algorithms;          /* the JWS alg allowlist */
    size_t n_cds_algorithms;
    unsigned cds_clock_skew_s;
    unsigned cds_jti_cache;
    char *cds_terminology;          /* the ruleset's map */
    char *cds_terminology_site;     /* NULL: none */
    char **cds_order_codes;         /* SYSTEM|CODE */
    size_t n_cds_order_codes;
    char **cds_fitzpatrick_codes;   /* SYSTEM|CODE */
    size_t n_cds_fitzpatrick_codes;
    char **cds_override_reasons;    /* SYSTEM|CODE|DISPLAY */
    size_t n_cds_override_reasons;
    unsigned cds_status_max_age_days;
    enum httpd_log_level log_level;
    char *config_file;
};

/* Fills c from defaults, the config file and argv (every argv[0..argc) is
 * an option: no program name in front).  Returns 0; 1 when --help or
 * --version was printed (exit 0); -1 with a message in err (exit 2). */
int httpd_config_load(struct httpd_config *c, int argc, char **argv, char *err, size_t errlen);
void httpd_config_close(struct httpd_config *c);
void httpd_config_usage(FILE *out);

/* The names of every setting, in table order, NULL-terminated (for the
 * tests that hold the man page and the example file to the table). */
const char *const *httpd_config_names(void);

#endif
