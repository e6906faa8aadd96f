#!/usr/bin/env python3
"""suit-httpd's JSON API against a real suitd: every endpoint, the same
answer through HTTP as through MessagePack for the whole case mix, bad
input (a clear 400 with the field, suitd unaffected), the status of every
refusal, the ruleset's ETag, /metrics (promtool, and suitd's own counters
under the label values suitd itself reports), CORS.

usage: test_api.py [CASE...]     (needs SUITD_BIN and SUIT_HTTPD_BIN)
"""
import glob
import json
import os

import httpdlib
from httpdlib import Stack, case


def msgpack_assess(stack, patient, options=None):
    """(error, result) for the same patient straight from suitd."""
    with stack.suitd.unix() as c:
        params = [patient] + ([options] if options is not None else [])
        return c.call_raw("assess", params)


def suitd_stats(stack):
    with stack.suitd.unix() as c:
        return c.call("stats")


def case_mix():
    cases = []
    for path in sorted(glob.glob(os.path.join(httpdlib.RULES, "tests", "*.json"))):
        with open(path) as f:
            for c in json.load(f):
                cases.append((os.path.basename(path), c))
    return cases


@case
def every_endpoint_answers():
    with Stack().start() as s:
        g = s.httpd
        st, h, body = g.json("GET", "/healthz")
        assert st == 200 and body["status"] == "ok", (st, body)
        assert h["content-type"] == "application/json", h
        assert h["cache-control"] == "no-store" and h["x-content-type-options"] == "nosniff", h

        st, _, ping = g.json("GET", "/v1/ping")
        assert st == 200, (st, ping)
        with s.suitd.unix() as c:
            direct = c.call("ping")
            ruleset = c.call("ruleset")
        assert ping["gateway"]["name"] == "suit-httpd" and ping["gateway"]["version"], ping
        del ping["gateway"]
        assert ping == direct, (ping, direct)

        st, h, rs = g.json("GET", "/v1/ruleset")
        assert st == 200, (st, rs)
        assert rs == ruleset, "GET /v1/ruleset differs from the ruleset method"
        assert h["etag"] == '"%s"' % ruleset["sha256"], h

        st, _, ready = g.json("GET", "/readyz")
        assert st == 200 and ready["ready"] is True, (st, ready)
        assert ready["ruleset"] == direct["ruleset"], ready

        st, _, res = g.assess()
        assert st == 200, (st, res)
        err, want = msgpack_assess(s, httpdlib.PATIENT)
        assert err is None and res == want, (res, want)
        assert res["verdict"] == "defer" and res["defer_days"] == 60, res

        text = g.metrics()
        assert "suit_httpd_requests_total" in text and "suitd_requests_total" in text, text[:500]

        # HEAD: the GET's headers, no body
        st, h, data = g.request("HEAD", "/healthz")
        assert st == 200 and data == b"", (st, data)


@case
def same_answer_as_msgpack_for_the_case_mix():
    """Every case of rules/tests/*.json, through the gateway and straight
    to suitd: the same verdict, finding ids and everything else; the
    same error code and field for the cases that expect an error."""
    cases = case_mix()
    assert len(cases) > 150, "only %d cases" % len(cases)
    with Stack().start() as s:
        conn = s.httpd.conn()
        n_err = 0
        for fname, c in cases:
            where = "%s: %s" % (fname, c["name"])
            st, _, res = s.httpd.assess(c["patient"], conn=conn)
            err, want = msgpack_assess(s, c["patient"])
            if err is not None:
                n_err += 1
                assert st == 400, (where, st, res)
                assert res["error"]["code"] == err["code"], (where, res, err)
                assert res["error"]["message"] == err["message"], (where, res, err)
                assert res["error"]["data"] == err["data"], (where, res, err)
                assert c["expect"].get("error") == err["code"], where
                continue
            assert st == 200, (where, st, res)
            assert res["verdict"] == want["verdict"], (where, res["verdict"], want["verdict"])
            assert [f["id"] for f in res["findings"]] == [f["id"] for f in want["findings"]], where
            assert res == want, "%s: the HTTP answer differs from the MessagePack one" % where
            # A case that states its own policy expects a verdict under
            # that policy, not the daemon's.
            if "verdict" in c["expect"] and "policy" not in c:
                assert res["verdict"] == c["expect"]["verdict"], (where, res["verdict"])
        conn.close()
        assert n_err >= 3, "the mix should hold the cases that expect an error"
        # And with the trace: the same rules fired.
        st, _, res = s.httpd.assess(options={"explain": True})
        err, want = msgpack_assess(s, httpdlib.PATIENT, {"explain": True})
        assert st == 200 and res == want and res["trace"], (st, res)


