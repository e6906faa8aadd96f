/*
 * report.c: the readable report of one assessment.
 *
 * Lines are not wrapped: the text comes from the ruleset, and a person
 * piping the report into a note or a grep is better served by one finding
 * per line than by our guess at their terminal width.
 */
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "patient_flags.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[1;31m"
#define C_GREEN "\033[1;32m"
#define C_YELLOW "\033[1;33m"
#define C_BLUE "\033[1;34m"
#define C_MAGENTA "\033[1;35m"
#define C_CYAN "\033[1;36m"

struct report_ctx {
    FILE *out;
    const struct report_opts *o;
};

static const char *report_c(const struct report_ctx *r, const char *code)
{
    return r->o->color ? code : "";
}

static const char *report_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static bool report_int(const json_t *obj, const char *key, long long *v)
{
    json_t *j = json_object_get(obj, key);
    if (json_is_integer(j)) {
        *v = json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        *v = (long long)json_real_value(j);
        return true;
    }
    return false;
}

static void report_heading(const struct report_ctx *r, const char *title)
{
    fprintf(r->out, "\n%s%s%s\n", report_c(r, C_BOLD), title, report_c(r, C_RESET));
}

int report_date_after(time_t now, long long days, char *buf, size_t n)
{
    struct tm tm;
    if (days < 0 || days > 36500 || !localtime_r(&now, &tm))
        return -1;
    /* Adding to tm_mday and normalising with mktime keeps the calendar
     * date right across daylight-saving changes, unlike days * 86400. */
    tm.tm_mday += (int)days;
    tm.tm_hour = 12;
    tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    if (mktime(&tm) == (time_t)-1)
        return -1;
    return strftime(buf, n, "%Y-%m-%d", &tm) ? 0 : -1;
}

void report_usd(long long v, char *buf, size_t n)
{
    char digits[32];
    bool neg = v < 0;
    unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int len = snprintf(digits, sizeof digits, "%llu", u);
    char tmp[48];
    size_t k = 0;
    if (neg)
        tmp[k++] = '-';
    tmp[k++] = '$';
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            tmp[k++] = ',';
        tmp[k++] = digits[i];
    }
    tmp[k] = '\0';
    snprintf(buf, n, "%s", tmp);
}

struct report_verdict {
    const char *name;
    const char *label;
    const char *color;
    const char *text;    /* after the label */
};

static const struct report_verdict report_verdicts[] = {
    {"suitable", "Suitable", C_GREEN, "nothing found that stands in the way"},
    {"suitable-with-precautions", "Suitable with precautions", C_YELLOW,
     "treat, taking the cautions below into account"},
    {"defer", "Defer", C_CYAN, NULL},
    {"refer", "Refer", C_MAGENTA, "a physician should assess this patient before treatment"},
    {"contraindicated", "Contraindicated", C_RED, "do not treat"},
    {"incomplete", "Incomplete", C_BLUE,
     "facts are missing or must be confirmed (see below); no verdict yet"},
};

static void report_verdict_line(const struct report_ctx *r, const json_t *res,
                                const char *verdict)
{
    const struct report_verdict *v = NULL;
    for (size_t i = 0; i < sizeof report_verdicts / sizeof report_verdicts[0]; i++)
        if (!strcmp(report_verdicts[i].name, verdict))
            v = &report_verdicts[i];
    if (!v) {
        fprintf(r->out, "%sVerdict: %s%s\n", report_c(r, C_BOLD), verdict,
                report_c(r, C_RESET));
        return;
    }
    fprintf(r->out, "%s%s%s: ", report_c(r, v->color), v->label, report_c(r, C_RESET));
    if (v->text) {
        fprintf(r->out, "%s\n", v->text);
        return;
    }
    long long days;
    char date[32];
    if (report_int(res, "defer_days", &days) &&
        !report_date_after(r->o->now, days, date, sizeof date))
        fprintf(r->out, "come back in %lld day%s (on %s)\n", days, days == 1 ? "" : "s", date);
    else
        fprintf(r->out, "no fixed date; come back when the reasons below have resolved\n");
}

/* Heaviest first, as the verdict is decided. */
static const struct {
    const char *name, *label, *color;
} report_severities[] = {
    {"contraindicated", "Contraindicated", C_RED},
    {"refer", "Refer", C_MAGENTA},
    {"defer", "Defer", C_CYAN},
    {"incomplete", "Incomplete", C_BLUE},
    {"caution", "Caution", C_YELLOW},
    {"info", "Information", C_DIM},
};
#define REPORT_N_SEV (sizeof report_severities / sizeof report_severities[0])

