/*
 * cds_terms.h: the terminology map of the CDS Hooks service: FHIR code
 * system + code -> the ruleset's term, per kind of fact.  Read from the
 * ruleset's rules/terminology.tsv and an optional site file in the same
 * format (the format is documented at the top of rules/terminology.tsv and
 * in http/CDS-HOOKS.md).  Read once at start; read-only afterwards, so
 * every HTTP thread may look up at once without a lock.
 *
 * A few hundred rows at most, so a lookup is a linear scan: no index to
 * keep in step.
 */
#ifndef CDS_TERMS_H
#define CDS_TERMS_H

#include <stddef.h>

enum cds_kind {
    CDS_KIND_AREA = 0,
    CDS_KIND_INDICATION,
    CDS_KIND_CONDITION,
    CDS_KIND_MEDICATION,
    CDS_KIND_PROCEDURE,
    CDS_KIND_ALLERGY,
    CDS_KIND_FITZPATRICK,   /* term "1".."6" */
    CDS_KIND_PREGNANCY,     /* term "true", "false", "unknown" */
    CDS_KIND_BREASTFEEDING, /* same */
    CDS_KIND_ORDER,         /* term "microneedling" */
    CDS_KIND_COUNT
};

/* The kind's name in the file ("area"); -1 from cds_kind_parse for none. */
const char *cds_kind_name(enum cds_kind k);
int cds_kind_parse(const char *name);

/* Most rows one map may hold (the shipped file and site files together):
 * a named limit so a runaway generated site file is refused, not read. */
#define CDS_TERMS_MAX_ROWS 20000
/* Longest line, system URI, code and term. */
#define CDS_TERMS_MAX_LINE 1024

struct cds_term_row {
    enum cds_kind kind;
    char *system, *code, *term, *source;
};

struct cds_terms {
    struct cds_term_row *rows;
    size_t n, cap;
};

void cds_terms_init(struct cds_terms *t);
void cds_terms_close(struct cds_terms *t);

/* Adds the rows of the file at path.  Returns 0, or -1 with "path:line:
 * why" in err (the map is then as it was before the call, save for rows
 * of this file already added: the caller refuses to start anyway). */
int cds_terms_load(struct cds_terms *t, const char *path, char *err, size_t errlen);
/* The same from a string (the unit tests and the fuzz harness); name is
 * what messages call it. */
int cds_terms_load_text(struct cds_terms *t, const char *name, const char *text, size_t len,
                        char *err, size_t errlen);

/* The term for (kind, system, code), or NULL. */
const char *cds_terms_lookup(const struct cds_terms *t, enum cds_kind kind, const char *system,
                             const char *code);

#endif
