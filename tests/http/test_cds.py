#!/usr/bin/env python3
"""suit-httpd's CDS Hooks 2.0 service against an EHR simulator (cdslib.py)
that makes its own keys and signs tokens as the sandbox does; every
response is validated against tests/http/cds/cds-hooks-2.0.schema.json.

Checks: discovery; a card for each verdict class with its indicator and
the differential test (every case of rules/tests turned into FHIR: the
card's verdict equals the verdict suitd gives over MessagePack for the
same facts); 412 for each unsatisfied safety-relevant prefetch; no card
for an unrelated order; order-select's selections; feedback; every JWT
refusal (401 with its reason and its /metrics counter); CORS; no patient
fact in the gateway's log.

usage: test_cds.py [CASE...]     (needs SUITD_BIN and SUIT_HTTPD_BIN)
"""
import copy
import datetime
import glob
import json
import os
import re
import tempfile

import cdslib
import httpdlib
from cdslib import EHR, FEEDBACK, SERVICE, Keys, validate
from httpdlib import Stack, case

INDICATOR = {"contraindicated": "critical", "refer": "warning", "defer": "warning",
             "incomplete": "warning", "suitable-with-precautions": "info", "suitable": "info"}


class Env:
    def __init__(self, extra=(), suitd_args=()):
        self.keys = Keys()
        self.stack = Stack(httpd_args=cdslib.gateway_args(self.keys, extra),
                           suitd_args=suitd_args)
        self.stack.start()
        self.gw = self.stack.httpd
        self.ehr = EHR(self.gw, self.keys)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        try:
            self.stack.__exit__(exc_type, *exc)
        finally:
            self.keys.close()


def cases():
    for path in sorted(glob.glob(os.path.join(httpdlib.RULES, "tests", "*.json"))):
        with open(path) as f:
            for c in json.load(f):
                if "error" in c["expect"]:
                    continue
                yield os.path.basename(path), c


def one_card(st, js, what):
    assert st == 200, "%s: %d %s" % (what, st, js)
    assert len(js["cards"]) == 1, "%s: %s" % (what, js)
    return js["cards"][0]


@case
def discovery():
    with Env() as e:
        st, h, js = e.gw.json("GET", "/cds-services")
        assert st == 200, (st, js)
        validate("discovery", js)
        svcs = js["services"]
        assert sorted(s["hook"] for s in svcs) == ["order-select", "order-sign"], svcs
        assert {s["id"] for s in svcs} == {"microneedling-suitability"}
        for s in svcs:
            assert sorted(s["prefetch"]) == sorted(cdslib.PREFETCH_KEYS), s["prefetch"]
            assert "82810-3" in s["prefetch"]["pregnancy"]
            assert "63895-7" in s["prefetch"]["breastfeeding"]
            assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"


@case
def differential_and_every_verdict():
    """Every JSON case of the ruleset through FHIR: the CDS Hooks verdict is
    the MessagePack verdict for the same facts, each verdict class gets its
    indicator, and every summary fits and names the verdict."""
    seen = {}
    skipped = 0
    with Env() as e, e.stack.suitd.unix() as rpc:
        for fname, c in cases():
            body = cdslib.from_patient(c["patient"])
            if body is None:
                skipped += 1
                continue
            st, h, js = e.ehr.call(body)
            card = one_card(st, js, c["name"])
            want = rpc.call("assess", [c["patient"]])["verdict"]
            got = card["source"]["topic"]["code"]
            assert got == want, "%s / %s: CDS Hooks says %s, MessagePack says %s\n%s" % (
                fname, c["name"], got, want, json.dumps(card)[:2000])
            assert card["indicator"] == INDICATOR[want], (c["name"], card["indicator"])
            s = card["summary"]
            assert len(s.encode()) <= 139, s
            if want == "incomplete":
                assert "NOT assessed" in s and "suitable" not in s.lower(), s
            if want == "contraindicated":
                assert "contraindicated" in s, s
            assert re.match(r"^suitd microneedling ruleset \S+ \([0-9a-f]{12}\)$",
                            card["source"]["label"]), card["source"]
            assert "decision stays with the clinician" in card["detail"]
            assert len(card["overrideReasons"]) == 7
            seen.setdefault(want, 0)
            seen[want] += 1
    assert sorted(seen) == sorted(INDICATOR), "verdicts covered: %s" % seen
    print("  differential: %d cases (%s), %d skipped (home use)" % (
        sum(seen.values()), ", ".join("%s %d" % kv for kv in sorted(seen.items())), skipped))


