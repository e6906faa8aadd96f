/*
 * tools.c: the rule-author subcommands `suitd check`, `suitd test` and
 * `suitd assess`.  They run in-process (no server) on the same engine code
 * the daemon uses, so what passes here behaves the same when served:
 * `check` is the daemon's own decision whether a ruleset may serve
 * (ruleset_check), `assess` its request pipeline (engine_request_assess).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "proto_termmap.h"
#include "tools.h"

struct tool_opts {
    const char *dir;
    const char *policy;
    const char *policy_dir;
    int coverage;
    int explain;
    int strict;                 /* check: warnings fail too */
    const char *run;            /* test: only cases whose name matches */
    const char *format;         /* test: "text" (NULL) or "json" */
    int threshold;              /* test --coverage: the least percentage, -1 none */
};

/* Which options a subcommand takes. */
enum {
    OPT_POLICY = 1,
    OPT_COVERAGE = 2,
    OPT_EXPLAIN = 4,
    OPT_STRICT = 8,
    OPT_RUN = 16,               /* --run, --format, --threshold */
};

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (NULL when a is
 * not that option), or the usage error printed and *bad set. */
static const char *opt_value(const char *cmd, const char *name, int argc, char **argv, int *i,
                             const char *what, bool *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "suitd %s: %s needs %s\n", cmd, name, what);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}

/* Parses the options a subcommand allows (OPT_*); returns 0, 1 for
 * --help, or 2 for a usage error (already reported). */
static int parse_opts(const char *cmd, int argc, char **argv, unsigned allow,
                      struct tool_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threshold = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        bool bad = false;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        if ((allow & OPT_COVERAGE) && !strcmp(a, "--coverage")) {
            o->coverage = 1;
        } else if ((allow & OPT_EXPLAIN) && !strcmp(a, "--explain")) {
            o->explain = 1;
        } else if ((allow & OPT_STRICT) && !strcmp(a, "--strict")) {
            o->strict = 1;
        } else if ((allow & OPT_POLICY) &&
                   ((v = opt_value(cmd, "--policy", argc, argv, &i, "a file", &bad)) || bad)) {
            if (bad)
                return 2;
            o->policy = v;
        } else if ((allow & OPT_POLICY) &&
                   ((v = opt_value(cmd, "--policy-dir", argc, argv, &i, "a folder", &bad)) ||
                    bad)) {
            if (bad)
                return 2;
            o->policy_dir = v;
        } else if ((allow & OPT_RUN) &&
                   ((v = opt_value(cmd, "--run", argc, argv, &i, "a pattern", &bad)) || bad)) {
            if (bad)
                return 2;
            regex_t re;
            if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0) {
                fprintf(stderr, "suitd %s: --run: '%s' is not an extended regular "
                        "expression\n", cmd, v);
                return 2;
            }
            regfree(&re);
            o->run = v;
        } else if ((allow & OPT_RUN) &&
                   ((v = opt_value(cmd, "--format", argc, argv, &i, "text or json", &bad)) ||
                    bad)) {
            if (bad)
                return 2;
            if (strcmp(v, "text") && strcmp(v, "json")) {
                fprintf(stderr, "suitd %s: --format must be text or json, not '%s'\n", cmd, v);
                return 2;
            }
            o->format = v;
        } else if ((allow & OPT_RUN) &&
                   ((v = opt_value(cmd, "--threshold", argc, argv, &i, "a percentage", &bad)) ||
                    bad)) {
            if (bad)
                return 2;
            char *end;
            long t = strtol(v, &end, 10);
            if (!*v || *end || t < 0 || t > 100) {
                fprintf(stderr, "suitd %s: --threshold must be a whole percentage from 0 to "
                        "100, not '%s'\n", cmd, v);
                return 2;
            }
            o->threshold = (int)t;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "suitd %s: unknown option '%s' (see suitd %s --help)\n", cmd, a,
                    cmd);
            return 2;
        } else if (o->dir) {
            fprintf(stderr, "suitd %s: only one ruleset directory, got '%s' and '%s'\n", cmd,
                    o->dir, a);
            return 2;
        } else {
            o->dir = a;
        }
    }
    if (o->threshold >= 0 && !o->coverage) {
        fprintf(stderr, "suitd %s: --threshold needs --coverage\n", cmd);
        return 2;
    }
    if (!o->dir)
        o->dir = proto_default_rules_dir();
    return 0;
}

static void print_error(FILE *f, const struct proto_error *e)
{
    fprintf(f, "%s\n", e->message);
    if (e->field)
        fprintf(f, "  field: %s\n", e->field);
    for (size_t i = 0; i < e->n_details; i++)
        fprintf(f, "  %s\n", e->details[i]);
}

