/*
 * proto_termmap.h: the ruleset's terminology map (rules/terminology.tsv):
 * FHIR code system + code -> the ruleset's term, per kind of fact.  Here in
 * proto because two products read it: suit-httpd's CDS Hooks service (with
 * an optional site file in the same format) and `suitd check`, which holds
 * every term to the ruleset's vocabularies.  The format is documented at
 * the top of rules/terminology.tsv and in http/CDS-HOOKS.md.  Read once;
 * read-only afterwards, so threads may look up at once without a lock.
 *
 * A few hundred rows at most, so a lookup is a linear scan: no index to
 * keep in step.
 */
#ifndef PROTO_TERMMAP_H
#define PROTO_TERMMAP_H

#include <stddef.h>

enum proto_term_kind {
    PROTO_TERM_KIND_AREA = 0,
    PROTO_TERM_KIND_INDICATION,
    PROTO_TERM_KIND_CONDITION,
    PROTO_TERM_KIND_MEDICATION,
    PROTO_TERM_KIND_PROCEDURE,
    PROTO_TERM_KIND_ALLERGY,
    PROTO_TERM_KIND_FITZPATRICK,   /* term "1".."6" */
    PROTO_TERM_KIND_PREGNANCY,     /* term "true", "false", "unknown" */
    PROTO_TERM_KIND_BREASTFEEDING, /* same */
    PROTO_TERM_KIND_ORDER,         /* term "microneedling" */
    PROTO_TERM_KIND_COUNT
};

/* The kind's name in the file ("area"); -1 from proto_term_kind_parse for none. */
const char *proto_term_kind_name(enum proto_term_kind k);
int proto_term_kind_parse(const char *name);

/* Most rows one map may hold (the shipped file and site files together):
 * a named limit so a runaway generated site file is refused, not read. */
#define PROTO_TERMMAP_MAX_ROWS 20000
/* Longest line, system URI, code and term. */
#define PROTO_TERMMAP_MAX_LINE 1024

struct proto_termmap_row {
    enum proto_term_kind kind;
    char *system, *code, *term, *source;
};

struct proto_termmap {
    struct proto_termmap_row *rows;
    size_t n, cap;
};

void proto_termmap_init(struct proto_termmap *t);
void proto_termmap_close(struct proto_termmap *t);

/* Adds the rows of the file at path.  Returns 0, or -1 with "path:line:
 * why" in err (the map is then as it was before the call, save for rows
 * of this file already added: the caller refuses to start anyway). */
int proto_termmap_load(struct proto_termmap *t, const char *path, char *err, size_t errlen);
/* The same from a string (the unit tests and the fuzz harness); name is
 * what messages call it. */
int proto_termmap_load_text(struct proto_termmap *t, const char *name, const char *text, size_t len,
                        char *err, size_t errlen);

/* The term for (kind, system, code), or NULL. */
const char *proto_termmap_lookup(const struct proto_termmap *t, enum proto_term_kind kind, const char *system,
                             const char *code);

#endif
