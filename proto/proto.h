/*
 * proto.h: suitd's wire protocol, MessagePack-RPC, shared by daemon and client.
 *
 *   request       [0, msgid, method, params]
 *   response      [1, msgid, error, result]   exactly one of error/result nil
 *   notification  [2, method, params]         never answered
 *
 * Modules (one prefix each):
 *   proto_decoder_*  streaming decoder with limits checked before allocation
 *   proto_message_*  classify a decoded object as request/response/notification
 *   proto_error_*    error objects {code, message, data}
 *   proto_patient_*  typed conversion of `assess` params to struct suit_patient
 *   proto_pack_*     packing responses and results
 *   proto_json_*     JSON <-> MessagePack (client, rule-author tools, tests)
 *   proto_default_*  the default rules folder and socket (proto_paths.c)
 *   proto_addr_*     where a client looks for the daemon, in order (proto_paths.c)
 *   proto_term_*     normalising terms, near-miss suggestions (proto_term.h)
 *   proto_termmap_*  the terminology map, FHIR codes -> terms (proto_termmap.h)
 *
 * All functions return 0 on success or a negative PROTO_E_* code.
 * See proto/PROTOCOL.md for the contract other languages implement.
 */
#ifndef PROTO_H
#define PROTO_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "suit_types.h"

#define PROTO_VERSION "1"

/* Stable error codes (documented in PROTOCOL.md; never renumber). */
enum proto_code {
    PROTO_OK = 0,
    PROTO_E_PARSE = -32700,            /* not valid MessagePack */
    PROTO_E_INVALID_REQUEST = -32600,  /* valid MessagePack, not a valid RPC frame */
    PROTO_E_METHOD_NOT_FOUND = -32601,
    PROTO_E_INVALID_PARAMS = -32602,
    PROTO_E_INTERNAL = -32603,
    PROTO_E_TOO_LARGE = -32001,        /* a size, length or depth limit */
    PROTO_E_OVERLOADED = -32002,       /* queue full; retry later */
    PROTO_E_TIMEOUT = -32003,          /* deadline passed */
    PROTO_E_RULESET = -32004,          /* ruleset failed to load / did not settle */
    PROTO_E_NOT_PERMITTED = -32005,    /* admin method on TCP, or not authenticated */
};
#define PROTO_N_CODES 10
const char *proto_code_name(int code);   /* "parse error", ...; "unknown error" */
/* The stable snake_case key of a code ("parse_error", "invalid_params"),
 * used where a code names a field: the `errors` counters of `stats`.
 * NULL for a code suitd does not define. */
const char *proto_code_key(int code);
/* The codes by position 0..PROTO_N_CODES-1 (PROTOCOL.md's order):
 * proto_code_index gives a code's position or -1, proto_code_at the code
 * at a position. */
int proto_code_index(int code);
int proto_code_at(int index);

/* ---- errors --------------------------------------------------------- */

/* An error object as sent on the wire: {code, message, data}.  `data` is nil
 * unless `field` or `details` is set, then {"field": str, "details": [str]}
 * (either key may be absent).  Owns its strings. */
