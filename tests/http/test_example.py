#!/usr/bin/env python3
"""The worked integration (examples/webhook/clinic_webhook.py) against a
real suitd and suit-httpd, and README's HTTP session: every command in
README.md's <!-- http-session --> block is run against a real gateway and
its output must be what README shows (ruleset digests aside, which change
with every rule edit).  After a deliberate change, rewrite the block with

    SUIT_UPDATE_DOCS=1 python3 tests/http/test_example.py readme_session

usage: test_example.py [CASE...]     (needs SUITD_BIN and SUIT_HTTPD_BIN)
"""
import copy
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import sys

import httpdlib
from httpdlib import Stack, case

EXAMPLE = os.path.join(httpdlib.SOURCE_DIR, "examples", "webhook")
SCRIPT = os.path.join(EXAMPLE, "clinic_webhook.py")
WEBHOOK = os.path.join(EXAMPLE, "appointment-created.json")
README = os.path.join(httpdlib.SOURCE_DIR, "README.md")


def env_for(g, **extra):
    env = dict(os.environ, SUIT_HTTPD_URL="http://%s:%d" % (g.host, g.port))
    env.pop("WEBHOOK_SECRET", None)
    env.update(extra)
    return env


def once(g, data, **extra):
    p = subprocess.run([sys.executable, SCRIPT, "once", "-"], input=data, capture_output=True,
                       env=env_for(g, **extra), timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def webhook(**intake_changes):
    with open(WEBHOOK) as f:
        w = json.load(f)
    w = copy.deepcopy(w)
    for k, v in intake_changes.items():
        if v is None:
            del w["appointment"]["intake"][k]
        else:
            w["appointment"]["intake"][k] = v
    return json.dumps(w).encode()


@case
def once_prints_the_alert():
    with Stack().start() as s:
        rc, out, err = once(s.httpd, open(WEBHOOK, "rb").read())
        assert rc == 0, (rc, err)
        alert = json.loads(out)
        assert alert["appointment_id"] == "APT-10482", alert
        assert alert["level"] == "warning", alert
        # Booked for 2026-12-08: the peel's 30-day hold and isotretinoin's
        # 180-day washout (last dose 2026-08-20, 110 days before) defer it.
        assert alert["title"] == ("Micro-needling check: DEFER: not before 2027-02-16 "
                                  "(70 days after the booked date)"), alert["title"]
        assert any("isotretinoin" in f for f in alert["findings"]), alert
        assert any("herpes" in f for f in alert["findings"]), alert
        assert "the decision stays with the clinician" in alert["note"]
        # What the gateway answered equals suitd's own answer for the same facts.
        p = {"age": 35, "pregnant": False, "breastfeeding": False, "fitzpatrick": 4,
             "area": "cheeks", "indication": "acne-scars", "conditions": ["hsv-history"],
             "medications": [{"name": "isotretinoin", "days_since_last_dose": 110}],
             "procedures": [{"name": "chemical-peel", "days_ago": 18}]}
        with s.suitd.unix() as c:
            direct = c.assess(p)
        assert direct["defer_days"] == 70 and direct["verdict"] == "defer", direct

        # A form without the pregnancy answer never reads like a go-ahead:
        # the deferral still says what to ask...
        rc, out, err = once(s.httpd, webhook(pregnant=None))
        assert rc == 0, err
        alert = json.loads(out)
        assert alert["title"].startswith("Micro-needling check: DEFER"), alert
        assert alert["title"].endswith("; also ask for pregnant"), alert
        # ... and without anything else in the way it is incomplete.
        rc, out, err = once(s.httpd, webhook(pregnant=None, medications=None, procedures=None,
                                             conditions=None))
        alert = json.loads(out)
        assert alert["title"] == ("Micro-needling check: DO NOT TREAT YET: facts missing: "
                                  "ask for pregnant"), alert
        assert alert["level"] == "warning", alert
        # A pregnant client: critical.
        rc, out, _ = once(s.httpd, webhook(pregnant=True))
        assert json.loads(out)["level"] == "critical"
        # A form value suitd refuses: the webhook is refused, naming it.
        rc, out, err = once(s.httpd, webhook(treatment_area="elbow"))
        assert rc == 1 and "(area)" in err, (rc, err)
        rc, _, err = once(s.httpd, b"{not json")
        assert rc == 1 and "not JSON" in err, err
        # suitd away: retry later, no alert.
        s.suitd.stop()
        rc, out, err = once(s.httpd, open(WEBHOOK, "rb").read())
        assert rc == 2 and out == "" and "retry after 1 s" in err, (rc, out, err)


@case
def serve_receives_webhooks():
    with Stack().start() as s:
        secret = "whsec-test"
        proc = subprocess.Popen([sys.executable, SCRIPT, "serve", "--listen", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env_for(s.httpd, WEBHOOK_SECRET=secret))
        try:
            line = proc.stderr.readline().decode()
            m = re.search(r"http://127.0.0.1:(\d+)/webhooks/appointment-created", line)
            assert m, line
            port = int(m.group(1))

            def post(body, sign=True):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                h = {"Content-Type": "application/json"}
                if sign:
                    h["X-Webhook-Signature"] = "sha256=" + hmac.new(
                        secret.encode(), body, hashlib.sha256).hexdigest()
                c.request("POST", "/webhooks/appointment-created", body, h)
                r = c.getresponse()
                data = json.loads(r.read())
                c.close()
                return r.status, data

            body = open(WEBHOOK, "rb").read()
            assert post(body, sign=False)[0] == 401
            st, ack = post(body)
            assert st == 202 and ack == {"accepted": True, "alert_level": "warning"}, (st, ack)
            assert post(b"[]")[0] == 400
            st, ack = post(webhook(pregnant=True))
            assert st == 202 and ack["alert_level"] == "critical", ack
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
        alerts = [json.loads(a) for a in re.findall(r"(?ms)^\{.*?^\}", out.decode())]
        assert [a["level"] for a in alerts] == ["warning", "critical"], out


def readme_block():
    text = open(README, encoding="utf-8").read()
    m = re.search(r"<!-- http-session -->\n```\n(.*?)```\n<!-- /http-session -->", text, re.S)
    assert m, "README.md has no <!-- http-session --> block"
    return text, m


def split_session(block):
    """[(command, expected output)] from '$ command' lines and what follows."""
    pairs = []
    for chunk in re.split(r"(?m)^\$ ", block)[1:]:
        cmd_lines = []
        lines = chunk.split("\n")
        while lines:
            cmd_lines.append(lines.pop(0))
            if not cmd_lines[-1].endswith("\\"):
                break
        pairs.append(("\n".join(cmd_lines), "\n".join(lines)))
    return pairs


def normalise(text):
    """Ruleset digests change with every rule edit; nothing else may."""
    return re.sub(r"\b[0-9a-f]{12}(?:[0-9a-f]{52})?\b", "<sha256>", text)


@case
def readme_session():
    text, m = readme_block()
    pairs = split_session(m.group(1))
    assert len(pairs) >= 2, pairs
    with Stack().start() as s:
        g = s.httpd
        got_block = ""
        for cmd, want in pairs:
            real = cmd.replace("127.0.0.1:7480", "%s:%d" % (g.host, g.port))
            p = subprocess.run(["sh", "-c", real], capture_output=True, cwd=httpdlib.SOURCE_DIR,
                               env=env_for(g), timeout=60)
            out = p.stdout.decode()
            assert p.returncode == 0, (cmd, p.stderr.decode())
            got_block += "$ " + cmd + "\n" + out
            if not os.environ.get("SUIT_UPDATE_DOCS"):
                assert normalise(out) == normalise(want), \
                    ("README.md's output of `%s` is not what it prints now; after a "
                     "deliberate change run SUIT_UPDATE_DOCS=1 python3 "
                     "tests/http/test_example.py readme_session\n--- README\n%s\n--- now\n%s"
                     % (cmd[:60], want, out))
        if os.environ.get("SUIT_UPDATE_DOCS"):
            new = text[:m.start(1)] + got_block + text[m.end(1):]
            with open(README, "w", encoding="utf-8") as f:
                f.write(new)
            print("README.md: http-session block rewritten (%d commands)" % len(pairs))


if __name__ == "__main__":
    httpdlib.run("http_example")
