/*
 * engine_match.c: a term as a client sent it, matched against one kind of
 * the ruleset's vocabulary.
 *
 * A term is matched in its matching form (proto_term_normalise: white
 * space trimmed, inner runs of white space, underscores and hyphens made
 * one hyphen, ASCII case folded), so " Fish_Oil " is fish-oil; the text as
 * sent is tried first, since most terms arrive in that form already.  A
 * term that is still unknown is compared with every name of its kind, synonyms
 * included, by the protocol library's suggestion rule (proto_term.h); the
 * nearest becomes the `suggestion` of its `unrecognised` fact, and the
 * rules decide what a near miss does to the verdict (rules/verdict.clp).
 *
 * Cost: the lookup is a binary search; the near-miss scan runs only for
 * unrecognised terms and skips every name whose length alone rules it
 * out, so a 128-byte junk term costs a few hundred comparisons of lengths
 * (a 16-character unknown medication, about 18,000 instructions: callgrind).
 */
#include <string.h>

#include "engine_internal.h"
#include "proto_term.h"

const struct rs_term *eng_term_match(const struct ruleset *rs, const char *kind,
                                     const char *raw, const struct rs_term **near)
{
    if (near)
        *near = NULL;
    if (!raw)
        return NULL;
    /* Most terms arrive as the vocabulary writes them: look the text up as
     * sent first, and normalise only when that misses (normalising every
     * term cost about 1,000 instructions a request, callgrind). */
    const struct rs_term *t = ruleset_find_term(rs, kind, raw);
    if (t)
        return t;
    char norm[PROTO_TERM_MAX_LEN + 1];
    if (proto_term_normalise(raw, norm, sizeof norm) < 0)
        return NULL;
    if (strcmp(norm, raw) != 0)
        t = ruleset_find_term(rs, kind, norm);
    if (t || !near)
        return t;
    size_t best = PROTO_TERM_FAR;
    /* Terms are sorted by kind, then name: ties go to the name that sorts
     * first, whatever order the vocabulary was written in. */
    for (size_t i = 0; i < rs->n_terms; i++) {
        const struct rs_term *c = &rs->terms[i];
        if (strcmp(c->kind, kind) != 0)
            continue;
        size_t r = proto_term_near(norm, c->name);
        if (r < best) {
            best = r;
            *near = c;
        }
    }
    return NULL;
}
