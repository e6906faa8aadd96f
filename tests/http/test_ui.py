#!/usr/bin/env python3
"""suit-httpd's consultation page at the HTTP level (issue 18): the files of
http/ui served at / and /ui/ with their types, the Content-Security-Policy
and the other headers, ETag and 304, HEAD; no directory traversal however
the path is spelt; symlinks, dot files, folders, FIFOs and unknown types
in the folder are not served; files are read once, at start; the ui
setting (auto: on for loopback only, true, false) and its failures.

The page itself, in a browser, is tests/ui.

usage: test_ui.py [CASE...]     (needs SUITD_BIN and SUIT_HTTPD_BIN)
"""
import hashlib
import os
import re
import shutil

import httpdlib
from httpdlib import Stack, case

UI_DIR = os.path.join(httpdlib.SOURCE_DIR, "http", "ui")
CSP = ("default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
       "object-src 'none'")
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
TOKEN = "ui-gateway-t0ken-of-some-length"


def ui_stack(*args, ui_dir=UI_DIR, **kw):
    return Stack(httpd_args=["--ui-dir", ui_dir] + list(args), **kw)


def with_token(stack):
    """The stack's gateway with --token-file (a non-loopback listener
    needs one)."""
    tok = os.path.join(stack.suitd.dir, "tok")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    stack.httpd.args += ["--token-file", tok]
    return stack


def read(name, folder=UI_DIR):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read()


def etag_of(data):
    return '"%s"' % hashlib.sha256(data).hexdigest()


def check_page_headers(h, what):
    assert h.get("content-security-policy") == CSP, (what, h.get("content-security-policy"))
    assert h.get("x-content-type-options") == "nosniff", (what, h)
    assert h.get("x-frame-options") == "DENY", (what, h)
    assert h.get("referrer-policy") == "no-referrer", (what, h)
    assert h.get("cross-origin-opener-policy") == "same-origin", (what, h)
    assert h.get("cross-origin-resource-policy") == "same-origin", (what, h)
    assert h.get("cache-control") == "no-cache", (what, h)
    assert "set-cookie" not in h, (what, h)


@case
def the_page_and_its_files():
    with ui_stack().start() as s:
        g = s.httpd
        index = read("index.html")
        st, h, body = g.request("GET", "/")
        assert st == 200, st
        assert h["content-type"] == "text/html; charset=utf-8", h
        check_page_headers(h, "/")
        assert body == index
        assert h["etag"] == etag_of(index), h
        # HEAD: the same headers, no body.
        st, hh, body = g.request("HEAD", "/")
        assert st == 200 and body == b"", (st, body[:50])
        assert hh["content-length"] == str(len(index)) and hh["etag"] == h["etag"], hh
        check_page_headers(hh, "HEAD /")
        names = sorted(os.listdir(UI_DIR))
        assert {"index.html", "app.js", "style.css", "print.css"} <= set(names), names
        for name in names:
            if name == "index.html":
                continue
            data = read(name)
            st, h, body = g.request("GET", "/ui/" + name)
            assert st == 200, (name, st)
            assert h["content-type"] == TYPES[os.path.splitext(name)[1]], (name, h)
            check_page_headers(h, name)
            assert body == data and h["etag"] == etag_of(data), name
        # The page is at / only: under /ui/ its relative links would break.
        assert g.request("GET", "/ui/index.html")[0] == 404
        # Every asset index.html names is served.
        for ref in re.findall(rb'(?:src|href)="(ui/[^"]+)"', index):
            assert g.request("GET", "/" + ref.decode())[0] == 200, ref
        # The page loads nothing from elsewhere and has no inline code.
        assert not re.search(rb'(?:src|href)="(?:https?:)?//', index), "an external asset"
        assert b"<script>" not in index and b"<style" not in index and b" style=" not in index
        assert not re.search(rb"\son[a-z]+=", index), "an inline event handler"
        text = g.metrics()
        for ep in ("/", "/ui/"):
            assert httpdlib.metric_value(text, "suit_httpd_requests_total",
                                         {"endpoint": ep, "status": "200"}) >= 1, ep


@case
def etag_and_not_modified():
    with ui_stack().start() as s:
        g = s.httpd
        tag = etag_of(read("app.js"))
        for inm in [tag, "W/" + tag, '"x", ' + tag, tag + ', "y"', "*"]:
            st, h, body = g.request("GET", "/ui/app.js", headers={"If-None-Match": inm})
            assert st == 304 and body == b"", (inm, st)
            assert h["etag"] == tag and h["cache-control"] == "no-cache", (inm, h)
            assert h.get("content-security-policy") == CSP, h
        for inm in ['"0000"', tag[:-2] + '"', "W/" + tag[:-1], ""]:
            st, _, body = g.request("GET", "/ui/app.js", headers={"If-None-Match": inm})
            assert st == 200 and body == read("app.js"), (inm, st)