def base_request():
    p = dict(httpdlib.PATIENT)
    return cdslib.from_patient(p)


@case
def unsatisfied_prefetch_is_412():
    with Env() as e:
        for key in cdslib.REQUIRED_KEYS:
            for how in ("absent", "OperationOutcome", "paged"):
                body = base_request()
                if how == "absent":
                    del body["prefetch"][key]
                elif how == "OperationOutcome":
                    body["prefetch"][key] = {"resourceType": "OperationOutcome", "issue": [
                        {"severity": "error", "code": "timeout"}]}
                else:
                    b = cdslib.bundle([])
                    b["total"] = 2
                    body["prefetch"][key] = b
                st, h, js = e.ehr.call(body)
                assert st == 412, "%s %s: %d %s" % (key, how, st, js)
                assert key in js["error"]["message"], js
        # null: the client has no data -- assessed
        body = base_request()
        body["prefetch"]["medrequests"] = None
        st, h, js = e.ehr.call(body)
        one_card(st, js, "null medrequests")
        m = e.gw.metrics()
        assert "suit_httpd_cds_unsatisfied_prefetch_total 15" in m, m


@case
def unrelated_order_and_selections():
    with Env() as e:
        body = base_request()
        xray = {"resourceType": "ServiceRequest", "id": "x-1", "status": "draft",
                "intent": "order", "code": {"text": "Chest X-ray"}}
        body["context"]["draftOrders"] = cdslib.bundle([xray])
        st, h, js = e.ehr.call(body)
        assert st == 200 and js == {"cards": []}, (st, js)
        # order-select: only the selected orders get a card
        body = base_request()
        mn = body["context"]["draftOrders"]["entry"][0]["resource"]
        body["hook"] = "order-select"
        body["context"]["draftOrders"] = cdslib.bundle([xray, mn])
        body["context"]["selections"] = ["ServiceRequest/x-1"]
        st, h, js = e.ehr.call(body)
        assert st == 200 and js == {"cards": []}, (st, js)
        body["context"]["selections"] = ["ServiceRequest/mn-1"]
        st, h, js = e.ehr.call(body)
        one_card(st, js, "selected")
        # a hook the service is not offered on (not configured), or does
        # not know: 400 naming the hooks it is on
        for hook in ("patient-view", "appointment-book", "encounter-start"):
            body["hook"] = hook
            st, h, js = e.ehr.call(body, validate_request=False)
            assert st == 400, (hook, st, js)
            msg = js["error"]["message"]
            assert ("hook '%s' is not one this service is offered on (order-select, order-sign)"
                    % hook) in msg, msg
            assert ("cds_hooks" in msg) == (hook != "encounter-start"), msg


# ---- appointment-book and patient-view (--cds-hooks) ------------------------

NEW_HOOKS = ["--cds-hooks", "order-sign,appointment-book,patient-view"]


