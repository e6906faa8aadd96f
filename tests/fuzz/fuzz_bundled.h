/*
 * fuzz_bundled.h: what the harnesses that need the bundled ruleset share:
 * loading it once in LLVMFuzzerInitialize ($SUITD_RULES, else the source
 * tree's rules/) and an engine for it.  A harness that cannot load it
 * aborts at once: fuzzing without the ruleset would test nothing.
 */
#ifndef SUITD_FUZZ_BUNDLED_H
#define SUITD_FUZZ_BUNDLED_H

#include <stdio.h>
#include <stdlib.h>

#include "engine.h"

static inline struct ruleset *fuzz_bundled_ruleset(const char *harness)
{
    const char *dir = getenv("SUITD_RULES");
    if (!dir || !*dir)
        dir = SUITD_FUZZ_RULES;
    struct ruleset *rs = NULL;
    struct proto_error err;
    proto_error_init(&err);
    if (ruleset_load(dir, NULL, &rs, &err) != 0) {
        fprintf(stderr, "%s: cannot load %s: %s\n", harness, dir, err.message);
        abort();
    }
    proto_error_close(&err);
    return rs;
}

static inline struct engine *fuzz_bundled_engine(struct ruleset *rs, const char *harness)
{
    struct engine_limits lim;
    engine_limits_default(&lim);
    struct engine *eng = NULL;
    struct proto_error err;
    proto_error_init(&err);
    if (engine_create(rs, &lim, &eng, &err) != 0) {
        fprintf(stderr, "%s: engine: %s\n", harness, err.message);
        abort();
    }
    proto_error_close(&err);
    return eng;
}

#endif
