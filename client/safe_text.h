/*
 * safe_text.h: text from the daemon made safe to print on a terminal.
 *
 * A term a client sent comes back quoted in error messages and findings; a
 * hostile or broken daemon (or a patient record with odd bytes) could put
 * terminal escape sequences there (ESC [ ... to rewrite the screen, OSC 52
 * to fill the clipboard).  suit prints such text only after
 * safe_text_escape: C0 controls, DEL, C1 controls (U+0080..U+009F) and
 * bytes that are not UTF-8 become visible escapes (\e, \x1b, \u009b); tab
 * stays, and newlines only where the caller allows them.
 */
#ifndef SAFE_TEXT_H
#define SAFE_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* Whether s holds anything safe_text_escape would change. */
bool safe_text_needs_escape(const char *s, bool allow_newline);
/* The escaped copy of s (malloc'd; NULL out of memory). */
char *safe_text_escape(const char *s, bool allow_newline);
/* Escapes every string (values, not keys) in j in place.  0 or -1 (out of
 * memory: the strings not yet done are left as they were). */
int safe_text_json(json_t *j);
/* Escapes an error response's message, field and details in place. */
void safe_text_error(struct proto_error *e);

#endif
