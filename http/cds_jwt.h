/*
 * cds_jwt.h: the CDS Hooks client's JWT (CDS Hooks 2.0, Security and
 * Safety), verified with libjose (JWS and JWK; no cryptography here).
 *
 * A token is accepted only when all of these hold, checked in this order:
 *   Authorization: Bearer <compact JWS> of three base64url parts
 *   header: alg in the allowlist (ES384 and RS384 by default; none and
 *           HS* can never be listed), kid present, typ JWT when given
 *   payload: iss one of the configured issuers, each with its own JWK Set
 *           file (--cds-jwks ISSUER=FILE; nothing is fetched), the key
 *           chosen by kid in that set
 *   signature valid for that key (jose_jws_ver)
 *   aud equal to the URL of the endpoint called (string, or an array
 *           holding it)
 *   exp present, not past (skew at most skew_s), and at most
 *           CDS_JWT_MAX_LIFETIME_S ahead (the replay cache keeps every
 *           token until its exp)
 *   iat present and not in the future (skew); nbf, when present, passed
 *   jti present and not seen before from this issuer while unexpired
 * Every refusal has a reason (cds_jwt_reason_name: the label of the
 * suit_httpd_cds_jwt_refusals_total counter) and a message for the 401.
 */
#ifndef CDS_JWT_H
#define CDS_JWT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token may live at most this long ahead of now: the replay cache must
 * keep its jti until exp, so a far exp would hold a slot for ever. */
#define CDS_JWT_MAX_LIFETIME_S 3600
/* Longest jti and iss compared (longer ones are refused as malformed). */
#define CDS_JWT_MAX_CLAIM 256

enum cds_jwt_reason {
    CDS_JWT_OK = 0,
    CDS_JWT_MISSING,        /* no Authorization: Bearer */
    CDS_JWT_MALFORMED,      /* not a compact JWS with JSON header and payload */
    CDS_JWT_ALGORITHM,      /* alg not allowed (none, HS*, or not listed) */
    CDS_JWT_ISSUER,         /* iss absent or not configured */
    CDS_JWT_KID,            /* kid absent or not in the issuer's JWK Set */
    CDS_JWT_SIGNATURE,      /* libjose says the signature is not valid */
    CDS_JWT_AUDIENCE,       /* aud is not this endpoint's URL */
    CDS_JWT_EXPIRED,        /* exp absent, past, or too far ahead */
    CDS_JWT_ISSUED_AT,      /* iat absent or in the future */
    CDS_JWT_NOT_BEFORE,     /* nbf in the future */
    CDS_JWT_REPLAY,         /* jti absent, or seen before */
    CDS_JWT_REPLAY_FULL,    /* the replay cache holds cds_jti_cache unexpired tokens */
    CDS_JWT_REASON_COUNT
};

const char *cds_jwt_reason_name(enum cds_jwt_reason r);

struct cds_jwt_issuer {
    char *iss;
    json_t *keys;               /* the JWK Set's keys array */
};

struct cds_jwt_seen {
    uint8_t id[32];             /* SHA-256 of iss, NUL, jti */
    int64_t exp;
};

struct cds_jwt {
    struct cds_jwt_issuer *issuers;
    size_t n_issuers;
    char algs[8][8];            /* the allowlist */
    size_t n_algs;
    unsigned skew_s;
    pthread_mutex_t lock;       /* guards the replay cache */
    struct cds_jwt_seen *seen;
    size_t n_seen, cap_seen;
};

/* specs: "ISSUER=FILE" each; algs: names (NULL/0: ES384, RS384).
 * Returns 0, or -1 with a message in err. */
int cds_jwt_init(struct cds_jwt *j, const char *const *specs, size_t n_specs,
                 const char *const *algs, size_t n_algs, unsigned skew_s, size_t cache_size,
                 char *err, size_t errlen);
void cds_jwt_close(struct cds_jwt *j);
/* Adds one issuer with its JWK Set given as JSON text (the unit tests). */
int cds_jwt_add_issuer(struct cds_jwt *j, const char *iss, const char *jwks_text, const char *name,
                       char *err, size_t errlen);

/* Checks the Authorization header value for the endpoint URL aud at time
 * now (Unix seconds).  On CDS_JWT_OK iss (if not NULL) gets the issuer. */
enum cds_jwt_reason cds_jwt_verify(struct cds_jwt *j, const char *authorization, const char *aud,
                                   int64_t now, char *why, size_t whylen, char *iss, size_t isslen);

#endif
