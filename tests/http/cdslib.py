"""An EHR simulator for suit-httpd's CDS Hooks service (tests/http/test_cds.py
and the README check): it makes its own keys (ES384 and RS384), serves
them to the gateway as JWK Set files, signs tokens as the CDS Hooks
sandbox does (ES384, kid, jku, typ JWT, iss, aud = the endpoint's URL,
iat, exp = now + 300 s, a fresh jti), builds FHIR R4 requests from
suitd patients, and validates every JSON it sends or gets against our
CDS Hooks 2.0 schema (tests/http/cds/cds-hooks-2.0.schema.json).

Debian packages only: python3-jwt, python3-jwcrypto, python3-jsonschema.
"""
import base64
import datetime
import json
import os
import shutil
import tempfile
import time
import uuid

import jsonschema
import jwt
from jwcrypto import jwk

import httpdlib

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_PATH = os.path.join(HERE, "cds", "cds-hooks-2.0.schema.json")
with open(SCHEMA_PATH) as _f:
    SCHEMA = json.load(_f)
jsonschema.Draft202012Validator.check_schema(SCHEMA)

ISSUER = "https://ehr.test"
PUBLIC_URL = "https://cds.test"
SERVICE = "/cds-services/microneedling-suitability"
FEEDBACK = SERVICE + "/feedback"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
PREFETCH_KEYS = ["patient", "conditions", "medstatements", "medrequests", "procedures",
                 "allergies", "pregnancy", "breastfeeding", "fitzpatrick"]
REQUIRED_KEYS = ["conditions", "medstatements", "medrequests", "procedures", "allergies"]


