/*
 * bench_mix.c: see bench_mix.h.
 */
#include "bench_mix.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_request(struct bench_mix *m, const char *name, const char *method,
                       const json_t *patient, const json_t *options, struct proto_error *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* [0, msgid, method, params]: the msgid is packed by hand as a fixed
     * uint32 so that it can be patched in place. */
    static const char head[] = { (char)0x94, 0x00, (char)0xce, 0, 0, 0, 0 };
    msgpack_sbuffer_write(&sb, head, sizeof head);
    proto_pack_str(&pk, method);
    size_t params_off = sb.size;
    if (patient) {
        msgpack_pack_array(&pk, options ? 2 : 1);
        int rc = proto_json_to_msgpack(patient, &pk, err);
        if (rc == 0 && options)
            rc = proto_json_to_msgpack(options, &pk, err);
        if (rc < 0) {
            msgpack_sbuffer_destroy(&sb);
            return rc;
        }
    } else {
        msgpack_pack_array(&pk, 0);
    }
    struct bench_request *grown = realloc(m->reqs, (m->len + 1) * sizeof(*grown));
    char *nm = strdup(name);
    if (!grown || !nm) {
        if (grown)
            m->reqs = grown;
        free(nm);
        msgpack_sbuffer_destroy(&sb);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    m->reqs = grown;
    size_t len = sb.size;   /* release() zeroes it */
    m->reqs[m->len++] = (struct bench_request){
        .name = nm, .len = len, .params_off = params_off,
    };
    m->reqs[m->len - 1].bytes = msgpack_sbuffer_release(&sb);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the *.json files in dir; NULL on error (err filled). */
static char **list_cases(const char *dir, size_t *n, struct proto_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        proto_error_set(err, PROTO_E_INTERNAL, "cannot open %s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t len = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") || de->d_name[0] == '.')
            continue;
        char **grown = realloc(names, (len + 1) * sizeof(*grown));
        char *s = strdup(de->d_name);
        if (!grown || !s) {
            free(s);
            names = grown ? grown : names;
            for (size_t i = 0; i < len; i++)
                free(names[i]);
            free(names);
            closedir(d);
            proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
            return NULL;
        }
        names = grown;
        names[len++] = s;
    }
    closedir(d);
    qsort(names, len, sizeof(*names), cmp_str);
    *n = len;
    if (!names)
        names = calloc(1, sizeof(*names));
    return names;
}

static int load_file(struct bench_mix *m, const char *path, bool all, struct proto_error *err)
{
    json_error_t je;
    json_t *cases = json_load_file(path, 0, &je);
    if (!cases)
        return proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s:%d: %s", path, je.line, je.text);
    if (!json_is_array(cases)) {
        json_decref(cases);
        return proto_error_set(err, PROTO_E_INVALID_PARAMS, "%s: expected an array of cases",
                               path);
    }
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(cases, i, c) {
        json_t *patient = json_object_get(c, "patient");
        json_t *expect = json_object_get(c, "expect");
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!json_is_object(patient))
            continue;
        if (!all && json_object_get(expect, "error")) {
            m->skipped++;
            continue;
        }
        const json_t *options = all ? json_object_get(c, "options") : NULL;
        if ((rc = add_request(m, name ? name : "?", "assess", patient, options, err)) < 0)
            break;
    }
    json_decref(cases);
    return rc;
}

int bench_mix_load(struct bench_mix *m, const char *method, const char *rules_dir, long only,
                   bool all, struct proto_error *err)
{
    memset(m, 0, sizeof(*m));
    int rc = 0;
    if (!strcmp(method, "ping")) {
        rc = add_request(m, "ping", "ping", NULL, NULL, err);
    } else if (!strcmp(method, "assess")) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests", rules_dir);
        size_t n = 0;
        char **names = list_cases(dir, &n, err);
        if (!names)
            return err->code ? err->code : PROTO_E_INTERNAL;
        for (size_t i = 0; i < n; i++) {
            char path[4096 + 256];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            if (rc == 0)
                rc = load_file(m, path, all, err);
            free(names[i]);
        }
        free(names);
    } else {
        return proto_error_set(err, PROTO_E_INVALID_PARAMS,
                               "unknown method '%s': expected assess or ping", method);
    }
    if (rc == 0 && m->len == 0)
        rc = proto_error_set(err, PROTO_E_INVALID_PARAMS, "no patients in %s/tests/*.json",
                             rules_dir);
    if (rc == 0 && only >= 0) {
        if ((size_t)only >= m->len) {
            rc = proto_error_set(err, PROTO_E_INVALID_PARAMS,
                                 "--patient %ld: the mix has only %zu cases", only, m->len);
        } else {
            /* Keep one: swap it to the front and free the rest. */
            struct bench_request keep = m->reqs[only];
            m->reqs[only] = m->reqs[0];
            m->reqs[0] = keep;
            for (size_t i = 1; i < m->len; i++) {
                free(m->reqs[i].name);
                free(m->reqs[i].bytes);
            }
            m->len = 1;
        }
    }
    if (rc < 0)
        bench_mix_close(m);
    return rc;
}