struct proto_error {
    int code;                  /* PROTO_OK when no error */
    char message[512];
    char *field;               /* e.g. "medications[2].days_since_last_dose" */
    char **details;            /* e.g. allowed values, "file:line: msg" lines */
    size_t n_details;
};
void proto_error_init(struct proto_error *e);
void proto_error_close(struct proto_error *e);          /* frees; leaves init'ed */
/* Sets code and printf-style message; returns code (handy for `return`). */
int proto_error_set(struct proto_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int proto_error_set_field(struct proto_error *e, const char *field);
int proto_error_add_detail(struct proto_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- streaming decoder ---------------------------------------------- */

#define PROTO_DEFAULT_MAX_MESSAGE (1024u * 1024u)
#define PROTO_DEFAULT_MAX_DEPTH 16u   /* msgpack-c's own hard limit is 32 */

struct proto_limits {
    size_t max_message;        /* bytes in one top-level object */
    unsigned max_depth;        /* nesting of arrays/maps */
};
void proto_limits_default(struct proto_limits *l);

/* Accepts input split at any byte boundary.  Every header is checked against
 * the limits as soon as its bytes arrive, before msgpack-c allocates for it:
 * a declared str/bin length or array/map count that cannot fit in what is
 * left of max_message is refused at once.  After an error the decoder is
 * broken for good (the connection should answer if it can, then close). */
struct proto_decoder;   /* opaque */
int proto_decoder_create(const struct proto_limits *lim, struct proto_decoder **out);
void proto_decoder_free(struct proto_decoder *d);
/* Zero-copy input for libuv: reserve space, read into it, commit. */
int proto_decoder_reserve(struct proto_decoder *d, size_t want, char **buf, size_t *len);
int proto_decoder_commit(struct proto_decoder *d, size_t n);
/* Copying input: reserve + memcpy + commit. */
int proto_decoder_feed(struct proto_decoder *d, const char *buf, size_t len);
/* 1: *obj holds the next complete object (valid until the next call or
 * free); 0: need more bytes; <0: PROTO_E_PARSE or PROTO_E_TOO_LARGE, with
 * the broken rule in proto_decoder_error(). */
int proto_decoder_next(struct proto_decoder *d, msgpack_object *obj);
const char *proto_decoder_error(const struct proto_decoder *d);
size_t proto_decoder_buffered(const struct proto_decoder *d);  /* bytes held */
/* Bytes of the object the last successful proto_decoder_next returned. */
size_t proto_decoder_last_size(const struct proto_decoder *d);

/* ---- frames --------------------------------------------------------- */

enum proto_msg_type { PROTO_REQUEST = 0, PROTO_RESPONSE = 1, PROTO_NOTIFY = 2 };

struct proto_message {
    enum proto_msg_type type;
    bool has_msgid;            /* false for notifications, or unrecoverable */
    uint32_t msgid;
    const char *method;        /* points into the object: NOT NUL-terminated */
    size_t method_len;
    msgpack_object params;     /* request, notification */
    msgpack_object error;      /* response */
    msgpack_object result;     /* response */
};
/* PROTO_E_INVALID_REQUEST when obj is not a well-formed frame; has_msgid
 * tells whether a reply can still be addressed to the sender. */
int proto_message_parse(const msgpack_object *obj, struct proto_message *m,
                        struct proto_error *err);
bool proto_method_is(const struct proto_message *m, const char *name);

/* ---- packing -------------------------------------------------------- */

/* [1, msgid, nil, <caller packs result next>] */
void proto_pack_result_header(msgpack_packer *pk, uint32_t msgid);
/* [1, msgid, {code, message, data}, nil] */
void proto_pack_error_response(msgpack_packer *pk, uint32_t msgid,
                               const struct proto_error *e);
void proto_pack_error(msgpack_packer *pk, const struct proto_error *e);
void proto_pack_request_header(msgpack_packer *pk, uint32_t msgid,
                               const char *method);  /* caller packs params */
void proto_pack_str(msgpack_packer *pk, const char *s);    /* NULL -> nil */
/* {name, version, sha256}: how ping, stats, reload and assess name a
 * ruleset; nil for NULL. */
void proto_pack_ruleset_id(msgpack_packer *pk, const struct suit_ruleset_id *id);

/* ---- reply bodies --------------------------------------------------- */

/* Every result the daemon sends, exactly as PROTOCOL.md section 4
 * documents it: the daemon fills the struct, proto packs it (after
 * proto_pack_result_header).  Strings are borrowed. */

/* `ping`: {version, protocol, ruleset}. */
struct proto_ping {
    const char *version, *protocol;
    const struct suit_ruleset_id *ruleset;
};
void proto_pack_ping_result(msgpack_packer *pk, const struct proto_ping *p);

/* `auth`: true. */
void proto_pack_auth_result(msgpack_packer *pk);

/* `reload`: {ruleset, cases_passed}. */
struct proto_reload {
    const struct suit_ruleset_id *ruleset;
    int cases_passed;
};
void proto_pack_reload_result(msgpack_packer *pk, const struct proto_reload *r);

/* `assess`: the assessment map. */
void proto_pack_assess_result(msgpack_packer *pk, const struct suit_result *r);
/* One side effect's map, as the assess result holds it. */
void proto_pack_side_effect(msgpack_packer *pk, const struct suit_side_effect *s);

/* `stats`: the counters map. */
struct proto_counter {
    const char *name;
    uint64_t n;
};
/* stats.decision_log: the audit trail's health (all 0 when there is none). */
struct proto_decision_log_stats {
    bool enabled, required;
    uint64_t written;           /* records appended */
    uint64_t lost;              /* records that could not be written (a full disk) */
    uint64_t dropped;           /* records refused because the writer's queue was full */
    uint64_t queued;            /* waiting for the writer now */
    uint64_t reopened;          /* reopens (SIGUSR1) */
};
struct proto_stats {
    uint64_t uptime_s;
    uint64_t conn_current, conn_total, conn_refused;
    uint64_t conn_unauthenticated, conn_refused_unauthenticated, conn_refused_descriptors;
    const struct proto_counter *requests;   /* by method name, "unknown" last */
    size_t n_requests;
    uint64_t errors[PROTO_N_CODES];         /* by proto_code_index; zeros are left out */
    uint64_t latency_count;
    double p50_ms, p90_ms, p99_ms, p99_9_ms;
    uint64_t queue_depth;
    unsigned workers;
    uint64_t policy_resets;                 /* environments reset to another policy (over the cap) */
    uint64_t reloads_ok, reloads_failed, reloads_timed_out;
    const struct suit_ruleset_id *ruleset;  /* NULL: nil */
    const struct proto_counter *dropped;    /* by reason */
    size_t n_dropped;
    const char *version;
    struct proto_decision_log_stats decision_log;
};
void proto_pack_stats_result(msgpack_packer *pk, const struct proto_stats *s);

/* `ruleset`: the ruleset's description (PROTOCOL.md section 4.3), what a
 * form builder needs: vocabularies with their labels and synonyms, the
 * patient field schema, the policy values with their units and defaults,
 * and the sources a finding may cite.  The engine fills it
 * (ruleset_describe); its strings are borrowed from the ruleset (valid
 * while the ruleset is), its arrays are owned and freed by
 * proto_ruleset_info_close. */
struct proto_number {
    bool is_int;
    long long i;                /* when is_int */
    double d;                   /* otherwise */
};
struct proto_policy_value {
    const char *name, *description, *unit;    /* unit "" when none */
    struct proto_number value;  /* in force (after a policy file) */
    struct proto_number dflt;   /* the ruleset's own */
};
/* A named policy: its values, one per entry of proto_ruleset_info.policy
 * (the same order), and which of them its file sets. */
struct proto_named_policy {
    const char *name, *sha256;
    struct proto_number *values;
    bool *set;
};
struct proto_term {
    const char *name, *label, *cls;           /* cls: "none" when it has none */
    bool takes_days;
    const char **synonyms;                    /* other names that resolve to it */
    size_t n_synonyms;
};
struct proto_vocabulary {
    struct proto_term *terms;                 /* canonical terms, sorted by name */
    size_t n_terms;
};
struct proto_synonym {
    const char *name, *canonical;
};
struct proto_source {
    const char *key, *citation;
    bool weak;                                /* clinic or vendor pages */
};
struct proto_ruleset_info {
    const struct suit_ruleset_id *id;
    time_t loaded_at;
    long rule_count;
    struct proto_policy_value *policy;        /* sorted by name */
    size_t n_policy;
    struct proto_named_policy *policies;      /* sorted by name; "default" among them */
    size_t n_policies;
    struct proto_vocabulary vocabularies[SUIT_N_VOCABULARIES];
    struct proto_synonym *synonyms;
    size_t n_synonyms;
    struct proto_source *sources;             /* sorted by key */
    size_t n_sources;
};
void proto_ruleset_info_init(struct proto_ruleset_info *info);
void proto_ruleset_info_close(struct proto_ruleset_info *info);   /* frees; leaves init'ed */
void proto_pack_ruleset_info(msgpack_packer *pk, const struct proto_ruleset_info *info);

/* ---- the patient's fields ------------------------------------------- */

/* What an `assess` patient may hold, one row per key: the schema the
 * `ruleset` method publishes (`fields`) and the bounds proto_patient.c
 * checks, from the same table. */
enum proto_field_type {
    PROTO_FIELD_INTEGER,
    PROTO_FIELD_NUMBER,         /* a float; an integer is accepted */
    PROTO_FIELD_BOOLEAN,
    PROTO_FIELD_STRING,
    PROTO_FIELD_ARRAY,
    PROTO_FIELD_MAP,
};
struct proto_field {
    const char *name;
    enum proto_field_type type;
    /* A patient key: without it the verdict is `incomplete`.  A key of a
     * list item: the item is refused without it. */
    bool required;
    const char *description;
    const char *unit;           /* "years", "days", "mm"; NULL */
    bool has_range;             /* numbers: min and max apply */
    double min, max;
    bool min_exclusive;         /* the value must be greater than min */
    bool has_vocabulary;        /* strings: one of a vocabulary's terms */
    enum suit_vocabulary vocabulary;
    const char *default_value;  /* NULL: none */
    unsigned max_length;        /* strings: bytes of UTF-8 */
    unsigned max_items;         /* arrays */
    const struct proto_field *items;    /* arrays: each item */
    const struct proto_field *fields;   /* maps: their keys */
    size_t n_fields;
    const char *shorthand;      /* maps: a plain string stands for this key */
};
const struct proto_field *proto_patient_fields(size_t *n);
const char *proto_field_type_name(enum proto_field_type t);

/* ---- shared token --------------------------------------------------- */

/* Reads a --token-file: the file's bytes with trailing blanks, CRs and
 * newlines dropped, NUL-terminated in buf (n bytes).  Returns the token's
 * length; -errno when the file cannot be read; PROTO_E_TOO_LARGE when the
 * file does not fit in n - 1 bytes; PROTO_E_INVALID_PARAMS when the token
 * is empty.  On error buf is wiped. */
int proto_token_read(const char *path, char *buf, size_t n);

/* ---- assess params -------------------------------------------------- */

/* params is the request's params: [patient] or [patient, options].  Type
 * errors and out-of-range values give PROTO_E_INVALID_PARAMS with e->field
 * naming the path and a message such as
 * "medications[2].days_since_last_dose: expected a non-negative integer".
 * Missing required keys are NOT errors (fields stay "missing"). Unknown keys
 * are errors (a typo must not silently drop a fact). */
int proto_patient_from_params(const msgpack_object *params, struct suit_patient *p,
                              struct proto_error *e);

/* ---- JSON bridge ---------------------------------------------------- */

/* Converts a jansson value to MessagePack (integers stay integers, reals
 * become float64).  And back: maps with non-string keys get the key's
 * MessagePack text form; bin becomes a base16 string. */
struct json_t;
int proto_json_to_msgpack(const struct json_t *j, msgpack_packer *pk, struct proto_error *e);
struct json_t *proto_msgpack_to_json(const msgpack_object *o);

/* ---- TCP addresses --------------------------------------------------- */

/* "HOST:PORT" with HOST an IPv4 address, "[v6]:PORT" (the brackets are
 * required), ":PORT" (every IPv4 address) or "localhost:PORT" (127.0.0.1):
 * what suitd's and suit-httpd's --listen take.  Returns 0, or -1 when spec
 * is not of that form. */
struct sockaddr;
struct sockaddr_storage;
int proto_addr_parse(const char *spec, struct sockaddr_storage *ss);
/* 127.0.0.0/8, ::1 and ::ffff:127.x.y.z: the addresses a listener may
 * use without a token. */
bool proto_addr_is_loopback(const struct sockaddr *sa);

/* ---- default paths -------------------------------------------------- */

/* The system daemon's socket (the Debian package's). */
#define PROTO_SYSTEM_SOCKET "/run/suitd/suitd.sock"
/* The default TCP listener. */
#define PROTO_DEFAULT_TCP "127.0.0.1:7433"
/* The rules folder used when none is given: $SUITD_RULES, else the
 * compiled-in SUITD_DEFAULT_RULES_DIR (the package's). */
const char *proto_default_rules_dir(void);
/* The daemon's default Unix socket, for a process with effective uid euid
 * and XDG_RUNTIME_DIR xdg (NULL or empty when unset): the system socket
 * for root, else $XDG_RUNTIME_DIR/suitd.sock, else
 * /tmp/suitd-UID/suitd.sock: a name directly in /tmp could be bound first
 * by another local user (who would then receive the patient facts that
 * suit sends), so the fallback lives in a directory only its owner may
 * use (proto_private_dir_prepare).
 * Returns 0, or -1 when the path does not fit in n bytes. */
int proto_default_socket(char *buf, size_t n, const char *xdg, uid_t euid);
/* proto_default_socket for this process ($XDG_RUNTIME_DIR, its effective
 * uid), malloc'd: the default of suitd's --socket and suit-httpd's
 * --suitd.  NULL when it does not fit or out of memory. */
char *proto_default_socket_dup(void);
/* The fallback's private directory, "/tmp/suitd-UID".  0 or -1 (too long). */
int proto_private_dir(char *buf, size_t n, uid_t euid);
/* Makes `dir` (mode 0700) if it does not exist and checks that it is
 * fit to hold a socket nobody else may swap: a real directory (not a
 * symbolic link) owned by euid with no group or other permission bits.
 * Returns 0, or a negative errno with a sentence in msg that says what to
 * do (-EPERM: it exists with another owner or mode). */
int proto_private_dir_prepare(const char *dir, uid_t euid, char *msg, size_t n);

/* ---- where a client finds the daemon ------------------------------- */

/* The order in which suit and suit-bench look for a daemon:
 *   1. the address on the command line (--socket PATH, --connect HOST:PORT),
 *   2. else $SUIT_ADDR,
 *   3. else the user's own daemon (proto_default_socket; skipped for root,
 *      whose own daemon is the system one),
 *   4. the system daemon, PROTO_SYSTEM_SOCKET (the package's),
 *   5. TCP on PROTO_DEFAULT_TCP (not with PROTO_ADDR_UNIX_ONLY: the admin
 *      methods are refused on TCP anyway).
 * An address given by 1 or 2 is the only candidate: what a person or a
 * script named is never silently replaced by another daemon. */
enum proto_addr_origin {
    PROTO_ADDR_GIVEN = 0,      /* the command line */
    PROTO_ADDR_ENV,            /* $SUIT_ADDR */
    PROTO_ADDR_USER,           /* the user's own daemon's default socket */
    PROTO_ADDR_SYSTEM,         /* the system daemon's socket */
    PROTO_ADDR_TCP_DEFAULT,    /* the default TCP listener */
};
#define PROTO_ADDR_LEN 1100            /* "unix:" + a path, or "tcp:host:port" */
#define PROTO_ADDR_MAX_CANDIDATES 4
#define PROTO_ADDR_UNIX_ONLY 0x1u      /* flag: leave out the TCP fallback */

struct proto_addr_candidate {
    char addr[PROTO_ADDR_LEN];         /* as rpc_client_connect takes it */
    enum proto_addr_origin origin;
};
struct proto_addr_list {
    struct proto_addr_candidate c[PROTO_ADDR_MAX_CANDIDATES];
    size_t n;
};

/* Fills l with the candidates in the order above.  `given` is the command
 * line's address already in rpc_client form ("unix:/path", "tcp:host:port")
 * or NULL; `env` is $SUIT_ADDR (NULL or empty when unset; see
 * proto_addr_normalise); xdg and euid as for proto_default_socket.
 * Returns 0, or -1 when an address does not fit PROTO_ADDR_LEN. */
int proto_addr_candidates(struct proto_addr_list *l, const char *given, const char *env,
                          const char *xdg, uid_t euid, unsigned flags);
/* A $SUIT_ADDR value as an rpc_client address: a path (it has a '/', or no
 * ':') becomes "unix:PATH", host:port becomes "tcp:host:port"; the unix:
 * and tcp: prefixes are kept.  Returns 0, or -1 when it does not fit. */
int proto_addr_normalise(const char *s, char *buf, size_t n);
/* For messages: "--socket/--connect", "SUIT_ADDR", "your own daemon", ... */
const char *proto_addr_origin_name(enum proto_addr_origin o);

#endif
