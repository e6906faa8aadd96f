/*
 * httpd_log.c: see httpd_log.h.  Each line is formatted into a local
 * buffer and written with one fputs, because stdio locks the stream per
 * call: two threads logging at once give two whole lines, never a mix.
 */
#include "httpd_log.h"

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

static void httpd_log_emit(const char *prefix, const char *fmt, va_list ap)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "suit-httpd: %s", prefix);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;   /* truncated: still one line */
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, stderr);
}

void httpd_log_msg(const struct httpd_log *lg, enum httpd_log_level level, const char *fmt, ...)
{
    if (!httpd_log_enabled(lg, level))
        return;
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s: ", httpd_level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    httpd_log_emit(prefix, fmt, ap);
    va_end(ap);
}

void httpd_log_plain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    httpd_log_emit("", fmt, ap);
    va_end(ap);
}
