/*
 * proto_settings.h: a program's settings read from one table, for suitd
 * and suit-httpd alike: defaults, then an INI file (--config FILE, one
 * section, the flag names without dashes and with underscores), then
 * command-line flags, in that order: flags win.
 *
 * Every setting is one row (Redis's config table): its name, type, range,
 * default and help.  Parsing, the defaults, the check for unknown names
 * (with a "did you mean" for a near miss, proto_term.h's rule) and --help
 * are all derived from the rows, so a setting cannot be parsed but
 * undocumented, or documented with another default than the one it has.
 * A program keeps only its rows, pointing into its own struct, and the
 * checks across settings that are its own.
 *
 * Both sources go through one setter keyed by the INI name, so a flag and
 * its config-file line can never disagree on syntax.  A list given on the
 * command line replaces the file's whole list (and the file's, the
 * default) rather than adding to it.
 */
#ifndef SUITD_PROTO_SETTINGS_H
#define SUITD_PROTO_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The most rows a table may have (the per-row state of a load lives on
 * the stack); proto_settings_load refuses a larger table. */
#define PROTO_SETTINGS_MAX_ROWS 96
/* The longest setting name, in bytes. */
#define PROTO_SETTINGS_MAX_NAME 63
/* --help wraps its texts before this column. */
#define PROTO_SETTINGS_USAGE_WIDTH 79
/* A PROTO_SETTINGS_TRISTATE's third value. */
#define PROTO_SETTINGS_AUTO (-1)

enum proto_settings_type {
    PROTO_SETTINGS_STR,         /* char *: any string, "" included */
    PROTO_SETTINGS_NONEMPTY,    /* char *: a string; "" is refused ("needs a value") */
    PROTO_SETTINGS_OPT_STR,     /* char *: a string; "" clears it (NULL) */
    PROTO_SETTINGS_OPT_NONE,    /* char *: a string; "" or "none" clears it (NULL) */
    PROTO_SETTINGS_LIST,        /* char ** and a size_t count (count_offset): repeatable
                                 * flags or comma-separated; "none" empties it */
    PROTO_SETTINGS_UINT,        /* unsigned, within [min, max] */
    PROTO_SETTINGS_SIZE,        /* size_t, within [min, max]; --help shows MiB */
    PROTO_SETTINGS_U64,         /* uint64_t, within [min, max] */
    PROTO_SETTINGS_U32,         /* uint32_t, within [min, max] */
    PROTO_SETTINGS_BOOL,        /* bool: true/yes/1/on, false/no/0/off, any case; a bare
                                 * flag is true */
    PROTO_SETTINGS_TRISTATE,    /* int: 1, 0 or PROTO_SETTINGS_AUTO ("auto"); a bare
                                 * flag is 1 */
    PROTO_SETTINGS_ENUM,        /* int: what parse() makes of the word */
    PROTO_SETTINGS_CONFIG,      /* char *: --config FILE, read before the other flags;
                                 * never in a file */
    PROTO_SETTINGS_ACTION,      /* --help, --version: no value, no field; never in a file */
};

/* One setting.  The flag is --name with '-' for '_'; the INI key is name.
 * The first members are positional in the tables, the rest designated. */
struct proto_setting {
    const char *name;
    enum proto_settings_type type;
    size_t offset;              /* of its field in the program's struct */
    uint64_t min, max;          /* numbers: the accepted range */
    uint64_t def;               /* numbers and bools: the default */
    const char *arg;            /* --help's name for the value ("N", "PATH") */
    /* A default that is not a constant: filled in after parsing when the
     * setting was not given (0, or -1 when it cannot be worked out). */
    int (*fill_default)(void *conf);
    /* --help's default when it is not the row's own def or def_str (a
     * computed one: "number of cores"); "" shows none (the help text
     * says it itself). */
    const char *default_text;
    const char *help;
    /* Strings, lists, enums and tristates: the default as a file would
     * spell it, applied through the same setter as a file line. */
    const char *def_str;
    /* --help's default worked out when --help is printed (a folder that
     * follows the environment); used when default_text is NULL. */
    const char *(*default_text_fn)(void);
    size_t count_offset;        /* PROTO_SETTINGS_LIST: its size_t count */
    int (*parse)(const char *val);  /* PROTO_SETTINGS_ENUM: >= 0, or -1 */
    const char *expected;       /* PROTO_SETTINGS_ENUM: "debug, info, warn or error" */
};

/* A program's table. */
struct proto_settings {
    const struct proto_setting *rows;   /* in --help order */
    size_t n;
    const char *section;        /* the config file's one section ("suitd") */
    size_t size;                /* of the struct the rows point into */
    int usage_indent;           /* the column --help's texts start at */
};

/* Fills conf (t->size bytes) from the defaults, the config file and argv:
 * every argv[0..argc) is an option, no program name in front.  Returns 0;
 * 1 when argv holds an action (--help, --version: *action is the first
 * one's row, conf is closed, nothing else was read); or -1 with a message
 * in err (conf closed).  The messages: "--flag: ..." for a flag,
 * "FILE:LINE: key: ..." for a file line. */
int proto_settings_load(const struct proto_settings *t, void *conf, int argc, char **argv,
                        const struct proto_setting **action, char *err, size_t errlen);
/* Frees every string and list of conf and zeroes it. */
void proto_settings_close(const struct proto_settings *t, void *conf);

/* The rows of --help: "  --name ARG", the help text and its default,
 * wrapped; the program writes what comes before and after. */
void proto_settings_usage(const struct proto_settings *t, FILE *out);
/* The default as --help shows it ("1024", "8 MiB", "info"); "" for none.
 * Returns what snprintf returns. */
int proto_settings_default_text(const struct proto_setting *s, char *buf, size_t n);

/* The row called name, or NULL. */
const struct proto_setting *proto_settings_find(const struct proto_settings *t,
                                                const char *name);

/* Writes "--flag-name: " and the formatted message to err, for a check
 * across settings made after loading.  Returns -1. */
int proto_settings_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
