/*
 * cds_service.h: the CDS Hooks 2.0 service of suit-httpd
 * (http/CDS-HOOKS.md):
 *
 *   GET  /cds-services                                    discovery
 *   POST /cds-services/microneedling-suitability          order-select, order-sign, and
 *                                                         appointment-book, patient-view
 *                                                         when cds_hooks offers them
 *   POST /cds-services/microneedling-suitability/feedback card outcomes
 *
 * What it holds for the whole run, read once at start and read-only
 * afterwards (the replay cache has its own lock): the terminology map,
 * the issuers' keys, the override reasons.  A call: verify the JWT
 * (cds_jwt.h), pick the orders and map FHIR (cds_fhir.h), ask suitd for
 * the ruleset and the assessment, answer cards (cds_card.h), and log one
 * line per card (uuid, hookInstance, ruleset sha256, verdict, finding
 * ids; never a patient fact).
 */
#ifndef CDS_SERVICE_H
#define CDS_SERVICE_H

#include <jansson.h>
#include <stdbool.h>

#include "cds_jwt.h"
#include "proto_termmap.h"
#include "httpd_config.h"
#include "httpd_log.h"
#include "httpd_reply.h"

#define CDS_SERVICE_ID "microneedling-suitability"

struct httpd_request;

struct cds_service {
    const struct httpd_config *cfg;
    struct proto_termmap terms;
    struct cds_jwt jwt;
    bool jwt_ready;
    json_t *override_reasons;   /* array of Coding */
    unsigned hooks;             /* CDS_HOOK_BIT of each hook offered (cds_hooks) */
};

/* Reads the terminology map(s) and the JWK Sets.  Returns 0, or -1 with a
 * message in err; cds_service_close is safe either way. */
int cds_service_init(struct cds_service *s, const struct httpd_config *cfg, char *err,
                     size_t errlen);
void cds_service_close(struct cds_service *s);

/* The hooks cds_hooks offers, as CDS_HOOK_BITs. */
unsigned cds_service_hooks(const struct httpd_config *cfg);

/* The discovery document (a new reference): one service per hook
 * offered, all with the same id. */
json_t *cds_service_discovery(const struct httpd_config *cfg);

/* The route handlers (httpd_routes.h). */
void cds_discovery_handler(const struct httpd_request *rq, struct httpd_reply *out);
void cds_call_handler(const struct httpd_request *rq, struct httpd_reply *out);

#endif