static int load(const char *cmd, const struct tool_opts *o, struct ruleset **rs)
{
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset_source src = {.dir = o->dir, .policy_file = o->policy,
                                 .policy_dir = o->policy_dir};
    int rc = ruleset_load_source(&src, rs, &err);
    if (rc) {
        fprintf(stderr, "suitd %s: ", cmd);
        print_error(stderr, &err);
    }
    proto_error_close(&err);
    return rc;
}

/* The ruleset's terminology map (DIR/terminology.tsv, read by
 * suit-httpd's CDS Hooks service), when it has one: well formed, and every
 * term a canonical term of the vocabulary of its kind, so a code never maps
 * to a word suitd would take as unrecognised.  Prints each problem as
 * "FILE:line"-less "FILE: KIND SYSTEM|CODE: why"; returns their number
 * (silent when there is none or no map). */
static size_t tools_check_termmap(const char *dir, const struct ruleset *rs)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/terminology.tsv", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fclose(f);
    struct proto_termmap map;
    proto_termmap_init(&map);
    char err[600];
    if (proto_termmap_load(&map, path, err, sizeof err)) {
        printf("%s\n", err);
        proto_termmap_close(&map);
        return 1;
    }
    struct proto_ruleset_info info;
    proto_ruleset_info_init(&info);
    size_t problems = 0;
    if (ruleset_describe(rs, &info)) {
        printf("%s: cannot read the ruleset's vocabularies\n", path);
        problems++;
    }
    static const int voc[PROTO_TERM_KIND_COUNT] = {
        [PROTO_TERM_KIND_AREA] = SUIT_VOC_AREAS + 1,
        [PROTO_TERM_KIND_INDICATION] = SUIT_VOC_INDICATIONS + 1,
        [PROTO_TERM_KIND_CONDITION] = SUIT_VOC_CONDITIONS + 1,
        [PROTO_TERM_KIND_MEDICATION] = SUIT_VOC_MEDICATIONS + 1,
        [PROTO_TERM_KIND_PROCEDURE] = SUIT_VOC_PROCEDURES + 1,
        [PROTO_TERM_KIND_ALLERGY] = SUIT_VOC_ALLERGIES + 1,
    };
    for (size_t i = 0; !problems && i < map.n; i++) {
        const struct proto_termmap_row *r = &map.rows[i];
        if (!voc[r->kind])
            continue;   /* values (fitzpatrick, pregnancy, ...) are checked by the loader */
        const struct proto_vocabulary *v = &info.vocabularies[voc[r->kind] - 1];
        bool known = false;
        for (size_t t = 0; t < v->n_terms && !known; t++)
            known = !strcmp(v->terms[t].name, r->term);
        if (!known) {
            printf("%s: %s %s|%s: '%s' is not a canonical term of the %s vocabulary\n", path,
                   proto_term_kind_name(r->kind), r->system, r->code, r->term,
                   suit_vocabulary_name((enum suit_vocabulary)(voc[r->kind] - 1)));
            problems++;
        }
    }
    proto_ruleset_info_close(&info);
    proto_termmap_close(&map);
    return problems;
}

