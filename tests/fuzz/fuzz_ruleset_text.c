/*
 * libFuzzer harness: one ruleset file's text through the checks suitd runs
 * before CLIPS sees it and the lint (engine_lint_text): the nesting
 * pre-check, the s-expression reader, forbidden functions, slot values
 * against the templates, findings, sources and names against the bundled
 * ruleset's data ($SUITD_RULES, else rules/).  The input is the text of one
 * .clp file (NUL bytes end it, as they end a file's text for CLIPS); an odd
 * first byte lints it with the bundled ruleset, an even one alone.
 *
 * Checks, besides no crash, leak, UB or hang: every problem is about the
 * fuzzed file (or the one it shares deftemplates with), on a line the text
 * has, with a message.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz_bundled.h"

static struct ruleset *fuzz_rs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_rs = fuzz_bundled_ruleset("fuzz_ruleset_text");
    return 0;
}

static void check(const struct engine_problem *v, size_t n, long lines)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i].message || !*v[i].message || !v[i].file)
            abort();
        /* the bundled files' deftemplates are shared, never re-linted */
        if (strcmp(v[i].file, "fuzz.clp") != 0)
            abort();
        if (v[i].line < 1 || v[i].line > lines)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    long lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    /* alone (an even first byte), else against the bundled ruleset's
     * templates and data: one pass per input, half the cost of both */
    bool with = size && (data[0] & 1);
    struct engine_lint lint;
    engine_lint_init(&lint);
    int n = engine_lint_text(with ? fuzz_rs : NULL, "fuzz.clp", text, &lint);
    if (n >= 0 && (size_t)n != lint.n_problems)
        abort();
    check(lint.problems, lint.n_problems, lines);
    check(lint.warnings, lint.n_warnings, lines);
    engine_lint_close(&lint);
    free(text);
    return 0;
}
