/*
 * engine.h: hosts the CLIPS rule engine.
 *
 * A `struct ruleset` is an immutable, loaded-and-checked ruleset directory:
 * the manifest, the text of its .clp files and of its case files (each read
 * once), their sha256, its named policies (`default`: the ruleset's values
 * or a policy file's; one more per NAME.ini of a policy folder) and the
 * vocabularies.  The policies are part of the ruleset: a request runs on one
 * ruleset and one set of policies from start to end, and a reload replaces
 * both at once.  It is reference-counted and shared
 * read-only between threads.  Whether one may serve is decided in one place,
 * ruleset_check.
 *
 * A `struct engine` answers assessments on a ruleset, under any of its
 * named policies: one CLIPS environment per policy in use, each reset under
 * its own values (built on a policy's first request, at most
 * engine_limits.max_environments of them; BENCHMARKS.md, "Named policies",
 * measures why).  It belongs to one thread at a time (CLIPS environments
 * are not thread-safe); the daemon gives each worker thread its own.
 *
 * Request data never becomes CLIPS source text: facts are asserted through
 * the C API only.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "proto.h"
#include "suit_types.h"

#define ENGINE_DEFAULT_MAX_FIRINGS 10000
#define ENGINE_DEFAULT_DEADLINE_MS 1000
/* CLIPS environments one engine keeps, one per policy in use (about 2 MiB
 * each, measured), `default`'s included.  A request for a policy none of
 * them holds, once there are this many, takes the least recently used one
 * and resets it under its values (about 0.1 ms, counted in
 * engine_counters.policy_resets); with 1, every change of policy does. */
#define ENGINE_DEFAULT_MAX_ENVIRONMENTS 16

struct engine_limits {
    uint64_t max_firings;      /* rule firings per assessment */
    uint32_t deadline_ms;      /* wall clock per assessment */
    unsigned max_environments; /* per engine (0: ENGINE_DEFAULT_MAX_ENVIRONMENTS) */
};
void engine_limits_default(struct engine_limits *l);

struct ruleset;
struct engine;

/* ---- reading and loading a ruleset ------------------------------------ */

/* Where a ruleset comes from.  Every file a load uses (manifest.ini, the
 * .clp files it lists, the policy file, the case files DIR/<tests>/ *.json)
 * is opened once, relative to one descriptor of DIR, with O_NONBLOCK |
 * O_CLOEXEC; anything that is not a regular file (a FIFO, a device) is
 * refused, and each file is read exactly once: the bytes read are the bytes
 * hashed, linted, loaded and served.  A file whose size, mtime or ctime
 * changed while it was read, or that was rewritten, replaced or removed
 * before the whole folder was read, refuses the load (deploy atomically:
 * rules/README.md). */
struct ruleset_source {
    const char *dir;
    const char *policy_file;            /* NULL: none; else the `default` policy's file */
    /* NULL: none.  Else every NAME.ini in it is the named policy NAME over
     * the ruleset's defaults (the policy file format), DIR/default.ini the
     * `default` one (refused together with policy_file).  Files not ending
     * in .ini, and hidden ones, are ignored; a bad name or value refuses
     * the load, with file:line. */
    const char *policy_dir;
    /* Test hook, NULL in production: called after each file's bytes were
     * read and before they are checked against the file's size and times
     * (a test rewrites a file here to prove a torn load is refused). */
    void (*after_read)(void *arg, const char *file);
    void *after_read_arg;
    /* true: keep no binary image, so every engine_create parses the rule
     * text (the behaviour before images; for tests and measurements). */
    bool no_image;
};

/* Loads DIR (manifest.ini + the .clp files it lists, in that order), its
 * case files and the optional policy override file (NULL for none).  Every
 * bad construct is reported as a "file:line: message" detail in err (code
 * PROTO_E_RULESET); a ruleset with any error is refused as a whole.  A
 * policy file is checked against what the ruleset declares: known names,
 * whole numbers where the default is one, and the [min, max] range of each
 * parameter (policy.clp), each refusal with file:line.
 *
 * This is the plain load, for the tools and tests: CLIPS evaluates
 * defglobal and deffacts expressions while loading, so a ruleset that may
 * not be trusted goes through ruleset_check, which refuses forbidden
 * functions before CLIPS sees any text. */
int ruleset_load(const char *dir, const char *policy_file, struct ruleset **out,
                 struct proto_error *err);