int tools_check_main(int argc, char **argv)
{
    struct tool_opts o;
    int rc = parse_opts("check", argc, argv, OPT_POLICY | OPT_STRICT, &o);
    if (rc == 1) {
        printf("usage: suitd check [--strict] [--policy FILE] [--policy-dir PDIR] [DIR]\n"
               "Decides whether the ruleset in DIR may serve, as suitd serve does at start and\n"
               "on every reload: reads DIR once; before CLIPS sees the text, refuses nesting\n"
               "deeper than it can load, every CLIPS function outside the contract's (system,\n"
               "eval, build, file I/O, save-instances, fetch ...) and literal slot values a\n"
               "template or the contract does not allow; loads it; lints it (every rule that\n"
               "makes a finding gives an id, severity, category, summary of at most 140\n"
               "characters and source; cited sources exist; the policy names, vocabulary\n"
               "terms and medication classes rules match exist; vocabularies are\n"
               "consistent); runs its own test cases (DIR/tests/*.json) under the\n"
               "ruleset's policy defaults; and checks its terminology map\n"
               "(DIR/terminology.tsv, when there is one): well formed, every term one of the\n"
               "vocabulary of its kind.\n"
               "  --strict       also fail on warnings (a policy no rule reads, a rule that\n"
               "                 modifies a fact it matches); they never stop suitd serve\n"
               "  --policy FILE  also check a clinic's policy file: known names, whole numbers\n"
               "                 where the default is one, each value within its range\n"
               "  --policy-dir PDIR  also check every named policy PDIR/NAME.ini (suitd serve\n"
               "                 --policy-dir) the same way, and list them\n"
               "Problems are printed as file:line: message, warnings as file:line: warning:\n"
               "message, failed cases as \"case failed: NAME\" (suitd test shows why).  Exit\n"
               "status 0 when the ruleset may serve (with --strict: and has no warnings), 1\n"
               "otherwise.\n"
               "DIR defaults to %s.\n", proto_default_rules_dir());
        return 0;
    }
    if (rc)
        return 2;
    struct ruleset_check_opts co;
    ruleset_check_opts_init(&co, o.dir, o.policy);
    co.src.policy_dir = o.policy_dir;
    struct ruleset_report rep;
    ruleset_report_init(&rep);
    struct proto_error err;
    proto_error_init(&err);
    struct ruleset *rs = NULL;
    rc = ruleset_check(&co, &rs, &rep, &err);
    for (size_t i = 0; i < rep.lint.n_notes; i++)
        printf("note: %s\n", rep.lint.notes[i]);
    for (size_t i = 0; i < rep.lint.n_warnings; i++) {
        const struct engine_problem *w = &rep.lint.warnings[i];
        if (w->line > 0)
            printf("%s:%ld: warning: %s\n", w->file, w->line, w->message);
        else
            printf("%s: warning: %s\n", w->file, w->message);
    }
    size_t map_problems = rc == 0 ? tools_check_termmap(o.dir, rs) : 0;
    if (map_problems) {
        printf("%s: the terminology map has %zu problem%s\n", o.dir, map_problems,
               map_problems == 1 ? "" : "s");
        ruleset_unref(rs);
        rc = 1;
    } else if (rc == 0 && o.strict && rep.lint.n_warnings) {
        printf("%s: %zu warning%s (--strict)\n", o.dir, rep.lint.n_warnings,
               rep.lint.n_warnings == 1 ? "" : "s");
        ruleset_unref(rs);
        rc = 1;
    } else if (rc == 0) {
        printf("%s: ok (%d case%s passed)\n", o.dir, rep.cases_passed,
               rep.cases_passed == 1 ? "" : "s");
        for (size_t i = 0; o.policy_dir && i < ruleset_policy_count(rs); i++)
            printf("policy %s: ok (%.12s)\n", ruleset_policy_name(rs, i),
                   ruleset_policy_sha256(rs, i));
        ruleset_unref(rs);
    } else if (rep.lint.n_problems) {
        for (size_t i = 0; i < rep.lint.n_problems; i++) {
            char line[1200];
            engine_problem_format(&rep.lint.problems[i], line, sizeof line);
            printf("%s\n", line);
        }
        printf("%s: %zu problem%s\n", o.dir, rep.lint.n_problems,
               rep.lint.n_problems == 1 ? "" : "s");
    } else if (rep.cases_failed) {
        for (size_t i = 0; i < rep.n_failed_cases; i++)
            printf("case failed: %s\n", rep.failed_cases[i]);
        printf("%s: %d test case%s failed (suitd test %s shows why)\n", o.dir, rep.cases_failed,
               rep.cases_failed == 1 ? "" : "s", o.dir);
    } else {
        for (size_t i = 0; i < err.n_details; i++)
            printf("%s\n", err.details[i]);
        printf("%s: %s\n", o.dir, err.message);
    }
    proto_error_close(&err);
    ruleset_report_close(&rep);
    return rc == 0 ? 0 : 1;
}

int tools_test_main(int argc, char **argv)
{
    struct tool_opts o;
    int rc = parse_opts("test", argc, argv, OPT_POLICY | OPT_COVERAGE | OPT_RUN, &o);
    if (rc == 1) {
        printf("usage: suitd test [--run PATTERN] [--format text|json] [--coverage\n"
               "                  [--threshold N]] [--policy FILE] [DIR]\n"
               "Runs the case files DIR/tests/*.json (see rules/README.md) and prints PASS or\n"
               "FAIL per case, with the difference for failures, then \"N passed, N failed\".\n"
               "Cases run under the ruleset's own policy defaults (a case may state the\n"
               "policy it assumes with \"policy\": {...}).  A case that does not settle names\n"
               "the rule that fired most (or was running at the deadline).\n"
               "  --run PATTERN  only the cases whose name matches PATTERN (a POSIX extended\n"
               "                 regular expression, as opa test --run)\n"
               "  --format json  one JSON object: {\"cases\": [{\"file\", \"name\", \"pass\",\n"
               "                 \"diff\": [...]}], \"coverage\": {...}, \"passed\", \"failed\",\n"
               "                 \"skipped\"}\n"
               "  --coverage     also list the rules no case fired; an unfired rule that\n"
               "                 makes findings counts as a failure\n"
               "  --threshold N  with --coverage: also fail when fewer than N%% of the rules\n"
               "                 fired (whole percent, rounded down)\n"
               "  --policy FILE  run the cases under a clinic's policy file instead, to see\n"
               "                 which of them it changes (the daemon never does this: its\n"
               "                 cases always run under the defaults)\n"
               "Exit status 0 when every case passed, 1 otherwise.\n"
               "DIR defaults to %s.\n", proto_default_rules_dir());
        return 0;
    }
    if (rc)
        return 2;
    struct ruleset *rs;
    if (load("test", &o, &rs))
        return 1;
    struct proto_error err;
    proto_error_init(&err);
    fflush(stdout);
    struct engine_cases_opts co = {.coverage = o.coverage, .served_policy = o.policy != NULL,
                                   .out = stdout, .run = o.run, .threshold = o.threshold,
                                   .json = o.format && !strcmp(o.format, "json")};
    rc = engine_run_cases(rs, &co, NULL, &err);
    if (rc < 0) {
        fprintf(stderr, "suitd test: ");
        print_error(stderr, &err);
    }
    proto_error_close(&err);
    ruleset_unref(rs);
    return rc == 0 ? 0 : 1;
}