@case
def discovery_lists_the_hooks_offered():
    with Env(NEW_HOOKS) as e:
        st, h, js = e.gw.json("GET", "/cds-services")
        assert st == 200, (st, js)
        validate("discovery", js)
        svcs = {s["hook"]: s for s in js["services"]}
        # in the service's own order, whatever the order of the setting
        assert [s["hook"] for s in js["services"]] == [
            "order-sign", "appointment-book", "patient-view"], js
        assert {s["id"] for s in svcs.values()} == {"microneedling-suitability"}
        assert sorted(svcs["order-sign"]["prefetch"]) == sorted(cdslib.PREFETCH_KEYS)
        for hook in ("appointment-book", "patient-view"):
            pf = svcs[hook]["prefetch"]
            assert sorted(pf) == sorted(cdslib.PREFETCH_KEYS + ["orders"]), pf
            assert pf["orders"] == "ServiceRequest?patient={{context.patientId}}&status=draft,active"
            for k in cdslib.PREFETCH_KEYS:
                assert pf[k] == svcs["order-sign"]["prefetch"][k], (hook, k)
        # order-select is not offered now
        body = base_request()
        mn = body["context"]["draftOrders"]["entry"][0]["resource"]
        body["hook"] = "order-select"
        body["context"]["selections"] = ["ServiceRequest/" + mn["id"]]
        st, h, js = e.ehr.call(body)
        assert st == 400 and "(order-sign, appointment-book, patient-view)" in \
            js["error"]["message"], (st, js)


@case
def cds_hooks_setting_refuses_unknown_names():
    keys = Keys()
    try:
        for value, want in (("order-sign,patient-veiw", "did you mean 'patient-view'?"),
                            ("appointment_book", "did you mean 'appointment-book'?"),
                            ("encounter-start", "(known: order-select, order-sign, "
                                                "appointment-book, patient-view)"),
                            ("none", "needs at least one hook")):
            with Stack(httpd_args=cdslib.gateway_args(keys, ["--cds-hooks", value])) as s:
                try:
                    s.start()
                    raise AssertionError("started with --cds-hooks " + value)
                except httpdlib.GatewayError as err:
                    assert "--cds-hooks: " in str(err) and want in str(err), (value, str(err))
                    if value != "none":
                        assert "'%s' is not a hook this service knows" % value.split(",")[-1] \
                            in str(err), str(err)
    finally:
        keys.close()


def pending_order(status="active", **kw):
    kw.setdefault("area", "cheeks")
    kw.setdefault("indication", "acne-scars")
    o = cdslib.order(**kw)
    o["status"] = status
    return o


@case
def patient_view_cards_only_for_a_pending_order():
    with Env(NEW_HOOKS) as e:
        sign = base_request()
        st, h, js = e.ehr.call(sign)
        want = one_card(st, js, "order-sign")
        # a draft or an active micro-needling order on the chart: the same
        # card as order-sign gives for it
        for status in ("draft", "active"):
            body = cdslib.as_patient_view(sign, [pending_order(status)])
            st, h, js = e.ehr.call(body)
            card = one_card(st, js, "patient-view " + status)
            assert card["summary"] == want["summary"], (card["summary"], want["summary"])
            assert card["indicator"] == want["indicator"] == "warning", card
            assert card["uuid"] != want["uuid"]
        # nothing to assess: no card (a done, revoked or unrelated order;
        # no orders at all; the client has none)
        xray = {"resourceType": "ServiceRequest", "id": "x-1", "status": "active",
                "intent": "order", "subject": {"reference": "Patient/p1"},
                "code": {"text": "Chest X-ray"}}
        for orders in ([pending_order("completed")], [pending_order("revoked")], [xray], [], None):
            st, h, js = e.ehr.call(cdslib.as_patient_view(sign, orders))
            assert st == 200 and js == {"cards": []}, (orders, st, js)
        # without the orders prefetch the service cannot tell: 412
        for orders in ("absent", {"resourceType": "OperationOutcome",
                                  "issue": [{"severity": "error", "code": "timeout"}]}):
            body = cdslib.as_patient_view(sign, [])
            if orders == "absent":
                del body["prefetch"]["orders"]
            else:
                body["prefetch"]["orders"] = orders
            st, h, js = e.ehr.call(body)
            assert st == 412 and "'orders'" in js["error"]["message"], (st, js)
        # a safety-relevant prefetch missing with an order to assess: 412
        for key in cdslib.REQUIRED_KEYS:
            body = cdslib.as_patient_view(sign, [pending_order()])
            del body["prefetch"][key]
            st, h, js = e.ehr.call(body)
            assert st == 412 and key in js["error"]["message"], (key, st, js)
        # another patient's order on the chart is refused, not assessed
        other = pending_order()
        other["subject"] = {"reference": "Patient/p2"}
        st, h, js = e.ehr.call(cdslib.as_patient_view(sign, [other]))
        assert st == 400 and "another patient" in js["error"]["message"], (st, js)
        assert "hook=patient-view" in e.gw.log_text()