# Spellings of "outside the folder": the gateway must never serve a byte
# of a file that is not one of the page's.  (libmicrohttpd decodes %XX
# before the lookup; a name holding '/' or '..' is simply not one the
# table knows.)
TRAVERSALS = [
    "/ui/../README.md", "/ui/%2e%2e/README.md", "/ui/..%2fREADME.md", "/ui/%2e%2e%2fREADME.md",
    "/ui/%252e%252e%252fREADME.md", "/ui/.%2e/http/httpd_ui.c", "/ui/..%5cREADME.md",
    "/ui/..\\README.md", "/ui//etc/passwd", "/ui/%2fetc%2fpasswd", "/ui/....//README.md",
    "/ui/%c0%ae%c0%ae/README.md", "/ui/./app.js", "/ui/app.js/", "/ui/app.js/.",
    "/ui/APP.JS", "/ui/", "/ui", "/../README.md", "/%2e%2e/README.md", "/ui/app.js%00.png",
    "/ui/%00", "/ui/.", "/ui/..", "/ui/%2e", "/ui/ui/app.js", "/index.html", "/ui/favicon.svg%2f",
    "/ui/../../../../../../etc/passwd", "/ui/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
]


@case
def no_directory_traversal():
    with ui_stack().start() as s:
        g = s.httpd
        outside = [read(n, httpdlib.SOURCE_DIR) for n in ("README.md",)]
        with open("/etc/passwd", "rb") as f:
            outside.append(f.read())
        for path in TRAVERSALS:
            out = g.raw(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
            m = re.match(rb"HTTP/1\.1 (\d{3}) ", out)
            assert m, (path, out[:200])
            status = int(m.group(1))
            if path == "/ui/app.js%00.png":
                # libmicrohttpd ends the decoded path at the NUL: that is
                # app.js itself, served as JavaScript, which is no leak.
                assert status in (200, 400, 404), (path, status)
                if status == 200:
                    assert b"Content-Type: text/javascript" in out, out[:400]
                continue
            assert status in (400, 404), (path, status, out[:300])
            for data in outside:
                assert data[:200] not in out, path
        # The gateway is still well.
        assert g.request("GET", "/ui/app.js")[0] == 200


@case
def only_the_folders_own_regular_files():
    with ui_stack() as s:
        d = os.path.join(s.suitd.dir, "ui")
        os.mkdir(d)
        shutil.copy(os.path.join(UI_DIR, "index.html"), d)
        with open(os.path.join(d, "ok.js"), "w") as f:
            f.write("export const ok = 1;\n")
        os.symlink("/etc/passwd", os.path.join(d, "leak.js"))
        os.symlink(os.path.join(d, "ok.js"), os.path.join(d, "alias.js"))
        os.mkdir(os.path.join(d, "sub.js"))
        with open(os.path.join(d, "sub.js", "inner.js"), "w") as f:
            f.write("1")
        with open(os.path.join(d, ".hidden.js"), "w") as f:
            f.write("1")
        with open(os.path.join(d, "notes.md"), "w") as f:
            f.write("# not a page file\n")
        with open(os.path.join(d, "has space.js"), "w") as f:
            f.write("1")
        os.mkfifo(os.path.join(d, "pipe.js"))    # opening it must not hang the start
        s.httpd.args[s.httpd.args.index("--ui-dir") + 1] = d
        s.start()
        g = s.httpd
        assert g.request("GET", "/ui/ok.js")[0] == 200
        for name in ["leak.js", "alias.js", "sub.js", "sub.js/inner.js", ".hidden.js", "notes.md",
                     "has%20space.js", "pipe.js"]:
            st, _, body = g.request("GET", "/ui/" + name)
            assert st == 404, (name, st)
            assert b"root:" not in body
        log = g.log_text()
        for name, why in [("leak.js", "a symlink"), ("alias.js", "a symlink"),
                          ("sub.js", "not a regular file"), ("pipe.js", "not a regular file"),
                          ("notes.md", "not a type the page is made of"),
                          (".hidden.js", "not starting with '.'"), ("has space.js", "letters, digits")]:
            assert re.search(r"warn: ui_dir .*: %s is not served \(.*%s" % (re.escape(name), re.escape(why)),
                             log), (name, log)
        # Read once, at start: a file added later is not served.
        with open(os.path.join(d, "later.js"), "w") as f:
            f.write("1")
        assert g.request("GET", "/ui/later.js")[0] == 404


@case
def ui_setting():
    # auto on loopback: served; false: the paths do not exist.
    with ui_stack("--ui=false").start() as s:
        st, h, res = s.httpd.json("GET", "/")
        assert st == 404 and res["error"]["message"] == "no such endpoint: /", (st, res)
        st = s.httpd.request("GET", "/ui/app.js")[0]
        assert st == 404, st
        assert "consultation page" not in s.httpd.log_text(), s.httpd.log_text()
        # Counted when the answer has gone out, which the client may see
        # first.
        httpdlib.wait_until(lambda: httpdlib.metric_value(
            s.httpd.metrics(), "suit_httpd_requests_total",
            {"endpoint": "other", "status": "404"}) == 2, what="both 404s counted as other")
    with ui_stack().start() as s:
        assert "ui: the consultation page is at /" in s.httpd.log_text(), s.httpd.log_text()
        st = s.httpd.request("GET", "/")[0]
        assert st == 200, st
    # Not loopback: off unless asked for; asked for, no token is needed for
    # the page, but the API still wants it.
    with with_token(ui_stack(listen="0.0.0.0:0")) as s:
        s.start()
        st = s.httpd.request("GET", "/")[0]
        assert st == 404, ("not loopback: no page unless --ui", st)
    with with_token(ui_stack("--ui", listen="0.0.0.0:0")) as s:
        s.start()
        got = [s.httpd.request("GET", p)[0] for p in ("/", "/ui/app.js")]
        got.append(s.httpd.json("GET", "/v1/ruleset")[0])
        got.append(s.httpd.json("GET", "/v1/ruleset",
                                headers={"Authorization": "Bearer " + TOKEN})[0])
        assert got == [200, 200, 401, 200], got


@case
def methods_and_query():
    with ui_stack().start() as s:
        g = s.httpd
        st, h, res = g.json("POST", "/", body={"x": 1})
        assert st == 405 and h["allow"] == "OPTIONS, GET, HEAD", (st, h)
        assert g.request("DELETE", "/ui/app.js")[0] == 405
        st, _, res = g.json("GET", "/?x=1")
        assert st == 400 and res["error"]["data"]["field"] == "x", res


@case
def page_folder_refused_at_start():
    missing = "/nonexistent/suitd-ui"
    # Asked for: the gateway does not start, and says why.
    with ui_stack("--ui", ui_dir=missing) as s:
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 1, s.httpd.log_text()
        assert "error: ui: %s: No such file or directory" % missing in s.httpd.log_text(), s.httpd.log_text()
    # auto: the API is served without the page, and a warning says so.
    with ui_stack(ui_dir=missing).start() as s:
        assert "the consultation page is off" in s.httpd.log_text(), s.httpd.log_text()
        assert s.httpd.request("GET", "/")[0] == 404
        assert s.httpd.assess()[0] == 200
    # A folder without index.html.
    with ui_stack("--ui") as s:
        d = os.path.join(s.suitd.dir, "empty")
        os.mkdir(d)
        s.httpd.args[s.httpd.args.index("--ui-dir") + 1] = d
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 1, s.httpd.log_text()
        assert "holds no index.html" in s.httpd.log_text(), s.httpd.log_text()
    # A file over the size limit (1 MiB).
    with ui_stack("--ui") as s:
        d = os.path.join(s.suitd.dir, "big")
        os.mkdir(d)
        shutil.copy(os.path.join(UI_DIR, "index.html"), d)
        with open(os.path.join(d, "big.js"), "wb") as f:
            f.write(b"/" * ((1 << 20) + 1))
        s.httpd.args[s.httpd.args.index("--ui-dir") + 1] = d
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 1, s.httpd.log_text()
        assert "big.js: 1048577 bytes, over the limit of 1048576" in s.httpd.log_text(), s.httpd.log_text()
    # More files than the page may have (64), or more bytes in all (8 MiB).
    for what, files, want in [("many", [("f%02d.js" % i, b"1") for i in range(64)], "more than 64 files"),
                              ("heavy", [("h%d.js" % i, b"/" * (1 << 20)) for i in range(8)],
                               "the files add up to more than 8388608 bytes")]:
        with ui_stack("--ui") as s:
            d = os.path.join(s.suitd.dir, what)
            os.mkdir(d)
            shutil.copy(os.path.join(UI_DIR, "index.html"), d)
            for name, data in files:
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
            s.httpd.args[s.httpd.args.index("--ui-dir") + 1] = d
            s.httpd.start(expect_ready=False)
            assert s.httpd.wait_exit(10) == 1, (what, s.httpd.log_text())
            assert want in s.httpd.log_text(), (what, s.httpd.log_text())
    # A bad value.
    with ui_stack("--ui=maybe") as s:
        s.httpd.start(expect_ready=False)
        assert s.httpd.wait_exit(10) == 2, s.httpd.log_text()
        assert "--ui: expected true, false or auto, got 'maybe'" in s.httpd.log_text(), s.httpd.log_text()


@case
def the_scripts_build_no_markup_and_store_nothing():
    # What the page shows comes from the ruleset and the answers, which are
    # data: it never goes in as markup, and nothing is kept in the browser.
    banned = ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
              "new Function", "localStorage", "sessionStorage", "document.cookie", "indexedDB",
              "caches.", "serviceWorker", "http://", "https://"]
    scripts = [n for n in os.listdir(UI_DIR) if n.endswith(".js")]
    assert len(scripts) >= 5, scripts
    for name in scripts:
        text = read(name).decode()
        code = re.sub(r"//[^\n]*", "", text)       # comments may name them
        for b in banned:
            assert b not in code, "%s uses %s" % (name, b)
    for name in os.listdir(UI_DIR):
        if name.endswith(".css"):
            css = read(name).decode()
            assert "@import" not in css and "url(" not in css, name


if __name__ == "__main__":
    httpdlib.run("http_ui")
