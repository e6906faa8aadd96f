#!/bin/sh
# Install every Debian package suitd needs to build, test and run.
# Extra package names on the command line are installed too (CI adds the
# fuzzing toolchain this way).
# Idempotent: does nothing when all packages are present, and runs
# `apt-get update` only when something must be installed and the package
# lists are missing or stale. Works as root; uses sudo otherwise.
set -eu

# systemd: its systemd-socket-activate runs the socket-activation test
# (tests/packaging/socket_activation.sh); nothing is started by installing it.
PKGS="build-essential cmake pkg-config git
libuv1-dev libclips-dev libmsgpack-dev check libjansson-dev libinih-dev
libsystemd-dev nettle-dev python3 systemd"
# suit-httpd, the HTTP/JSON gateway (http/): libmicrohttpd; its tests use
# curl, and promtool (from Debian's prometheus package) checks /metrics.
PKGS="$PKGS libmicrohttpd-dev curl prometheus"
# Its CDS Hooks service (http/cds_*.c): JWS/JWK from libjose; the EHR
# simulator (tests/http/test_cds.py) signs tokens with python3-jwt and
# python3-jwcrypto and validates with python3-jsonschema.
PKGS="$PKGS libjose-dev python3-jwt python3-jwcrypto python3-jsonschema"
# logrotate runs the package's /etc/logrotate.d/suitd against a real daemon
# (tests/fault/test_decision_log.py logrotate_with_the_shipped_file).
PKGS="$PKGS logrotate"
# The consultation page's browser tests (tests/ui): Debian's Chromium,
# driven by playwright-core from npm (no browser download), with a fixed
# font so screenshots look alike; pngquant makes README's screenshot small
# (SUIT_UPDATE_DOCS=1).  Node.js and npm come with the machine (Node 20,
# which playwright-core needs); Debian's are installed only when there is
# no node at all.
PKGS="$PKGS chromium fonts-dejavu-core pngquant"
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only if they are absent or older than a day.
lists=/var/lib/apt/lists
if [ -z "$(find "$lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    $SUDO apt-get update -q
fi
echo "install-deps: installing$missing" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
