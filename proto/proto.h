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
const char *proto_code_name(int code);   /* "parse error", ... */

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
/* The `assess` result map exactly as PROTOCOL.md documents it. */
void proto_pack_assess_result(msgpack_packer *pk, const struct suit_result *r);
/* {name, version, sha256}: how ping, stats, reload and assess name a ruleset. */
void proto_pack_ruleset_id(msgpack_packer *pk, const struct suit_ruleset_id *id);

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
 * for root, else $XDG_RUNTIME_DIR/suitd.sock, else /tmp/suitd-UID.sock.
 * Returns 0, or -1 when the path does not fit in n bytes. */
int proto_default_socket(char *buf, size_t n, const char *xdg, uid_t euid);

#endif
