/*
 * config.c: see config.h.
 *
 * Every setting is one row of `settings` below (Redis's config table): its
 * name, type, range, default and help.  The reading itself (flags, the
 * file, the defaults, --help's rows) is proto_settings.c's, shared with
 * suit-httpd; what is suitd's own is here: the rows, the defaults that
 * are worked out (the socket, the rules folder, the number of cores) and
 * the words around --help.
 */
#include "config.h"
#include "decision_log.h"
#include "proto_settings.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MIB (1024u * 1024u)
#define FIELD(f) offsetof(struct config, f)

/* An enum row writes an int. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "log_level is stored as an int");

static int default_socket(void *conf);
static int default_rules(void *conf);
static int default_workers(void *conf);

/* The rows' names for the reader's types (proto_settings.h), as suitd's
 * table has always spelt them. */
#define CONFIG_SOCKET PROTO_SETTINGS_OPT_NONE   /* a path; "none" or "" for no socket */
#define CONFIG_LISTEN PROTO_SETTINGS_LIST       /* HOST:PORT, repeatable */
#define CONFIG_PATH PROTO_SETTINGS_STR
#define CONFIG_OPT_PATH PROTO_SETTINGS_OPT_STR  /* "" clears it */
#define CONFIG_UINT PROTO_SETTINGS_UINT
#define CONFIG_SIZE PROTO_SETTINGS_SIZE
#define CONFIG_U64 PROTO_SETTINGS_U64
#define CONFIG_U32 PROTO_SETTINGS_U32
#define CONFIG_BOOL PROTO_SETTINGS_BOOL
#define CONFIG_LOG_LEVEL PROTO_SETTINGS_ENUM
#define CONFIG_FILE PROTO_SETTINGS_CONFIG
#define CONFIG_HELP PROTO_SETTINGS_ACTION

