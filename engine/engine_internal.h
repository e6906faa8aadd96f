/*
 * engine_internal.h: what the engine's own modules (ruleset.c, engine.c,
 * engine_lint.c, engine_cases.c) share.  Not for the daemon or the tools:
 * they use engine.h only.
 */
#ifndef ENGINE_INTERNAL_H
#define ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
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
    /* while running: the wall-clock deadline and memory cap, checked by a
     * periodic function between firings and inside loops */
    bool armed;
    bool deadline_hit, mem_hit;
    struct timespec deadline;
    long mem_cap;
    /* while loading: one "file:line: message" per bad construct */
    struct proto_error *load_err;
    const char *load_file;
    int load_problems;
};

struct rs_file {
    char *name;                /* as listed in the manifest */
    char *text;                /* the bytes hashed and loaded (NUL-terminated) */
    size_t len;
};

struct rs_policy {
    char *name;
    char *description;
    char *unit;                /* "" when the ruleset gives none */
    double value;
    bool is_int;
    long long ivalue;
    bool overridden;
    /* the ruleset's own value, before a policy file */
    double default_value;
    bool default_is_int;
    long long default_ivalue;
};

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
    struct rs_policy *policy;  /* values in force, sorted by name */
    size_t n_policy;
    struct rs_term *terms;     /* sorted by kind, then name */
    size_t n_terms;
    struct rs_source *sources; /* sorted by key */
    size_t n_sources;
    long rule_count;
    time_t loaded_at;
};

/* Creates a CLIPS environment holding rs's text, with the capture router
 * installed.  Every load problem is added to err as "file:line: message";
 * returns 0 or PROTO_E_RULESET / PROTO_E_INTERNAL.  On success *env and the
 * capture (caller frees with eng_env_destroy) are ready; nothing is reset. */
int eng_env_build(const struct ruleset *rs, void **env, struct eng_capture **cap,
                  struct proto_error *err);
void eng_env_destroy(void *env, struct eng_capture *cap);

/* Same as eng_env_build but from file contents not yet in a ruleset (used
 * by ruleset_load before the ruleset exists). */
int eng_env_build_files(const struct rs_file *files, size_t n, void **env,
                        struct eng_capture **cap, struct proto_error *err);

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

/* Duplicates text; NULL on allocation failure. */
char *eng_strdup(const char *s);
char *eng_strndup(const char *s, size_t n);

/* First line in file text whose text matches "(defrule NAME" etc., 1-based;
 * 0 when not found. */
long eng_construct_line(const char *text, const char *kind, const char *name);

#endif
