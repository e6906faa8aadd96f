/*
 * suggest.h: "did you mean" for mistyped vocabulary terms, commands and
 * options.  Thin wrappers over proto_term.h, which holds the rule.
 */
#ifndef SUGGEST_H
#define SUGGEST_H

#include <stddef.h>

/* Optimal-string-alignment distance (Levenshtein plus adjacent
 * transpositions, since "fcae" for "face" is one slip, not two), ASCII
 * case folded.  Returns (size_t)-1 when a word is too long to compare. */
size_t suggest_distance(const char *a, const char *b);

/* The candidate closest to `word`, or NULL when none is close enough to be
 * a plausible slip (the rule is in proto_term.h: whole words, a small edit
 * distance for the word's length, or a prefix).  Ties go to the earlier
 * candidate. */
const char *suggest_closest(const char *word, const char *const *cands, size_t n);

#endif