@case
def appointment_book_assesses_on_the_booked_date():
    with Env(NEW_HOOKS) as e:
        sign = base_request()
        # isotretinoin stopped 120 days ago, 180-day washout: defer 60 days
        # today, 50 on an appointment in 10 days
        body = cdslib.as_appointment_book(sign, [cdslib.appointment(start_in=10)])
        st, h, js = e.ehr.call(body)
        card = one_card(st, js, "appointment-book")
        assert card["source"]["topic"]["code"] == "defer", card
        assert card["summary"].startswith("Micro-needling: defer 50 days: "), card["summary"]
        booked = (cdslib.today() + datetime.timedelta(days=10)).isoformat()
        assert "for treatment on %s" % booked in card["detail"], card["detail"]
        # the appointment's own reasonCode wins over its order's
        appt = cdslib.appointment(reason="Melasma")
        st, h, js = e.ehr.call(cdslib.as_appointment_book(sign, [appt]))
        other = one_card(st, js, "reason")
        assert "Melasma" in other["detail"] and "Melasma" not in card["detail"], other
        # no order to take the area from: never a go-ahead
        for orders, based_on in (("absent", "mn-1"), ("draft", None), ("draft", "other")):
            body = cdslib.as_appointment_book(
                sign, [cdslib.appointment(based_on=based_on, reason="acne scars")], orders=orders)
            st, h, js = e.ehr.call(body)
            c = one_card(st, js, "no area (%s, %s)" % (orders, based_on))
            assert c["indicator"] == "warning", c
            assert "missing area" in c["summary"] and "suitable" not in c["summary"].lower(), c
        # not micro-needling, or not being booked: no card
        for appt in (cdslib.appointment(service="Dermatology follow-up"),
                     cdslib.appointment(status="cancelled"),
                     cdslib.appointment(status="entered-in-error")):
            st, h, js = e.ehr.call(cdslib.as_appointment_book(sign, [appt]))
            assert st == 200 and js == {"cards": []}, (appt, st, js)
        # two micro-needling appointments: two cards
        st, h, js = e.ehr.call(cdslib.as_appointment_book(
            sign, [cdslib.appointment("ap-1", start_in=10), cdslib.appointment("ap-2", start_in=40)]))
        # (the pregnancy status, taken today, is past cds_status_max_age on
        # the second one's date: missing there)
        assert st == 200 and [c["summary"][:45] for c in js["cards"]] == [
            "Micro-needling: defer 50 days: Stopped isotre",
            "Micro-needling: defer 20 days (and missing pr"], js
        # a safety-relevant prefetch missing: 412
        for key in cdslib.REQUIRED_KEYS:
            body = cdslib.as_appointment_book(sign, [cdslib.appointment()])
            body["prefetch"][key] = {"resourceType": "OperationOutcome",
                                     "issue": [{"severity": "fatal", "code": "exception"}]}
            st, h, js = e.ehr.call(body)
            assert st == 412 and key in js["error"]["message"], (key, st, js)
        # the appointments not a Bundle; an appointment for another patient
        body = cdslib.as_appointment_book(sign, [cdslib.appointment()])
        body["context"]["appointments"] = [cdslib.appointment()]
        st, h, js = e.ehr.call(body, validate_request=False)
        assert st == 400 and "context.appointments" in js["error"]["message"], (st, js)
        body = cdslib.as_appointment_book(sign, [cdslib.appointment(patient="p2")])
        st, h, js = e.ehr.call(body)
        assert st == 400 and "another patient" in js["error"]["message"], (st, js)