@case
def explain_in_the_query():
    with Stack().start() as s:
        g = s.httpd
        st, _, res = g.assess(query="?explain=true")
        assert st == 200 and res.get("trace"), (st, res)
        st, _, res = g.assess(query="?explain=false")
        assert st == 200 and "trace" not in res, (st, res)
        st, _, res = g.assess(options={"explain": True}, query="?explain=true")
        assert st == 200 and res.get("trace"), res
        st, _, res = g.assess(options={"explain": True}, query="?explain=false")
        assert st == 400 and res["error"]["data"]["field"] == "options.explain", (st, res)
        st, _, res = g.assess(query="?explain=maybe")
        assert st == 400 and res["error"]["data"]["field"] == "explain", (st, res)
        assert res["error"]["code"] == -32602, res
        st, _, res = g.assess(query="?explian=true")
        assert st == 400 and res["error"]["data"]["field"] == "explian", (st, res)
        assert "allowed: explain" in res["error"]["message"], res
        st, _, res = g.assess(query="?explain=true&explain=false")
        assert st == 400, (st, res)
        st, _, res = g.json("GET", "/v1/ping?x=1")
        assert st == 400 and res["error"]["data"]["field"] == "x", (st, res)


def post_raw(g, body, ctype="application/json"):
    st, _, res = g.json("POST", "/v1/assess", body=body, headers={"Content-Type": ctype})
    return st, res


@case
def bad_input_is_a_clear_400_and_suitd_is_unaffected():
    with Stack().start() as s:
        g = s.httpd
        before = suitd_stats(s)
        p = json.dumps(httpdlib.PATIENT)
        # Caught by the gateway: suitd never sees these.
        gateway_side = [
            (b'{"patient": {"age": 30,, "area": "face"}}', -32700, None),
            (b'{"patient": {"age": 30, "conditions": ["acne", {"name": tru}]}}', -32700,
             "conditions[1].name"),
            (b'{"patient": {"age": 30, "area": "fa\xffce"}}', -32700, "area"),
            (b'{"patient": {"age": 30, "are\xc3\x28": "face"}}', -32700, None),
            (b'{"patient": {"age": 30, "age": 31}}', -32700, None),
            (b'{"patient": {"age": 30}} trailing', -32700, None),
            (b'', -32700, None),
            (b'[1, 2]', -32600, None),
            (b'{"patient": [1]}', -32602, "patient"),
            (b'{"patient": null}', -32602, "patient"),
            (b'{}', -32602, "patient"),
            (('{"patient": %s, "optoins": {}}' % p).encode(), -32602, "optoins"),
            (('{"patient": %s, "options": 3}' % p).encode(), -32602, "options"),
            (b'{"patient": {"conditions": [' + b'[' * 20 + b']' * 20 + b']}}', -32001,
             # the 17th level of the frame: [0, msgid, "assess", [patient]] is 2
             "conditions" + "[0]" * 13),
        ]
        for body, code, field in gateway_side:
            st, res = post_raw(g, body)
            want = {-32700: 400, -32600: 400, -32602: 400, -32001: 413}[code]
            assert st == want, (body[:60], st, res)
            err = res["error"]
            assert err["code"] == code, (body[:60], err)
            assert err["message"], err
            if field is not None:
                assert err["data"] and err["data"]["field"] == field, (body[:60], err)
                assert err["message"].startswith(field + ":"), err
        # The gateway's own message names the line and column of bad JSON.
        st, res = post_raw(g, b'{"patient": {"age": 30,, "area": "face"}}')
        assert "line 1, column" in res["error"]["message"], res
        mid = suitd_stats(s)
        assert mid["requests"]["assess"] == before["requests"]["assess"], \
            "JSON-level errors reached suitd: %r -> %r" % (before["requests"], mid["requests"])

        # Checked by suitd, passed through with its field and message.
        suitd_side = [
            (dict(httpdlib.PATIENT, age="thirty"), "age"),
            (dict(httpdlib.PATIENT, age=-1), "age"),
            (dict(httpdlib.PATIENT, agee=30), "agee"),
            (dict(httpdlib.PATIENT, medications=[{"name": "isotretinoin",
                                                   "days_since_last_dose": "x"}]),
             "medications[0].days_since_last_dose"),
            (dict(httpdlib.PATIENT, area="fa\u0000ce"), "area"),
            (dict(httpdlib.PATIENT, area="elbow"), "area"),
        ]
        for patient, field in suitd_side:
            st, _, res = g.assess(patient)
            err, _ = msgpack_assess(s, patient)
            assert st == 400 and res["error"] == err, (field, st, res, err)
            assert err["data"]["field"] == field, (field, err)
        st, _, res = g.assess(options={"explian": True})
        assert st == 400 and res["error"]["data"]["field"] == "options.explian", res
        # suitd still answers, on the gateway and directly.
        st, _, res = g.assess()
        assert st == 200 and res["verdict"] == "defer", (st, res)
        with s.suitd.unix() as c:
            suitlib_res = c.assess()
        assert suitlib_res["verdict"] == "defer"
        assert s.suitd.alive()