static int report_severity_index(const char *s)
{
    for (size_t i = 0; i < REPORT_N_SEV; i++)
        if (!strcmp(report_severities[i].name, s))
            return (int)i;
    return -1;
}

static void report_finding(const struct report_ctx *r, const json_t *f)
{
    const char *summary = report_str(f, "summary");
    const char *id = report_str(f, "id");
    fprintf(r->out, "    - %s", *summary ? summary : id);
    if (*id)
        fprintf(r->out, " %s[%s]%s", report_c(r, C_DIM), id, report_c(r, C_RESET));
    fputc('\n', r->out);
    /* A near-miss term: what it probably means, from the machine-readable
     * field, whatever the ruleset's own wording says. */
    const char *suggestion = report_str(f, "suggestion");
    if (*suggestion)
        fprintf(r->out, "      %sSuggested term: %s%s (correct the term and check again; "
                        "if it is right as sent, check it by hand)\n",
                report_c(r, C_BOLD), suggestion, report_c(r, C_RESET));
    const char *detail = report_str(f, "detail");
    const char *action = report_str(f, "action");
    const char *source = report_str(f, "source");
    if (*detail)
        fprintf(r->out, "      %s\n", detail);
    if (*action)
        fprintf(r->out, "      Action: %s\n", action);
    if (*source)
        fprintf(r->out, "      Source: %s\n", source);
}

static void report_findings(const struct report_ctx *r, const json_t *findings)
{
    if (!json_is_array(findings) || json_array_size(findings) == 0) {
        report_heading(r, "Findings");
        fprintf(r->out, "  none\n");
        return;
    }
    report_heading(r, "Findings");
    size_t i;
    json_t *f;
    for (size_t s = 0; s < REPORT_N_SEV; s++) {
        bool header = false;
        json_array_foreach(findings, i, f) {
            if (strcmp(report_str(f, "severity"), report_severities[s].name))
                continue;
            if (!header) {
                fprintf(r->out, "  %s%s%s\n", report_c(r, report_severities[s].color),
                        report_severities[s].label, report_c(r, C_RESET));
                header = true;
            }
            report_finding(r, f);
        }
    }
    /* A severity this client does not know (a newer ruleset) still shows. */
    json_array_foreach(findings, i, f) {
        const char *sev = report_str(f, "severity");
        if (report_severity_index(sev) >= 0)
            continue;
        fprintf(r->out, "  %s\n", *sev ? sev : "(no severity)");
        report_finding(r, f);
    }
}

static void report_side_effects(const struct report_ctx *r, const json_t *effects)
{
    if (!json_is_array(effects) || json_array_size(effects) == 0)
        return;
    report_heading(r, "Side effects for this patient");
    static const struct {
        const char *kind, *label;
    } kinds[] = {{"expected", "Expected"},
                 {"serious", "Serious (tell the patient what to watch for)"}};
    size_t i;
    json_t *e;
    for (size_t k = 0; k < 2; k++) {
        bool header = false;
        json_array_foreach(effects, i, e) {
            if (strcmp(report_str(e, "kind"), kinds[k].kind))
                continue;
            if (!header) {
                fprintf(r->out, "  %s\n", kinds[k].label);
                header = true;
            }
            const char *lk = report_str(e, "likelihood");
            const char *note = report_str(e, "note");
            fprintf(r->out, "    - %s", report_str(e, "effect"));
            if (*lk)
                fprintf(r->out, " (%s)", lk);
            if (*note)
                fprintf(r->out, ": %s", note);
            fputc('\n', r->out);
        }
    }
    json_array_foreach(effects, i, e) {
        const char *kind = report_str(e, "kind");
        if (!strcmp(kind, "expected") || !strcmp(kind, "serious"))
            continue;
        fprintf(r->out, "    - %s (%s)\n", report_str(e, "effect"), kind);
    }
}

static void report_range(FILE *out, long long lo, long long hi, const char *unit)
{
    if (lo == hi)
        fprintf(out, "%lld%s", lo, unit);
    else
        fprintf(out, "%lld to %lld%s", lo, hi, unit);
}