@case
def decision_log_names_the_card():
    """suitd's own decision log record of a card's assessment carries the
    card's uuid, the hook and the hook instance (options.request_id), the
    verdict and the ruleset; and no patient fact."""
    marker = "zzcdsmarkerzumab"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "decisions.jsonl")
        with Env(NEW_HOOKS, suitd_args=["--decision-log", path]) as e:
            body = base_request()
            body["prefetch"]["conditions"] = cdslib.bundle([{
                "resourceType": "Condition", "code": {"text": marker},
                "clinicalStatus": {"coding": [{"code": "active"}]}}])
            st, h, js = e.ehr.call(body)
            card = one_card(st, js, "order-sign")
            view = cdslib.as_patient_view(body, [pending_order()])
            st, h, js = e.ehr.call(view)
            vcard = one_card(st, js, "patient-view")
            # a hookInstance that is not an id: the record names the card only
            odd = dict(body, hookInstance="not an id\nforged")
            st, h, js = e.ehr.call(odd, validate_request=False)
            ocard = one_card(st, js, "odd hookInstance")
            assert e.stack.suitd.stop() == 0
        with open(path) as f:
            text = f.read()
    recs = [json.loads(line) for line in text.splitlines()]
    by_id = {r.get("request_id"): r for r in recs}
    for c, hook, inst in ((card, "order-sign", body["hookInstance"]),
                          (vcard, "patient-view", view["hookInstance"])):
        rid = "cds:%s:%s:%s" % (hook, c["uuid"], inst)
        assert rid in by_id, (rid, recs)
        r = by_id[rid]
        assert r["verdict"] == c["source"]["topic"]["code"] == "defer", (r, c)
        assert r["ruleset"][:12] in c["source"]["label"], (r, c["source"])
        assert "unrecognised-condition" in r["findings"] or hook == "patient-view", r
    assert "cds:order-sign:%s" % ocard["uuid"] in by_id, recs
    assert marker not in text and "forged" not in text, "patient data in the decision log:\n" + text
    assert '"isotretinoin"' not in text and '"cheeks"' not in text, text


@case
def feedback_is_recorded_without_patient_data():
    marker = "zzcdsmarkerzumab"
    with Env() as e:
        body = base_request()
        body["prefetch"]["conditions"] = cdslib.bundle([{
            "resourceType": "Condition", "code": {"text": marker},
            "clinicalStatus": {"coding": [{"code": "active"}]}}])
        st, h, js = e.ehr.call(body)
        card = one_card(st, js, "marker")
        fb = {"feedback": [{"card": card["uuid"], "outcome": "overridden",
                            "overrideReason": {"reason": card["overrideReasons"][-1],
                                               "userComment": "patient " + marker},
                            "outcomeTimestamp": "2026-12-01T10:00:00Z"}]}
        validate("feedback", fb)
        st, h, js = e.ehr.call(fb, token=e.ehr.token(FEEDBACK), path=FEEDBACK)
        assert st == 200, (st, js)
        # invalid feedback: 400
        bad = copy.deepcopy(fb)
        bad["feedback"][0]["outcome"] = "ignored"
        st, h, js = e.ehr.call(bad, token=e.ehr.token(FEEDBACK), path=FEEDBACK)
        assert st == 400, (st, js)
        # a token for the service is not one for the feedback endpoint
        st, h, js = e.ehr.call(fb, token=e.ehr.token(SERVICE), path=FEEDBACK)
        assert st == 401, (st, js)
        log = e.gw.log_text()
        assert "cds card: uuid=%s hook=order-sign hookInstance=%s ruleset=" % (
            card["uuid"], body["hookInstance"]) in log, log
        assert re.search(r"cds card: uuid=%s .*verdict=defer findings=\S*"
                         r"unrecognised-condition" % card["uuid"], log), log
        assert ("cds feedback: card=%s outcome=overridden reason=urn:suitd:override-reason|"
                "physician-assessment-done at=2026-12-01T10:00:00Z iss=https://ehr.test"
                % card["uuid"]) in log, log
        assert marker not in log, "patient data in the log:\n" + log


