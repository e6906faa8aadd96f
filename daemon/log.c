/*
 * log.c: see log.h.  Each line is formatted into a local buffer first and
 * written with one fputs, because stdio locks the stream per call: two
 * threads logging at once produce two whole lines, never a mix.
 */
#include "log.h"

#include "proto_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};
#define N_LEVELS (sizeof level_names / sizeof level_names[0])

void log_init(struct logger *lg, enum log_level level, bool facts)
{
    lg->level = level;
    lg->facts = facts;
    lg->journal = log_stderr_is_journal();
}

bool log_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js || !*js)
        return false;
    unsigned long long dev, ino;
    if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
        return false;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    /* Inherited by a child whose stderr was redirected: then it is not. */
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* sd-daemon(3)'s SD_ERR, SD_WARNING, SD_INFO and SD_DEBUG, by level. */
static const char *const journal_prefix[] = {"<7>", "<6>", "<4>", "<3>"};

int log_level_parse(const char *name)
{
    for (int i = 0; i < (int)N_LEVELS; i++)
        if (!strcmp(name, level_names[i]))
            return i;
    if (!strcmp(name, "warning"))
        return LOG_LEVEL_WARN;
    return -1;
}

const char *log_level_name(enum log_level level)
{
    return (unsigned)level < N_LEVELS ? level_names[level] : "?";
}

bool log_enabled(const struct logger *lg, enum log_level level)
{
    return level >= lg->level;
}

bool log_facts(const struct logger *lg)
{
    return lg->facts;
}


void log_msg(const struct logger *lg, enum log_level level, const char *fmt, ...)
{
    if (lg && !log_enabled(lg, level))
        return;
    char prefix[32];
    if (lg && lg->journal && (unsigned)level < N_LEVELS)
        snprintf(prefix, sizeof prefix, "%s", journal_prefix[level]);
    else
        snprintf(prefix, sizeof prefix, "suitd: %s: ", log_level_name(level));
    va_list ap;
    va_start(ap, fmt);
    proto_text_vline(stderr, prefix, fmt, ap);
    va_end(ap);
}

void log_plain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* No logger here: these few start-up lines look for themselves. */
    proto_text_vline(stderr, log_stderr_is_journal() ? "<6>" : "suitd: ", fmt, ap);
    va_end(ap);
}
