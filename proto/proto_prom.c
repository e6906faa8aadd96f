/*
 * proto_prom.c: see proto_prom.h.
 *
 * proto_prom_stats walks the result instead of naming each counter, so a
 * counter the daemon adds later shows up without a client or gateway
 * release; what is fixed is the name of every family the daemon has today
 * (prom_rules) and which maps are keyed by a label.  Samples are collected
 * first and written grouped by family, because the format wants a family's
 * samples together and two paths may sanitise to one name.
 */
#include "proto_prom.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the writer ------------------------------------------------------ */

void proto_prom_init(struct proto_prom *p)
{
    memset(p, 0, sizeof *p);
}

void proto_prom_free(struct proto_prom *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}

static bool prom_reserve(struct proto_prom *p, size_t more)
{
    if (p->failed)
        return false;
    if (p->len + more + 1 <= p->cap)
        return true;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + more + 1)
        cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b) {
        p->failed = true;
        return false;
    }
    p->buf = b;
    p->cap = cap;
    return true;
}

static void prom_putn(struct proto_prom *p, const char *s, size_t n)
{
    if (!prom_reserve(p, n))
        return;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void prom_puts(struct proto_prom *p, const char *s)
{
    prom_putn(p, s, strlen(s));
}

static void prom_putc(struct proto_prom *p, char c)
{
    prom_putn(p, &c, 1);
}

/* HELP text escapes backslash and newline; label values also the double
 * quote. */
static void prom_escaped(struct proto_prom *p, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            prom_puts(p, "\\\\");
        else if (*s == '\n')
            prom_puts(p, "\\n");
        else if (quote && *s == '"')
            prom_puts(p, "\\\"");
        else
            prom_putc(p, *s);
    }
}

/* The shortest text that reads back as the same double; integers without
 * a fraction, and the format's spellings of NaN and the infinities. */
static void prom_value(struct proto_prom *p, double v)
{
    char buf[40];
    if (isnan(v))
        snprintf(buf, sizeof buf, "NaN");
    else if (isinf(v))
        snprintf(buf, sizeof buf, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, sizeof buf, "%.0f", v);
    else
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    prom_puts(p, buf);
}

void proto_prom_family(struct proto_prom *p, const char *name, const char *type,
                       const char *help)
{
    prom_puts(p, "# HELP ");
    prom_puts(p, name);
    prom_putc(p, ' ');
    prom_escaped(p, help, false);
    prom_puts(p, "\n# TYPE ");
    prom_puts(p, name);
    prom_putc(p, ' ');
    prom_puts(p, type);
    prom_putc(p, '\n');
}

/* Label text as it goes between the braces: a="b",c="d". */
static void prom_labels(struct proto_prom *p, const char *const *labels)
{
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        if (i)
            prom_putc(p, ',');
        prom_puts(p, labels[i]);
        prom_puts(p, "=\"");
        prom_escaped(p, labels[i + 1], true);
        prom_putc(p, '"');
    }
}

static void prom_sample_text(struct proto_prom *p, const char *name, const char *labels,
                             double value)
{
    prom_puts(p, name);
    if (labels && *labels) {
        prom_putc(p, '{');
        prom_puts(p, labels);
        prom_putc(p, '}');
    }
    prom_putc(p, ' ');
    prom_value(p, value);
    prom_putc(p, '\n');
}

void proto_prom_sample(struct proto_prom *p, const char *name, const char *const *labels,
                       double value)
{
    struct proto_prom lab;
    proto_prom_init(&lab);
    prom_labels(&lab, labels);
    if (lab.failed)
        p->failed = true;
    prom_sample_text(p, name, lab.buf, value);
    proto_prom_free(&lab);
}

/* ---- suitd's stats --------------------------------------------------- */

enum prom_kind {
    PROM_NUMBER,        /* one sample */
    PROM_LABEL_MAP,     /* {key: number}: one sample per key, key -> label */
    PROM_SUMMARY,       /* {pNN: ms, count: n}: quantiles and _count */
    PROM_INFO_MAP,      /* {k: str}: one sample of 1 with the strings as labels */
    PROM_INFO_STR,      /* str: one sample of 1, the string in a label */
};

/* Every family the daemon reports today, by the path of its value in the
 * result.  Names are fixed here; see proto_prom.h. */
