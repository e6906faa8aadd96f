/*
 * safe_text.c: see safe_text.h.
 */
#include "safe_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when the
 * bytes there are not one (overlong forms and surrogates included). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* What replaces the character at s (its length in *len), or NULL when it
 * is printed as it is.  buf holds the replacement. */
static const char *escape_at(const unsigned char *s, bool allow_newline, size_t *len,
                             char buf[16])
{
    size_t n = utf8_len(s);
    *len = n ? n : 1;
    if (!n) {
        snprintf(buf, 16, "\\x%02x", s[0]);
        return buf;
    }
    if (n == 1) {
        unsigned c = s[0];
        if (c == '\t' || (c == '\n' && allow_newline))
            return NULL;
        if (c == 0x1B)
            return "\\e";
        if (c == '\n')
            return "\\n";
        if (c == '\r')
            return "\\r";
        if (c < 0x20 || c == 0x7F) {
            snprintf(buf, 16, "\\x%02x", c);
            return buf;
        }
        return NULL;
    }
    if (n == 2 && s[0] == 0xC2 && s[1] <= 0x9F) {
        snprintf(buf, 16, "\\u%04x", (unsigned)(s[1] & 0x3F) | 0x80);
        return buf;
    }
    return NULL;
}

bool safe_text_needs_escape(const char *s, bool allow_newline)
{
    const unsigned char *p = (const unsigned char *)s;
    char buf[16];
    while (*p) {
        size_t len;
        if (escape_at(p, allow_newline, &len, buf))
            return true;
        p += len;
    }
    return false;
}

char *safe_text_escape(const char *s, bool allow_newline)
{
    /* An escape is at most 6 bytes ("\u009b") for at least 1 byte in. */
    size_t cap = strlen(s) * 6 + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s;
    char buf[16];
    while (*p) {
        size_t len;
        const char *rep = escape_at(p, allow_newline, &len, buf);
        if (rep) {
            size_t r = strlen(rep);
            memcpy(out + k, rep, r);
            k += r;
        } else {
            memcpy(out + k, p, len);
            k += len;
        }
        p += len;
    }
    out[k] = '\0';
    return out;
}

int safe_text_json(json_t *j)
{
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (!safe_text_needs_escape(s, true))
            return 0;
        char *e = safe_text_escape(s, true);
        if (!e)
            return -1;
        int rc = json_string_set(j, e);
        free(e);
        return rc;
    }
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (safe_text_json(json_array_get(j, i)) < 0)
                return -1;
        return 0;
    }
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (safe_text_json(v) < 0)
                return -1;
        }
    }
    return 0;
}

/* In place in a fixed buffer: the escaped text, cut on a whole escape. */
static void escape_into(char *buf, size_t n)
{
    if (!safe_text_needs_escape(buf, false))
        return;
    char *e = safe_text_escape(buf, false);
    if (!e) {
        /* Nothing printable is better than something unsafe. */
        snprintf(buf, n, "(unprintable message)");
        return;
    }
    snprintf(buf, n, "%s", e);
    free(e);
}

static void escape_heap(char **s)
{
    if (!*s || !safe_text_needs_escape(*s, false))
        return;
    char *e = safe_text_escape(*s, false);
    if (!e) {
        (*s)[0] = '\0';
        return;
    }
    free(*s);
    *s = e;
}

void safe_text_error(struct proto_error *e)
{
    escape_into(e->message, sizeof e->message);
    escape_heap(&e->field);
    for (size_t i = 0; i < e->n_details; i++)
        escape_heap(&e->details[i]);
}