static void report_plan(const struct report_ctx *r, const json_t *plan, const char *verdict)
{
    /* A plan next to a deferral or a referral is for later, not for today. */
    bool now = !strcmp(verdict, "suitable") || !strcmp(verdict, "suitable-with-precautions");
    report_heading(r, now ? "Course plan" : "Course plan (if treatment goes ahead later)");
    if (!json_is_object(plan)) {
        fprintf(r->out, "  none: no course is planned with this verdict\n");
        return;
    }
    long long smin, smax, iw, iwmax;
    bool has_s = report_int(plan, "sessions_min", &smin);
    if (has_s && !report_int(plan, "sessions_max", &smax))
        smax = smin;
    if (has_s) {
        fprintf(r->out, "  Sessions: ");
        report_range(r->out, smin, smax, "");
        if (report_int(plan, "interval_weeks", &iw)) {
            if (!report_int(plan, "interval_weeks_max", &iwmax) || iwmax < iw)
                iwmax = iw;
            fprintf(r->out, ", every ");
            report_range(r->out, iw, iwmax, iwmax == 1 ? " week" : " weeks");
        }
        fputc('\n', r->out);
    }
    const json_t *cps = json_object_get(plan, "cost_per_session_usd");
    long long lo, typ, hi;
    char a[32], b[32], c[32];
    if (report_int(cps, "min", &lo) && report_int(cps, "max", &hi)) {
        report_usd(lo, a, sizeof a);
        report_usd(hi, b, sizeof b);
        fprintf(r->out, "  Cost per session: %s to %s", a, b);
        if (report_int(cps, "typical", &typ)) {
            report_usd(typ, c, sizeof c);
            fprintf(r->out, " (typical %s)", c);
        }
        fputc('\n', r->out);
    }
    const json_t *course = json_object_get(plan, "course_cost_usd");
    if (report_int(course, "min", &lo) && report_int(course, "max", &hi)) {
        report_usd(lo, a, sizeof a);
        report_usd(hi, b, sizeof b);
        fprintf(r->out, "  Course total: %s to %s\n", a, b);
    }
}

static void report_list(const struct report_ctx *r, const char *title, const json_t *list,
                        bool numbered)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return;
    report_heading(r, title);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (numbered)
            fprintf(r->out, "  %zu. %s\n", i + 1, s ? s : "");
        else
            fprintf(r->out, "  - %s\n", s ? s : "");
    }
}

static void report_missing(const struct report_ctx *r, const json_t *missing)
{
    if (!json_is_array(missing) || json_array_size(missing) == 0)
        return;
    report_heading(r, "Missing facts (give them for a verdict)");
    size_t i;
    json_t *v;
    json_array_foreach(missing, i, v) {
        const char *s = json_string_value(v);
        const char *flag = s ? pflags_flag_for_fact(s) : NULL;
        if (flag)
            fprintf(r->out, "  - %s (%s)\n", s, flag);
        else
            fprintf(r->out, "  - %s\n", s ? s : "");
    }
}

void report_ruleset_line(FILE *out, const json_t *ruleset)
{
    const char *sha = report_str(ruleset, "sha256");
    fprintf(out, "Ruleset: %s %s (%.12s)\n", report_str(ruleset, "name"),
            report_str(ruleset, "version"), *sha ? sha : "no hash");
}

int report_render(FILE *out, const json_t *result, const struct report_opts *o)
{
    const char *verdict = json_string_value(json_object_get(result, "verdict"));
    if (!verdict)
        return -1;
    struct report_ctx r = {out, o};

    report_verdict_line(&r, result, verdict);
    report_findings(&r, json_object_get(result, "findings"));
    report_side_effects(&r, json_object_get(result, "side_effects"));
    report_plan(&r, json_object_get(result, "plan"), verdict);
    report_list(&r, "Aftercare", json_object_get(result, "aftercare"), true);
    report_missing(&r, json_object_get(result, "missing"));
    if (o->explain) {
        const json_t *trace = json_object_get(result, "trace");
        if (json_is_array(trace) && json_array_size(trace))
            report_list(&r, "Rules fired, in order", trace, true);
        else {
            report_heading(&r, "Rules fired, in order");
            fprintf(out, "  (the daemon returned no trace)\n");
        }
    }
    fputc('\n', out);
    report_ruleset_line(out, json_object_get(result, "ruleset"));
    const json_t *policy = json_object_get(result, "policy");
    if (json_is_object(policy))
        fprintf(out, "Policy: %s (%.12s)\n", report_str(policy, "name"),
                report_str(policy, "sha256"));
    fprintf(out, "Decision support for a licensed professional; "
                 "the decision stays with the clinician.\n");
    return 0;
}