static const struct prom_rule {
    const char *path;
    const char *name;
    enum prom_kind kind;
    const char *type;
    const char *label;      /* LABEL_MAP, INFO_STR: the label's name */
    double scale;           /* NUMBER, SUMMARY: value x scale (base units) */
    const char *help;
} prom_rules[] = {
    {"uptime_s", "suitd_uptime_seconds", PROM_NUMBER, "gauge", NULL, 1,
     "Seconds since the daemon started."},
    {"connections.current", "suitd_connections_current", PROM_NUMBER, "gauge", NULL, 1,
     "Client connections open now."},
    {"connections.total", "suitd_connections_total", PROM_NUMBER, "counter", NULL, 1,
     "Client connections accepted since the daemon started."},
    {"connections.refused", "suitd_connections_refused_total", PROM_NUMBER, "counter", NULL, 1,
     "Client connections refused because a limit was reached."},
    {"connections.unauthenticated", "suitd_connections_unauthenticated", PROM_NUMBER, "gauge",
     NULL, 1, "Client connections open now that have not yet sent the right token."},
    {"connections.refused_unauthenticated", "suitd_connections_refused_unauthenticated_total",
     PROM_NUMBER, "counter", NULL, 1,
     "Connections refused because max_unauthenticated connections were waiting for auth."},
    {"connections.refused_descriptors", "suitd_connections_refused_descriptors_total",
     PROM_NUMBER, "counter", NULL, 1,
     "Connections accepted and closed at once because the daemon was out of descriptors."},
    {"requests", "suitd_requests_total", PROM_LABEL_MAP, "counter", "method", 1,
     "Requests received, by method."},
    {"errors", "suitd_errors_total", PROM_LABEL_MAP, "counter", "code", 1,
     "Error responses sent, by error name (PROTOCOL.md section 6)."},
    {"latency_ms", "suitd_latency_seconds", PROM_SUMMARY, "summary", NULL, 1e-3,
     "Request latency quantiles over every request since the daemon started, in seconds."},
    {"queue_depth", "suitd_queue_depth", PROM_NUMBER, "gauge", NULL, 1,
     "Requests waiting for a worker now."},
    {"workers", "suitd_workers", PROM_NUMBER, "gauge", NULL, 1,
     "Worker threads evaluating assessments."},
    {"policy_resets", "suitd_policy_resets_total", PROM_NUMBER, "counter", NULL, 1,
     "Rule engine environments reset to another named policy because a worker already held "
     "policy_environments of them."},
    {"reloads", "suitd_reloads_total", PROM_LABEL_MAP, "counter", "result", 1,
     "Ruleset reloads, by result (ok; failed or timed_out: the old ruleset kept serving)."},
    {"ruleset", "suitd_ruleset_info", PROM_INFO_MAP, "gauge", NULL, 1,
     "The ruleset in force; the value is always 1."},
    {"dropped", "suitd_dropped_total", PROM_LABEL_MAP, "counter", "reason", 1,
     "Connections the daemon closed, by reason."},
    {"version", "suitd_version_info", PROM_INFO_STR, "gauge", "version", 1,
     "The daemon's version; the value is always 1."},
    {"decision_log.written", "suitd_decision_log_written_total", PROM_NUMBER, "counter", NULL, 1,
     "Decision-log records appended."},
    {"decision_log.lost", "suitd_decision_log_lost_total", PROM_NUMBER, "counter", NULL, 1,
     "Decision-log records that could not be written (a full disk, an I/O error)."},
    {"decision_log.dropped", "suitd_decision_log_dropped_total", PROM_NUMBER, "counter", NULL, 1,
     "Decision-log records refused because the writer's queue was full (a stalled device)."},
    {"decision_log.queued", "suitd_decision_log_queued", PROM_NUMBER, "gauge", NULL, 1,
     "Decision-log records waiting for the writer now."},
    {"decision_log.reopened", "suitd_decision_log_reopened_total", PROM_NUMBER, "counter", NULL,
     1, "Reopens of the decision log (SIGUSR1, logrotate)."},
};

/* Words that make an unknown key a counter. */
static const char *const prom_counter_words[] = {
    "total", "refused", "ok", "failed", "count", "accepted", "dropped", "requests",
    "errors", "reloads", NULL,
};

struct prom_sample {
    char *name;         /* family name */
    char *labels;       /* text between the braces, or "" */
    const char *type;
    char *help;
    double value;
};

struct prom_set {
    struct prom_sample *s;
    size_t len, cap;
    bool failed;
};

