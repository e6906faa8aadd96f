/*
 * suit-httpd: the HTTP/JSON gateway to suitd.  main() reads the settings,
 * refuses root, starts the server and runs its reaper until SIGTERM or
 * SIGINT; the work lives in httpd_server.c (HTTP), httpd_routes.c
 * (endpoints), httpd_upstream.c (suitd) and httpd_request.c (JSON).
 *
 * Exit status: 0 after a signal, 1 when the server could not start, 2 for
 * a usage or configuration error.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef SUITD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "httpd_config.h"
#include "httpd_log.h"
#include "httpd_server.h"

/* How often the reaper looks for connections past their deadlines: the
 * timeouts are whole seconds, so a quarter of one is exact enough. */
#define HTTPD_TICK_MS 250

/* Says at start whether suitd answers, so an operator sees a wrong
 * --suitd at once; the gateway serves either way (/readyz tells). */
static void httpd_probe_suitd(struct httpd_server *srv, const struct httpd_log *lg)
{
    struct proto_error e;
    proto_error_init(&e);
    json_t *ping = NULL;
    if (httpd_upstream_call(&srv->upstream, "ping", NULL, NULL, &ping, &e) == HTTPD_UPSTREAM_OK) {
        json_t *rs = json_object_get(ping, "ruleset");
        httpd_log_plain("ready (suitd %s at %s, ruleset %s %s %.12s, %u threads)",
                        json_string_value(json_object_get(ping, "version")), srv->cfg->suitd,
                        json_string_value(json_object_get(rs, "name")),
                        json_string_value(json_object_get(rs, "version")),
                        json_string_value(json_object_get(rs, "sha256")), srv->cfg->threads);
    } else {
        httpd_warn(lg, "suitd does not answer yet at %s: %s (/readyz says 503 until it does)",
                   srv->cfg->suitd, e.message);
        httpd_log_plain("ready (suitd not answering at %s, %u threads)", srv->cfg->suitd,
                        srv->cfg->threads);
    }
    json_decref(ping);
    proto_error_close(&e);
}

int main(int argc, char **argv)
{
    struct httpd_config cfg;
    char err[1024];
    int rc = httpd_config_load(&cfg, argc - 1, argv + 1, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "suit-httpd: error: %s\n", err);
        return 2;
    }
    struct httpd_log lg = {cfg.log_level};

    /* The process that faces other organisations' networks must not be
     * root: it needs no privilege at all (the packaged unit gives it a
     * transient user).  SUITD_ALLOW_ROOT=1 is for test rigs, as for
     * suitd. */
    if (geteuid() == 0) {
        const char *allow = getenv("SUITD_ALLOW_ROOT");
        if (!allow || strcmp(allow, "1")) {
            httpd_error(&lg, "refusing to run as root: start suit-httpd as an unprivileged "
                             "user in the suitd group (the packaged unit does: DynamicUser, "
                             "SupplementaryGroups=suitd); SUITD_ALLOW_ROOT=1 insists");
            httpd_config_close(&cfg);
            return 2;
        }
        httpd_warn(&lg, "SUITD_ALLOW_ROOT=1: running as root");
    }

    /* The HTTP threads inherit this mask: only the main thread takes the
     * signals, synchronously, between reaper ticks. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct httpd_server srv;
    int status = 1;
    if (httpd_server_start(&srv, &cfg, &lg) == 0) {
        httpd_probe_suitd(&srv, &lg);
#ifdef SUITD_HAVE_SYSTEMD
        sd_notify(0, "READY=1");
#endif
        for (;;) {
            struct timespec t = {0, HTTPD_TICK_MS * 1000000L};
            int sig = sigtimedwait(&set, NULL, &t);
            if (sig == SIGTERM || sig == SIGINT) {
                httpd_info(&lg, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                break;
            }
            if (sig == SIGHUP)
                httpd_info(&lg, "SIGHUP: nothing to reload (settings are read at start; "
                                "restart to change them)");
            httpd_server_tick(&srv);
        }
#ifdef SUITD_HAVE_SYSTEMD
        sd_notify(0, "STOPPING=1");
#endif
        httpd_server_stop(&srv);
        status = 0;
    }
    httpd_server_close(&srv);
    httpd_config_close(&cfg);
    return status;
}
