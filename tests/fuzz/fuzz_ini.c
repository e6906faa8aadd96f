/*
 * libFuzzer harness: the INI readers of a load.  The first byte chooses
 * (even: manifest.ini through ruleset_manifest_check; odd: a policy file
 * through ruleset_policy_text_check against the bundled ruleset,
 * $SUITD_RULES else rules/); the rest is the file's text (a NUL ends it).
 *
 * Checks, besides no crash, leak or UB: the answer is 0 or a refusal
 * (PROTO_E_RULESET) whose every detail names the file, and a refusal has
 * at least one.
 */
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
    fuzz_rs = fuzz_bundled_ruleset("fuzz_ini");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool policy = data[0] & 1;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    struct proto_error err;
    proto_error_init(&err);
    const char *file = policy ? "clinic.ini" : "manifest.ini";
    int rc = policy ? ruleset_policy_text_check(fuzz_rs, file, text, &err)
                    : ruleset_manifest_check(text, &err);
    if (rc != 0 && rc != PROTO_E_RULESET && rc != PROTO_E_INTERNAL)
        abort();
    if (rc == PROTO_E_RULESET && err.n_details == 0)
        abort();
    for (size_t i = 0; i < err.n_details; i++)
        if (strncmp(err.details[i], file, strlen(file)) != 0)
            abort();
    proto_error_close(&err);
    free(text);
    return 0;
}
