/*
 * cds_jwt.c: see cds_jwt.h.  libjose verifies the signature; everything
 * around it (which algorithm, which key, which claims) is decided here
 * before and after, because a JWS library checks a signature, not a
 * token's right to call.
 */
#include "cds_jwt.h"

#include <errno.h>
#include <jose/b64.h>
#include <jose/jws.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const cds_jwt_names[CDS_JWT_REASON_COUNT] = {
    "ok",        "missing", "malformed",  "algorithm",  "issuer", "kid",         "signature",
    "audience",  "expired", "issued_at",  "not_before", "replay", "replay_cache_full",
};

const char *cds_jwt_reason_name(enum cds_jwt_reason r)
{
    return (unsigned)r < CDS_JWT_REASON_COUNT ? cds_jwt_names[r] : "?";
}

/* Asymmetric algorithms only: the spec forbids none and HMAC. */
static const char *const cds_jwt_known_algs[] = {"ES256", "ES384", "ES512", "RS256", "RS384",
                                                 "RS512", "PS256", "PS384", "PS512", NULL};

static bool cds_jwt_alg_known(const char *a)
{
    for (const char *const *k = cds_jwt_known_algs; *k; k++)
        if (!strcmp(*k, a))
            return true;
    return false;
}

/* The key type an algorithm needs. */
static const char *cds_jwt_kty(const char *alg)
{
    return alg[0] == 'E' ? "EC" : "RSA";
}

void cds_jwt_close(struct cds_jwt *j)
{
    for (size_t i = 0; i < j->n_issuers; i++) {
        free(j->issuers[i].iss);
        json_decref(j->issuers[i].keys);
    }
    free(j->issuers);
    free(j->seen);
    if (j->cap_seen)
        pthread_mutex_destroy(&j->lock);
    memset(j, 0, sizeof *j);
}

int cds_jwt_add_issuer(struct cds_jwt *j, const char *iss, const char *text, const char *name,
                       char *err, size_t errlen)
{
    json_error_t je;
    json_t *set = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!set) {
        snprintf(err, errlen, "%s: not JSON: %s (line %d)", name, je.text, je.line);
        return -1;
    }
    json_t *keys = json_object_get(set, "keys");
    if (!json_is_array(keys) || !json_array_size(keys)) {
        snprintf(err, errlen, "%s: not a JWK Set (expected {\"keys\": [...]} with a key)", name);
        json_decref(set);
        return -1;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        const char *why = NULL;
        if (!kid || !*kid)
            why = "has no kid (CDS Hooks chooses keys by kid)";
        else if (!kty || (strcmp(kty, "EC") && strcmp(kty, "RSA")))
            why = "is not an EC or RSA key (symmetric keys are never accepted)";
        else if (json_object_get(k, "d"))
            why = "holds a private key: give the public key only";
        else if (use && strcmp(use, "sig"))
            why = "is not a signing key (use is not sig)";
        else if (alg && (!cds_jwt_alg_known(alg) || strcmp(cds_jwt_kty(alg), kty)))
            why = "names an algorithm that is not asymmetric or does not fit its type";
        for (size_t m = 0; m < i && !why; m++) {
            const char *other = json_string_value(json_object_get(json_array_get(keys, m), "kid"));
            if (other && !strcmp(other, kid))
                why = "has a kid another key of the set has";
        }
        if (why) {
            snprintf(err, errlen, "%s: key %zu%s%.80s%s %s", name, i, kid ? " (kid " : "",
                     kid ? kid : "", kid ? ")" : "", why);
            json_decref(set);
            return -1;
        }
    }
    for (size_t m = 0; m < j->n_issuers; m++)
        if (!strcmp(j->issuers[m].iss, iss)) {
            snprintf(err, errlen, "issuer %.200s is configured twice", iss);
            json_decref(set);
            return -1;
        }
    struct cds_jwt_issuer *is = realloc(j->issuers, (j->n_issuers + 1) * sizeof *is);
    if (!is) {
        json_decref(set);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->issuers = is;
    is[j->n_issuers].iss = strdup(iss);
    is[j->n_issuers].keys = json_incref(keys);
    json_decref(set);
    if (!is[j->n_issuers].iss) {
        json_decref(keys);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->n_issuers++;
    return 0;
}

static int cds_jwt_load_spec(struct cds_jwt *j, const char *spec, char *err, size_t errlen)
{
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        snprintf(err, errlen, "cds_jwks: expected ISSUER=FILE, not '%.200s'", spec);
        return -1;
    }
    char iss[CDS_JWT_MAX_CLAIM + 1];
    if ((size_t)(eq - spec) > CDS_JWT_MAX_CLAIM) {
        snprintf(err, errlen, "cds_jwks: issuer longer than %d bytes", CDS_JWT_MAX_CLAIM);
        return -1;
    }
    snprintf(iss, sizeof iss, "%.*s", (int)(eq - spec), spec);
    const char *path = eq + 1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cds_jwks: %s: %s", path, strerror(errno));
        return -1;
    }
    /* A JWK Set of a few keys is a few KiB; 1 MiB is a generous bound. */
    enum { MAX_JWKS = 1 << 20 };
    char *buf = malloc(MAX_JWKS + 1);
    size_t len = buf ? fread(buf, 1, MAX_JWKS + 1, f) : 0;
    fclose(f);
    if (!buf || len > MAX_JWKS) {
        free(buf);
        snprintf(err, errlen, "cds_jwks: %s: %s", path, buf ? "larger than 1 MiB" : "out of memory");
        return -1;
    }
    buf[len] = '\0';
    int rc = cds_jwt_add_issuer(j, iss, buf, path, err, errlen);
    free(buf);
    return rc;
}

