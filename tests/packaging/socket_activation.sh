#!/bin/sh
# socket_activation.sh: suitd under socket activation, as packaging/suitd.socket
# sets it up, with systemd-socket-activate(1) (Debian's systemd package)
# standing in for systemd: it binds a Unix socket and a loopback TCP socket,
# waits for the first connection, and execs the real daemon with both
# (LISTEN_FDS=2).  Requests must be answered on both, the admin method
# accepted on the Unix one only, the daemon's own socket settings ignored,
# and systemd's socket file left in place at exit (it is systemd's to
# remove, RemoveOnStop=).
#
# usage: socket_activation.sh SUITD SUIT RULES
# Exit 0 pass, 1 fail, 77 skipped (no systemd-socket-activate).
set -eu
SUITD=$1 SUIT=$2 RULES=$3

if ! command -v systemd-socket-activate >/dev/null 2>&1; then
    echo "socket_activation: SKIPPED: systemd-socket-activate not installed" \
         "(package systemd; packaging/install-deps.sh installs it)"
    exit 77
fi

TMP=$(mktemp -d /tmp/suitd-sa-XXXXXX)
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "socket_activation: FAIL: $*" >&2
    [ -f "$TMP/suitd.log" ] && sed 's/^/  log: /' "$TMP/suitd.log" >&2
    exit 1
}
ok() { echo "  ok: $*"; }

# The shipped unit must still have one Unix and one loopback TCP listener;
# the test uses the same kinds, on private addresses.
unit=$(dirname "$0")/../../packaging/suitd.socket
grep -qx 'ListenStream=/run/suitd/suitd.sock' "$unit" || fail "suitd.socket has no Unix ListenStream"
grep -qx 'ListenStream=127.0.0.1:7433' "$unit" || fail "suitd.socket has no loopback TCP ListenStream"

SOCK=$TMP/suitd.sock
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Settings the passed sockets must override (as suitd.conf's socket= does
# under the unit).
printf '[suitd]\nsocket = %s/own.sock\nlisten = 127.0.0.1:1\nrules = %s\n' "$TMP" "$RULES" >"$TMP/suitd.conf"

systemd-socket-activate -l "$SOCK" -l "127.0.0.1:$PORT" -E SUITD_ALLOW_ROOT=1 \
    "$SUITD" serve --config "$TMP/suitd.conf" --workers 2 >"$TMP/suitd.log" 2>&1 &
pid=$!
i=0
until [ -S "$SOCK" ]; do
    kill -0 "$pid" 2>/dev/null || fail "systemd-socket-activate exited"
    i=$((i + 1)); [ "$i" -le 100 ] || fail "no socket after 10 s"
    sleep 0.1
done
grep -q "Execing" "$TMP/suitd.log" && fail "the daemon ran before the first connection"

# The first connection starts the daemon (it loads the ruleset first).
"$SUIT" --socket "$SOCK" --timeout 60 ping >"$TMP/ping.txt" || fail "suit ping over the Unix socket"
grep -q " is up " "$TMP/ping.txt" || fail "ping: $(cat "$TMP/ping.txt")"
ok "Unix socket: the first connection started the daemon, which answered"
"$SUIT" --connect "127.0.0.1:$PORT" ping >/dev/null || fail "suit ping over TCP"
ok "TCP socket answered"
rc=0
"$SUIT" --connect "127.0.0.1:$PORT" check --age 30 --pregnant yes --breastfeeding no \
    --fitzpatrick 2 --area face --indication acne-scars >/dev/null || rc=$?
[ "$rc" -eq 5 ] || fail "check over TCP exited $rc, not 5 (contraindicated)"
rc=0
"$SUIT" --socket "$SOCK" check --age 30 --pregnant no --breastfeeding no \
    --fitzpatrick 2 --area face --indication acne-scars >/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "check over the Unix socket exited $rc, not 0 (suitable)"
ok "assessments answered on both"

# Which fd is which was told apart: reload is admin, Unix only.
"$SUIT" --socket "$SOCK" reload >/dev/null || fail "reload over the passed Unix socket"
rc=0
"$SUIT" --connect "127.0.0.1:$PORT" reload >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 77 ] || fail "reload over the passed TCP socket exited $rc, not 77 (refused)"
ok "reload accepted on the Unix socket, refused on TCP"

grep -q "using 2 socket(s) from systemd" "$TMP/suitd.log" || fail "no 'using 2 socket(s) from systemd'"
grep -q "listening on unix:$SOCK\$" "$TMP/suitd.log" || fail "not listening on unix:$SOCK"
grep -q "listening on tcp:127.0.0.1:$PORT\$" "$TMP/suitd.log" || fail "not listening on tcp:127.0.0.1:$PORT"
[ ! -e "$TMP/own.sock" ] || fail "the daemon bound its own socket as well"
ok "the daemon used the passed sockets and none of its own"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || fail "suitd exited $rc on SIGTERM"
[ -S "$SOCK" ] || fail "the daemon removed systemd's socket file"
ok "SIGTERM: clean exit, systemd's socket file left to systemd"
echo "socket_activation: PASS"
