/*
 * libFuzzer harness: a full assessment of a fuzzed patient through the
 * engine's request pipeline (engine_request_assess, what the daemon's
 * workers run) with the bundled v1 ruleset.  The input is `assess` params
 * as MessagePack.  Checks the verdict policy's promise: whatever comes back is
 * either an error or a complete result, and never `suitable` while facts are
 * missing or any finding is above info.
 *
 * The ruleset directory comes from $SUITD_RULES, else the source tree's
 * rules/ (compiled in as SUITD_FUZZ_RULES).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "fuzz_bundled.h"
#include "proto.h"

static struct ruleset *fuzz_rs;
static struct engine *fuzz_engine;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_rs = fuzz_bundled_ruleset("fuzz_assess");
    fuzz_engine = fuzz_bundled_engine(fuzz_rs, "fuzz_assess");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_limits lim;
    proto_limits_default(&lim);
    struct proto_decoder *d = NULL;
    if (proto_decoder_create(&lim, &d) != 0)
        return 0;
    msgpack_object obj;
    if (proto_decoder_feed(d, (const char *)data, size) == 0 &&
        proto_decoder_next(d, &obj) == 1) {
        /* The daemon's own request pipeline, reply packing included. */
        struct suit_result r;
        struct proto_error err;
        proto_error_init(&err);
        msgpack_sbuffer reply;
        msgpack_sbuffer_init(&reply);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &reply, msgpack_sbuffer_write);
        struct engine_request q = {.msgid = 1, .params = &obj, .result = &r};
        int rc = engine_request_assess(fuzz_engine, &q, &pk, &err);
        if (reply.size == 0)
            abort();   /* every request gets exactly one reply */
        if (rc == 0) {
            int above_info = 0;
            for (size_t i = 0; i < r.n_findings; i++)
                if (r.findings[i].severity > SUIT_SEV_INFO)
                    above_info = 1;
            if (r.verdict == SUIT_VERDICT_SUITABLE && (above_info || r.n_missing))
                abort();   /* "suitable" without having checked everything */
            suit_result_close(&r);
        }
        msgpack_sbuffer_destroy(&reply);
        proto_error_close(&err);
    }
    proto_decoder_free(d);
    return 0;
}