int cds_jwt_init(struct cds_jwt *j, const char *const *specs, size_t n_specs,
                 const char *const *algs, size_t n_algs, unsigned skew_s, size_t cache_size,
                 char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    static const char *const def[] = {"ES384", "RS384"};
    if (!n_algs) {
        algs = def;
        n_algs = 2;
    }
    if (n_algs > sizeof j->algs / sizeof j->algs[0]) {
        snprintf(err, errlen, "cds_algorithm: at most %zu", sizeof j->algs / sizeof j->algs[0]);
        return -1;
    }
    for (size_t i = 0; i < n_algs; i++) {
        if (!cds_jwt_alg_known(algs[i])) {
            snprintf(err, errlen,
                     "cds_algorithm: '%.40s' is not an asymmetric JWS algorithm (ES256, ES384, "
                     "ES512, RS256, RS384, RS512, PS256, PS384, PS512; never none or HS*)",
                     algs[i]);
            return -1;
        }
        snprintf(j->algs[j->n_algs++], sizeof j->algs[0], "%s", algs[i]);
    }
    j->skew_s = skew_s;
    j->cap_seen = cache_size ? cache_size : 1;
    j->seen = calloc(j->cap_seen, sizeof *j->seen);
    if (!j->seen || pthread_mutex_init(&j->lock, NULL)) {
        free(j->seen);
        j->seen = NULL;
        j->cap_seen = 0;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n_specs; i++)
        if (cds_jwt_load_spec(j, specs[i], err, errlen)) {
            cds_jwt_close(j);
            return -1;
        }
    return 0;
}

/* ---- verification ---------------------------------------------------- */

