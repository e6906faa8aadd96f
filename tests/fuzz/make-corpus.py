#!/usr/bin/env python3
"""Builds the fuzz seed corpus from real requests.

Every patient in rules/tests/*.json (the bundled ruleset's own cases)
becomes `assess` params, [patient] and for some [patient, {"explain": true}],
for fuzz_patient and fuzz_assess; a whole request frame
[0, msgid, "assess", params], preceded by the chunk-size byte the harness
reads first, for fuzz_decoder; and a POST /v1/assess body
{"patient": ..., "options": ...}, after the two bytes fuzz_http_request
reads first (?explain= and an offset), for suit-httpd's request path.  A few frames of the other methods, a
notification, a pipelined pair and the hostile headers from issue 7 are
added by hand.  Files are named by the SHA-1 of their contents, as libFuzzer
names its own, so rerunning is idempotent.

usage: tests/fuzz/make-corpus.py [--rules DIR] [--out DIR]
(defaults: rules/ and tests/fuzz/corpus/ of this source tree)
"""
import argparse
import glob
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fault"))
import mpack  # noqa: E402


def write_seed(directory, data):
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return name


def frame(msgid, method, params):
    return mpack.packb([0, msgid, method, params])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", default=os.path.join(HERE, "..", "..", "rules"))
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()

    patients = []
    for path in sorted(glob.glob(os.path.join(args.rules, "tests", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for case in json.load(f):
                if "patient" in case:
                    patients.append(case["patient"])
    if not patients:
        sys.exit("make-corpus: no cases found under %s/tests" % args.rules)

    params_dirs = [os.path.join(args.out, "patient"), os.path.join(args.out, "assess")]
    dec_dir = os.path.join(args.out, "decoder")
    names = set()
    for i, p in enumerate(patients):
        params = [p, {"explain": True}] if i % 5 == 0 else [p]
        data = mpack.packb(params)
        for d in params_dirs:
            names.add(write_seed(d, data))
        # The harness's first byte picks the feed size (byte % 17 + 1):
        # spread the seeds over all of them.
        names.add(write_seed(dec_dir, bytes([i % 17]) + frame(i + 1, "assess", params)))

    # Hand-made seeds: the other methods, frames the daemon must ignore or
    # refuse, and the huge declared lengths of issue 7.
    extra_params = [
        mpack.packb([]),
        mpack.packb([{}]),
        mpack.packb([{"age": 35}, {"explain": False}]),
        mpack.packb([{"age": 35}, {"policy": "default"}]),
        mpack.packb([{"age": 35}, {"policy": "clinic-z", "explain": True}]),
        mpack.packb([{"age": 35}, {"policy": "Not_A-Name"}]),
        mpack.packb([{"age": -1, "fitzpatrick": 9, "area": "x" * 200}]),
        mpack.packb([{"medications": [{"name": "isotretinoin", "days_since_last_dose": 1.5}]}]),
        mpack.packb([{"conditions": [{"name": "a\u00e9\u4e2d"}], "allergies": [{"name": "nickel"}]}]),
    ]
    for data in extra_params:
        for d in params_dirs:
            write_seed(d, data)
    ping = frame(1, "ping", [])
    extra_frames = [
        ping,
        frame(2, "stats", []),
        frame(3, "ruleset", []),
        frame(4, "reload", []),
        frame(5, "auth", ["secret-token"]),
        frame(6, "nosuchmethod", []),
        mpack.packb([2, "hello", []]),
        mpack.packb([1, 7, None, True]),
        mpack.packb([0, "x", "ping", []]),
        ping + frame(8, "assess", [patients[0]]),
        ping[:3],
        b"\xdb\xff\xff\xff\xff",
        b"\x94\x00\x01\xa6assess\x91\xdd\x10\x00\x00\x00",
        b"\x94\x00\x01\xa6assess\x91\xdf\x08\x00\x00\x00",
        b"\xc1",
    ]
    for i, data in enumerate(extra_frames):
        write_seed(dec_dir, bytes([(i * 7) % 17]) + data)

    # fuzz_conn: a byte of mode (bit 0: a listener that needs the token
    # "fuzz-token"; bit 1: written in 7-byte pieces), then a client's whole
    # stream: the frames above, some patients, and authenticated sessions.
    conn_dir = os.path.join(args.out, "conn")
    auth = frame(1, "auth", ["fuzz-token"])
    for i, data in enumerate(extra_frames):
        write_seed(conn_dir, bytes([i % 4]) + data)
    for i, p in enumerate(patients[:40]):
        req = frame(i + 2, "assess", [p])
        write_seed(conn_dir, bytes([i % 4]) + (auth + req if i % 2 else req))
    for i, data in enumerate([
            auth + frame(2, "stats", []) + frame(3, "ruleset", []) + ping,
            frame(1, "auth", ["wrong"]) + ping,
            ping * 3 + auth,
            frame(1, "auth", [7]) + auth + frame(2, "assess", [patients[0]]),
            b"\x94\x00\x01\xa4ping\xdd\x00\x0f\x42\x40" + b"\xc0" * 5000]):
        write_seed(conn_dir, bytes([1 + 2 * (i % 2)]) + data)

    # suit-httpd: JSON bodies, every fifth with options, the first byte
    # cycling through ?explain= absent/false/true.
    http_dir = os.path.join(args.out, "http_request")
    for i, p in enumerate(patients):
        body = {"patient": p}
        if i % 5 == 0:
            body["options"] = {"explain": True}
        write_seed(http_dir, bytes([i % 3, (i * 37) % 256]) + json.dumps(body).encode())
    for i, raw in enumerate([
            b'{"patient": {"age": 30,, "area": "face"}}',
            b'{"patient": {"area": "fa\xffce"}}',
            b'{"patient": {"age": 1, "age": 2}}',
            b'{"patient": {}, "options": null}',
            b'{"patient": {"conditions": [[[[[[[[[[[[[[]]]]]]]]]]]]]]}}',
            b'{"patient": {"area": "x\u0000y"}, "optoins": {}}',
            b'[]', b'', b'{"patient": 1e999}']):
        write_seed(http_dir, bytes([i % 3, i * 11]) + raw)
    rule_author_seeds(args.rules, args.out)
    print("make-corpus: %d patients -> %s" % (len(patients), args.out))


def rule_author_seeds(rules, out):
    """Seeds for the rule author's inputs: ruleset text (fuzz_ruleset_text)
    in chunks of whole top-level constructs under 4 KiB (CI's -max_len),
    the manifests and policy files (fuzz_ini, after the byte that chooses
    the reader), and case files of one or three cases (fuzz_cases)."""
    top = os.path.join(HERE, "..", "..")
    text_dir = os.path.join(out, "ruleset_text")
    clp = sorted(glob.glob(os.path.join(rules, "*.clp")) +
                 glob.glob(os.path.join(top, "tests", "engine", "rulesets", "*", "*.clp")))
    for path in clp:
        with open(path, "rb") as f:
            text = f.read()
        chunk = b""
        for part in text.split(b"\n("):
            part = part if not chunk and text.startswith(part) else b"(" + part
            if len(chunk) + len(part) > 3000 and chunk:
                write_seed(text_dir, chunk)
                chunk = b""
            chunk += part + b"\n"
        if chunk.strip():
            write_seed(text_dir, chunk[:4000])
    ini_dir = os.path.join(out, "ini")
    for path in sorted(glob.glob(os.path.join(rules, "manifest.ini")) +
                       glob.glob(os.path.join(top, "tests", "engine", "rulesets", "*",
                                              "manifest.ini"))):
        with open(path, "rb") as f:
            write_seed(ini_dir, b"\x00" + f.read())
    for path in sorted(glob.glob(os.path.join(top, "examples", "policies", "*.ini")) +
                       glob.glob(os.path.join(top, "tests", "**", "*.ini"), recursive=True)):
        if os.path.basename(path) == "manifest.ini":
            continue
        with open(path, "rb") as f:
            write_seed(ini_dir, b"\x01" + f.read())
    cases_dir = os.path.join(out, "cases")
    cases = []
    for path in sorted(glob.glob(os.path.join(rules, "tests", "*.json"))):
        with open(path, encoding="utf-8") as f:
            cases.extend(json.load(f))
    for i, c in enumerate(cases):
        if i % 3 == 0:
            write_seed(cases_dir, json.dumps([c]).encode())
        if i % 15 == 0:
            write_seed(cases_dir, json.dumps(cases[i:i + 3], indent=1).encode())
    for raw in [b'[]', b'{}', b'[{"name": "x"}]', b'[{"name": 1, "patient": {}, "expect": {}}]',
                b'[{"name": "p", "patient": {}, "expect": {"verdict": "defer"}, '
                b'"policy": {"nsaid-hold-days": 1e999}}]']:
        write_seed(cases_dir, raw)


if __name__ == "__main__":
    main()
