/*
 * httpd_log.c: see httpd_log.h.  Each line is formatted into a local
 * buffer and written with one fputs, because stdio locks the stream per
 * call: two threads logging at once give two whole lines, never a mix.
 */
#include "httpd_log.h"

#include "proto_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const httpd_level_names[] = {"debug", "info", "warn", "error"};

int httpd_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, httpd_level_names[i]))
            return i;
    if (!strcmp(name, "warning"))
        return HTTPD_LOG_WARN;
    return -1;
}

int httpd_log_enabled(const struct httpd_log *lg, enum httpd_log_level level)
{
    return !lg || level >= lg->level;
}


void httpd_log_msg(const struct httpd_log *lg, enum httpd_log_level level, const char *fmt, ...)
{
    if (!httpd_log_enabled(lg, level))
        return;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "suit-httpd: %s: ", httpd_level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    proto_text_vline(stderr, prefix, fmt, ap);
    va_end(ap);
}

void httpd_log_plain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    proto_text_vline(stderr, "suit-httpd: ", fmt, ap);
    va_end(ap);
}