@case
def refusals_have_their_status():
    with Stack(httpd_args=["--max-body", "4096"]).start() as s:
        g = s.httpd
        st, _, res = g.json("GET", "/nowhere")
        assert st == 404 and res["error"]["code"] == -32601, (st, res)
        st, h, res = g.json("GET", "/v1/assess")
        assert st == 405 and res["error"]["code"] == -32601, (st, res)
        assert "POST" in h["allow"], h
        st, h, res = g.json("DELETE", "/healthz")
        assert st == 405 and "GET" in h["allow"], (st, h)
        st, res = post_raw(g, json.dumps({"patient": httpdlib.PATIENT}), "text/plain")
        assert st == 415 and res["error"]["code"] == -32600, (st, res)
        st, res = post_raw(g, json.dumps({"patient": httpdlib.PATIENT}),
                           "application/json; charset=latin-1")
        assert st == 415, (st, res)
        st, res = post_raw(g, json.dumps({"patient": httpdlib.PATIENT}),
                           "application/json; charset=utf-8")
        assert st == 200, (st, res)
        big = json.dumps({"patient": dict(httpdlib.PATIENT, notes="x" * 5000)})
        st, res = post_raw(g, big)
        assert st == 413 and res["error"]["code"] == -32001, (st, res)
        # No length at all: 411 (http.client always frames, so raw bytes).
        out = httpdlib.parse_responses(g.raw(
            b"POST /v1/assess HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\n\r\n"))
        assert out[0][0] == 411, out
        assert json.loads(out[0][2])["error"]["code"] == -32600, out
        text = g.metrics()
        assert httpdlib.metric_value(text, "suit_httpd_limits_tripped_total",
                                     {"limit": "max_body"}) == 1, text
        for status, endpoint in [("404", "other"), ("405", "/v1/assess"), ("415", "/v1/assess"),
                                 ("413", "/v1/assess"), ("411", "/v1/assess")]:
            v = httpdlib.metric_value(text, "suit_httpd_requests_total",
                                      {"endpoint": endpoint, "status": status})
            assert v and v >= 1, (endpoint, status, v)


@case
def ruleset_etag():
    with Stack().start() as s:
        g = s.httpd
        st, h, rs = g.json("GET", "/v1/ruleset")
        assert st == 200 and h["cache-control"] == "no-cache", h
        etag = h["etag"]
        st, h2, data = g.request("GET", "/v1/ruleset", headers={"If-None-Match": etag})
        assert st == 304 and data == b"" and h2["etag"] == etag, (st, h2, data)
        st, _, data = g.request("GET", "/v1/ruleset", headers={"If-None-Match": '"other"'})
        assert st == 200 and json.loads(data) == rs


