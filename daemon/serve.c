/*
 * serve.c: `suitd serve`, the daemon's entry point.  Reads the settings,
 * loads the ruleset, binds, drops privileges, starts the serving threads
 * and runs the main loop until a signal shuts it down.  The work itself
 * lives in server.c (wiring, signals, shutdown), shard.c (one serving
 * thread), listener.c (sockets), conn.c (connections), dispatch.c (the
 * method table), request.c (requests answered later, deadlines), runner.c
 * (a serving thread's engine), mailbox.c (messages between threads),
 * reload.c and stats.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "engine.h"
#include "log.h"
#include "server.h"
#include "serve.h"

/* The ruleset must pass ruleset_check, the same decision a reload makes
 * (load, lint, probe engine, the ruleset's own cases), before the daemon
 * binds anything.  --start-with-failing-cases starts anyway when only cases
 * fail, with a warning naming them. */
static int load_ruleset(const struct config *cfg, const struct logger *lg, struct ruleset **out)
{
    struct ruleset_check_opts co;
    ruleset_check_opts_init(&co, cfg->rules_dir, cfg->policy_file);
    co.src.policy_dir = cfg->policy_dir;
    co.limits = cfg->engine;
    if (cfg->start_with_failing_cases)
        co.flags |= RULESET_CHECK_FAILING_CASES_OK;
    struct ruleset_report rep;
    ruleset_report_init(&rep);
    struct proto_error err;
    proto_error_init(&err);
    int rc = ruleset_check(&co, out, &rep, &err);
    if (rc < 0) {
        log_error(lg, "cannot load the ruleset %s: %s", cfg->rules_dir, err.message);
        for (size_t i = 0; i < err.n_details; i++)
            log_error(lg, "  %s", err.details[i]);
    } else if (rep.cases_failed) {
        log_warn(lg, "--start-with-failing-cases: serving %s although %d of its test cases "
                 "failed:", cfg->rules_dir, rep.cases_failed);
        for (size_t i = 0; i < rep.n_failed_cases; i++)
            log_warn(lg, "  %s", rep.failed_cases[i]);
    }
    proto_error_close(&err);
    ruleset_report_close(&rep);
    return rc < 0 ? -1 : 0;
}

int serve_main(int argc, char **argv)
{
    struct config cfg;
    char err[1024] = "";
    int rc = config_load(&cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "suitd: error: %s\n", err);
        return 2;
    }
    struct logger lg;
    log_init(&lg, cfg.log_level, cfg.log_facts);
    if (cfg.log_facts)
        log_warn(&lg, "--log-facts: patient facts may appear in debug logs");

    /* Never serve as root by accident: rules are code and clients are
     * untrusted, so a root daemon turns any engine bug into a root bug.
     * Root must say which user to become (--user, dropped after binding);
     * --user root or SUITD_ALLOW_ROOT=1 (test rigs) insists, with a warning. */
    if (geteuid() == 0 && !cfg.user) {
        const char *allow = getenv("SUITD_ALLOW_ROOT");
        if (!allow || strcmp(allow, "1") != 0) {
            log_error(&lg, "refusing to run as root: pass --user NAME (e.g. --user nobody) to "
                           "drop privileges after binding, or use the packaged systemd unit "
                           "(DynamicUser); --user root or SUITD_ALLOW_ROOT=1 insists");
            config_close(&cfg);
            return 2;
        }
        log_warn(&lg, "SUITD_ALLOW_ROOT=1: running as root");
    }

    /* A client that disconnects must not kill the daemon on write. */
    signal(SIGPIPE, SIG_IGN);

    struct ruleset *rs = NULL;
    if (load_ruleset(&cfg, &lg, &rs) < 0) {
        config_close(&cfg);
        return 1;
    }

    uv_loop_t loop;
    if ((rc = uv_loop_init(&loop)) < 0) {
        log_error(&lg, "uv_loop_init: %s", uv_strerror(rc));
        ruleset_unref(rs);
        config_close(&cfg);
        return 1;
    }
    struct server srv;
    int status = 1;
    rc = server_init(&srv, &loop, &cfg, &lg, rs);
    ruleset_unref(rs);          /* the server holds its own reference */
    if (rc == 0) {
        if (server_listen(&srv) == 0 && server_drop_privileges(&srv) == 0 &&
            server_start(&srv) == 0) {
            uv_run(&loop, UV_RUN_DEFAULT);
            status = srv.exit_code;
        }
        server_close(&srv);
    }
    if (uv_loop_close(&loop) != 0)
        log_warn(&lg, "event loop closed with handles still open");
    config_close(&cfg);
    return status;
}
