/*
 * libFuzzer harness: the streaming decoder fed arbitrary bytes in arbitrary
 * chunks, then every decoded object classified as an RPC frame and, for
 * `assess` requests, converted to a patient.  The first input byte picks the
 * chunking so the fuzzer explores split points as well as contents.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)(data[0] % 17) + 1;   /* 1..17 bytes per feed */
    data++, size--;

    struct proto_limits lim;
    proto_limits_default(&lim);
    lim.max_message = 64 * 1024;   /* small, so size limits are reachable */
    struct proto_decoder *d = NULL;
    if (proto_decoder_create(&lim, &d) != 0)
        return 0;

    int broken = 0;
    for (size_t off = 0; off < size && !broken; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (proto_decoder_feed(d, (const char *)data + off, n) < 0)
            break;
        msgpack_object obj;
        int rc;
        while ((rc = proto_decoder_next(d, &obj)) == 1) {
            struct proto_message m;
            struct proto_error err;
            proto_error_init(&err);
            if (proto_message_parse(&obj, &m, &err) == 0 && m.type == PROTO_REQUEST &&
                proto_method_is(&m, "assess")) {
                struct suit_patient p;
                suit_patient_init(&p);
                proto_error_close(&err);
                (void)proto_patient_from_params(&m.params, &p, &err);
                suit_patient_close(&p);
            }
            proto_error_close(&err);
        }
        if (rc < 0)
            broken = 1;
    }
    proto_decoder_free(d);
    return 0;
}
