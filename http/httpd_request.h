/*
 * httpd_request.h: the JSON request path of POST /v1/assess, from the body
 * bytes to the MessagePack params suitd receives.  Pure functions (no I/O,
 * no globals), so the libFuzzer harness tests/fuzz/fuzz_http_request.c
 * drives exactly what the gateway runs.
 *
 * The body is {"patient": {...}, "options": {...}} with "options"
 * optional; the patient's keys and values are checked by suitd itself
 * (proto_patient_from_params), which answers with the field and a
 * message.  What is checked here is what suitd cannot see: that the body
 * is JSON (UTF-8, no key twice), its shape, the nesting suitd accepts, and
 * the ?explain= query.  Field paths follow suitd's convention: a patient
 * key is named alone ("age", "conditions[1].name"), options with their
 * prefix ("options.explain"), the patient map itself "patient".
 */
#ifndef HTTPD_REQUEST_H
#define HTTPD_REQUEST_H

#include <msgpack.h>
#include <stddef.h>

#include "proto.h"

/* suitd's decoder refuses frames nested deeper than this (the frame array
 * is level 1, params level 2, the patient map level 3). */
#define HTTPD_MAX_FRAME_DEPTH PROTO_DEFAULT_MAX_DEPTH

/* explain: -1 when the query has no explain, else 0 or 1.  On success out
 * holds the params array ([patient] or [patient, options]) and 0 is
 * returned; otherwise a PROTO_E_* code with e set (field, message). */
int httpd_assess_params(const char *body, size_t len, int explain, msgpack_sbuffer *out,
                        struct proto_error *e);

/* ?explain=VALUE: 1 for true/1/yes, 0 for false/0/no, -1 for anything
 * else. */
int httpd_parse_explain(const char *value);

/* The path (suitd's convention, see above) of the value being read at byte
 * offset `at` of a JSON text that is valid up to there; "" for the body
 * itself. */
void httpd_json_path_at(const char *text, size_t len, size_t at, char *out, size_t n);

#endif
