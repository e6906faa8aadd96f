/*
 * render_stats.c: `suit stats` output.
 *
 * The Prometheus rendering walks the result generically instead of naming
 * each counter, so that a counter the daemon adds later shows up without a
 * client release; only the label maps and the HELP texts are known here.
 */
#include "render_stats.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- readable ------------------------------------------------------- */

static void stats_text_node(FILE *out, const json_t *v, int indent)
{
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        fprintf(out, "%*s%s:", indent, "", key);
        if (json_is_object(child)) {
            if (json_object_size(child) == 0)
                fprintf(out, " none\n");
            else {
                fputc('\n', out);
                stats_text_node(out, child, indent + 2);
            }
            continue;
        }
        if (json_is_array(child)) {
            size_t i;
            json_t *e;
            json_array_foreach(child, i, e) {
                char *s = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
                fprintf(out, "%s%s", i ? ", " : " ", s ? s : "?");
                free(s);
            }
            fputc('\n', out);
            continue;
        }
        if (json_is_string(child))
            fprintf(out, " %s\n", json_string_value(child));
        else if (json_is_integer(child))
            fprintf(out, " %lld\n", (long long)json_integer_value(child));
        else if (json_is_real(child))
            fprintf(out, " %g\n", json_real_value(child));
        else if (json_is_boolean(child))
            fprintf(out, " %s\n", json_is_true(child) ? "yes" : "no");
        else
            fprintf(out, " -\n");
    }
}

void stats_render_text(FILE *out, const json_t *stats)
{
    if (!json_is_object(stats)) {
        char *s = json_dumps(stats, JSON_ENCODE_ANY);
        fprintf(out, "%s\n", s ? s : "?");
        free(s);
        return;
    }
    stats_text_node(out, stats, 0);
}

/* ---- Prometheus ----------------------------------------------------- */

struct stats_sample {
    char *name;      /* family name */
    char *labels;    /* "" or {a="b",...} */
    char *help;
    double value;
    bool counter;
};

struct stats_set {
    struct stats_sample *s;
    size_t len, cap;
    bool failed;
};

static const struct {
    const char *path, *help;
} stats_helps[] = {
    {"uptime_s", "Seconds since the daemon started."},
    {"connections.current", "Client connections open now."},
    {"connections.total", "Client connections accepted since the daemon started."},
    {"connections.refused", "Client connections refused because a limit was reached."},
    {"requests", "Requests received, by method."},
    {"errors", "Error responses sent, by error name (PROTOCOL.md section 6)."},
    {"latency_ms", "Request latency quantiles over recent requests, in seconds."},
    {"latency.count", "Requests counted in the latency quantiles."},
    {"queue_depth", "Requests waiting for a worker now."},
    {"workers", "Worker threads evaluating assessments."},
    {"policy_resets", "Rules engine environments reset to another named policy because a "
                      "worker held policy_environments of them already."},
    {"reloads", "Ruleset reloads, by result (ok, or failed: the old ruleset kept serving)."},
    {"dropped", "Connections the daemon closed, by reason."},
    {"ruleset", "The ruleset in force; the value is always 1."},
    {"version", "The daemon's version; the value is always 1."},
};

static char *stats_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static bool stats_is_word(const char *key, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(key, *words))
            return true;
    return false;
}

/* Maps whose keys are label values rather than parts of a metric name. */
static const struct {
    const char *key, *label;
} stats_label_maps[] = {
    {"requests", "method"}, {"requests_by_method", "method"}, {"by_method", "method"},
    {"methods", "method"}, {"errors", "error"}, {"errors_by_code", "code"},
    {"by_code", "code"}, {"dropped", "reason"}, {"reloads", "result"},
};

/* Names in the stats result that Prometheus wants in base units or with
 * its own spelling; `scale` converts the value. */
static const struct {
    const char *key, *name;
    double scale;
} stats_renames[] = {
    {"uptime_s", "uptime_seconds", 1},
    {"uptime_ms", "uptime_seconds", 1e-3},
    {"latency_ms", "latency_seconds", 1e-3},
    {"latency_us", "latency_seconds", 1e-6},
};

static const char *const stats_counter_words[] = {"total", "refused", "ok", "failed", "count",
                                                  "accepted", "dropped", "requests", "errors",
                                                  "reloads", NULL};

