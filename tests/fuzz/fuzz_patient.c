/*
 * libFuzzer harness: request validation.  The input is one MessagePack
 * object used as `assess` params; conversion must either succeed with a
 * patient inside the bounds suit_types.h promises, or fail with an
 * invalid-params error carrying a message, never crash.  A successful
 * conversion is packed back as params and converted again: the second
 * patient must equal the first, so validation neither loses nor invents a
 * fact.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static void check_item_list(const struct suit_item_list *l, bool days_allowed)
{
    if (l->len > SUIT_MAX_ITEMS || (l->len && !l->items))
        abort();
    for (size_t i = 0; i < l->len; i++) {
        const struct suit_item *it = &l->items[i];
        if (!it->name || strlen(it->name) > SUIT_MAX_TERM_LEN)
            abort();
        if (it->days < -1 || it->days > SUIT_MAX_DAYS || (!days_allowed && it->days != -1))
            abort();
    }
}

static void check_bounds(const struct suit_patient *p)
{
    if (p->age < -1 || p->age > SUIT_MAX_AGE)
        abort();
    if (p->fitzpatrick < 0 || p->fitzpatrick > 6)
        abort();
    const char *terms[] = {p->area, p->indication, p->setting};
    for (size_t i = 0; i < 3; i++)
        if (terms[i] && strlen(terms[i]) > SUIT_MAX_TERM_LEN)
            abort();
    if (p->needle_depth_mm >= 0 &&
        (!isfinite(p->needle_depth_mm) || p->needle_depth_mm > SUIT_MAX_DEPTH_MM))
        abort();
    check_item_list(&p->conditions, true);
    check_item_list(&p->medications, true);
    check_item_list(&p->procedures, true);
    check_item_list(&p->allergies, false);
}

static void pack_tristate(msgpack_packer *pk, enum suit_tristate t)
{
    if (t == SUIT_YES)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void pack_items(msgpack_packer *pk, const struct suit_item_list *l, const char *days_key)
{
    msgpack_pack_array(pk, (uint32_t)l->len);
    for (size_t i = 0; i < l->len; i++) {
        const struct suit_item *it = &l->items[i];
        if (!days_key) {
            proto_pack_str(pk, it->name);
            continue;
        }
        msgpack_pack_map(pk, it->days >= 0 ? 2 : 1);
        proto_pack_str(pk, "name");
        proto_pack_str(pk, it->name);
        if (it->days >= 0) {
            proto_pack_str(pk, days_key);
            msgpack_pack_int64(pk, it->days);
        }
    }
}

/* Packs p as `assess` params: [patient] or [patient, {explain: true,
 * policy: name}], only the keys that are present. */
static void pack_params(msgpack_packer *pk, const struct suit_patient *p)
{
    uint32_t n = 0;
    n += p->age >= 0;
    n += p->pregnant != SUIT_UNKNOWN;
    n += p->breastfeeding != SUIT_UNKNOWN;
    n += p->fitzpatrick != 0;
    n += p->area != NULL;
    n += p->indication != NULL;
    n += p->setting != NULL;
    n += p->needle_depth_mm >= 0;
    n += 4;   /* the lists, always (an empty list is the same as none) */
    msgpack_pack_array(pk, p->explain || p->policy ? 2 : 1);
    msgpack_pack_map(pk, n);
    if (p->age >= 0) {
        proto_pack_str(pk, "age");
        msgpack_pack_int64(pk, p->age);
    }
    if (p->pregnant != SUIT_UNKNOWN) {
        proto_pack_str(pk, "pregnant");
        pack_tristate(pk, p->pregnant);
    }
    if (p->breastfeeding != SUIT_UNKNOWN) {
        proto_pack_str(pk, "breastfeeding");
        pack_tristate(pk, p->breastfeeding);
    }
    if (p->fitzpatrick) {
        proto_pack_str(pk, "fitzpatrick");
        msgpack_pack_int(pk, p->fitzpatrick);
    }
    if (p->area) {
        proto_pack_str(pk, "area");
        proto_pack_str(pk, p->area);
    }
    if (p->indication) {
        proto_pack_str(pk, "indication");
        proto_pack_str(pk, p->indication);
    }
    if (p->setting) {
        proto_pack_str(pk, "setting");
        proto_pack_str(pk, p->setting);
    }
    if (p->needle_depth_mm >= 0) {
        proto_pack_str(pk, "needle_depth_mm");
        msgpack_pack_double(pk, p->needle_depth_mm);
    }
    proto_pack_str(pk, "conditions");
    pack_items(pk, &p->conditions, "days_ago");
    proto_pack_str(pk, "medications");
    pack_items(pk, &p->medications, "days_since_last_dose");
    proto_pack_str(pk, "procedures");
    pack_items(pk, &p->procedures, "days_ago");
    proto_pack_str(pk, "allergies");
    pack_items(pk, &p->allergies, NULL);
    if (p->explain || p->policy) {
        msgpack_pack_map(pk, (uint32_t)p->explain + (p->policy != NULL));
        if (p->explain) {
            proto_pack_str(pk, "explain");
            msgpack_pack_true(pk);
        }
        if (p->policy) {
            proto_pack_str(pk, "policy");
            proto_pack_str(pk, p->policy);
        }
    }
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool items_eq(const struct suit_item_list *a, const struct suit_item_list *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (!str_eq(a->items[i].name, b->items[i].name) || a->items[i].days != b->items[i].days)
            return false;
    return true;
}

static bool patient_eq(const struct suit_patient *a, const struct suit_patient *b)
{
    return a->age == b->age && a->pregnant == b->pregnant &&
           a->breastfeeding == b->breastfeeding && a->fitzpatrick == b->fitzpatrick &&
           str_eq(a->area, b->area) && str_eq(a->indication, b->indication) &&
           str_eq(a->setting, b->setting) &&
           (a->needle_depth_mm == b->needle_depth_mm ||
            (a->needle_depth_mm < 0 && b->needle_depth_mm < 0)) &&
           a->explain == b->explain && str_eq(a->policy, b->policy) &&
           items_eq(&a->conditions, &b->conditions) &&
           items_eq(&a->medications, &b->medications) &&
           items_eq(&a->procedures, &b->procedures) && items_eq(&a->allergies, &b->allergies);
}

static void round_trip(const struct suit_patient *p)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_params(&pk, p);

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, sb.data, sb.size, NULL) != MSGPACK_UNPACK_SUCCESS)
        abort();
    struct suit_patient q;
    struct proto_error err;
    suit_patient_init(&q);
    proto_error_init(&err);
    if (proto_patient_from_params(&up.data, &q, &err) != 0)
        abort();   /* a valid patient, re-packed, was refused */
    if (!patient_eq(p, &q))
        abort();   /* validation lost or changed a fact */
    suit_patient_close(&q);
    proto_error_close(&err);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

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
        if (rc == 0) {
            check_bounds(&p);
            round_trip(&p);
        }
        suit_patient_close(&p);
        proto_error_close(&err);
    }
    proto_decoder_free(d);
    return 0;
}