@case
def jwt_refusals():
    with Env() as e:
        good = e.ehr.token()
        head, payload, sig = good.split(".")
        tampered = head + "." + payload + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
        forged = e.ehr.token(key=e.keys.other)    # same kid, another key
        tries = {
            "signature": [tampered, forged],
            "algorithm": [e.ehr.token(alg="none"), e.ehr.token(alg="HS256"),
                          e.ehr.token(alg="ES256"), e.ehr.token(alg="RS384", kid="ec-1")],
            "expired": [e.ehr.token(exp_in=-120), e.ehr.token(exp_in=7200)],
            "audience": [e.ehr.token(aud="https://other.test" + SERVICE),
                         e.ehr.token(aud=cdslib.PUBLIC_URL + FEEDBACK)],
            "kid": [e.ehr.token(kid="nobody")],
            "issuer": [e.ehr.token(iss="https://stranger.test"),
                       e.ehr.token(iss="x\nsuit-httpd: info: cds card: uuid=forged")],
            "issued_at": [e.ehr.token(iat_in=600)],
            "not_before": [e.ehr.token(nbf_in=600)],
            "malformed": ["not-a-jwt", head + "." + payload],
        }
        body = base_request()
        for reason, toks in tries.items():
            for t in toks:
                st, h, js = e.ehr.call(body, token=t)
                assert st == 401, "%s: %d %s" % (reason, st, js)
                assert "invalid_token" in h.get("www-authenticate", ""), h
                assert js["error"]["message"].startswith("not permitted: "), js
        st, h, js = e.gw.json("POST", SERVICE, body)     # no Authorization
        assert st == 401, (st, js)
        # accepted: ES384 and RS384, a skewed clock within 60 s, nbf passed
        for t in (good, e.ehr.token(alg="RS384", kid="rsa-1"), e.ehr.token(iat_in=30),
                  e.ehr.token(exp_in=-30), e.ehr.token(nbf_in=-300)):
            st, h, js = e.ehr.call(body, token=t)
            one_card(st, js, "accepted token")
        # replayed
        st, h, js = e.ehr.call(body, token=good)
        assert st == 401 and "used before" in js["error"]["message"], (st, js)
        assert "forged" not in e.gw.log_text(), "a token's claim reached the log"
        m = e.gw.metrics()
        counts = {k: len(v) for k, v in tries.items()}
        counts["missing"] = 1
        counts["replay"] = 1
        for reason, n in counts.items():
            line = 'suit_httpd_cds_jwt_refusals_total{reason="%s"} %d' % (reason, n)
            assert line in m, line + " not in:\n" + m


@case
def jwt_without_public_url_or_keys():
    keys = Keys()
    try:
        with Stack(httpd_args=["--cds-jwks", cdslib.ISSUER + "=" + keys.jwks]) as s:
            s.start()
            ehr = EHR(s.httpd, keys)
            st, h, js = ehr.call(base_request())
            assert st == 401 and "public_url" in js["error"]["message"], (st, js)
        # a JWK Set with a symmetric key refuses the start
        with open(keys.jwks, "w") as f:
            json.dump({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}, f)
        with Stack(httpd_args=cdslib.gateway_args(keys)) as s:
            try:
                s.start()
                raise AssertionError("started with an oct key")
            except httpdlib.GatewayError as err:
                assert "symmetric keys are never accepted" in str(err), err
    finally:
        keys.close()


@case
def off_without_a_map_unless_configured():
    """No map and no CDS settings: the gateway serves its API, discovery
    lists nothing, calls get 503.  With CDS settings the same is a refused
    start; so is a site file with a code mapped twice."""
    missing = ["--cds-terminology", "/nonexistent/terminology.tsv"]
    with Stack(httpd_args=missing) as s:
        s.start()
        st, h, js = s.httpd.json("GET", "/cds-services")
        assert st == 200 and js == {"services": []}, (st, js)
        st, h, js = s.httpd.json("POST", SERVICE, {"hook": "order-sign"})
        assert st == 503 and "off" in js["error"]["message"], (st, js)
        st, h, js = s.httpd.assess()
        assert st == 200, (st, js)
        assert "the service is off" in s.httpd.log_text()
    keys = Keys()
    try:
        with Stack(httpd_args=cdslib.gateway_args(keys, missing)) as s:
            try:
                s.start()
                raise AssertionError("started without its map")
            except httpdlib.GatewayError as err:
                assert "/nonexistent/terminology.tsv" in str(err), err
        site = os.path.join(keys.dir, "site.tsv")
        with open(site, "w") as f:
            f.write("source\tSITE\tOur catalogue\n"
                    "code\tarea\thttp://snomed.info/sct\t73897004\tneck\tSITE\tFace?\n")
        with Stack(httpd_args=cdslib.gateway_args(keys, ["--cds-terminology-site", site])) as s:
            try:
                s.start()
                raise AssertionError("started with a conflicting site file")
            except httpdlib.GatewayError as err:
                assert "maps to face and to neck" in str(err), err
    finally:
        keys.close()