static char *prom_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void prom_add(struct prom_set *set, const char *name, const char *labels,
                     const char *type, const char *help, double value)
{
    if (set->failed)
        return;
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct prom_sample *s = realloc(set->s, cap * sizeof *s);
        if (!s) {
            set->failed = true;
            return;
        }
        set->s = s;
        set->cap = cap;
    }
    struct prom_sample *s = &set->s[set->len];
    s->name = prom_strdup(name);
    s->labels = prom_strdup(labels);
    s->help = prom_strdup(help);
    s->type = type;
    s->value = value;
    if (!s->name || !s->labels || !s->help) {
        free(s->name);
        free(s->labels);
        free(s->help);
        set->failed = true;
        return;
    }
    set->len++;
}

/* Appends name="value" to a label text buffer (escaped, truncated at n). */
static void prom_label_append(char *buf, size_t n, const char *name, const char *value)
{
    struct proto_prom tmp;
    proto_prom_init(&tmp);
    const char *pair[] = {name, value, NULL};
    prom_labels(&tmp, pair);
    size_t k = strlen(buf);
    if (!tmp.failed && tmp.buf)
        snprintf(buf + k, n - k, "%s%s", k ? "," : "", tmp.buf);
    proto_prom_free(&tmp);
}

/* "p99.9" or "p99_9" -> "0.999"; false when the key is not a percentile. */
static bool prom_quantile(const char *key, char *buf, size_t n)
{
    if (key[0] != 'p' || !isdigit((unsigned char)key[1]))
        return false;
    char num[32];
    snprintf(num, sizeof num, "%s", key + 1);
    for (char *c = num; *c; c++)
        if (*c == '_')
            *c = '.';
    char *end;
    double v = strtod(num, &end);
    if (*end || v < 0 || v > 100)
        return false;
    snprintf(buf, n, "%g", v / 100.0);
    return true;
}

/* A metric name (or part of one) may only hold [a-zA-Z0-9_]. */
static void prom_sanitize(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 1 < n; in++)
        out[k++] = isalnum((unsigned char)*in) ? *in : '_';
    out[k] = '\0';
}

static const struct prom_rule *prom_rule_of(const char *path)
{
    for (size_t i = 0; i < sizeof prom_rules / sizeof prom_rules[0]; i++)
        if (!strcmp(prom_rules[i].path, path))
            return &prom_rules[i];
    return NULL;
}

static bool prom_counterish(const char *key)
{
    for (const char *const *w = prom_counter_words; *w; w++)
        if (!strcmp(key, *w))
            return true;
    return false;
}

static void prom_apply_rule(struct prom_set *set, const struct prom_rule *r, const json_t *v)
{
    char lab[1024] = "";
    const char *key;
    json_t *child;
    switch (r->kind) {
    case PROM_NUMBER:
        if (json_is_number(v))
            prom_add(set, r->name, "", r->type, r->help, json_number_value(v) * r->scale);
        return;
    case PROM_LABEL_MAP:
        json_object_foreach((json_t *)v, key, child) {
            if (!json_is_number(child))
                continue;
            lab[0] = '\0';
            prom_label_append(lab, sizeof lab, r->label, key);
            prom_add(set, r->name, lab, r->type, r->help, json_number_value(child));
        }
        return;
    case PROM_SUMMARY: {
        char count_name[256];
        snprintf(count_name, sizeof count_name, "%s_count", r->name);
        json_object_foreach((json_t *)v, key, child) {
            char q[32];
            if (!json_is_number(child))
                continue;
            if (prom_quantile(key, q, sizeof q)) {
                lab[0] = '\0';
                prom_label_append(lab, sizeof lab, "quantile", q);
                prom_add(set, r->name, lab, r->type, r->help,
                         json_number_value(child) * r->scale);
            } else if (!strcmp(key, "count")) {
                /* _count belongs to the summary's family: same TYPE */
                prom_add(set, count_name, "", r->type, r->help, json_number_value(child));
            }
        }
        return;
    }
    case PROM_INFO_MAP:
        json_object_foreach((json_t *)v, key, child) {
            char ln[128];
            if (!json_is_string(child))
                continue;
            prom_sanitize(key, ln, sizeof ln);
            prom_label_append(lab, sizeof lab, ln, json_string_value(child));
        }
        if (lab[0])
            prom_add(set, r->name, lab, r->type, r->help, 1);
        return;
    case PROM_INFO_STR:
        if (json_is_string(v)) {
            prom_label_append(lab, sizeof lab, r->label, json_string_value(v));
            prom_add(set, r->name, lab, r->type, r->help, 1);
        }
        return;
    }
}

