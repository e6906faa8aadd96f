/*
 * log.h: suitd's stderr logger.  One line per event, written with a single
 * stdio call so lines from worker threads never interleave:
 *
 *   suitd: LEVEL: message
 *
 * Under systemd, when stderr is the journal (JOURNAL_STREAM names the
 * device and inode of stderr), lines carry sd-daemon(3)'s priority prefix
 * instead, and the name the journal adds anyway is left out:
 *
 *   <3>message      (error; <4> warn, <6> info and the plain lines, <7> debug)
 *
 * so that `journalctl -p err -u suitd` finds refused reloads.
 *
 * The logger is a plain value passed by pointer, not a global: the daemon
 * owns one and hands it to its modules.  `facts` says whether patient facts
 * may appear in logs (--log-facts); callers check log_facts() before
 * formatting anything a client sent about a patient.
 */
#ifndef SUITD_LOG_H
#define SUITD_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR,
};

struct logger {
    enum log_level level;
    bool facts;
    bool journal;       /* stderr is the journal: priority prefixes */
};

/* Also finds out whether stderr is the journal (log_stderr_is_journal). */
void log_init(struct logger *lg, enum log_level level, bool facts);
/* Whether $JOURNAL_STREAM ("DEVICE:INODE") is the file stderr is. */
bool log_stderr_is_journal(void);
/* -1 when the name is not one of debug, info, warn, error. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
bool log_enabled(const struct logger *lg, enum log_level level);
bool log_facts(const struct logger *lg);

void log_msg(const struct logger *lg, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "suitd: message" without a level: the fixed startup lines other tools
 * parse ("listening on ...", "ready ..."). */
void log_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_debug(lg, ...) log_msg((lg), LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(lg, ...) log_msg((lg), LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(lg, ...) log_msg((lg), LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(lg, ...) log_msg((lg), LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