/* "p99.9" or "p99_9" -> "0.999"; false when the key is not a percentile. */
static bool stats_quantile(const char *key, char *buf, size_t n)
{
    if (key[0] != 'p' || !isdigit((unsigned char)key[1]))
        return false;
    char num[32];
    snprintf(num, sizeof num, "%s", key + 1);
    for (char *c = num; *c; c++)
        if (*c == '_')
            *c = '.';
    char *end;
    double p = strtod(num, &end);
    if (*end || p < 0 || p > 100)
        return false;
    snprintf(buf, n, "%g", p / 100.0);
    return true;
}

/* A metric name (or part of one) may only hold [a-zA-Z0-9_]. */
static void stats_sanitize(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (; *in && k + 1 < n; in++)
        out[k++] = isalnum((unsigned char)*in) ? *in : '_';
    out[k] = '\0';
}

/* Label values escape backslash, double quote and newline. */
static void stats_label_append(char *labels, size_t n, const char *name, const char *value)
{
    size_t k = strlen(labels);
    if (k == 0 && k + 1 < n)
        labels[k++] = '{';
    else if (k > 0 && labels[k - 1] == '}')
        labels[k - 1] = ',';
    int w = snprintf(labels + k, n - k, "%s=\"", name);
    if (w < 0 || (size_t)w >= n - k)
        return;
    k += (size_t)w;
    for (; *value && k + 3 < n; value++) {
        if (*value == '\\' || *value == '"') {
            labels[k++] = '\\';
            labels[k++] = *value;
        } else if (*value == '\n') {
            labels[k++] = '\\';
            labels[k++] = 'n';
        } else {
            labels[k++] = *value;
        }
    }
    if (k + 2 < n) {
        labels[k++] = '"';
        labels[k++] = '}';
    }
    labels[k] = '\0';
}

static void stats_add(struct stats_set *set, const char *name, const char *labels,
                      const char *path, double value, bool counter)
{
    if (set->failed)
        return;
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 32;
        struct stats_sample *s = realloc(set->s, cap * sizeof *s);
        if (!s) {
            set->failed = true;
            return;
        }
        set->s = s;
        set->cap = cap;
    }
    char full[256];
    size_t nl = strlen(name);
    if (counter && (nl < 6 || (strcmp(name + nl - 6, "_total") &&
                               strcmp(name + nl - 6, "_count"))))
        snprintf(full, sizeof full, "%s_total", name);
    else
        snprintf(full, sizeof full, "%s", name);

    const char *help = NULL;
    for (size_t i = 0; i < sizeof stats_helps / sizeof stats_helps[0]; i++)
        if (!strcmp(stats_helps[i].path, path))
            help = stats_helps[i].help;
    char fallback[300];
    if (!help) {
        snprintf(fallback, sizeof fallback, "suitd stats value %s.", path);
        help = fallback;
    }
    struct stats_sample *s = &set->s[set->len];
    s->name = stats_strdup(full);
    s->labels = stats_strdup(labels);
    s->help = stats_strdup(help);
    s->value = value;
    s->counter = counter;
    if (!s->name || !s->labels || !s->help) {
        free(s->name);
        free(s->labels);
        free(s->help);
        set->failed = true;
        return;
    }
    set->len++;
}

static bool stats_counterish(const char *key)
{
    return stats_is_word(key, stats_counter_words);
}

static void stats_walk(struct stats_set *set, const json_t *v, const char *name,
                       const char *path, const char *labels, bool counter, double scale);

static void stats_walk_child(struct stats_set *set, const json_t *child, const char *name,
                             const char *path, const char *labels, bool counter,
                             double scale, const char *key)
{
    char part[128], cname[256], cpath[256];
    stats_sanitize(key, part, sizeof part);
    for (size_t i = 0; i < sizeof stats_renames / sizeof stats_renames[0]; i++)
        if (!strcmp(stats_renames[i].key, key)) {
            snprintf(part, sizeof part, "%s", stats_renames[i].name);
            scale *= stats_renames[i].scale;
        }
    snprintf(cname, sizeof cname, "%s_%s", name, part);
    snprintf(cpath, sizeof cpath, "%s%s%s", path, *path ? "." : "", key);
    stats_walk(set, child, cname, cpath, labels, counter || stats_counterish(key), scale);
}

/* Top-level text: the identity of the ruleset and the daemon's version,
 * as info metrics (value 1, the text in labels). */