/* The same from a source (a policy folder too). */
int ruleset_load_source(const struct ruleset_source *src, struct ruleset **out,
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
/* The named policies, sorted by name ("default" among them): how many, and
 * the i-th one's name and sha256 (borrowed from rs). */
size_t ruleset_policy_count(const struct ruleset *rs);
/* The case files read with the ruleset (DIR/<tests>/ *.json, sorted by
 * name): how many, and the i-th one's text (NUL-terminated, *len bytes)
 * and name, borrowed from rs. */
size_t ruleset_case_file_count(const struct ruleset *rs);
const char *ruleset_case_file(const struct ruleset *rs, size_t i, const char **name,
                              size_t *len);
const char *ruleset_policy_name(const struct ruleset *rs, size_t i);
/* Checks a policy file's text (NUL-terminated; named `file` in messages)
 * against rs as a load would (section [policy], numbers, known names, whole
 * numbers, ranges), changing nothing.  0, or PROTO_E_RULESET with one
 * "file:line: ..." detail per problem, or PROTO_E_INTERNAL. */
int ruleset_policy_text_check(const struct ruleset *rs, const char *file, const char *text,
                              struct proto_error *err);
/* Checks manifest.ini's text (NUL-terminated) as a load parses it, without
 * reading the files it lists: 0, or PROTO_E_RULESET with the problems as
 * details. */
int ruleset_manifest_check(const char *text, struct proto_error *err);
const char *ruleset_policy_sha256(const struct ruleset *rs, size_t i);

/* Whether rs holds a binary image of its constructs (CLIPS bsave, made
 * once by the load): engine_create then builds each CLIPS environment by
 * loading it (BENCHMARKS.md 9.5: 7.6 million instructions against 97.8
 * million for parsing the bundled rules again), with the same results.  false when it could not be made
 * (no memfd_create or /proc) or with ruleset_source.no_image: engines
 * parse the text, as before. */
bool ruleset_has_image(const struct ruleset *rs);

/* An engine ready for the `default` policy (the others are built on first
 * use).  Cheap for a loaded ruleset with an image (ruleset_has_image):
 * no parse; under 1 ms for the bundled rules (BENCHMARKS.md 9.5), half of
 * it CLIPS's CreateEnvironment.  Safe to call for the same ruleset from
 * several threads at once, and from any thread: an engine may be built
 * on one thread and handed to another that uses it from then on (CLIPS
 * keeps no per-thread state), so a serving thread need not build its
 * own. */
int engine_create(struct ruleset *rs, const struct engine_limits *lim,
                  struct engine **out, struct proto_error *err);
void engine_free(struct engine *e);
struct ruleset *engine_ruleset(const struct engine *e);   /* borrowed */

struct engine_counters {
    unsigned environments;      /* CLIPS environments it holds now */
    uint64_t policy_resets;     /* environments reset to another policy (over the cap) */
    unsigned from_image;        /* of the environments, those built from the ruleset's image */
};
void engine_counters(const struct engine *e, struct engine_counters *c);

/* One assessment, under the named policy p->policy (NULL: `default`).
 * On success fills r (caller closes it), r->policy naming the policy that
 * decided.  Errors: PROTO_E_INVALID_PARAMS (area/indication/setting outside
 * the vocabulary: message names the allowed values, details list them; an
 * unknown policy, field options.policy, details the known names),
 * PROTO_E_RULESET ("ruleset did not settle": firing cap or deadline hit),
 * PROTO_E_INTERNAL.  Never returns a partial result. */
int engine_assess(struct engine *e, const struct suit_patient *p,
                  struct suit_result *r, struct proto_error *err);

/* Verdict policy, one definition used everywhere: the heaviest finding
 * decides (contraindicated > refer > defer > incomplete > caution);
 * defer_days is the largest day count among deferrals, nil (-1) if any
 * deferral has no fixed end; `suitable` only with nothing above info and
 * nothing missing. */
void engine_verdict(struct suit_result *r);

/* ---- the request pipeline ------------------------------------------------ */

/* One `assess` request after its frame: what every caller that answers
 * one runs (the daemon's worker, suit-bench --in-process, the fuzz
 * harness, suitd assess, the case runner), so that the in-process figure
 * measures exactly what the daemon does. */
struct engine_request {
    uint32_t msgid;
    const msgpack_object *params;       /* [patient] or [patient, options] */
    /* NULL: the result is freed here.  Else it is left there for the
     * caller (the daemon's decision log), who closes it; untouched unless
     * the call returns 0. */
    struct suit_result *result;
    uint64_t *assess_ns;                /* NULL, or the time engine_assess took */
    const char *decision_id;            /* NULL, or the decision log's id, put in the result */
    /* 0, or the caller's deadline for this request (CLOCK_MONOTONIC ns, the
     * clock of uv_hrtime): when it passes before the assessment is done,
     * the run stops and the answer is PROTO_E_TIMEOUT (an evaluation on
     * the daemon's serving thread cannot be abandoned from outside). */
    uint64_t until_ns;
};

/* params -> patient (proto_patient_from_params) -> engine_assess -> the
 * packed response [1, msgid, nil, result] or [1, msgid, error, nil].
 * Always packs exactly one response into pk.  Returns 0, or the code of
 * the error it packed (err holds it: PROTO_E_INVALID_PARAMS, _RULESET,
 * _INTERNAL).  e may be NULL (no engine available): an internal error. */
int engine_request_assess(struct engine *e, const struct engine_request *q, msgpack_packer *pk,
                          struct proto_error *err);
/* The same pipeline after its first step, for a caller that decoded the
 * params itself (proto_patient_from_params succeeded on q->params, which
 * is not read again): the daemon decodes while the request's frame is
 * there and evaluates later, without packing and unpacking the params
 * again.  Takes p's contents (p is left empty); the same reply bytes as
 * engine_request_assess for the same params. */
int engine_request_assess_patient(struct engine *e, const struct engine_request *q,
                                  struct suit_patient *p, msgpack_packer *pk,
                                  struct proto_error *err);

/* ---- lint ----------------------------------------------------------------- */

/* One problem in a ruleset: the file as the manifest names it ("vocabulary"
 * when no file is known), the 1-based line (0: none), the message. */
struct engine_problem {
    char *file;
    long line;
    char *message;
};

struct engine_lint {
    struct engine_problem *problems;
    size_t n_problems, cap;
    /* Likely mistakes that do not refuse the ruleset (a policy no rule
     * reads, a rule that modifies a fact it matches): `suitd check` prints
     * them, `suitd check --strict` fails on them; the daemon serves. */
    struct engine_problem *warnings;
    size_t n_warnings, wcap;
    char **notes;              /* advice, not problems (e.g. slower requests) */
    size_t n_notes;
};
void engine_lint_init(struct engine_lint *l);
void engine_lint_close(struct engine_lint *l);     /* frees; leaves init'ed */
/* "file:line: message", or "file: message" without a line; returns
 * snprintf's count. */
int engine_problem_format(const struct engine_problem *p, char *buf, size_t n);

/* Lints the loaded ruleset rs (the very bytes it serves, never a second
 * read of its folder): every rule that makes a finding gives an id, a
 * severity, a category, a summary of at most ENGINE_MAX_SUMMARY_CHARS and
 * a source; literal slot values are allowed by their template and, for the
 * slots the contract fixes, by the contract; cited sources exist; the
 * policy names, vocabulary terms and medication classes patterns name are
 * defined (a near miss gets a suggestion); vocabularies are consistent; no
 * construct is defined twice; no CLIPS function outside the allow-list
 * (engine_lint_function); printout only to t.  Adds each problem to out,
 * and each warning (an unread policy, a rule modifying a fact it matches)
 * to out's warnings; returns the number of problems added, or
 * PROTO_E_INTERNAL. */
int engine_lint(const struct ruleset *rs, struct engine_lint *out);
/* The checks on one file's text alone, without CLIPS (an editor's, a fuzz
 * harness's): the nesting pre-check, forbidden functions, literal slot
 * values (against this text's deftemplates, and rs's files' when rs is
 * not NULL), and with rs the rest of the lint against rs's loaded data
 * (findings, sources, names).  text is NUL-terminated, named `name`.
 * Returns the problems added (warnings apart), or PROTO_E_INTERNAL. */
int engine_lint_text(const struct ruleset *rs, const char *name, const char *text,
                     struct engine_lint *out);

/* How the lint treats a call to `name`: a CLIPS 6.30 function the contract
 * allows, one it refuses (before CLIPS sees the text), or no CLIPS function
 * at all (a template, a slot, a deffunction of the ruleset's own). */
enum engine_fn_class { ENGINE_FN_UNKNOWN, ENGINE_FN_ALLOWED, ENGINE_FN_FORBIDDEN };
enum engine_fn_class engine_lint_function(const char *name);
/* The i-th forbidden function (sorted), NULL past the last: for tests. */
const char *engine_lint_forbidden(size_t i);

/* The longest finding summary, in characters: the CDS Hooks card's limit
 * (a card's summary must be under 140 characters), where suit-httpd shows it. */
#define ENGINE_MAX_SUMMARY_CHARS 140

/* ---- cases ---------------------------------------------------------------- */

struct engine_cases_opts {
    /* NULL: the ruleset's own cases, read with it (DIR/<tests>); else a
     * folder of case files read now. */
    const char *dir;
    bool coverage;             /* list rules no case fired; unfired finding rules fail */
    /* with coverage: fail when fewer than this percentage of all rules
     * fired (whole percent, rounded down); -1 or 0: no threshold */
    int threshold;
    /* only the cases whose name matches this POSIX extended regular
     * expression (suitd test --run); NULL: all */
    const char *run;
    /* the report as one JSON object instead of text: {"cases": [{"file",
     * "name", "pass", "diff": [lines]}], "coverage": {...}, "passed",
     * "failed", "skipped"} */
    bool json;
    /* non-NULL: run this one case file's text (NUL-terminated, text_len
     * bytes, named text_name) instead of a folder's */
    const char *text;
    size_t text_len;
    const char *text_name;
    /* Cases run under the ruleset's own policy defaults, never a clinic's
     * file: they are the ruleset's specification.  true runs them under
     * the policy in force instead (suitd test --policy: a preview of what a
     * clinic's file changes).  A case's own "policy" applies on top. */
    bool served_policy;
    const struct engine_limits *limits;   /* NULL: engine_limits_default */
    FILE *out;                 /* per-case PASS/FAIL and diffs; may be NULL */
};

/* Runs the case files against rs.  Writes per-case results (and a readable
 * diff for failures) to o->out, then the line "N passed, N failed".  With
 * coverage, lists rules no case fired.  Returns the number of failed
 * cases, <0 on error (err filled); *passed (if not NULL) gets the number
 * that passed.  Failed case names are added to err->details so a failed
 * reload can report them. */
int engine_run_cases(struct ruleset *rs, const struct engine_cases_opts *o, int *passed,
                     struct proto_error *err);
/* The same on an engine the caller keeps (for many runs: building one costs
 * a CLIPS load); it is left under the ruleset's defaults (or, with
 * served_policy, the policy in force).  o->limits is not used: e's own. */
int engine_run_cases_on(struct engine *e, const struct engine_cases_opts *o, int *passed,
                        struct proto_error *err);

/* ---- may this ruleset serve? ----------------------------------------------- */

/* Start anyway when cases fail: `suitd serve --start-with-failing-cases`.
 * The cases still run; the failures are reported, not refused. */
#define RULESET_CHECK_FAILING_CASES_OK 1u

struct ruleset_check_opts {
    struct ruleset_source src;
    struct engine_limits limits;        /* the cases' and the probe engine's */
    unsigned flags;                     /* RULESET_CHECK_* */
    /* NULL, or a ruleset already loaded (a reload passes the one it
     * serves; the caller keeps its reference): when the rule files read
     * now are byte for byte its rule files (names and bytes, in manifest
     * order), its binary image stands for parsing them, the one step a
     * check cannot otherwise skip (BENCHMARKS.md 9.5: about half of a
     * reload's work).  Everything else runs as without it: the read, the
     * pre-check of the text, the contract, the data, the policies, the
     * lint, the cases, the resets.  A reload that changes only policies
     * or cases, or nothing, then parses nothing. */
    const struct ruleset *previous;
};
void ruleset_check_opts_init(struct ruleset_check_opts *o, const char *dir,
                             const char *policy_file);

struct ruleset_report {
    struct engine_lint lint;            /* the lint's problems and notes */
    int cases_passed, cases_failed;
    char **failed_cases;                /* names of the failed cases */
    size_t n_failed_cases;
    unsigned files_read;                /* files read (each exactly once) */
    unsigned environments;              /* CLIPS environments built */
    unsigned parses;                    /* of them, by parsing the text (the rest: the image) */
};
void ruleset_report_init(struct ruleset_report *r);
void ruleset_report_close(struct ruleset_report *r);

/* The one decision whether a ruleset may serve, used by daemon start-up,
 * reload and `suitd check`:
 *   1. read the folder once (ruleset_source);
 *   2. pre-check the bytes before CLIPS sees them: nesting CLIPS 6.30
 *      cannot load, forbidden functions, printout targets and literal slot
 *      values (CLIPS evaluates defglobal and deffacts expressions while
 *      loading, and hangs on deep nesting);
 *   3. load them into one CLIPS environment (contract, data, policy file),
 *      parsing the text, or from o->previous's image when the rule files
 *      are its own;
 *   4. lint the loaded ruleset (engine_lint);
 *   5. save the ruleset's binary image from that environment
 *      (ruleset_has_image), build the probe engine from the image (as
 *      every serving engine will be built) and run the ruleset's own
 *      cases on it, under the ruleset's policy defaults (and each case's
 *      own "policy"), with o->limits; without an image (it could not be
 *      made or loaded; ruleset_source.no_image) the load's environment
 *      becomes the probe;
 *   6. reset the probe under each named policy (policy_dir), then under
 *      `default`, the one in force.
 * At most one parse in all (rep->parses); two environments with a new
 * image, one without.  Returns 0 with *out set (the caller's reference), or PROTO_E_RULESET / PROTO_E_INTERNAL with err saying why
 * ("file:line: ..." details, or the names of the failed cases).  With
 * RULESET_CHECK_FAILING_CASES_OK, failed cases do not refuse: the call
 * returns 0 and rep says which failed.  rep may be NULL. */
int ruleset_check(const struct ruleset_check_opts *o, struct ruleset **out,
                  struct ruleset_report *rep, struct proto_error *err);

#endif
