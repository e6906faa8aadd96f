/*
 * engine_internal.h: what the engine's own modules (ruleset_read.c,
 * ruleset.c, ruleset_check.c, engine.c, engine_request.c, engine_lint.c,
 * engine_cases.c) share.  Not for the daemon or the tools:
 * they use engine.h only.
 */
#ifndef ENGINE_INTERNAL_H
#define ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "engine.h"

/* A growable byte buffer; output a ruleset prints is capped so a chatty or
 * hostile rule cannot grow it without bound. */
struct eng_buf {
    char *data;
    size_t len, cap, limit;
    bool truncated;
};
void eng_buf_clear(struct eng_buf *b);
void eng_buf_free(struct eng_buf *b);
int eng_buf_append(struct eng_buf *b, const char *s, size_t n);

/* Everything a CLIPS environment prints goes here instead of the process's
 * stdout; the router's exit function neutralises (exit). */
struct eng_capture {
    struct eng_buf err;        /* werror, wwarning */
    struct eng_buf trace;      /* wtrace: "FIRE n rule: ..." lines */
    struct eng_buf out;        /* stdout, wdisplay, wdialog: discarded */
    bool exit_called;
    /* the engine's output sink (engine_output.c), NULL in a load's
     * environment, and the bytes the request's output rows hold (counted
     * against mem_cap with CLIPS's own memory) */
    struct eng_out *output;
    size_t output_bytes;
    /* while running: the wall-clock deadline and memory cap, checked by a
     * periodic function between firings and inside loops */
    bool armed;
    bool deadline_hit, mem_hit;
    struct timespec deadline;
    long mem_cap;
    char culprit[128];         /* the rule executing when the deadline passed, or "" */
    /* while loading: one "file:line: message" per bad construct */
    struct proto_error *load_err;
    const char *load_file;
    int load_problems;
};

struct rs_file {
    char *name;                /* as listed in the manifest; case files: as in the folder */
    char *text;                /* the bytes hashed and loaded (NUL-terminated) */
    size_t len;
};

/* A number as CLIPS holds it: an INTEGER or a FLOAT. */
struct rs_number {
    double value;
    bool is_int;
    long long ivalue;
};

struct rs_policy {
    char *name;
    char *description;
    char *unit;                /* "" when the ruleset gives none */
    /* the value in force: the default, or the policy file's */
    double value;
    bool is_int;
    long long ivalue;
    bool overridden;
    struct rs_number dflt;     /* the ruleset's default (policy.clp) */
    bool has_min, has_max;     /* the range policy.clp declares, if any */
    struct rs_number min, max;
};

/* A named policy: a value for every parameter (rs->policy order), the
 * ruleset's default where its file sets none.  "default" is always there:
 * the ruleset's own values, or a --policy file's, or POLICY_DIR/default.ini's. */
struct rs_named {
    char *name;
    char *file;                /* the file it was read from; NULL: none */
    struct rs_number *values;  /* rs->n_policy of them */
    bool *set;                 /* set by its file (not the ruleset's default) */
    size_t n_set;
    char sha256[65];           /* of its values (eng_policy_hash) */
};

/* The most policies a policy folder may hold. */
#define ENG_MAX_POLICIES 256

struct rs_source {
    char *key, *citation;
    bool weak;
};

struct rs_term {
    char *kind, *name, *canonical, *cls, *label;
    bool takes_days;
};

