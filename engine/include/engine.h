/*
 * engine.h: hosts the CLIPS rule engine.
 *
 * A `struct ruleset` is an immutable, loaded-and-checked ruleset directory:
 * the manifest, the text of its .clp files, their sha256, the policy values
 * in force (defaults overridden by a policy file) and the vocabularies.  It
 * is reference-counted and shared read-only between threads.
 *
 * A `struct engine` is one CLIPS environment built from a ruleset.  It
 * belongs to one thread at a time (CLIPS environments are not thread-safe);
 * the daemon gives each worker thread its own.
 *
 * Request data never becomes CLIPS source text: facts are asserted through
 * the C API only.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "proto.h"
#include "suit_types.h"

#define ENGINE_DEFAULT_MAX_FIRINGS 10000
#define ENGINE_DEFAULT_DEADLINE_MS 1000

struct engine_limits {
    uint64_t max_firings;      /* rule firings per assessment */
    uint32_t deadline_ms;      /* wall clock per assessment */
};
void engine_limits_default(struct engine_limits *l);

struct ruleset;
struct engine;

/* Loads DIR (manifest.ini + the .clp files it lists, in that order) and the
 * optional policy override file (NULL for none).  Every bad construct is
 * reported as a "file:line: message" detail in err (code PROTO_E_RULESET);
 * a ruleset with any error is refused as a whole. */
int ruleset_load(const char *dir, const char *policy_file, struct ruleset **out,
                 struct proto_error *err);
struct ruleset *ruleset_ref(struct ruleset *rs);
void ruleset_unref(struct ruleset *rs);          /* frees at zero */
const struct suit_ruleset_id *ruleset_id(const struct ruleset *rs);
const char *ruleset_dir(const struct ruleset *rs);
/* The `ruleset` method's result in proto's data model (pack it with
 * proto_pack_ruleset_info): identity, policy values with their units and
 * defaults, the vocabularies with labels, classes and synonyms, and the
 * sources.  Its strings are borrowed from rs (valid while rs is held); free
 * its arrays with proto_ruleset_info_close.  0, or PROTO_E_INTERNAL when
 * out of memory (then info holds nothing). */
int ruleset_describe(const struct ruleset *rs, struct proto_ruleset_info *info);

int engine_create(struct ruleset *rs, const struct engine_limits *lim,
                  struct engine **out, struct proto_error *err);
void engine_free(struct engine *e);
struct ruleset *engine_ruleset(const struct engine *e);   /* borrowed */

/* One assessment.  On success fills r (caller closes it).  Errors:
 * PROTO_E_INVALID_PARAMS (area/indication/setting outside the vocabulary:
 * message names the allowed values, details list them), PROTO_E_RULESET
 * ("ruleset did not settle": firing cap or deadline hit), PROTO_E_INTERNAL.
 * Never returns a partial result. */
int engine_assess(struct engine *e, const struct suit_patient *p,
                  struct suit_result *r, struct proto_error *err);

/* Verdict policy, one definition used everywhere: the heaviest finding
 * decides (contraindicated > refer > defer > incomplete > caution);
 * defer_days is the largest day count among deferrals, nil (-1) if any
 * deferral has no fixed end; `suitable` only with nothing above info and
 * nothing missing. */
void engine_verdict(struct suit_result *r);

/* ---- rule-author tools (also used by hot reload) --------------------- */

/* Lints a ruleset directory: loads it, then checks every finding-producing
 * rule has an id and source, severities/categories valid, vocabularies
 * consistent, forbidden functions absent.  Writes "file:line: message"
 * lines to out; returns the number of problems (0 = clean), <0 on error. */
int engine_lint(const char *dir, FILE *out);

/* Runs the case files DIR/tests/ *.json against rs.  Writes per-case results
 * (and a readable diff for failures) to out (may be NULL), then the line
 * "N passed, N failed".  With coverage, lists rules no case fired.  Returns
 * the number of failed cases, <0 on error (err filled); *passed (if not
 * NULL) gets the number that passed.  Failed case names are added to
 * err->details so a failed reload can report them. */
int engine_run_cases(struct ruleset *rs, const char *cases_dir, int coverage,
                     FILE *out, int *passed, struct proto_error *err);

#endif