static bool cds_jwt_b64url(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* A base64url part decoded and parsed as a JSON object (no key twice:
 * two "alg" members must not let two readers see two algorithms). */
static json_t *cds_jwt_part(const char *s, size_t n)
{
    size_t need = jose_b64_dec_buf(s, n, NULL, 0);
    if (need == SIZE_MAX || need > 65536)
        return NULL;
    char *buf = malloc(need + 1);
    if (!buf)
        return NULL;
    json_t *j = NULL;
    if (jose_b64_dec_buf(s, n, buf, need) == need)
        j = json_loadb(buf, need, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static bool cds_jwt_int(const json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (json_is_integer(x)) {
        *v = json_integer_value(x);
        return true;
    }
    if (json_is_real(x) && json_real_value(x) > -9e15 && json_real_value(x) < 9e15) {
        *v = (int64_t)json_real_value(x);
        return true;
    }
    return false;
}

static enum cds_jwt_reason cds_jwt_fail(char *why, size_t n, enum cds_jwt_reason r,
                                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum cds_jwt_reason cds_jwt_fail(char *why, size_t n, enum cds_jwt_reason r,
                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return r;
}

/* Records (iss, jti) until exp; REPLAY when already there. */
static enum cds_jwt_reason cds_jwt_remember(struct cds_jwt *j, const char *iss, const char *jti,
                                            int64_t exp, int64_t now)
{
    struct sha256_ctx c;
    uint8_t id[32];
    sha256_init(&c);
    sha256_update(&c, strlen(iss) + 1, (const uint8_t *)iss);
    sha256_update(&c, strlen(jti), (const uint8_t *)jti);
    sha256_digest(&c, sizeof id, id);
    enum cds_jwt_reason r = CDS_JWT_OK;
    pthread_mutex_lock(&j->lock);
    size_t w = 0;
    for (size_t i = 0; i < j->n_seen; i++) {
        /* a token past exp + skew is refused as expired anyway: forget it */
        if (j->seen[i].exp + (int64_t)j->skew_s < now)
            continue;
        if (!memcmp(j->seen[i].id, id, sizeof id))
            r = CDS_JWT_REPLAY;
        j->seen[w++] = j->seen[i];
    }
    j->n_seen = w;
    if (r == CDS_JWT_OK) {
        if (j->n_seen == j->cap_seen) {
            r = CDS_JWT_REPLAY_FULL;
        } else {
            memcpy(j->seen[j->n_seen].id, id, sizeof id);
            j->seen[j->n_seen++].exp = exp;
        }
    }
    pthread_mutex_unlock(&j->lock);
    return r;
}

static bool cds_jwt_aud_ok(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), want);
    size_t i;
    json_t *a;
    json_array_foreach(aud, i, a)
        if (json_is_string(a) && !strcmp(json_string_value(a), want))
            return true;
    return false;
}

enum cds_jwt_reason cds_jwt_verify(struct cds_jwt *j, const char *authz, const char *aud,
                                   int64_t now, char *why, size_t n, char *iss_out, size_t isslen)
{
    if (!authz || strncasecmp(authz, "Bearer ", 7))
        return cds_jwt_fail(why, n, CDS_JWT_MISSING,
                            "send the CDS client's JWT as Authorization: Bearer <token>");
    const char *tok = authz + 7;
    while (*tok == ' ')
        tok++;
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || !cds_jwt_b64url(tok, d1 - tok))
        return cds_jwt_fail(why, n, CDS_JWT_MALFORMED,
                            "the token is not a compact JWS (three base64url parts, signed)");
    json_t *hdr = cds_jwt_part(tok, d1 - tok), *pl = NULL;
    enum cds_jwt_reason r = CDS_JWT_OK;
    if (!hdr) {
        r = cds_jwt_fail(why, n, CDS_JWT_MALFORMED, "the token's header is not a base64url JSON "
                                                    "object");
        goto out;
    }
    /* The algorithm first, so an unsigned (alg none) token is refused
     * as what it is. */
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    bool allowed = false;
    for (size_t i = 0; alg && i < j->n_algs; i++)
        allowed |= !strcmp(j->algs[i], alg);
    if (!allowed) {
        char list[80] = "";
        for (size_t i = 0; i < j->n_algs; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     j->algs[i]);
        r = cds_jwt_fail(why, n, CDS_JWT_ALGORITHM, "alg %.20s is not allowed (allowed: %s)",
                         alg ? alg : "(none given)", list);
        goto out;
    }
    if (!cds_jwt_b64url(d1 + 1, d2 - d1 - 1) || !cds_jwt_b64url(d2 + 1, strlen(d2 + 1)) ||
        !(pl = cds_jwt_part(d1 + 1, d2 - d1 - 1))) {
        r = cds_jwt_fail(why, n, CDS_JWT_MALFORMED,
                         "the token's payload is not a base64url JSON object, or it has no "
                         "signature");
        goto out;
    }
    if (json_object_get(hdr, "crit")) {
        r = cds_jwt_fail(why, n, CDS_JWT_MALFORMED, "the token has critical header parameters "
                                                    "this service does not implement");
        goto out;
    }
    const char *typ = json_string_value(json_object_get(hdr, "typ"));
    if (json_object_get(hdr, "typ") && (!typ || strcasecmp(typ, "JWT"))) {
        r = cds_jwt_fail(why, n, CDS_JWT_MALFORMED, "typ must be JWT");
        goto out;
    }
    const char *iss = json_string_value(json_object_get(pl, "iss"));
    const struct cds_jwt_issuer *is = NULL;
    for (size_t i = 0; iss && i < j->n_issuers; i++)
        if (!strcmp(j->issuers[i].iss, iss))
            is = &j->issuers[i];
    if (!is) {
        r = cds_jwt_fail(why, n, CDS_JWT_ISSUER, "iss %.200s is not a configured issuer (cds_jwks)",
                         iss ? iss : "(none given)");
        goto out;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    const json_t *key = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(is->keys, i, k) {
        const char *kk = json_string_value(json_object_get(k, "kid"));
        if (kid && kk && !strcmp(kid, kk))
            key = k;
    }
    if (!key) {
        r = cds_jwt_fail(why, n, CDS_JWT_KID, "kid %.100s is not in the JWK Set of %.200s",
                         kid ? kid : "(none given)", iss);
        goto out;
    }
    const char *kalg = json_string_value(json_object_get(key, "alg"));
    if (strcmp(json_string_value(json_object_get(key, "kty")), cds_jwt_kty(alg)) ||
        (kalg && strcmp(kalg, alg))) {
        r = cds_jwt_fail(why, n, CDS_JWT_ALGORITHM, "alg %s does not fit the key %.100s", alg, kid);
        goto out;
    }
    json_t *jws = json_pack("{s:s%,s:s%,s:s}", "protected", tok, (size_t)(d1 - tok), "payload",
                            d1 + 1, (size_t)(d2 - d1 - 1), "signature", d2 + 1);
    bool ok = jws && jose_jws_ver(NULL, jws, NULL, key, false);
    json_decref(jws);
    if (!ok) {
        r = cds_jwt_fail(why, n, CDS_JWT_SIGNATURE, "the signature does not verify with key %.100s",
                         kid);
        goto out;
    }
    /* The claims: trusted only now. */
    if (!cds_jwt_aud_ok(json_object_get(pl, "aud"), aud)) {
        r = cds_jwt_fail(why, n, CDS_JWT_AUDIENCE, "aud must be this endpoint's URL, %.300s", aud);
        goto out;
    }
    int64_t exp, iat, nbf, skew = j->skew_s;
    if (!cds_jwt_int(pl, "exp", &exp) || exp + skew < now) {
        r = cds_jwt_fail(why, n, CDS_JWT_EXPIRED, "the token has %s",
                         json_object_get(pl, "exp") ? "expired" : "no exp");
        goto out;
    }
    if (exp > now + CDS_JWT_MAX_LIFETIME_S + skew) {
        r = cds_jwt_fail(why, n, CDS_JWT_EXPIRED, "exp is more than %d s ahead",
                         CDS_JWT_MAX_LIFETIME_S);
        goto out;
    }
    if (!cds_jwt_int(pl, "iat", &iat) || iat > now + skew) {
        r = cds_jwt_fail(why, n, CDS_JWT_ISSUED_AT, "iat is %s",
                         json_object_get(pl, "iat") ? "in the future" : "missing");
        goto out;
    }
    if (json_object_get(pl, "nbf") && (!cds_jwt_int(pl, "nbf", &nbf) || nbf > now + skew)) {
        r = cds_jwt_fail(why, n, CDS_JWT_NOT_BEFORE, "the token is not valid yet (nbf)");
        goto out;
    }
    const char *jti = json_string_value(json_object_get(pl, "jti"));
    if (!jti || !*jti || strlen(jti) > CDS_JWT_MAX_CLAIM) {
        r = cds_jwt_fail(why, n, CDS_JWT_REPLAY, "jti is missing (it guards against replay)");
        goto out;
    }
    r = cds_jwt_remember(j, iss, jti, exp, now);
    if (r == CDS_JWT_REPLAY)
        cds_jwt_fail(why, n, r, "jti was used before: a token is good for one call");
    else if (r == CDS_JWT_REPLAY_FULL)
        cds_jwt_fail(why, n, r, "too many unexpired tokens to remember (cds_jti_cache); retry later");
    else if (iss_out)
        snprintf(iss_out, isslen, "%s", iss);
out:
    json_decref(hdr);
    json_decref(pl);
    return r;
}