struct ruleset {
    atomic_int refs;
    char *dir;
    char *manifest;            /* bytes of manifest.ini */
    size_t manifest_len;
    char *tests;               /* tests directory, relative to dir */
    struct suit_ruleset_id id;
    struct rs_file *files;
    size_t n_files;
    /* the case files (DIR/<tests>/ *.json), read with the rules */
    struct rs_file *cases;
    size_t n_cases;
    bool has_tests;            /* the tests folder exists */
    struct rs_policy *policy;  /* values in force, sorted by name */
    size_t n_policy;
    /* the named policies, sorted by name; `dflt` is "default", whose
     * values are also the rs_policy values above (the ones in force) */
    struct rs_named *named;
    size_t n_named;
    const struct rs_named *dflt;
    char *policy_dir;          /* the policy folder read, or NULL */
    struct rs_term *terms;     /* sorted by kind, then name */
    size_t n_terms;
    struct rs_source *sources; /* sorted by key */
    size_t n_sources;
    /* a rule the data facts alone activate (each request then pays a full
     * reset), or NULL: the lint's note */
    char *data_activated;
    long rule_count;
    time_t loaded_at;
    /* The binary image engines are built from (ruleset_image.c): a sealed
     * memory file, or -1 when there is none (engines parse the text). */
    int image_fd;
    size_t image_len;
};

/* ---- reading (ruleset_read.c) ------------------------------------------ */

struct eng_read_seen {
    int at;                    /* descriptor the name is relative to */
    char *name;
    struct stat st;            /* as it was while read */
};

/* One load's reads: see ruleset_read.c. */
/* A folder the reader lists (the cases', the policies'): its descriptor,
 * and how it was when listed, to see files added or removed meanwhile. */
struct eng_read_folder {
    int fd;                    /* -1: not open */
    bool exists;
    struct stat st;
    const char *shown;         /* how messages name it */
};

struct eng_reader {
    const char *dir;
    int dirfd;
    struct eng_read_folder tests, policies;
    bool has_tests;
    struct eng_read_seen *seen;
    size_t n, cap;
    unsigned files_read;
    void (*after_read)(void *arg, const char *file);
    void *after_read_arg;
};
/* The largest file a ruleset may hold, and how many files it may list. */
#define ENG_MAX_FILE_BYTES (16u * 1024u * 1024u)
#define ENG_MAX_FILES 256
/* What eng_reader_read's `at` may name besides a descriptor. */
#define ENG_AT_DIR (-200)      /* the ruleset folder */
#define ENG_AT_TESTS (-201)    /* its tests folder (after eng_reader_read_cases) */
#define ENG_AT_POLICIES (-202) /* the policy folder (after eng_reader_read_policies) */
int eng_reader_open(struct eng_reader *r, const char *dir, const struct ruleset_source *src,
                    struct proto_error *err);
/* Reads name (relative to at: ENG_AT_DIR, ENG_AT_TESTS or AT_FDCWD) into a
 * NUL-terminated *text of at most max bytes; shown names it in messages. */
int eng_reader_read(struct eng_reader *r, int at, const char *name, const char *shown,
                    size_t max, char **text, size_t *len, struct proto_error *err);
/* Reads every *.json file of the folder `tests` (relative to the ruleset
 * folder; "." for the folder itself), sorted by name; none (and 0) when the
 * folder does not exist (r->has_tests then stays false). */
int eng_reader_read_cases(struct eng_reader *r, const char *tests, size_t max_files,
                          struct rs_file **files, size_t *n, struct proto_error *err);
/* Reads every NAME.ini file of the policy folder `dir` (a path, as given
 * on the command line), sorted by name; a name that is not a valid policy
 * name (suit_policy_name_valid) refuses the load.  Files that do not end
 * in .ini, and hidden ones, are not read (an example, an editor's backup).
 * A missing folder is an error. */
int eng_reader_read_policies(struct eng_reader *r, const char *dir, size_t max_files,
                             struct rs_file **files, size_t *n, struct proto_error *err);
void eng_files_free(struct rs_file *f, size_t n);
/* Looks every file read up again: PROTO_E_RULESET if any changed. */
int eng_reader_verify(struct eng_reader *r, struct proto_error *err);
void eng_reader_close(struct eng_reader *r);

/* ---- loading (ruleset.c) ------------------------------------------------- */

/* A load's CLIPS environment, handed to the caller instead of destroyed
 * (ruleset_check turns it into its probe engine). */
struct eng_env {
    void *env;
    struct eng_capture *cap;
    bool imaged;               /* loaded from a binary image, not parsed */
};

