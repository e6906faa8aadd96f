/*
 * proto_term.c: normalising terms and telling a slip from a different word.
 * The rule itself is written out once, in proto_term.h.
 */
#include "proto_term.h"

#include <string.h>
#include <strings.h>

/* ---- normalising ------------------------------------------------------ */

/* Length of the white space at s (0 when none): a space or U+00A0, the
 * no-break space that copying from a web page or a word processor leaves. */
static size_t term_space(const unsigned char *s)
{
    if (s[0] == ' ')
        return 1;
    if (s[0] == 0xc2 && s[1] == 0xa0)
        return 2;
    return 0;
}

/* Length of the separator at s: white space, '_' or '-'. */
static size_t term_sep(const unsigned char *s)
{
    if (s[0] == '_' || s[0] == '-')
        return 1;
    return term_space(s);
}

/* One pass: a run of separators becomes one hyphen, except that the white
 * space at either end is trimmed, so a run at the start or the end becomes
 * a hyphen only if it holds an underscore or a hyphen ("_fish" is "-fish").
 * About 15 instructions a byte (callgrind). */
int proto_term_normalise(const char *in, char *out, size_t cap)
{
    if (!cap)
        return -1;
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    bool in_run = false, run_hard = false;
    while (*p) {
        size_t w = term_sep(p);
        if (w) {
            in_run = true;
            run_hard |= *p == '_' || *p == '-';
            p += w;
            continue;
        }
        if (in_run && (o > 0 || run_hard)) {
            if (o + 1 >= cap)
                goto too_long;
            out[o++] = '-';
        }
        in_run = run_hard = false;
        if (o + 1 >= cap)
            goto too_long;
        unsigned char c = *p++;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (in_run && run_hard) {
        if (o + 1 >= cap)
            goto too_long;
        out[o++] = '-';
    }
    out[o] = '\0';
    return o ? (int)o : -1;
too_long:
    out[0] = '\0';
    return -1;
}

bool proto_term_blank(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w;
    while ((w = term_space(p)) > 0)
        p += w;
    return *p == '\0';
}

long proto_term_control(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x20 || u[i] == 0x7f)
            return (long)i;
        /* U+0080..U+009F are 0xc2 0x80..0x9f in UTF-8 */
        if (u[i] == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
            return (long)i;
    }
    return -1;
}

size_t proto_term_utf8_cut(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    /* The last character starts at most 3 bytes before the end. */
    size_t i = len;
    while (i > 0 && len - i < 4 && (u[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0)
        return 0;           /* only continuation bytes: nothing whole to keep */
    unsigned char lead = u[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    /* i - 1 is the lead byte; the character needs `need` bytes from it. */
    return (i - 1) + need > len ? i - 1 : len;
}

/* ---- distance ------------------------------------------------------------ */

static int term_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

/* The distance, or any value above `max` as soon as it is certain to
 * exceed it: once two rows in a row hold nothing within max, no later cell
 * can come back (each step adds 0 or 1 to a cell of one of the two rows
 * before).  An unknown term is compared with every name of its kind of a
 * similar length, and most such names are far: they stop after a few rows
 * (callgrind on the suit-bench mix: the distances fell from about 1,300 to
 * about 600 instructions a request, averaged over all requests). */
static size_t term_distance_within(const char *a, const char *b, size_t max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > PROTO_TERM_MAX_LEN || lb > PROTO_TERM_MAX_LEN)
        return PROTO_TERM_FAR;
    /* Three rows are enough for the transposition step. */
    size_t rows[3][PROTO_TERM_MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    size_t prev_min = 0;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        size_t row_min = i;
        int ca = term_lower(a[i - 1]);
        for (size_t j = 1; j <= lb; j++) {
            int cb = term_lower(b[j - 1]);
            size_t cost = ca != cb;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == term_lower(b[j - 2]) && term_lower(a[i - 2]) == cb &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
            if (best < row_min)
                row_min = best;
        }
        if (row_min > max && prev_min > max)
            return max + 1;
        prev_min = row_min;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

size_t proto_term_distance(const char *a, const char *b)
{
    return term_distance_within(a, b, PROTO_TERM_FAR - 1);
}

size_t proto_term_budget(size_t len)
{
    if (len < 3)
        return 0;
    if (len <= 5)
        return 1;
    if (len <= 11)
        return 2;
    return 3;
}

/* ---- near ---------------------------------------------------------------- */

/* Rule 1: `s` (the shorter) is a run of whole hyphen-separated words of
 * `l`. */
static bool term_whole_words(const char *l, size_t ll, const char *s, size_t ls)
{
    if (ls < 3 || ls >= ll)
        return false;
    for (size_t i = 0; i + ls <= ll; i++) {
        if (i > 0 && l[i - 1] != '-')
            continue;
        if ((l[i + ls] == '\0' || l[i + ls] == '-') && !strncasecmp(l + i, s, ls))
            return true;
    }
    return false;
}

/* Ranks, lower is better: 0 equal; 1 rule 1; 1 + d for distance d (rule
 * 2); 2 + budget for rule 3, after every distance the budget allows. */
size_t proto_term_near(const char *word, const char *name)
{
    size_t lw = strlen(word), ln = strlen(name);
    if (lw == ln && !strcasecmp(word, name))
        return 0;
    if (lw < ln ? term_whole_words(name, ln, word, lw) : term_whole_words(word, lw, name, ln))
        return 1;
    size_t budget = proto_term_budget(lw);
    /* The length difference is a lower bound of the distance: most names
     * are ruled out without computing it (a 128-byte word, none). */
    size_t diff = lw > ln ? lw - ln : ln - lw;
    if (budget && diff <= budget) {
        size_t d = term_distance_within(word, name, budget);
        if (d <= budget)
            return 1 + d;
    }
    if (lw >= 3 && lw < ln && !strncasecmp(name, word, lw))
        return 2 + budget;
    return PROTO_TERM_FAR;
}

const char *proto_term_closest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_rank = PROTO_TERM_FAR;
    for (size_t i = 0; i < n; i++) {
        size_t r = proto_term_near(word, cands[i]);
        if (r < best_rank) {
            best = cands[i];
            best_rank = r;
        }
    }
    return best;
}