static const struct proto_setting settings[] = {
    {"socket", CONFIG_SOCKET, FIELD(socket_path), .arg = "PATH", .fill_default = default_socket,
     .default_text = "/run/suitd/suitd.sock as root, else $XDG_RUNTIME_DIR/suitd.sock, else "
                     "/tmp/suitd-UID/suitd.sock (a private directory, 0700, refused when it is not)",
     .help = "Unix socket; 'none' disables it"},
    {"listen", CONFIG_LISTEN, FIELD(listen), .arg = "HOST:PORT",
     .count_offset = FIELD(n_listen), .def_str = PROTO_DEFAULT_TCP,
     .help = "TCP address, repeatable (comma-separated in a file); 'none' disables TCP; port "
             "0 picks a free port"},
    {"token_file", CONFIG_OPT_PATH, FIELD(token_file), .arg = "FILE",
     .help = "shared token every TCP client sends with 'auth' first (required on "
             "non-loopback addresses)"},
    /* --help shows the folder proto_default_rules_dir gives now
     * ($SUITD_RULES, else the package's). */
    {"rules", CONFIG_PATH, FIELD(rules_dir), .arg = "DIR", .fill_default = default_rules,
     .default_text_fn = proto_default_rules_dir, .help = "ruleset directory"},
    {"policy", CONFIG_OPT_PATH, FIELD(policy_file), .arg = "FILE",
     .help = "policy override file ([policy] name = number): the `default` policy's values"},
    {"policy_dir", CONFIG_OPT_PATH, FIELD(policy_dir), .arg = "DIR",
     .help = "named policies: every NAME.ini in DIR (the policy file format) is the policy "
             "NAME a request chooses with options.policy; DIR/default.ini is `default` (not "
             "with --policy)"},
    {"workers", CONFIG_UINT, FIELD(workers), 1, 1024, .arg = "N",
     .fill_default = default_workers, .default_text = "number of cores",
     .help = "serving threads, each with its own event loop, connections and rule engine "
             "(a request is evaluated on the thread that read it)"},
    {"config", CONFIG_FILE, FIELD(config_file), .arg = "FILE",
     .help = "INI file, section [suitd], these names with '_' for '-'; flags win"},
    {"log_level", CONFIG_LOG_LEVEL, FIELD(log_level), .def_str = "info", .arg = "LEVEL",
     .parse = log_level_parse, .expected = "debug, info, warn or error",
     .help = "debug, info, warn or error"},
    {"log_facts", CONFIG_BOOL, FIELD(log_facts), .def = 0,
     .help = "allow patient facts in debug logs"},
    {"decision_log", CONFIG_OPT_PATH, FIELD(decision_log), .arg = "FILE",
     .help = "one JSON line per assessment (no patient facts); SIGUSR1 reopens it"},
    {"decision_log_required", CONFIG_BOOL, FIELD(decision_log_required), .def = 0,
     .help = "answer an assessment only once its record is written; a decision that cannot "
             "be recorded (full disk, queue full) is answered with an error instead"},
    {"decision_log_queue", CONFIG_UINT, FIELD(decision_log_queue), 1, 10000000,
     DECISION_LOG_DEFAULT_QUEUE, .arg = "N",
     .help = "records waiting for the decision log's writer; beyond it a record is dropped "
             "(counted in stats decision_log.dropped; an error with --decision-log-required)"},
    {"max_connections", CONFIG_UINT, FIELD(max_connections), 1, 1000000, 1024, .arg = "N",
     .help = "simultaneous client connections; TCP clients beyond it are refused (the Unix "
             "socket has --unix-reserve more)"},
    /* The Unix socket's own slots: admin `reload` and `stats` must get
     * through whatever TCP clients do with the rest. */
    {"unix_reserve", CONFIG_UINT, FIELD(unix_reserve), 0, 100000, 16, .arg = "N",
     .help = "connections beyond --max-connections that only the Unix socket may use, so "
             "that TCP clients can never lock out reload and stats"},
    {"max_unauthenticated", CONFIG_UINT, FIELD(max_unauthenticated), 1, 1000000, 64,
     .arg = "N",
     .help = "connections on a token listener that have not yet sent the right token; "
             "more are refused"},
    {"auth_timeout", CONFIG_UINT, FIELD(auth_timeout_s), 0, 3600, 5, .arg = "SEC",
     .help = "a connection on a token listener that has not authenticated by then is "
             "closed (0 = never)"},
    {"max_input_memory", CONFIG_SIZE, FIELD(max_input_memory), 64 * 1024, (uint64_t)1 << 40,
     64 * MIB, .arg = "BYTES",
     .help = "bytes of unfinished requests held for all connections together; the "
             "connection that goes beyond it is closed"},
    {"max_output_memory", CONFIG_SIZE, FIELD(max_output_memory), 64 * 1024,
     (uint64_t)1 << 40, 128 * MIB, .arg = "BYTES",
     .help = "unsent reply bytes of all connections together; the connection that goes "
             "beyond it is closed as a slow reader"},
    {"max_message", CONFIG_SIZE, FIELD(max_message), 64, (uint64_t)1 << 30,
     PROTO_DEFAULT_MAX_MESSAGE, .arg = "BYTES", .help = "largest request"},
    {"max_inflight", CONFIG_UINT, FIELD(max_inflight), 1, 1000000, 64, .arg = "N",
     .help = "requests in flight per connection; beyond it suitd stops reading"},
    {"max_queue", CONFIG_UINT, FIELD(max_queue), 1, 10000000, 4096, .arg = "N",
     .help = "requests read and waiting to be evaluated, per serving thread; beyond it "
             "`overloaded`"},
    {"idle_timeout", CONFIG_UINT, FIELD(idle_timeout_s), 0, 86400 * 365, 300, .arg = "SEC",
     .help = "close idle connections (0 = never)"},
    {"request_timeout", CONFIG_UINT, FIELD(request_timeout_ms), 1, 3600 * 1000, 5000,
     .arg = "MS", .help = "deadline per request"},
    {"max_output", CONFIG_SIZE, FIELD(max_output), 1024, (uint64_t)1 << 34, 8 * MIB,
     .arg = "BYTES", .help = "unsent reply bytes per connection; beyond it the connection "
                             "is closed"},
    {"shutdown_timeout", CONFIG_UINT, FIELD(shutdown_timeout_s), 0, 3600, 10, .arg = "SEC",
     .help = "drain deadline on SIGTERM"},
    /* Below suit reload's own wait in the packaged unit (120 s), so that
     * the daemon's answer, not the client's, says what happened. */
    {"reload_timeout", CONFIG_UINT, FIELD(reload_timeout_s), 1, 86400, 90, .arg = "SEC",
     .help = "a reload not finished by then is abandoned: its callers get `timeout` and the "
             "old ruleset keeps serving"},
    {"max_firings", CONFIG_U64, FIELD(engine.max_firings), 1, (uint64_t)1 << 40,
     ENGINE_DEFAULT_MAX_FIRINGS, .arg = "N", .help = "rule firings per assessment"},
    {"rule_deadline", CONFIG_U32, FIELD(engine.deadline_ms), 1, 3600 * 1000,
     ENGINE_DEFAULT_DEADLINE_MS, .arg = "MS", .help = "engine time per assessment"},
    {"policy_environments", CONFIG_UINT, FIELD(engine.max_environments), 1, 4096,
     ENGINE_DEFAULT_MAX_ENVIRONMENTS, .arg = "N",
     .help = "CLIPS environments per serving thread, one per policy in use (about 2 MiB each); a "
             "request for a policy beyond them resets the least recently used one (about "
             "0.1 ms)"},
    {"start_with_failing_cases", CONFIG_BOOL, FIELD(start_with_failing_cases), .def = 0,
     .help = "start even if the ruleset's own test cases fail (logged as a warning; a reload "
             "still refuses)"},
    {"user", CONFIG_OPT_PATH, FIELD(user), .arg = "NAME",
     .help = "drop to this user after binding; required when started as root (--user root "
             "or SUITD_ALLOW_ROOT=1 insists on staying root)"},
    {"help", CONFIG_HELP, 0, .help = "print this and exit"},
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

static const struct proto_settings table = {
    .rows = settings,
    .n = N_SETTINGS,
    .section = "suitd",
    .size = sizeof(struct config),
    .usage_indent = 25,
};

const struct proto_settings *config_settings(void)
{
    return &table;
}

void config_usage(FILE *out)
{
    fprintf(out, "usage: suitd [serve] [OPTIONS]\n\n");
    proto_settings_usage(&table, out);
    fprintf(out,
        "\n"
        "Every option but --config and --help can also be set in the --config file.\n"
        "Signals: SIGHUP reloads the ruleset (after its own tests pass);\n"
        "SIGTERM and SIGINT drain and exit.\n");
}

static int default_socket(void *conf)
{
    struct config *c = conf;
    return (c->socket_path = proto_default_socket_dup()) ? 0 : -1;
}

static int default_rules(void *conf)
{
    struct config *c = conf;
    return (c->rules_dir = strdup(proto_default_rules_dir())) ? 0 : -1;
}

static int default_workers(void *conf)
{
    struct config *c = conf;
    unsigned n = uv_available_parallelism();
    c->workers = n ? n : 1;
    return 0;
}

int config_load(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
    const struct proto_setting *action;
    int rc = proto_settings_load(&table, c, argc, argv, &action, err, errlen);
    if (rc == 1)
        config_usage(stdout);   /* --help, the one action */
    return rc;
}

void config_close(struct config *c)
{
    proto_settings_close(&table, c);
}
