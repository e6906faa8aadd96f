/*
 * libFuzzer harness: the case-file reader and runner (rules/CONTRACT.md,
 * "Case files") on one fuzzed case file, through engine_run_cases_on with
 * the bundled ruleset ($SUITD_RULES, else rules/) on one kept engine: the
 * JSON reader, the case shape checks, each case's "policy", the patient
 * through the request pipeline, the comparison and the diff.  The input is
 * the file's bytes.
 *
 * Checks, besides no crash, leak or UB: a run answers a count of failed
 * cases (never an internal error), and the engine still answers the
 * bundled ruleset's first case the same way afterwards (a case's policy
 * never sticks).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz_bundled.h"

static struct ruleset *fuzz_rs;
static struct engine *fuzz_engine;
static const char *probe_text;
static size_t probe_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_rs = fuzz_bundled_ruleset("fuzz_cases");
    fuzz_engine = fuzz_bundled_engine(fuzz_rs, "fuzz_cases");
    const char *name;
    if (ruleset_case_file_count(fuzz_rs) == 0)
        abort();
    probe_text = ruleset_case_file(fuzz_rs, 0, &name, &probe_len);
    return 0;
}

static int run(const char *text, size_t len)
{
    struct engine_cases_opts o = {.text = text, .text_len = len, .text_name = "fuzz.json"};
    struct proto_error err;
    proto_error_init(&err);
    int passed = 0;
    int failed = engine_run_cases_on(fuzz_engine, &o, &passed, &err);
    proto_error_close(&err);
    if (failed < 0)
        abort();
    return failed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    run(text, size);
    free(text);
    /* every 64th input: the bundled ruleset's own first case file still passes */
    static unsigned n;
    if (++n % 64 == 0 && run(probe_text, probe_len) != 0)
        abort();
    return 0;
}