struct eng_load {
    const struct ruleset_source *src;
    /* non-NULL: the pre-check runs on the bytes before CLIPS loads them,
     * its problems go here, and any problem refuses the load */
    struct engine_lint *precheck;
    struct eng_env *keep;      /* non-NULL: keep the environment */
    /* non-NULL: a loaded ruleset whose binary image stands for the parse
     * when its rule files are byte for byte the ones read now */
    const struct ruleset *previous;
    unsigned files_read, environments, parses;     /* counted by the load */
};
int eng_ruleset_load(struct eng_load *l, struct ruleset **out, struct proto_error *err);

/* The pre-parse nesting check of one file (ruleset.c): 1 with the line
 * and the message (without file:line) when CLIPS 6.30 could not load it,
 * else 0.  Linear in the text, whatever it holds. */
int eng_check_nesting(const struct rs_file *f, long *line, char *msg, size_t msglen);

/* fgets-style reader over text for inih, counting lines so handlers know
 * where they are (ruleset.c). */
struct eng_ini_src {
    const char *p;
    int line;
    int too_long;              /* first line longer than inih's buffer, or 0 */
};
char *eng_ini_read(char *str, int num, void *stream);

/* ---- policy (ruleset_policy.c) ------------------------------------------------ */

/* A policy value an engine asserts over the deffacts default after each
 * reset; name borrowed from the ruleset. */
struct eng_pvalue {
    const struct rs_policy *p;
    struct rs_number v;
};

/* "90", "0.25": an integer when the text is one; -1 when not a finite number. */
int eng_number_parse(const char *s, struct rs_number *n);
void eng_policy_sort(struct ruleset *rs);
/* The parameter called name, or NULL. */
const struct rs_policy *eng_policy_find(const struct ruleset *rs, const char *name);
/* Builds rs's named policies from what the load read: the default's file
 * (a --policy file, or default.ini of the policy folder; NULL text: none)
 * and the policy folder's NAME.ini files.  Each refusal is a
 * "file:line: ..." detail; PROTO_E_RULESET if there was any. */
int eng_policies_build(struct ruleset *rs, const char *default_file, const char *default_text,
                       const struct rs_file *dir_files, size_t n_dir_files,
                       struct proto_error *err);
void eng_policies_free(struct ruleset *rs);
/* The named policy called name, or NULL. */
const struct rs_named *eng_named_find(const struct ruleset *rs, const char *name, size_t len);
/* The sha256 (64 hex digits) of one value per parameter, in rs->policy
 * order: see PROTOCOL.md section 4.2 for the text hashed. */
void eng_policy_hash(const struct ruleset *rs, const struct rs_number *values, char out[65]);
/* A named policy's values as overrides to assert (those that differ from
 * the ruleset's defaults); *v to free, NULL when none. */
int eng_named_overrides(const struct ruleset *rs, const struct rs_named *np,
                        struct eng_pvalue **v, size_t *n);
/* Checks one policy value against what the ruleset declares (the name
 * exists; a whole number where the default is one; within [min, max], not
 * negative when no min is declared).  Returns the policy, or NULL with the
 * reason in why.  *v is converted to the default's type. */
const struct rs_policy *eng_policy_check(const struct ruleset *rs, const char *name,
                                         struct rs_number *v, char *why, size_t whylen);

/* ---- lint (engine_lint.c) ------------------------------------------------- */

/* The pre-check: what can be checked on the text alone, before CLIPS
 * evaluates any of it (forbidden functions, printout targets). */
