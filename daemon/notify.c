/*
 * notify.c: see notify.h.
 */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#ifdef SUITD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void notify_init(struct notify *n)
{
    n->last[0] = '\0';
}

/* s without the prefix p, when it starts with it. */
static const char *after(const char *s, const char *p)
{
    size_t n = strlen(p);
    return strncmp(s, p, n) ? s : s + n;
}

void notify_remember(struct notify *n, const struct reload_outcome *o, time_t when)
{
    char at[32] = "?";
    struct tm tm;
    if (localtime_r(&when, &tm))
        strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", &tm);
    const char *msg = o->err && o->err->message[0] ? o->err->message : "";
    if (!o->code)
        snprintf(n->last, sizeof n->last, "%s ok: %d cases passed", at, o->cases_passed);
    else if (o->code == PROTO_E_TIMEOUT)
        /* "reload timed out after 90 s (--reload-timeout): ..." */
        snprintf(n->last, sizeof n->last, "%s %s", at, after(msg, "reload "));
    else
        snprintf(n->last, sizeof n->last, "%s refused: %s", at, after(msg, "ruleset refused: "));
    /* One line: a message never holds a newline, but STATUS= must not. */
    for (char *c = n->last; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

int notify_status(const struct notify *n, const char *state, const struct suit_ruleset_id *id,
                  char *buf, size_t len)
{
    return snprintf(buf, len, "%s%sserving %s %s (%.12s)%s%s", state ? state : "",
                    state ? "; " : "", id->name, id->version, id->sha256,
                    n->last[0] ? "; last reload " : "", n->last);
}

static void send_state(const struct notify *n, const char *fields, const char *state,
                       const struct suit_ruleset_id *id)
{
#ifdef SUITD_HAVE_SYSTEMD
    char status[sizeof n->last + 256];
    notify_status(n, state, id, status, sizeof status);
    /* Best effort, as sd_notify is meant to be: an error only means that
     * nobody is listening. */
    (void)sd_notifyf(0, "%sSTATUS=%s", fields, status);
#else
    (void)n;
    (void)fields;
    (void)state;
    (void)id;
#endif
}

void notify_ready(const struct notify *n, const struct suit_ruleset_id *id)
{
    send_state(n, "READY=1\n", NULL, id);
}

void notify_reloading(const struct notify *n, const struct suit_ruleset_id *id)
{
    /* systemd 253 and later want the time of the reload request with it
     * (sd_notify(3)); older ones ignore the field. */
    char fields[96];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(fields, sizeof fields, "RELOADING=1\nMONOTONIC_USEC=%llu\n",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
    send_state(n, fields, "reloading", id);
}

void notify_stopping(const struct notify *n, const struct suit_ruleset_id *id)
{
    send_state(n, "STOPPING=1\n", "stopping", id);
}
