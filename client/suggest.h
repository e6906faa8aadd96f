/*
 * suggest.h: "did you mean" for mistyped vocabulary terms.
 */
#ifndef SUGGEST_H
#define SUGGEST_H

#include <stddef.h>

/* Optimal-string-alignment distance (Levenshtein plus adjacent
 * transpositions, since "fcae" for "face" is one slip, not two), ASCII
 * case folded.  Returns (size_t)-1 when a word is too long to compare. */
size_t suggest_distance(const char *a, const char *b);

/* The candidate closest to `word`, or NULL when none is close enough to
 * be a plausible typo (distance at most a third of the word's length,
 * and at least 1 allowed; a candidate that starts with `word` also counts).
 * Ties go to the earlier candidate. */
const char *suggest_closest(const char *word, const char *const *cands, size_t n);

#endif
