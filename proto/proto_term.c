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

int proto_term_normalise(const char *in, char *out, size_t cap)
{
    if (!cap)
        return -1;
    out[0] = '\0';
    const unsigned char *p = (const unsigned char *)in;
    size_t w;
    while ((w = term_space(p)) > 0)
        p += w;
    /* The end without trailing white space: the last byte after which
     * only white space follows. */
    const unsigned char *end = p;
    for (const unsigned char *q = p; *q;) {
        w = term_space(q);
        if (w) {
            q += w;
            continue;
        }
        q++;
        end = q;
    }
    size_t o = 0;
    while (p < end) {
        w = term_sep(p);
        if (w) {
            while (p < end && (w = term_sep(p)) > 0)
                p += w;
            if (o + 1 >= cap)
                goto too_long;
            out[o++] = '-';
            continue;
        }
        if (o + 1 >= cap)
            goto too_long;
        unsigned char c = *p++;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[o] = '\0';
    return o ? (int)o : -1;
too_long:
    out[0] = '\0';
    return -1;
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

/* ---- distance ------------------------------------------------------------ */

static int term_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : (unsigned char)c;
}

size_t proto_term_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > PROTO_TERM_MAX_LEN || lb > PROTO_TERM_MAX_LEN)
        return PROTO_TERM_FAR;
    /* Three rows are enough for the transposition step. */
    size_t rows[3][PROTO_TERM_MAX_LEN + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
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
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
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
        size_t d = proto_term_distance(word, name);
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