@case
def cors_follows_the_allowlist():
    with Env(["--cors-origin", "https://sandbox.test"]) as e:
        st, h, _ = e.gw.request("OPTIONS", SERVICE, headers={
            "Origin": "https://sandbox.test", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert st == 204, st
        assert h["access-control-allow-origin"] == "https://sandbox.test", h
        assert "Authorization" in h["access-control-allow-headers"], h
        st, h, _ = e.gw.request("OPTIONS", SERVICE, headers={
            "Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
        assert st == 403, st
        st, h, js = e.ehr.call(base_request(), headers={"Origin": "https://sandbox.test"})
        assert st == 200 and h["access-control-allow-origin"] == "https://sandbox.test", h
        st, h, js = e.ehr.call(base_request(), token="x", headers={"Origin": "https://sandbox.test"})
        assert st == 401 and h["access-control-allow-origin"] == "https://sandbox.test", h
        st, h, js = e.gw.json("GET", "/cds-services", headers={"Origin": "https://evil.test"})
        assert st == 200 and "access-control-allow-origin" not in h, h


@case
def unknown_last_dose_and_partial_birth_date():
    with Env() as e:
        body = base_request()
        body["prefetch"]["medstatements"] = cdslib.bundle([{
            "resourceType": "MedicationStatement", "status": "completed",
            "medicationCodeableConcept": {"text": "isotretinoin"}}])
        st, h, js = e.ehr.call(body)
        card = one_card(st, js, "unknown dose")
        # counted as taken today: isotretinoin now is contraindicated
        assert card["source"]["topic"]["code"] == "contraindicated", card
        assert "Last dose of isotretinoin unknown: assumed current" in card["detail"], card
        # a heavier verdict with a fact missing names it in the summary
        body["prefetch"]["pregnancy"] = None
        st, h, js = e.ehr.call(body)
        card = one_card(st, js, "unknown dose, no pregnancy status")
        assert card["summary"].startswith("Micro-needling contraindicated (and missing pregnant): "), \
            card["summary"]
        p = dict(httpdlib.PATIENT)
        del p["medications"]
        body = cdslib.from_patient(p)
        body["prefetch"]["patient"]["birthDate"] = "%04d" % (cdslib.today().year - 18)
        st, h, js = e.ehr.call(body)
        card = one_card(st, js, "partial birth date")
        assert card["source"]["topic"]["code"] == "incomplete", card
        assert "missing age" in card["summary"], card["summary"]


# ---- README's CDS Hooks session ---------------------------------------------

README = os.path.join(httpdlib.SOURCE_DIR, "README.md")
BLOCK = re.compile(r"<!-- cds-session made=(\d{4}-\d{2}-\d{2}) -->\n(.*?)<!-- /cds-session -->",
                   re.S)
JSON_BLOCKS = re.compile(r"```json\n(.*?)\n```", re.S)


def readme_request():
    """The request README shows, made for today."""
    t = cdslib.today()
    coding = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    del coding
    birth = "%04d-%02d-%02d" % (t.year - 34, 3 if t.month > 3 else 1, 14)
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {
            "userId": "Practitioner/example",
            "patientId": "pat-1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
                "resourceType": "ServiceRequest", "id": "mn-1", "status": "draft",
                "intent": "order", "subject": {"reference": "Patient/pat-1"},
                "code": {"text": "Microneedling, face (collagen induction therapy)"},
                "bodySite": [{"coding": [{"system": cdslib.SCT, "code": "73897004",
                                          "display": "Skin of face"}]}],
                "reasonCode": [{"text": "Acne scars"}]}}]},
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "pat-1", "birthDate": birth},
            "conditions": cdslib.bundle([]),
            "medstatements": cdslib.bundle([{
                "resourceType": "MedicationStatement", "status": "completed",
                "medicationCodeableConcept": {"text": "Isotretinoin"},
                "subject": {"reference": "Patient/pat-1"},
                "effectivePeriod": {"start": cdslib.day(300), "end": cdslib.day(120)}}]),
            "medrequests": None,
            "procedures": cdslib.bundle([]),
            "allergies": cdslib.bundle([]),
            "pregnancy": cdslib.bundle([{
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": cdslib.LOINC, "code": "82810-3"}]},
                "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": cdslib.day(3),
                "valueCodeableConcept": {"coding": [{"system": cdslib.LOINC, "code": "LA26683-5",
                                                     "display": "Not pregnant"}]}}]),
            "breastfeeding": cdslib.bundle([{
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": cdslib.LOINC, "code": "63895-7"}]},
                "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": cdslib.day(3),
                "valueBoolean": False}]),
            "fitzpatrick": cdslib.bundle([{
                "resourceType": "Observation", "status": "final",
                "code": {"text": "Fitzpatrick skin type"}, "subject": {"reference": "Patient/pat-1"},
                "effectiveDateTime": cdslib.day(400),
                "valueCodeableConcept": {"coding": [{"system": cdslib.NCIT, "code": "C74571",
                                                     "display": "Fitzpatrick Skin Type III"}]}}]),
        },
    }


