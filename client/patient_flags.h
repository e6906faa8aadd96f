/*
 * patient_flags.h: `suit check` flags turned into the protocol's patient map
 * (proto/PROTOCOL.md), and the merge of flags over a JSON patient file.
 *
 * Only the syntax of each flag is checked here (a number where a number
 * belongs, NAME:DAYS for --med); vocabulary and ranges are the daemon's
 * business, so the client never disagrees with the ruleset in force.
 */
#ifndef PATIENT_FLAGS_H
#define PATIENT_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;

/* True when `name` (without the leading "--") is a patient flag.  All of
 * them take a value. */
bool pflags_is_flag(const char *name);
/* The i-th patient flag's name (without "--"), NULL past the last: the
 * candidates of "did you mean". */
const char *pflags_flag_name(size_t i);

/* Applies one flag to `patient` (a JSON object): scalars are set (the last
 * one wins), list flags append.  Returns 0, or -1 with a usage message in
 * `err` such as "--med expects NAME:DAYS, e.g. --med isotretinoin:120". */
int pflags_apply(struct json_t *patient, const char *name, const char *value,
                 char *err, size_t errlen);

/* Merges flags over a patient read from a file: scalars in `flags` replace
 * the file's, lists are appended to the file's.  Returns 0, or -1 with
 * `err` set when a key holds a list in one and not in the other. */
int pflags_merge(struct json_t *base, const struct json_t *flags, char *err, size_t errlen);

/* The flag that supplies a required fact named in a result's `missing`
 * list ("age" -> "--age"), or NULL. */
const char *pflags_flag_for_fact(const char *fact);

#endif
