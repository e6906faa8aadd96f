/*
 * proto_term.h: vocabulary terms as clients write them.
 *
 * Two jobs on the text of a term, with no vocabulary of their own (the
 * vocabulary lives in the ruleset; the engine and the client pass it in):
 *
 *   proto_term_normalise  the form a term is matched in: " Fish_Oil " and
 *                         "fish  oil" are both "fish-oil"
 *   proto_term_near       whether a name is a plausible slip for a term
 *   proto_term_closest    the most plausible of several names ("did you
 *                         mean"), used by the engine for near-miss findings
 *                         and by `suit` for its own messages
 *
 * The suggestion rule, in full (rules/README.md repeats it for rule
 * authors).  For a word of n characters (after normalising) a name is near
 * when
 *   1. one is the other written as whole words: the shorter (3 characters
 *      or more) equals a run of the longer's hyphen-separated words
 *      ("isotretinoin-20mg" for isotretinoin, "fish" for fish-oil); or
 *   2. their optimal-string-alignment distance (insertions, deletions,
 *      substitutions and adjacent transpositions, ASCII case folded) is at
 *      most the word's budget: 0 below 3 characters, 1 for 3 to 5, 2 for 6
 *      to 11, 3 from 12 ("isotretinion", "asprin", "ibuprofin"); or
 *   3. the word (3 characters or more) begins the name ("warf" for
 *      warfarin).
 * The best candidate wins: rule 1, then the smallest distance, then rule
 * 3; ties go to the earlier candidate.
 */
#ifndef PROTO_TERM_H
#define PROTO_TERM_H

#include <stdbool.h>
#include <stddef.h>

/* The longest word proto_term_distance compares; longer words are never
 * near anything by distance (terms are at most SUIT_MAX_TERM_LEN bytes). */
#define PROTO_TERM_MAX_LEN 128

/* A rank for a name that is not near (proto_term_near). */
#define PROTO_TERM_FAR ((size_t)-1)

/* Writes `in` in its matching form to `out` (cap bytes): leading and
 * trailing white space (space, U+00A0 no-break space) removed, each inner
 * run of white space, underscores and hyphens made one hyphen, ASCII
 * letters lowercased.  Returns the length written, or -1 when the result
 * is empty or does not fit in cap - 1 bytes (out then holds ""). */
int proto_term_normalise(const char *in, char *out, size_t cap);

/* True when s is empty or holds only white space (space, U+00A0): exactly
 * when proto_term_normalise finds nothing left. */
bool proto_term_blank(const char *s);

/* The byte offset of the first control character in the n bytes at s,
 * or -1 when there is none: C0 (U+0000 to U+001F, tab and newline
 * included), DEL, or C1 (U+0080 to U+009F, as UTF-8).  Terms never
 * contain one; the protocol refuses them. */
long proto_term_control(const char *s, size_t n);

/* How many of the first len bytes at s to keep so that a cut there does
 * not split a UTF-8 character: len, or less when the last character is
 * incomplete (its lead byte announces more bytes than are left).  Every
 * message that quotes a client's term cuts with it, so the daemon never
 * sends a MessagePack str that is not UTF-8. */
size_t proto_term_utf8_cut(const char *s, size_t len);

/* Optimal-string-alignment distance, ASCII case folded ("fcae" is one
 * slip from "face", not two).  PROTO_TERM_FAR when either word is longer
 * than PROTO_TERM_MAX_LEN. */
size_t proto_term_distance(const char *a, const char *b);

/* The edit budget of a word of `len` characters (rule 2 above). */
size_t proto_term_budget(size_t len);

/* How plausible `name` is as what `word` meant: 0 when equal (case
 * folded), then rule 1, then rule 2 by distance, then rule 3; lower is
 * better.  PROTO_TERM_FAR when not near at all. */
size_t proto_term_near(const char *word, const char *name);

/* The candidate nearest to `word`, or NULL when none is near. */
const char *proto_term_closest(const char *word, const char *const *cands, size_t n);

#endif
