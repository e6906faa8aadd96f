/*
 * httpd_request.c: see httpd_request.h.
 */
#include "httpd_request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int httpd_parse_explain(const char *value)
{
    static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
    for (size_t i = 0; value && i < 3; i++) {
        if (!strcasecmp(value, yes[i]))
            return 1;
        if (!strcasecmp(value, no[i]))
            return 0;
    }
    return -1;
}

/* ---- where in the text ------------------------------------------------ */

#define HTTPD_PATH_MAX_DEPTH 32

struct httpd_path_frame {
    bool is_object;
    bool expect_key;        /* object: the next string is a key */
    bool have_key;
    size_t index;           /* array: the element being read */
    char key[64];
};

/* Joins the frames into suitd's convention: "patient." dropped in front of
 * a patient key, "[i]" for elements.  `partial_key`: the error is inside
 * the innermost object's next key, which has no name yet. */
static void httpd_path_join(const struct httpd_path_frame *f, size_t depth, char *out, size_t n)
{
    char buf[512] = "";
    size_t k = 0;
    for (size_t i = 0; i < depth && k < sizeof buf; i++) {
        int w = 0;
        if (f[i].is_object && f[i].have_key && !f[i].expect_key)
            w = snprintf(buf + k, sizeof buf - k, "%s%s", k ? "." : "", f[i].key);
        else if (!f[i].is_object)
            w = snprintf(buf + k, sizeof buf - k, "[%zu]", f[i].index);
        else
            break;      /* inside a key, or between a comma and the next key */
        if (w < 0)
            break;
        k += (size_t)w;
    }
    if (k >= sizeof buf)
        k = sizeof buf - 1;
    buf[k] = '\0';
    const char *p = buf;
    if (!strncmp(p, "patient.", 8))
        p += 8;
    else if (!strncmp(p, "patient[", 8))
        p += 7;
    snprintf(out, n, "%s", p);
}

void httpd_json_path_at(const char *text, size_t len, size_t at, char *out, size_t n)
{
    struct httpd_path_frame f[HTTPD_PATH_MAX_DEPTH];
    size_t depth = 0, over = 0;     /* over: frames deeper than we keep */
    if (at > len)
        at = len;
    size_t i = 0;
    while (i < at) {
        char c = text[i];
        struct httpd_path_frame *top = depth && !over ? &f[depth - 1] : NULL;
        if (c == '{' || c == '[') {
            if (depth == HTTPD_PATH_MAX_DEPTH || over) {
                over++;
            } else {
                f[depth] = (struct httpd_path_frame){.is_object = c == '{', .expect_key = c == '{'};
                depth++;
            }
            i++;
        } else if (c == '}' || c == ']') {
            if (over)
                over--;
            else if (depth)
                depth--;
            i++;
        } else if (c == ',') {
            if (top && top->is_object) {
                top->expect_key = true;
                top->have_key = false;
            } else if (top) {
                top->index++;
            }
            i++;
        } else if (c == ':') {
            if (top)
                top->expect_key = false;
            i++;
        } else if (c == '"') {
            size_t start = ++i;
            while (i < at && text[i] != '"')
                i += text[i] == '\\' ? 2 : 1;
            if (i >= at)
                break;      /* the error is inside this string */
            if (top && top->is_object && top->expect_key) {
                size_t kl = i - start < sizeof top->key - 1 ? i - start : sizeof top->key - 1;
                memcpy(top->key, text + start, kl);
                top->key[kl] = '\0';
                top->have_key = true;
            }
            i++;
        } else {
            i++;            /* whitespace, numbers, true/false/null */
        }
    }
    /* Inside a key (or between keys): the path is the object's own. */
    if (depth && !over && f[depth - 1].is_object && f[depth - 1].expect_key)
        f[depth - 1].have_key = false;
    httpd_path_join(f, depth, out, n);
}

/* ---- the body --------------------------------------------------------- */

/* path + ".key" or "[i]", in suitd's convention. */
static void httpd_path_child(const char *path, const char *key, size_t index, char *out, size_t n)
{
    if (key)
        snprintf(out, n, "%s%s%s", path, *path ? "." : "", key);
    else
        snprintf(out, n, "%s[%zu]", path, index);
}

/* The first container nested deeper than suitd's decoder allows, given
 * that j sits at frame level `level`. */