def shift_dates(text, days):
    def sub(m):
        d = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return (d + datetime.timedelta(days=days)).isoformat()
    return re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", sub, text)


def masked(card_json):
    """What may differ from run to run or with a rule edit: the uuid and
    the ruleset's digest."""
    t = re.sub(r'"uuid": "[0-9a-f-]{36}"', '"uuid": "UUID"', card_json)
    return re.sub(r"\([0-9a-f]{12}\)", "(SHA)", t)


@case
def readme_cds_session():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = BLOCK.search(text)
    assert m, "README.md has no <!-- cds-session --> block"
    update = bool(os.environ.get("SUIT_UPDATE_DOCS"))
    if update:
        request = readme_request()
        delta = 0
    else:
        blocks = JSON_BLOCKS.findall(m.group(2))
        assert len(blocks) == 2, "the cds-session block needs a request and a response"
        made = datetime.date.fromisoformat(m.group(1))
        delta = (cdslib.today() - made).days
        request = json.loads(shift_dates(blocks[0], delta))
    with Env() as e:
        st, h, js = e.ehr.call(request)
        assert st == 200, (st, js)
        got = json.dumps(js, indent=2, ensure_ascii=False)
    if update:
        new_block = ("Request: `POST https://cds.example.org/cds-services/microneedling-suitability` "
                     "with `Authorization: Bearer <an ES384 JWT>`\n\n```json\n%s\n```\n\n"
                     "Response: `200 OK`\n\n```json\n%s\n```\n" % (
                         json.dumps(request, indent=2, ensure_ascii=False), got))
        text = (text[:m.start()] + "<!-- cds-session made=%s -->\n" % cdslib.today().isoformat()
                + new_block + "<!-- /cds-session -->" + text[m.end():])
        with open(README, "w", encoding="utf-8") as f:
            f.write(text)
        print("README.md: cds-session block rewritten")
        return
    want = masked(blocks[1])
    now = masked(shift_dates(got, -delta))
    assert now == want, ("README.md's CDS Hooks card is not what the service answers now; after a "
                         "deliberate change run SUIT_UPDATE_DOCS=1 on tests/http/test_cds.py "
                         "readme_cds_session\n--- README\n%s\n--- now\n%s" % (want, now))


if __name__ == "__main__":
    httpdlib.run("http_cds")
