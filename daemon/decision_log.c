/*
 * decision_log.c: see decision_log.h.
 */
#include "decision_log.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int decision_log_open(struct decision_log *d, const char *path)
{
    memset(d, 0, sizeof *d);
    d->f = fopen(path, "ae");
    if (!d->f)
        return -errno;
    d->path = strdup(path);
    if (!d->path) {
        fclose(d->f);
        d->f = NULL;
        return -ENOMEM;
    }
    return 0;
}

void decision_log_close(struct decision_log *d)
{
    if (d->f)
        fclose(d->f);
    free(d->path);
    memset(d, 0, sizeof *d);
}

static void iso_time(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

int decision_log_write(struct decision_log *d, uint64_t conn_id, uint32_t msgid,
                       const struct suit_result *r, int error_code, double latency_ms)
{
    if (!d->f)
        return 0;
    char when[64];
    iso_time(when, sizeof when);
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    /* A line missing a key would be a wrong audit record: any failure
     * (jansson's setters fail on a NULL value, i.e. out of memory) drops
     * the whole line instead. */
    int bad = json_object_set_new(o, "time", json_string(when));
    bad |= json_object_set_new(o, "msgid", json_integer(msgid));
    bad |= json_object_set_new(o, "conn", json_integer((json_int_t)conn_id));
    if (error_code) {
        bad |= json_object_set_new(o, "error", json_integer(error_code));
    } else {
        bad |= json_object_set_new(o, "ruleset", r->ruleset.sha256 ? json_string(r->ruleset.sha256)
                                                                    : json_null());
        bad |= json_object_set_new(o, "policy", r->policy.name ? json_string(r->policy.name)
                                                               : json_null());
        bad |= json_object_set_new(o, "policy_sha256", r->policy.sha256
                                                           ? json_string(r->policy.sha256)
                                                           : json_null());
        bad |= json_object_set_new(o, "verdict", json_string(suit_verdict_name(r->verdict)));
        if (r->defer_days >= 0)
            bad |= json_object_set_new(o, "defer_days", json_integer(r->defer_days));
        json_t *ids = json_array();
        for (size_t i = 0; ids && i < r->n_findings; i++)
            bad |= json_array_append_new(ids, json_string(r->findings[i].id ? r->findings[i].id
                                                                            : ""));
        bad |= json_object_set_new(o, "findings", ids);
    }
    bad |= json_object_set_new(o, "latency_ms", json_real(latency_ms));
    if (bad) {
        json_decref(o);
        return -ENOMEM;
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line)
        return -ENOMEM;
    int rc = 0;
    if (fprintf(d->f, "%s\n", line) < 0 || fflush(d->f) != 0)
        rc = -EIO;
    free(line);
    return rc;
}