static bool stats_info_metric(struct stats_set *set, const char *key, const json_t *child)
{
    char lab[512] = "";
    if (!strcmp(key, "ruleset") && json_is_object(child)) {
        static const char *const idk[] = {"name", "version", "sha256"};
        for (size_t i = 0; i < 3; i++) {
            const char *s = json_string_value(json_object_get(child, idk[i]));
            if (s)
                stats_label_append(lab, sizeof lab, idk[i], s);
        }
        if (lab[0])
            stats_add(set, "suitd_ruleset_info", lab, "ruleset", 1, false);
        return true;
    }
    if (!strcmp(key, "version") && json_is_string(child)) {
        stats_label_append(lab, sizeof lab, "version", json_string_value(child));
        stats_add(set, "suitd_version_info", lab, "version", 1, false);
        return true;
    }
    return false;
}

static void stats_walk(struct stats_set *set, const json_t *v, const char *name,
                       const char *path, const char *labels, bool counter, double scale)
{
    if (json_is_integer(v)) {
        stats_add(set, name, labels, path, (double)json_integer_value(v) * scale, counter);
        return;
    }
    if (json_is_real(v)) {
        stats_add(set, name, labels, path, json_real_value(v) * scale, counter);
        return;
    }
    if (json_is_boolean(v)) {
        stats_add(set, name, labels, path, json_is_true(v) ? 1 : 0, false);
        return;
    }
    if (!json_is_object(v))
        return;   /* other strings and lists are not samples */

    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    const char *label = NULL;
    for (size_t i = 0; i < sizeof stats_label_maps / sizeof stats_label_maps[0]; i++)
        if (!strcmp(stats_label_maps[i].key, last))
            label = stats_label_maps[i].label;
    /* "requests": {"total": 9, "by_method": {...}} is not itself keyed by
     * method: only a map without a total is a label map. */
    if (label && json_object_get(v, "total"))
        label = NULL;
    bool latency = !strncmp(last, "latency", 7);

    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        char lab[512], q[32];
        if (!*path && stats_info_metric(set, key, child))
            continue;
        snprintf(lab, sizeof lab, "%s", labels);
        if (label) {
            stats_label_append(lab, sizeof lab, label, key);
            stats_walk(set, child, name, path, lab, true, scale);
        } else if (latency && stats_quantile(key, q, sizeof q)) {
            stats_label_append(lab, sizeof lab, "quantile", q);
            stats_walk(set, child, name, path, lab, false, scale);
        } else if (latency && !strcmp(key, "count")) {
            /* The summary convention: <name>_count, a counter, unscaled. */
            char cname[256];
            snprintf(cname, sizeof cname, "%s_count", name);
            if (json_is_number(child))
                stats_add(set, cname, labels, "latency.count", json_number_value(child), true);
        } else {
            stats_walk_child(set, child, name, path, labels, counter, scale, key);
        }
    }
}

static void stats_help_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

static void stats_value(FILE *out, double v)
{
    if (isnan(v))
        fputs("NaN", out);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", out);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(out, "%.0f", v);
    else {
        /* The shortest text that reads back as the same double. */
        char buf[40];
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        fputs(buf, out);
    }
}

int stats_render_prometheus(FILE *out, const json_t *stats)
{
    struct stats_set set = {0};
    stats_walk(&set, stats, "suitd", "", "", false, 1.0);
    int rc = set.failed ? -1 : 0;
    if (!rc) {
        /* Families in order of first appearance, each written once. */
        bool *done = calloc(set.len ? set.len : 1, sizeof *done);
        if (!done)
            rc = -1;
        for (size_t i = 0; done && i < set.len; i++) {
            if (done[i])
                continue;
            fprintf(out, "# HELP %s ", set.s[i].name);
            stats_help_escaped(out, set.s[i].help);
            fprintf(out, "\n# TYPE %s %s\n", set.s[i].name,
                    set.s[i].counter ? "counter" : "gauge");
            for (size_t j = i; j < set.len; j++) {
                if (done[j] || strcmp(set.s[j].name, set.s[i].name))
                    continue;
                done[j] = true;
                fprintf(out, "%s%s ", set.s[j].name, set.s[j].labels);
                stats_value(out, set.s[j].value);
                fputc('\n', out);
            }
        }
        free(done);
    }
    for (size_t i = 0; i < set.len; i++) {
        free(set.s[i].name);
        free(set.s[i].labels);
        free(set.s[i].help);
    }
    free(set.s);
    return rc;
}