/* A value no rule names: suitd_<path>, counter or gauge by its words. */
static void prom_walk(struct prom_set *set, const json_t *v, const char *name,
                      const char *path, bool counter)
{
    const struct prom_rule *r = *path ? prom_rule_of(path) : NULL;
    if (r) {
        if (json_is_object(v) || r->kind == PROM_NUMBER || r->kind == PROM_INFO_STR)
            prom_apply_rule(set, r, v);
        return;
    }
    if (json_is_number(v) || json_is_boolean(v)) {
        char full[300], help[400];
        size_t nl = strlen(name);
        bool has_total = nl >= 6 && !strcmp(name + nl - 6, "_total");
        snprintf(full, sizeof full, "%s%s", name, counter && !has_total ? "_total" : "");
        if (!counter && has_total)
            counter = true;
        snprintf(help, sizeof help, "suitd stats value %s.", path);
        double x = json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : json_number_value(v);
        prom_add(set, full, "", counter ? "counter" : "gauge", help, x);
        return;
    }
    if (!json_is_object(v))
        return;     /* strings and lists are not samples */
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        char part[128], cname[256], cpath[256];
        prom_sanitize(key, part, sizeof part);
        snprintf(cname, sizeof cname, "%s_%s", name, part);
        snprintf(cpath, sizeof cpath, "%s%s%s", path, *path ? "." : "", key);
        prom_walk(set, child, cname, cpath, counter || prom_counterish(key));
    }
}

/* Whether family `name` was already written with another TYPE (a clash of
 * sanitised names): such samples are left out rather than break the
 * exposition. */
static bool prom_type_clash(const struct prom_set *set, size_t upto, const char *family,
                            const char *type)
{
    for (size_t i = 0; i < upto; i++)
        if (!strcmp(set->s[i].name, family) && strcmp(set->s[i].type, type))
            return true;
    return false;
}

/* The family a sample belongs to: a summary's _count sample shares its
 * base name. */
static void prom_family_of(const struct prom_sample *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s", s->name);
    size_t k = strlen(buf);
    if (!strcmp(s->type, "summary") && k > 6 && !strcmp(buf + k - 6, "_count"))
        buf[k - 6] = '\0';
}

int proto_prom_stats(struct proto_prom *p, const struct json_t *stats)
{
    if (!json_is_object(stats))
        return -1;
    struct prom_set set = {0};
    prom_walk(&set, stats, "suitd", "", false);
    if (set.failed)
        p->failed = true;
    bool *done = calloc(set.len ? set.len : 1, sizeof *done);
    if (!done)
        p->failed = true;
    for (size_t i = 0; done && !p->failed && i < set.len; i++) {
        if (done[i])
            continue;
        char fam[300];
        prom_family_of(&set.s[i], fam, sizeof fam);
        if (prom_type_clash(&set, i, fam, set.s[i].type)) {
            done[i] = true;
            continue;
        }
        proto_prom_family(p, fam, set.s[i].type, set.s[i].help);
        /* Quantiles first, then _count: the summary's order. */
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = i; j < set.len; j++) {
                char fj[300];
                if (done[j])
                    continue;
                prom_family_of(&set.s[j], fj, sizeof fj);
                if (strcmp(fj, fam) || strcmp(set.s[j].type, set.s[i].type))
                    continue;
                bool is_count = strcmp(set.s[j].name, fam) != 0;
                if (is_count != (pass == 1))
                    continue;
                done[j] = true;
                /* A repeated name and label set would be a duplicate
                 * sample: keep the first. */
                bool dup = false;
                for (size_t k = i; k < j && !dup; k++)
                    dup = done[k] && !strcmp(set.s[k].name, set.s[j].name) &&
                          !strcmp(set.s[k].labels, set.s[j].labels);
                if (!dup)
                    prom_sample_text(p, set.s[j].name, set.s[j].labels, set.s[j].value);
            }
    }
    free(done);
    for (size_t i = 0; i < set.len; i++) {
        free(set.s[i].name);
        free(set.s[i].labels);
        free(set.s[i].help);
    }
    free(set.s);
    return p->failed ? -1 : 0;
}
