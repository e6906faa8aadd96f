#!/usr/bin/env python3
"""A worked integration: a clinic system's "appointment created" webhook,
checked by suitd through suit-httpd, and the alert it would write back.

Practice-management systems for aesthetic clinics announce new bookings
with outbound JSON webhooks.  This receiver takes one, turns the intake
form into suitd's patient (dates become "days ago", the date of birth an
age on the day of the appointment), calls POST /v1/assess on suit-httpd,
and prints the alert it would attach to the appointment: the verdict, the
decisive findings, and what to do.  It never says "go ahead" for a
patient with missing facts: an incomplete answer names what to ask.

Python 3 standard library only.

  clinic_webhook.py serve [--listen HOST:PORT]     receive webhooks on
                                                   POST /webhooks/appointment-created
  clinic_webhook.py once FILE                      one webhook from FILE (- for stdin)

Environment:
  SUIT_HTTPD_URL     the gateway (default http://127.0.0.1:7480)
  SUIT_HTTPD_TOKEN   its bearer token, when it has one
  WEBHOOK_SECRET     when set, every webhook must carry
                     X-Webhook-Signature: sha256=HEX (HMAC-SHA256 of the body)

Exit status of `once`: 0 alert printed, 1 the webhook was refused (bad
JSON, not an appointment), 2 suit-httpd could not answer (retry later).
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import sys
import urllib.parse

GATEWAY = os.environ.get("SUIT_HTTPD_URL", "http://127.0.0.1:7480")
TOKEN = os.environ.get("SUIT_HTTPD_TOKEN")
SECRET = os.environ.get("WEBHOOK_SECRET")

LEVELS = {  # verdict -> (alert level, headline)
    "suitable": ("info", "OK to treat"),
    "suitable-with-precautions": ("info", "OK to treat, with precautions"),
    "incomplete": ("warning", "DO NOT TREAT YET: facts missing"),
    "defer": ("warning", "DEFER"),
    "refer": ("warning", "REFER to a physician first"),
    "contraindicated": ("critical", "DO NOT TREAT: contraindicated"),
}


class Refused(Exception):
    """The webhook itself is unusable (answered 400)."""


class Unavailable(Exception):
    """suit-httpd could not answer now (answered 503, the sender retries)."""


def day(text, what):
    try:
        return datetime.date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        raise Refused("%s: expected a date YYYY-MM-DD, got %r" % (what, text))


def age_on(born, when):
    return when.year - born.year - ((when.month, when.day) < (born.month, born.day))


def patient_of(appointment):
    """suitd's patient from the booking's intake form.  A fact the form
    left out stays out: suitd then answers incomplete, never suitable."""
    intake = appointment.get("intake")
    if not isinstance(intake, dict):
        raise Refused("appointment.intake: missing")
    on = day(appointment.get("starts_at"), "appointment.starts_at")
    p = {}
    born = appointment.get("client", {}).get("date_of_birth")
    if born is not None:
        p["age"] = age_on(day(born, "client.date_of_birth"), on)
    for key in ("pregnant", "breastfeeding", "fitzpatrick"):
        if key in intake:
            p[key] = intake[key]
    if "treatment_area" in intake:
        p["area"] = intake["treatment_area"]
    if "concern" in intake:
        p["indication"] = intake["concern"]
    if intake.get("conditions"):
        p["conditions"] = list(intake["conditions"])
    if intake.get("allergies"):
        p["allergies"] = list(intake["allergies"])

    def since(d, what):
        n = (on - day(d, what)).days
        return max(n, 0)
    if intake.get("medications"):
        p["medications"] = [
            {"name": m["name"],
             "days_since_last_dose": 0 if m.get("current") or not m.get("last_dose")
             else since(m["last_dose"], "medications[%d].last_dose" % i)}
            for i, m in enumerate(intake["medications"])]
    if intake.get("procedures"):
        p["procedures"] = [{"name": x["name"],
                            "days_ago": since(x.get("date"), "procedures[%d].date" % i)}
                           for i, x in enumerate(intake["procedures"])]
    return p, on


def assess(patient):
    """The assessment from suit-httpd, or an exception."""
    u = urllib.parse.urlsplit(GATEWAY)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=15)
    headers = {"Content-Type": "application/json"}
    if TOKEN:
        headers["Authorization"] = "Bearer " + TOKEN
    try:
        conn.request("POST", "/v1/assess", json.dumps({"patient": patient}), headers)
        r = conn.getresponse()
        body = json.loads(r.read() or b"null")
    except (OSError, ValueError) as e:
        raise Unavailable("suit-httpd at %s: %s" % (GATEWAY, e))
    finally:
        conn.close()
    if r.status == 200:
        return body
    err = (body or {}).get("error", {})
    if r.status in (503, 504):
        raise Unavailable("suit-httpd: %s (retry after %s s)"
                          % (err.get("message"), r.getheader("Retry-After", "?")))
    field = (err.get("data") or {}).get("field")
    raise Refused("the intake form has a value suitd does not accept%s: %s"
                  % (" (%s)" % field if field else "", err.get("message")))


def alert_of(appointment, result, on):
    """What would be written back to the booking."""
    level, headline = LEVELS.get(result["verdict"], ("warning", result["verdict"].upper()))
    if result["verdict"] == "defer" and result.get("defer_days") is not None:
        back = on + datetime.timedelta(days=result["defer_days"])
        headline += ": not before %s (%d days after the booked date)" % (back, result["defer_days"])
    if result["missing"]:
        # whatever the verdict: a deferral can also lack facts
        headline += "%sask for %s" % (": " if result["verdict"] == "incomplete" else "; also ",
                                      ", ".join(result["missing"]))
    order = ["contraindicated", "refer", "defer", "incomplete", "caution"]
    decisive = [f for f in result["findings"] if f["severity"] in order]
    decisive.sort(key=lambda f: order.index(f["severity"]))
    lines = ["%s - %s" % (f["severity"], f["summary"]) +
             (" (%s)" % f["action"] if f.get("action") else "") for f in decisive]
    rs = result["ruleset"]
    return {
        "appointment_id": appointment.get("id"),
        "level": level,
        "title": "Micro-needling check: " + headline,
        "findings": lines,
        "serious_side_effects": [s["effect"] for s in result["side_effects"]
                                 if s["kind"] == "serious"],
        "source": "suitd %s %s (%s)" % (rs["name"], rs["version"], rs["sha256"][:12]),
        "note": "Decision support for a licensed professional; the decision stays with "
                "the clinician.",
    }


def handle(raw):
    """One webhook body -> the alert (raises Refused or Unavailable)."""
    try:
        event = json.loads(raw)
    except ValueError as e:
        raise Refused("not JSON: %s" % e)
    if not isinstance(event, dict) or event.get("event") != "appointment.created":
        raise Refused("not an appointment.created event")
    appointment = event.get("appointment") or {}
    patient, on = patient_of(appointment)
    return alert_of(appointment, assess(patient), on)


class Receiver(http.server.BaseHTTPRequestHandler):
    server_version = "clinic-webhook/1"

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/webhooks/appointment-created":
            return self.answer(404, {"error": "no such webhook"})
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 1 << 20))
        if SECRET:
            want = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, self.headers.get("X-Webhook-Signature", "")):
                return self.answer(401, {"error": "bad signature"})
        try:
            alert = handle(raw)
        except Refused as e:
            return self.answer(400, {"error": str(e)})
        except Unavailable as e:
            print("webhook: %s" % e, file=sys.stderr, flush=True)
            return self.answer(503, {"error": "try again later"})
        print(json.dumps(alert, indent=2), flush=True)
        self.answer(202, {"accepted": True, "alert_level": alert["level"]})

    def log_message(self, fmt, *args):
        pass        # no request log: bodies hold patient data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--listen", default="127.0.0.1:8099")
    o = sub.add_parser("once")
    o.add_argument("file")
    a = ap.parse_args()
    if a.cmd == "once":
        raw = sys.stdin.buffer.read() if a.file == "-" else open(a.file, "rb").read()
        try:
            print(json.dumps(handle(raw), indent=2))
        except Refused as e:
            print("webhook refused: %s" % e, file=sys.stderr)
            return 1
        except Unavailable as e:
            print("webhook: %s" % e, file=sys.stderr)
            return 2
        return 0
    host, _, port = a.listen.rpartition(":")
    srv = http.server.ThreadingHTTPServer((host, int(port)), Receiver)
    print("listening on http://%s:%d/webhooks/appointment-created"
          % srv.server_address[:2], file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