def validate(kind, doc):
    """Validates doc against $defs/kind of the schema; raises AssertionError."""
    schema = {"$ref": "#/$defs/" + kind, "$defs": SCHEMA["$defs"]}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
    assert not errors, "%s does not validate: %s\n%s" % (
        kind, "; ".join("%s at %s" % (e.message, list(e.absolute_path)) for e in errors[:5]),
        json.dumps(doc)[:1500])


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Keys:
    """The EHR's signing keys and the JWK Set files the gateway reads."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cds-ehr-")
        self.ec = jwk.JWK.generate(kty="EC", crv="P-384", kid="ec-1")
        self.rsa = jwk.JWK.generate(kty="RSA", size=2048, kid="rsa-1")
        self.other = jwk.JWK.generate(kty="EC", crv="P-384", kid="ec-1")  # same kid, not published
        self.jwks = os.path.join(self.dir, "jwks.json")
        with open(self.jwks, "w") as f:
            json.dump({"keys": [json.loads(self.ec.export_public()),
                                json.loads(self.rsa.export_public())]}, f)

    def pem(self, key):
        return key.export_to_pem(private_key=True, password=None)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class EHR:
    """Signs and sends CDS Hooks calls to a gateway."""

    def __init__(self, gateway, keys):
        self.gw = gateway
        self.keys = keys

    def token(self, path=SERVICE, alg="ES384", kid="ec-1", key=None, iss=ISSUER, aud=None,
              exp_in=300, iat_in=0, nbf_in=None, jti=None, claims=None):
        now = int(time.time())
        payload = {"iss": iss, "aud": aud if aud is not None else PUBLIC_URL + path,
                   "iat": now + iat_in, "exp": now + exp_in, "jti": jti or str(uuid.uuid4())}
        if nbf_in is not None:
            payload["nbf"] = now + nbf_in
        payload.update(claims or {})
        headers = {"kid": kid, "typ": "JWT", "jku": ISSUER + "/.well-known/jwks.json"}
        if alg == "none":
            head = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
            return head + "." + b64url(json.dumps(payload).encode()) + "."
        if alg.startswith("HS"):
            return jwt.encode(payload, "a shared secret", algorithm=alg, headers=headers)
        if key is None:
            key = self.keys.rsa if alg.startswith("RS") or alg.startswith("PS") else self.keys.ec
        return jwt.encode(payload, self.keys.pem(key), algorithm=alg, headers=headers)

    def call(self, body, token=None, path=SERVICE, headers=None, validate_request=True):
        if validate_request and path == SERVICE:
            validate("request", body)
        h = {"Authorization": "Bearer " + (token or self.token(path))}
        h.update(headers or {})
        st, hd, js = self.gw.json("POST", path, body, h)
        if st == 200 and path == SERVICE:
            validate("response", js)
        return st, hd, js


# ---- FHIR ----------------------------------------------------------------

def today():
    return datetime.date.today()


def day(days_ago):
    return (today() - datetime.timedelta(days=days_ago)).isoformat()


def bundle(resources):
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": "urn:uuid:" + str(uuid.uuid4()), "resource": r}
                      for r in resources]}


def order(sr_id="mn-1", text="Microneedling (collagen induction therapy)", area=None,
          indication=None):
    sr = {"resourceType": "ServiceRequest", "id": sr_id, "status": "draft", "intent": "order",
          "subject": {"reference": "Patient/p1"}, "code": {"text": text}}
    if area is not None:
        sr["bodySite"] = [{"coding": [{"system": SCT, "code": "73897004", "display": "Skin of face"}]}
                          if area == "face" else {"text": area}]
    if indication is not None:
        sr["reasonCode"] = [{"text": indication}]
    return sr


def from_patient(p):
    """A CDS Hooks order-sign request whose prefetch says what the suitd
    patient p says (rules/tests case format); the order names area and
    indication.  None when p uses something CDS Hooks cannot carry."""
    if p.get("setting", "clinic") != "clinic" or "needle_depth_mm" in p:
        return None
    pf = {}
    pat = {"resourceType": "Patient", "id": "p1"}
    if p.get("age") is not None:
        # born on 1 January: the age is whole on every day of this year
        pat["birthDate"] = "%04d-01-01" % (today().year - p["age"])
    pf["patient"] = pat

    def obs(code, value, **extra):
        o = {"resourceType": "Observation", "status": "final",
             "code": {"coding": [{"system": LOINC, "code": code}]},
             "subject": {"reference": "Patient/p1"}, "effectiveDateTime": day(0)}
        o.update(value)
        o.update(extra)
        return o

    pf["pregnancy"] = None
    if p.get("pregnant") is not None:
        pf["pregnancy"] = bundle([obs("82810-3", {"valueCodeableConcept": {"coding": [
            {"system": LOINC, "code": "LA15173-0" if p["pregnant"] else "LA26683-5"}]}})])
    pf["breastfeeding"] = None
    if p.get("breastfeeding") is not None:
        pf["breastfeeding"] = bundle([obs("63895-7", {"valueBoolean": bool(p["breastfeeding"])})])
    pf["fitzpatrick"] = None
    if p.get("fitzpatrick") is not None:
        pf["fitzpatrick"] = bundle([{
            "resourceType": "Observation", "status": "final",
            "code": {"text": "Fitzpatrick skin type"}, "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": day(400),
            "valueCodeableConcept": {"coding": [
                {"system": NCIT, "code": "C%d" % (74568 + p["fitzpatrick"])}]}}])
    conds = []
    for c in p.get("conditions", []):
        c = {"name": c} if isinstance(c, str) else c
        r = {"resourceType": "Condition", "code": {"text": c["name"]},
             "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                            "code": "active"}]},
             "subject": {"reference": "Patient/p1"}}
        if c.get("days_ago") is not None:
            r["onsetDateTime"] = day(c["days_ago"])
        conds.append(r)
    pf["conditions"] = bundle(conds)
    meds = []
    for m in p.get("medications", []):
        r = {"resourceType": "MedicationStatement", "medicationCodeableConcept": {"text": m["name"]},
             "subject": {"reference": "Patient/p1"}}
        if m["days_since_last_dose"] == 0:
            r["status"] = "active"
            r["effectivePeriod"] = {"start": day(30)}
        else:
            r["status"] = "completed"
            r["effectivePeriod"] = {"start": day(m["days_since_last_dose"] + 30),
                                    "end": day(m["days_since_last_dose"])}
        meds.append(r)
    pf["medstatements"] = bundle(meds)
    pf["medrequests"] = None
    procs = []
    for pr in p.get("procedures", []):
        procs.append({"resourceType": "Procedure", "status": "completed", "code": {"text": pr["name"]},
                      "subject": {"reference": "Patient/p1"}, "performedDateTime": day(pr["days_ago"])})
    pf["procedures"] = bundle(procs)
    pf["allergies"] = bundle([{"resourceType": "AllergyIntolerance", "code": {"text": a},
                               "patient": {"reference": "Patient/p1"}} for a in p.get("allergies", [])])
    sr = order(area=p.get("area"), indication=p.get("indication"))
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": "https://ehr.test/fhir",
        "context": {"userId": "Practitioner/1", "patientId": "p1",
                    "draftOrders": bundle([sr])},
        "prefetch": pf,
    }


def as_patient_view(body, orders):
    """The order-sign request body as a patient-view call: no draft orders
    in the context; the chart's pending orders in the prefetch "orders"
    (a list of ServiceRequests, None for the client's null, or the string
    "absent" to leave the key out)."""
    b = json.loads(json.dumps(body))
    b["hook"] = "patient-view"
    b["context"] = {"userId": "Practitioner/1", "patientId": "p1"}
    if orders != "absent":
        b["prefetch"]["orders"] = None if orders is None else bundle(orders)
    return b


def appointment(appt_id="ap-1", service="Microneedling session", start_in=10, based_on="mn-1",
                status="proposed", patient="p1", reason=None):
    """A proposed R4 Appointment for patient, start_in days from today."""
    a = {"resourceType": "Appointment", "id": appt_id, "status": status,
         "serviceType": [{"text": service}],
         "start": (today() + datetime.timedelta(days=start_in)).isoformat() + "T09:00:00Z",
         "participant": [{"actor": {"reference": "Patient/" + patient}, "status": "accepted"},
                         {"actor": {"reference": "Practitioner/1"}, "status": "accepted"}]}
    if based_on:
        a["basedOn"] = [{"reference": "ServiceRequest/" + based_on}]
    if reason:
        a["reasonCode"] = [{"text": reason}]
    return a


def as_appointment_book(body, appointments, orders="draft"):
    """The order-sign request body as an appointment-book call for
    appointments; the prefetch "orders" holds the body's draft order
    (orders "draft"), the given list, or is left out ("absent")."""
    b = json.loads(json.dumps(body))
    drafts = [e["resource"] for e in b["context"]["draftOrders"]["entry"]]
    b["hook"] = "appointment-book"
    b["context"] = {"userId": "PractitionerRole/1", "patientId": "p1",
                    "appointments": bundle(appointments)}
    if orders == "draft":
        b["prefetch"]["orders"] = bundle(drafts)
    elif orders != "absent":
        b["prefetch"]["orders"] = bundle(orders)
    return b


def gateway_args(keys, extra=()):
    return ["--public-url", PUBLIC_URL, "--cds-jwks", ISSUER + "=" + keys.jwks] + list(extra)
