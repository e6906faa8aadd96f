/*
 * suggest.c: "did you mean" for the client, on the protocol library's rule
 * (proto_term.h) so that `suit` and the daemon's near-miss findings never
 * disagree about what counts as a slip.
 */
#include "suggest.h"

#include "proto_term.h"

size_t suggest_distance(const char *a, const char *b)
{
    return proto_term_distance(a, b);
}

const char *suggest_closest(const char *word, const char *const *cands, size_t n)
{
    return proto_term_closest(word, cands, n);
}