static void print_json(const msgpack_object *o, FILE *f)
{
    json_t *j = proto_msgpack_to_json(o);
    if (!j) {
        fprintf(f, "null\n");
        return;
    }
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        fprintf(f, "%s\n", s);
        free(s);
    }
    json_decref(j);
}

/* Packs with pack() and prints the MessagePack as pretty JSON. */
static void print_packed(FILE *f, void (*pack)(msgpack_packer *, const void *), const void *arg)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack(&pk, arg);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
        print_json(&up.data, f);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void pack_err(msgpack_packer *pk, const void *e)
{
    proto_pack_error(pk, e);
}

int tools_assess_main(int argc, char **argv)
{
    struct tool_opts o;
    int rc = parse_opts("assess", argc, argv, OPT_POLICY | OPT_EXPLAIN, &o);
    if (rc == 1) {
        printf("usage: suitd assess [--policy FILE] [--policy-dir PDIR] [--explain] [DIR] < "
               "patient.json\n"
               "Reads one patient (the assess request's patient map, as JSON) from standard\n"
               "input, assesses it with the ruleset in DIR and prints the result as JSON;\n"
               "on an error prints the error object and exits 1.\n"
               "  --explain      include the rules fired, in order (trace)\n"
               "  --policy FILE  apply a policy override file first\n"
               "  --policy-dir PDIR  the named policies: give [patient, {\"policy\": NAME}]\n"
               "                 (the assess params; an array is read as them) to use one\n"
               "DIR defaults to %s.\n", proto_default_rules_dir());
        return 0;
    }
    if (rc)
        return 2;
    json_error_t jerr;
    json_t *patient = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
    if (!patient) {
        fprintf(stderr, "suitd assess: standard input line %d: %s\n", jerr.line, jerr.text);
        return 1;
    }
    struct ruleset *rs;
    if (load("assess", &o, &rs)) {
        json_decref(patient);
        return 1;
    }
    struct proto_error err;
    proto_error_init(&err);
    struct engine *e = NULL;

    /* The patient as assess params, through the request pipeline the
     * daemon runs (engine_request_assess), then the reply's result or
     * error printed as JSON. */
    msgpack_sbuffer params, reply;
    msgpack_sbuffer_init(&params);
    msgpack_sbuffer_init(&reply);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
    /* An array is the whole params: [patient, options] */
    bool whole = json_is_array(patient);
    if (!whole)
        msgpack_pack_array(&pk, o.explain ? 2 : 1);
    rc = proto_json_to_msgpack(patient, &pk, &err);
    if (!whole && o.explain) {
        msgpack_pack_map(&pk, 1);
        proto_pack_str(&pk, "explain");
        msgpack_pack_true(&pk);
    }
    json_decref(patient);
    if (!rc)
        rc = engine_create(rs, NULL, &e, &err);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (!rc && msgpack_unpack_next(&up, params.data, params.size, NULL) != MSGPACK_UNPACK_SUCCESS)
        rc = proto_error_set(&err, PROTO_E_INTERNAL, "cannot re-read the packed patient");
    if (!rc) {
        msgpack_packer_init(&pk, &reply, msgpack_sbuffer_write);
        struct engine_request q = {.msgid = 0, .params = &up.data};
        rc = engine_request_assess(e, &q, &pk, &err);
        msgpack_unpacked r;
        msgpack_unpacked_init(&r);
        /* [1, msgid, error, result] */
        if (msgpack_unpack_next(&r, reply.data, reply.size, NULL) == MSGPACK_UNPACK_SUCCESS &&
            r.data.type == MSGPACK_OBJECT_ARRAY && r.data.via.array.size == 4)
            print_json(&r.data.via.array.ptr[rc ? 2 : 3], stdout);
        msgpack_unpacked_destroy(&r);
    } else {
        print_packed(stdout, pack_err, &err);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&params);
    msgpack_sbuffer_destroy(&reply);
    engine_free(e);
    proto_error_close(&err);
    ruleset_unref(rs);
    return rc ? 1 : 0;
}
