/*
 * proto_text.h: the two bits of plain-text output that suitd and
 * suit-httpd share: --help text wrapped at a width, and a log line that
 * is always one line written with one call.
 */
#ifndef SUITD_PROTO_TEXT_H
#define SUITD_PROTO_TEXT_H

#include <stdarg.h>
#include <stdio.h>

/* Longest log line (prefix and message); longer messages are cut, so a
 * line never spills onto the next. */
#define PROTO_TEXT_LINE_MAX 2048

/* Writes text wrapped before `width`, continuing at `indent`; col is the
 * column the first word starts at (no space is put before it). */
void proto_text_wrap(FILE *out, const char *text, int col, int indent, int width);

/* Writes prefix, the formatted message and a newline to out with one
 * fputs, cut to PROTO_TEXT_LINE_MAX so that it stays one line. */
void proto_text_vline(FILE *out, const char *prefix, const char *fmt, va_list ap);

#endif
