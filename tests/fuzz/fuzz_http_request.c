/*
 * libFuzzer harness: suit-httpd's JSON request path (http/httpd_request.c),
 * the bytes of a POST /v1/assess body up to the MessagePack params suitd
 * receives.  The first input byte picks ?explain= (absent, false, true),
 * the second an offset for the JSON error locator; the rest is the body.
 *
 * Checked: every refusal is one of the codes the gateway answers 400/413
 * for, with a message that starts with its field when it has one; every
 * accepted body packs into a frame suitd's own decoder accepts (so the
 * gateway never sends what suitd would refuse as too deep), and whose
 * params suitd's validation either takes or refuses as invalid params
 * with a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd_request.h"
#include "proto.h"

static void check_params(const msgpack_sbuffer *params)
{
    /* [0, 1, "assess", params] exactly as rpc_client frames it */
    msgpack_sbuffer frame;
    msgpack_packer pk;
    msgpack_sbuffer_init(&frame);
    msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
    proto_pack_request_header(&pk, 1, "assess");
    msgpack_sbuffer_write(&frame, params->data, params->size);

    struct proto_decoder *d = NULL;
    if (proto_decoder_create(NULL, &d) != 0)
        abort();
    msgpack_object obj;
    if (proto_decoder_feed(d, frame.data, frame.size) != 0 || proto_decoder_next(d, &obj) != 1)
        abort();   /* suitd's decoder would refuse what the gateway sends */
    struct proto_message m;
    struct proto_error err;
    proto_error_init(&err);
    if (proto_message_parse(&obj, &m, &err) != 0 || !proto_method_is(&m, "assess"))
        abort();
    struct suit_patient p;
    suit_patient_init(&p);
    int rc = proto_patient_from_params(&m.params, &p, &err);
    if (rc != 0 && (rc != PROTO_E_INVALID_PARAMS || !err.message[0]))
        abort();
    suit_patient_close(&p);
    proto_error_close(&err);
    proto_decoder_free(d);
    msgpack_sbuffer_destroy(&frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int explain = data[0] % 3 - 1;
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    char path[256];
    httpd_json_path_at(body, len, len ? data[1] % (len + 1) : 0, path, sizeof path);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct proto_error e;
    proto_error_init(&e);
    int rc = httpd_assess_params(body, len, explain, &sb, &e);
    if (rc == 0) {
        check_params(&sb);
    } else {
        if (rc != PROTO_E_PARSE && rc != PROTO_E_INVALID_REQUEST &&
            rc != PROTO_E_INVALID_PARAMS && rc != PROTO_E_TOO_LARGE)
            abort();   /* (out of memory would be internal: not with these sizes) */
        if (!e.message[0] || e.code != rc)
            abort();
        if (e.field && strncmp(e.message, e.field, strlen(e.field)))
            abort();   /* the message starts with the field it names */
    }
    proto_error_close(&e);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