void bench_mix_close(struct bench_mix *m)
{
    for (size_t i = 0; i < m->len; i++) {
        free(m->reqs[i].name);
        free(m->reqs[i].bytes);
    }
    free(m->reqs);
    memset(m, 0, sizeof(*m));
}

int bench_mix_http(const struct bench_mix *src, const char *host, const char *token,
                   struct bench_mix *dst, struct proto_error *err)
{
    memset(dst, 0, sizeof(*dst));
    dst->skipped = src->skipped;
    dst->reqs = calloc(src->len ? src->len : 1, sizeof(*dst->reqs));
    if (!dst->reqs)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    char auth[1100] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    for (size_t i = 0; i < src->len; i++) {
        const struct bench_request *q = &src->reqs[i];
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        if (msgpack_unpack_next(&u, q->bytes + q->params_off, q->len - q->params_off, &off) !=
                MSGPACK_UNPACK_SUCCESS ||
            u.data.type != MSGPACK_OBJECT_ARRAY) {
            msgpack_unpacked_destroy(&u);
            bench_mix_close(dst);
            return proto_error_set(err, PROTO_E_INTERNAL, "cannot read back request %zu", i);
        }
        char *body = NULL;
        if (u.data.via.array.size > 0) {
            json_t *patient = proto_msgpack_to_json(&u.data.via.array.ptr[0]);
            json_t *doc = patient ? json_pack("{s:o}", "patient", patient) : NULL;
            body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
            json_decref(doc);
        }
        msgpack_unpacked_destroy(&u);
        char head[1400];
        int hn = body ? snprintf(head, sizeof head,
                                 "POST /v1/assess HTTP/1.1\r\nHost: %s\r\n%s"
                                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                                 host, auth, strlen(body))
                      : snprintf(head, sizeof head, "GET /v1/ping HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                                 host, auth);
        size_t blen = body ? strlen(body) : 0;
        char *bytes = malloc((size_t)hn + blen);
        char *name = strdup(q->name);
        if (hn < 0 || (size_t)hn >= sizeof head || !bytes || !name) {
            free(bytes);
            free(name);
            free(body);
            bench_mix_close(dst);
            return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
        }
        memcpy(bytes, head, (size_t)hn);
        if (blen)
            memcpy(bytes + hn, body, blen);
        free(body);
        dst->reqs[dst->len++] = (struct bench_request){
            .name = name, .bytes = bytes, .len = (size_t)hn + blen, .params_off = (size_t)hn,
        };
    }
    return 0;
}

/* The request with `policy` set in its options: the params array is the
 * request's last element, so it is re-packed from there. */
static int with_policy(const struct bench_request *in, const char *policy,
                       struct bench_request *out, struct proto_error *err)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, in->bytes + in->params_off, in->len - in->params_off, NULL) !=
            MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size < 1) {
        msgpack_unpacked_destroy(&up);
        return proto_error_set(err, PROTO_E_INTERNAL, "cannot re-read the request %s", in->name);
    }
    const msgpack_object *params = up.data.via.array.ptr;
    const msgpack_object *opts = up.data.via.array.size > 1 ? &params[1] : NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_write(&sb, in->bytes, in->params_off);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_object(&pk, params[0]);
    uint32_t keep = 0;
    if (opts && opts->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < opts->via.map.size; i++)
            keep += !(opts->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR &&
                      opts->via.map.ptr[i].key.via.str.size == 6 &&
                      !memcmp(opts->via.map.ptr[i].key.via.str.ptr, "policy", 6));
    msgpack_pack_map(&pk, keep + 1);
    if (opts && opts->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < opts->via.map.size; i++) {
            const msgpack_object_kv *kv = &opts->via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 6 &&
                !memcmp(kv->key.via.str.ptr, "policy", 6))
                continue;
            msgpack_pack_object(&pk, kv->key);
            msgpack_pack_object(&pk, kv->val);
        }
    proto_pack_str(&pk, "policy");
    proto_pack_str(&pk, policy);
    msgpack_unpacked_destroy(&up);
    size_t len = sb.size;
    char *name = malloc(strlen(in->name) + strlen(policy) + 4);
    if (!name) {
        msgpack_sbuffer_destroy(&sb);
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    }
    sprintf(name, "%s [%s]", in->name, policy);
    *out = (struct bench_request){.name = name, .len = len, .params_off = in->params_off};
    out->bytes = msgpack_sbuffer_release(&sb);
    return 0;
}

int bench_mix_policies(struct bench_mix *m, char *const *policies, size_t n,
                       struct proto_error *err)
{
    if (!n)
        return 0;
    struct bench_request *grown = calloc(m->len * n, sizeof *grown);
    if (!grown)
        return proto_error_set(err, PROTO_E_INTERNAL, "out of memory");
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < m->len; i++)
        for (size_t j = 0; !rc && j < n; j++)
            if (!(rc = with_policy(&m->reqs[i], policies[j], &grown[k], err)))
                k++;
    for (size_t i = 0; i < m->len; i++) {
        free(m->reqs[i].name);
        free(m->reqs[i].bytes);
    }
    free(m->reqs);
    m->reqs = grown;
    m->len = k;
    return rc;
}