int eng_lint_text(const struct rs_file *files, size_t n, struct engine_lint *out);
/* The rest: findings, sources, duplicates, vocabulary, on the loaded data. */
int eng_lint_loaded(const struct ruleset *rs, struct engine_lint *out);
int eng_lint_add(struct engine_lint *l, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- a run that did not settle (engine_blame.c) ------------------------------ */

struct eng_blame {
    char rule[128];            /* the rule to blame */
    unsigned fired, of;        /* it fired `fired` of the `of` firings counted */
    bool sampled;              /* counted over a sample of the run's firings */
    bool running;              /* it was executing when the deadline passed */
    bool next;                 /* it was the next activation (nothing was running) */
};
/* The deadline check's hook: records the executing rule in cap->culprit. */
void eng_blame_running(void *env, struct eng_capture *cap);
/* After a run stopped by the firing cap (cap_reached: the rules that fired
 * most, counted in cap->trace, or in a sample it runs now) or by the
 * deadline.  0 with *b filled, -1 when no rule can be named. */
int eng_blame(void *env, struct eng_capture *cap, bool cap_reached, struct eng_blame *b);
/* Appends "; rule NAME fired N of the M firings" (or "was running when the
 * deadline passed") to err's message, and the same with the rule's
 * file:line as a detail (the error data). */
void eng_blame_report(const struct ruleset *rs, const struct eng_blame *b,
                      struct proto_error *err);

/* Creates a CLIPS environment holding rs's constructs, with the capture
 * router installed: from rs's binary image when it has one and the bload
 * works (*imaged true), else by parsing rs's text.  Every load problem is
 * added to err as "file:line: message"; returns 0 or PROTO_E_RULESET /
 * PROTO_E_INTERNAL.  On success *env and the capture (caller frees with
 * eng_env_destroy) are ready; nothing is reset. */
int eng_env_build(const struct ruleset *rs, void **env, struct eng_capture **cap, bool *imaged,
                  struct proto_error *err);

/* ---- the binary image (ruleset_image.c) ------------------------------------ */

/* Saves env's constructs into a new sealed memory file: 0 with *fd and
 * *len set, or -1 with *fd = -1 (no image: engines parse). */
int eng_image_save(void *env, int *fd, size_t *len);
/* Loads the image into env (a new, empty environment): 0, or -1. */
int eng_image_load(void *env, int fd);
void eng_image_close(int fd);
/* The same, always parsing the text. */
int eng_env_build_parsed(const struct ruleset *rs, void **env, struct eng_capture **cap,
                         struct proto_error *err);
void eng_env_destroy(void *env, struct eng_capture *cap);

/* ---- output (engine_output.c) ------------------------------------------------ */

/* The output templates, in this order. */
enum { ENG_OUT_FINDING, ENG_OUT_SIDE_EFFECT, ENG_OUT_PLAN, ENG_OUT_AFTERCARE, ENG_OUT_N };
struct eng_out;
struct field;               /* CLIPS's slot value (type, value) */
/* Takes the environment's output: from now on `assert` of an output
 * template (tmpl, deftemplate pointers in the order above) becomes a row
 * here instead of a fact, when the ruleset allows it (see the file). */
int eng_out_create(void *env, struct eng_capture *cap, void *const tmpl[ENG_OUT_N],
                   struct eng_out **out);
void eng_out_free(struct eng_out *o);
bool eng_out_intercepts(const struct eng_out *o);
/* Around EnvReset: the constant rows are dropped, then retaken from the
 * deffacts. */
void eng_out_reset_begin(struct eng_out *o);
void eng_out_reset_end(struct eng_out *o);
/* After the run: rows from the output facts when not intercepting;
 * -1 when a row could not be kept (out of memory). */
int eng_out_collect(struct eng_out *o);
/* Intercepting, an output template that has facts all the same (asserted
 * by some other way than `assert`): its index, else -1. */
int eng_out_stray_facts(const struct eng_out *o);
/* Drops the request's rows. */
void eng_out_request_end(struct eng_out *o);
/* Rows of a kind: constant ones first, then the request's, each in
 * assertion order; a row is the template's slots in order. */
size_t eng_out_count(const struct eng_out *o, int kind);
/* How many of them are constant (taken by the last reset). */
size_t eng_out_const_count(const struct eng_out *o, int kind);
const struct field *eng_out_row(const struct eng_out *o, int kind, size_t i);

/* ---- engines (engine.c) ----------------------------------------------------- */

/* engine_create, optionally from an environment a load kept (from: taken
 * over, also on failure), under the policy in force (served) or the
 * ruleset's defaults. */
int eng_engine_create(struct ruleset *rs, const struct engine_limits *lim, struct eng_env *from,
                      bool served, struct engine **out, struct proto_error *err);
/* The same, parsing the text even when rs has an image: the case
 * runner's coverage reads the rules' pretty-print forms, which an image
 * does not carry. */
int eng_engine_create_parsed(struct ruleset *rs, const struct engine_limits *lim,
                             struct engine **out, struct proto_error *err);
/* Replaces the values the engine asserts over the defaults (n may be 0:
 * the defaults); the next assessment resets first. */
int eng_engine_set_policy(struct engine *e, const struct eng_pvalue *v, size_t n);
/* The policy in force as values to assert: the ruleset's overrides (the
 * policy file's), *n of them in *v (caller frees; may be NULL when none). */
int eng_policy_served(const struct ruleset *rs, struct eng_pvalue **v, size_t *n);
/* Back to the policy in force (the `default` named policy). */
int eng_engine_serve_policy(struct engine *e);
/* Under the ruleset's i-th named policy (applied by the next reset). */
int eng_engine_use_policy(struct engine *e, size_t i);
/* The engine's CLIPS environment (the case runner's coverage reads the
 * rules from it). */
void *eng_engine_env(struct engine *e);
/* Whether e's environment was built from the ruleset's binary image. */
bool eng_engine_from_image(const struct engine *e);
/* A full reset now (0, or -1 when the engine cannot be reset). */
int eng_engine_reset(struct engine *e);

/* The case runner on an existing engine (ruleset_check's probe). */
int eng_run_cases(struct engine *e, const struct engine_cases_opts *o, int *passed,
                  struct proto_error *err);

/* engine_request_assess that also reports the rules fired (coverage). */
struct eng_fired;
int eng_request_assess(struct engine *e, const struct engine_request *q, msgpack_packer *pk,
                       struct eng_fired *fired, struct proto_error *err);

/* Vocabulary lookup (ASCII case-folded); NULL when unknown. */
const struct rs_term *ruleset_find_term(const struct ruleset *rs, const char *kind,
                                        const char *name);

/* A term as sent (engine_match.c), looked up in `kind` as sent and else in
 * its matching form (proto_term_normalise).  Returns the term, or NULL when unrecognised; then
 * *near (when near is not NULL) is the nearest name of that kind by the
 * suggestion rule of proto_term.h, or NULL when nothing is near. */
const struct rs_term *eng_term_match(const struct ruleset *rs, const char *kind,
                                     const char *raw, const struct rs_term **near);

/* One assessment that also reports the names of the rules fired, in order
 * (for the case runner's coverage).  fired may be NULL. */
struct eng_fired {
    char **names;
    size_t len, cap;
};
void eng_fired_free(struct eng_fired *f);
int engine_assess_fired(struct engine *e, const struct suit_patient *p,
                        struct suit_result *r, struct eng_fired *fired,
                        struct proto_error *err);
/* The same for the request pipeline, which packs the result before the
 * engine runs again: constant side effects come pre-packed (their
 * `packed` borrows the engine's bytes; eng_result_unborrow clears it). */
int eng_assess_packing(struct engine *e, const struct suit_patient *p, struct suit_result *r,
                       uint64_t until_ns, struct eng_fired *fired, struct proto_error *err);
void eng_result_unborrow(struct suit_result *r);

/* Duplicates text; NULL on allocation failure. */
char *eng_strdup(const char *s);
char *eng_strndup(const char *s, size_t n);

/* First line in file text whose text matches "(defrule NAME" etc., 1-based;
 * 0 when not found. */
long eng_construct_line(const char *text, const char *kind, const char *name);

/* Does nothing: engine creation calls it so that the linker keeps
 * engine_rand.c, whose rand() replaces libc's lock-taking one for CLIPS. */
void eng_rand_keep(void);

#endif