static int httpd_check_depth(const json_t *j, unsigned level, const char *path,
                             struct proto_error *e)
{
    if (!json_is_object(j) && !json_is_array(j))
        return 0;
    if (level > HTTPD_MAX_FRAME_DEPTH) {
        proto_error_set(e, PROTO_E_TOO_LARGE, "%s: nested deeper than suitd accepts (%u levels "
                        "in its MessagePack frame)", *path ? path : "patient",
                        HTTPD_MAX_FRAME_DEPTH);
        proto_error_set_field(e, *path ? path : "patient");
        return PROTO_E_TOO_LARGE;
    }
    char child[512];
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach((json_t *)j, i, v) {
            httpd_path_child(path, NULL, i, child, sizeof child);
            int rc = httpd_check_depth(v, level + 1, child, e);
            if (rc)
                return rc;
        }
        return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        httpd_path_child(path, k, 0, child, sizeof child);
        int rc = httpd_check_depth(v, level + 1, child, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int httpd_field_error(struct proto_error *e, int code, const char *field, const char *what)
{
    proto_error_set(e, code, "%s: %s", field, what);
    proto_error_set_field(e, field);
    return code;
}

static int httpd_body_json(const char *body, size_t len, json_t **out, struct proto_error *e)
{
    json_error_t jerr;
    /* NUL bytes go through to suitd, which names the field that holds
     * one; a key given twice must not silently lose a fact. */
    *out = json_loadb(body, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (*out)
        return 0;
    char path[256];
    httpd_json_path_at(body, len, (size_t)jerr.position, path, sizeof path);
    if (path[0]) {
        proto_error_set(e, PROTO_E_PARSE, "%s: invalid JSON: %s (line %d, column %d)", path,
                        jerr.text, jerr.line, jerr.column);
        proto_error_set_field(e, path);
    } else {
        proto_error_set(e, PROTO_E_PARSE, "invalid JSON: %s (line %d, column %d)", jerr.text,
                        jerr.line, jerr.column);
    }
    return PROTO_E_PARSE;
}

int httpd_assess_params(const char *body, size_t len, int explain, msgpack_sbuffer *out,
                        struct proto_error *e)
{
    json_t *doc;
    int rc = httpd_body_json(body, len, &doc, e);
    if (rc)
        return rc;
    json_t *patient = NULL, *options = NULL;
    if (!json_is_object(doc)) {
        rc = proto_error_set(e, PROTO_E_INVALID_REQUEST,
                             "the body must be a JSON object: {\"patient\": {...}, "
                             "\"options\": {...}}");
        goto done;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v) {
        if (!strcmp(k, "patient")) {
            patient = v;
        } else if (!strcmp(k, "options")) {
            options = v;
        } else {
            char field[160];
            snprintf(field, sizeof field, "%s", k);
            rc = httpd_field_error(e, PROTO_E_INVALID_PARAMS, field,
                                   "unknown key (the body holds patient and options)");
            goto done;
        }
    }
    if (!patient) {
        rc = httpd_field_error(e, PROTO_E_INVALID_PARAMS, "patient",
                               "missing (the body is {\"patient\": {...}})");
        goto done;
    }
    if (!json_is_object(patient)) {
        rc = httpd_field_error(e, PROTO_E_INVALID_PARAMS, "patient", "expected an object");
        goto done;
    }
    if (options && json_is_null(options))
        options = NULL;
    if (options && !json_is_object(options)) {
        rc = httpd_field_error(e, PROTO_E_INVALID_PARAMS, "options", "expected an object");
        goto done;
    }
    json_t *opts = options ? json_incref(options) : NULL;
    if (explain >= 0) {
        json_t *given = opts ? json_object_get(opts, "explain") : NULL;
        if (given && (!json_is_boolean(given) || json_is_true(given) != (explain == 1))) {
            json_decref(opts);
            rc = httpd_field_error(e, PROTO_E_INVALID_PARAMS, "options.explain",
                                   "disagrees with ?explain= in the query");
            goto done;
        }
        if (!given) {
            /* a copy: the body's own options stay as sent */
            json_t *copy = opts ? json_copy(opts) : json_object();
            json_decref(opts);
            opts = copy;
            if (!opts || json_object_set_new(opts, "explain", json_boolean(explain)) < 0) {
                json_decref(opts);
                rc = proto_error_set(e, PROTO_E_INTERNAL, "out of memory");
                goto done;
            }
        }
    }
    /* params (level 2) holds the patient and options (level 3). */
    rc = httpd_check_depth(patient, 3, "", e);
    if (!rc && opts)
        rc = httpd_check_depth(opts, 3, "options", e);
    if (!rc) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, opts ? 2 : 1);
        rc = proto_json_to_msgpack(patient, &pk, e);
        if (!rc && opts)
            rc = proto_json_to_msgpack(opts, &pk, e);
    }
    json_decref(opts);
done:
    json_decref(doc);
    return rc;
}