@case
def metrics_pass_promtool_and_follow_suitd_stats():
    with Stack().start() as s:
        g = s.httpd
        g.assess()
        g.assess(dict(httpdlib.PATIENT, age=-1))        # an error counted by suitd
        g.json("GET", "/v1/ping")
        text = g.metrics()
        stats = suitd_stats(s)
        # Label values come from suitd's own reply, whatever its keys are
        # (error codes today, snake_case names later): each of its counters
        # is under its fixed family name with the key as the label value.
        assert stats["errors"], stats
        for family, key, label in [("suitd_errors_total", "errors", "code"),
                                   ("suitd_requests_total", "requests", "method"),
                                   ("suitd_dropped_total", "dropped", "reason"),
                                   ("suitd_reloads_total", "reloads", "result")]:
            for k, v in stats[key].items():
                got = httpdlib.metric_value(text, family, {label: str(k)})
                assert got is not None, "%s{%s=%r} missing from /metrics" % (family, label, k)
                # /metrics came first; the stats call after it only adds
                assert got <= v, (family, k, got, v)
                if key == "errors":
                    assert got == v, (family, k, got, v)
        assert httpdlib.metric_value(text, "suitd_queue_depth") is not None
        rs = stats["ruleset"]
        assert httpdlib.metric_value(text, "suitd_ruleset_info",
                                     {"name": rs["name"], "version": rs["version"],
                                      "sha256": rs["sha256"]}) == 1
        assert httpdlib.metric_value(text, "suit_httpd_suitd_up") == 1
        # The gateway's own histogram agrees with its counters.
        n = httpdlib.metric_value(text, "suit_httpd_request_duration_seconds_count",
                                  {"endpoint": "/v1/assess"})
        ok = httpdlib.metric_value(text, "suit_httpd_requests_total",
                                   {"endpoint": "/v1/assess", "status": "200"})
        bad = httpdlib.metric_value(text, "suit_httpd_requests_total",
                                    {"endpoint": "/v1/assess", "status": "400"})
        assert n == ok + bad == 2, (n, ok, bad)
        inf = httpdlib.metric_value(text, "suit_httpd_request_duration_seconds_bucket",
                                    {"endpoint": "/v1/assess", "le": "+Inf"})
        assert inf == n, (inf, n)
        verdict = httpdlib.promtool_check(text)
        if verdict == "absent":
            print("SKIPPED: promtool is not installed (Debian package prometheus): "
                  "/metrics was not checked by promtool")
            return "SKIPPED: promtool absent"
        assert verdict is None, "promtool check metrics refused /metrics:\n%s\n%s" % (verdict, text)


@case
def cors_allowlist():
    ok, evil = "https://clinic.example", "https://evil.example"
    with Stack(httpd_args=["--cors-origin", ok, "--cors-origin", "http://localhost:8080"]).start() as s:
        g = s.httpd
        pre = {"Origin": ok, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization, content-type"}
        st, h, data = g.request("OPTIONS", "/v1/assess", headers=pre)
        assert st == 204 and data == b"", (st, h, data)
        assert h["access-control-allow-origin"] == ok, h
        assert "POST" in h["access-control-allow-methods"], h
        assert "Authorization" in h["access-control-allow-headers"], h
        assert "Content-Type" in h["access-control-allow-headers"], h
        assert h["vary"] == "Origin", h

        st, h, data = g.request("OPTIONS", "/v1/assess", headers=dict(pre, Origin=evil))
        assert st == 403 and "access-control-allow-origin" not in h, (st, h)
        assert json.loads(data)["error"]["code"] == -32005
        st, h, _ = g.request("OPTIONS", "/v1/assess",
                             headers=dict(pre, **{"Access-Control-Request-Method": "DELETE"}))
        assert st == 403, (st, h)
        # No wildcard, no prefix: the origin must match exactly.
        st, h, _ = g.request("OPTIONS", "/v1/assess",
                             headers=dict(pre, Origin="https://clinic.example.evil.example"))
        assert st == 403, st

        st, h, res = g.assess(headers={"Origin": ok})
        assert st == 200 and h["access-control-allow-origin"] == ok, h
        assert "Retry-After" in h["access-control-expose-headers"], h
        st, h, res = g.assess(headers={"Origin": evil})
        assert st == 200 and "access-control-allow-origin" not in h, h
        assert h["vary"] == "Origin", h
        # A plain OPTIONS (no Origin) says what the path allows.
        st, h, _ = g.request("OPTIONS", "/v1/ruleset")
        assert st == 204 and "GET" in h["allow"], (st, h)
    # A wildcard is refused when the gateway starts.
    with Stack(httpd_args=["--cors-origin", "*"]) as s:
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 2, s.httpd.log_text()
        assert "no wildcard" in s.httpd.log_text(), s.httpd.log_text()


if __name__ == "__main__":
    httpdlib.run("http_api")
