/*
 * httpd_log.h: suit-httpd's stderr logger, one line per event written with
 * a single stdio call (so lines from the HTTP threads never interleave):
 *
 *   suit-httpd: LEVEL: message
 *
 * A plain value passed by pointer, like suitd's.  Nothing a client sent
 * about a patient is ever logged: requests are logged by method, endpoint,
 * status and time only.
 */
#ifndef HTTPD_LOG_H
#define HTTPD_LOG_H

enum httpd_log_level {
    HTTPD_LOG_DEBUG = 0,
    HTTPD_LOG_INFO,
    HTTPD_LOG_WARN,
    HTTPD_LOG_ERROR,
};

struct httpd_log {
    enum httpd_log_level level;
};

/* -1 when the name is not one of debug, info, warn, error. */
int httpd_log_level_parse(const char *name);
int httpd_log_enabled(const struct httpd_log *lg, enum httpd_log_level level);
void httpd_log_msg(const struct httpd_log *lg, enum httpd_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "suit-httpd: message" without a level: the fixed start-up lines tests
 * and operators read ("listening on ...", "ready ..."). */
void httpd_log_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define httpd_debug(lg, ...) httpd_log_msg((lg), HTTPD_LOG_DEBUG, __VA_ARGS__)
#define httpd_info(lg, ...) httpd_log_msg((lg), HTTPD_LOG_INFO, __VA_ARGS__)
#define httpd_warn(lg, ...) httpd_log_msg((lg), HTTPD_LOG_WARN, __VA_ARGS__)
#define httpd_error(lg, ...) httpd_log_msg((lg), HTTPD_LOG_ERROR, __VA_ARGS__)

#endif
