/*
 * cds_card.c: see cds_card.h.
 */
#include "cds_card.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cds_s(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

const char *cds_card_indicator(const char *verdict)
{
    if (!strcmp(verdict, "contraindicated"))
        return "critical";
    if (!strcmp(verdict, "suitable") || !strcmp(verdict, "suitable-with-precautions"))
        return "info";
    return "warning";   /* refer, defer, incomplete, and anything unknown */
}

void cds_card_cut(char *s, size_t max)
{
    static const char ell[] = "\xe2\x80\xa6";   /* U+2026 */
    size_t n = strlen(s);
    if (n <= max)
        return;
    size_t k = max - (sizeof ell - 1);
    while (k && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    while (k && s[k - 1] == ' ')
        k--;
    memcpy(s + k, ell, sizeof ell);
}

/* ---- a growing Markdown text ---------------------------------------- */

struct cds_md {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void cds_md_put(struct cds_md *m, const char *s, size_t n)
{
    if (m->failed)
        return;
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        while (cap < m->len + n + 1)
            cap *= 2;
        char *b = realloc(m->buf, cap);
        if (!b) {
            m->failed = true;
            return;
        }
        m->buf = b;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void cds_md_s(struct cds_md *m, const char *s)
{
    cds_md_put(m, s, strlen(s));
}

static void cds_md_f(struct cds_md *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void cds_md_f(struct cds_md *m, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        cds_md_put(m, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Text as Markdown shows it literally: the characters that start
 * emphasis, code, links, images, HTML, headings, tables and
 * strikethrough are backslash-escaped (CommonMark and GFM), line breaks
 * become spaces, so text from the record cannot add a link or markup. */
static void cds_md_text(struct cds_md *m, const char *t)
{
    for (; t && *t; t++) {
        char c = *t;
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (strchr("\\`*_[]<>#!|~", c) && c) {
            char e[2] = {'\\', c};
            cds_md_put(m, e, 2);
        } else {
            cds_md_put(m, &c, 1);
        }
    }
}

void cds_card_md_escape(const char *text, char **buf, size_t *len, size_t *cap)
{
    struct cds_md m = {*buf, *len, *cap, false};
    cds_md_text(&m, text);
    *buf = m.buf;
    *len = m.len;
    *cap = m.cap;
}

/* ---- the card ------------------------------------------------------- */

static int cds_rank(const char *sev)
{
    static const char *const order[] = {"info", "caution", "incomplete", "defer", "refer",
                                        "contraindicated"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(sev, order[i]))
            return i;
    return -1;
}

/* The finding that decided: the first of the heaviest severity. */
static const json_t *cds_decisive(const json_t *findings, int min_rank)
{
    const json_t *best = NULL;
    int rank = min_rank - 1;
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        int r = cds_rank(cds_s(f, "severity"));
        if (r > rank) {
            rank = r;
            best = f;
        }
    }
    return best;
}

static void cds_join(const json_t *arr, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "");
    }
}

static void cds_summary(const json_t *result, const json_t *notes, char *out, size_t n)
{
    const char *verdict = cds_s(result, "verdict");
    const json_t *findings = json_object_get(result, "findings");
    const json_t *dec = cds_decisive(findings, 1);   /* above info */
    const char *why = dec ? cds_s(dec, "summary") : "";
    /* A heavier verdict with facts missing says so up front, so a deferral
     * is never read as "fine once it lapses". */
    char missing[300], lead[340] = "";
    cds_join(json_object_get(result, "missing"), missing, sizeof missing);
    if (missing[0] && strcmp(verdict, "incomplete"))
        snprintf(lead, sizeof lead, " (and missing %s)", missing);
    if (!strcmp(verdict, "contraindicated")) {
        snprintf(out, n, "Micro-needling contraindicated%s: %s", lead, why);
    } else if (!strcmp(verdict, "refer")) {
        snprintf(out, n, "Micro-needling: refer to a physician first%s: %s", lead, why);
    } else if (!strcmp(verdict, "defer")) {
        json_t *dd = json_object_get(result, "defer_days");
        if (json_is_integer(dd))
            snprintf(out, n, "Micro-needling: defer %lld days%s: %s",
                     (long long)json_integer_value(dd), lead, why);
        else
            snprintf(out, n, "Micro-needling: defer (no fixed end)%s: %s", lead, why);
    } else if (!strcmp(verdict, "incomplete")) {
        if (missing[0])
            snprintf(out, n, "Micro-needling NOT assessed, not a go-ahead: missing %s", missing);
        else
            snprintf(out, n, "Micro-needling NOT assessed, not a go-ahead: %s", why);
    } else if (!strcmp(verdict, "suitable-with-precautions")) {
        snprintf(out, n, "Micro-needling suitable with precautions: %s", why);
    } else if (!strcmp(verdict, "suitable")) {
        snprintf(out, n, "Micro-needling suitable: nothing in the record against it");
    } else {
        snprintf(out, n, "Micro-needling: verdict '%.40s' not understood: check by hand", verdict);
    }
    (void)notes;
    cds_card_cut(out, CDS_CARD_SUMMARY_MAX);
}

static void cds_finding_md(struct cds_md *m, const json_t *f)
{
    cds_md_s(m, "- **");
    cds_md_text(m, cds_s(f, "summary"));
    cds_md_f(m, "** (%s)", cds_s(f, "severity"));
    if (*cds_s(f, "action")) {
        cds_md_s(m, " ");
        cds_md_text(m, cds_s(f, "action"));
    }
    if (*cds_s(f, "source") && strcmp(cds_s(f, "source"), "input")) {
        cds_md_s(m, " Sources: ");
        cds_md_text(m, cds_s(f, "source"));
        cds_md_s(m, ".");
    }
    cds_md_s(m, "\n");
}

/* A titled list of findings, left out when there are none. */
static void cds_findings_md(struct cds_md *m, const char *title, const json_t *list)
{
    if (!json_array_size(list))
        return;
    cds_md_s(m, title);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
        cds_finding_md(m, f);
    cds_md_s(m, "\n");
}

static const char cds_clinician[] =
    "The decision stays with the clinician: this card supports clinical judgement and does not "
    "replace it.\n";

/* source.topic: the verdict as a Coding, so an EHR's analytics (and the
 * differential test) can read it without parsing the summary. */
#define CDS_VERDICT_SYSTEM "urn:suitd:verdict"

static json_t *cds_card_make(const char *summary, const char *indicator, const char *detail,
                             const char *label, const char *verdict, const struct cds_card_opts *o)
{
    json_t *card = json_object();
    if (o->uuid && *o->uuid)
        json_object_set_new(card, "uuid", json_string(o->uuid));
    json_object_set_new(card, "summary", json_string(summary));
    json_object_set_new(card, "indicator", json_string(indicator));
    if (detail && *detail)
        json_object_set_new(card, "detail", json_string(detail));
    json_object_set_new(card, "source",
                        json_pack("{s:s,s:{s:s,s:s,s:s}}", "label", label, "topic", "system",
                                  CDS_VERDICT_SYSTEM, "code", verdict, "display", verdict));
    if (json_array_size(o->override_reasons))
        json_object_set(card, "overrideReasons", (json_t *)o->override_reasons);
    /* json_string refuses invalid UTF-8: a card with a missing member is
     * not sent */
    if (!json_object_get(card, "summary") || !json_object_get(card, "indicator") ||
        !json_object_get(json_object_get(card, "source"), "label") ||
        (detail && *detail && !json_object_get(card, "detail"))) {
        json_decref(card);
        return NULL;
    }
    return card;
}

json_t *cds_card(const json_t *result, const json_t *notes, const struct cds_card_opts *o)
{
    const char *verdict = cds_s(result, "verdict");
    char summary[512];
    cds_summary(result, notes, summary, sizeof summary);
    struct cds_md m = {0};
    cds_md_f(&m, "**Verdict: %s**", verdict);
    json_t *dd = json_object_get(result, "defer_days");
    if (!strcmp(verdict, "defer") && json_is_integer(dd))
        cds_md_f(&m, " for %lld days", (long long)json_integer_value(dd));
    cds_md_f(&m, ", for treatment on %04d-%02d-%02d.\n\n", o->date.y, o->date.m, o->date.d);
    const json_t *missing = json_object_get(result, "missing");
    if (json_array_size(missing)) {
        char list[300];
        cds_join(missing, list, sizeof list);
        cds_md_s(&m, "**Not assessed: missing ");
        cds_md_text(&m, list);
        cds_md_s(&m, ".** Record them in the chart and check again (select or sign the "
                     "order, book the appointment, or open the chart again).\n\n");
    }
    cds_findings_md(&m, "**Findings**\n\n", json_object_get(result, "findings"));
    cds_findings_md(&m, "**How the record was read**\n\n", notes);
    bool any_serious = false;
    size_t i;
    json_t *se;
    json_array_foreach(json_object_get(result, "side_effects"), i, se) {
        if (strcmp(cds_s(se, "kind"), "serious"))
            continue;
        if (!any_serious)
            cds_md_s(&m, "**Serious side effects to discuss**\n\n");
        any_serious = true;
        cds_md_s(&m, "- ");
        cds_md_text(&m, cds_s(se, "effect"));
        cds_md_f(&m, " (%s): ", cds_s(se, "likelihood"));
        cds_md_text(&m, cds_s(se, "note"));
        cds_md_s(&m, "\n");
    }
    if (any_serious)
        cds_md_s(&m, "\n");
    const json_t *plan = json_object_get(result, "plan");
    if (json_is_object(plan)) {
        json_t *cps = json_object_get(plan, "cost_per_session_usd"),
               *cc = json_object_get(plan, "course_cost_usd");
        long long wmin = json_integer_value(json_object_get(plan, "interval_weeks")),
                  wmax = json_integer_value(json_object_get(plan, "interval_weeks_max"));
        char every[64];
        if (wmax > wmin)
            snprintf(every, sizeof every, "%lld to %lld weeks apart", wmin, wmax);
        else
            snprintf(every, sizeof every, "every %lld weeks", wmin);
        cds_md_f(&m,
                 "**Course plan:** %lld to %lld sessions, %s; US$%lld to "
                 "%lld per session (typically %lld), US$%lld to %lld for the course.\n\n",
                 (long long)json_integer_value(json_object_get(plan, "sessions_min")),
                 (long long)json_integer_value(json_object_get(plan, "sessions_max")), every,
                 (long long)json_integer_value(json_object_get(cps, "min")),
                 (long long)json_integer_value(json_object_get(cps, "max")),
                 (long long)json_integer_value(json_object_get(cps, "typical")),
                 (long long)json_integer_value(json_object_get(cc, "min")),
                 (long long)json_integer_value(json_object_get(cc, "max")));
    }
    cds_md_put(&m, cds_clinician, sizeof cds_clinician - 1);
    const json_t *rs = json_object_get(result, "ruleset");
    char label[200];
    snprintf(label, sizeof label, "suitd %s ruleset %s (%.12s)", cds_s(rs, "name"),
             cds_s(rs, "version"), cds_s(rs, "sha256"));
    json_t *card = m.failed ? NULL
                            : cds_card_make(summary, cds_card_indicator(verdict), m.buf, label,
                                            verdict, o);
    free(m.buf);
    return card;
}

json_t *cds_card_not_assessed(const char *why, const struct cds_card_opts *o)
{
    char summary[512];
    snprintf(summary, sizeof summary, "Micro-needling NOT assessed, not a go-ahead: %s", why);
    cds_card_cut(summary, CDS_CARD_SUMMARY_MAX);
    struct cds_md m = {0};
    cds_md_s(&m, "**Not assessed.** ");
    cds_md_text(&m, why);
    cds_md_s(&m, ". Check the patient's suitability by hand.\n\n");
    cds_md_put(&m, cds_clinician, sizeof cds_clinician - 1);
    json_t *card = m.failed ? NULL : cds_card_make(summary, "warning", m.buf, "suitd", "not-assessed", o);
    free(m.buf);
    return card;
}
