#!/bin/sh
# test-package.sh: build the suitd Debian package, inspect it, install it on
# this machine, run the installed daemon against the installed ruleset, query
# it with the installed client, run it the way its units say (socket
# activation, the suitd group, ExecReload=), then purge it and check nothing
# is left.
#
# usage: sh packaging/test-package.sh [--lintian] [--keep]
#   --lintian  install lintian if missing and fail on its errors and warnings
#              (without it, lintian runs only when already installed)
#   --keep     leave the package installed at the end
#
# Runs as root (or through sudo for the apt/dpkg steps).  Builds in build-pkg/.
# No running systemd is needed: the daemon is started by hand on a private
# socket, then under systemd-socket-activate(1) on the units' own addresses
# (/run/suitd/suitd.sock and 127.0.0.1:7433, which must be free), standing in
# for suitd.socket and suitd.service.  It creates two throw-away users for
# the group checks and removes them.  Exits non-zero on the first failure.
set -eu
# A test rig run as root: its daemons use root-owned temporary directories,
# so let them stay root (suitd otherwise refuses root without --user).
export SUITD_ALLOW_ROOT=1

want_lintian=0
keep=0
for arg in "$@"; do
    case "$arg" in
        --lintian) want_lintian=1 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "test-package: unknown option $arg" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
SRC=$(pwd)
BUILD=$SRC/build-pkg
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n=== %s\n' "$*"; }
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

TMP=$(mktemp -d)
daemon_pid=""
notify_pid=""
activated_pid=""
made_run_dir=0
test_users=""
policy_backup=""
httpd_job=""
httpd_pid=""
installed=0
cleanup() {
    status=$?
    if [ -n "$httpd_job" ]; then
        kill "$httpd_pid" "$httpd_job" 2>/dev/null || true
    fi
    for p in $daemon_pid $activated_pid; do
        if kill -0 "$p" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    if [ -n "$notify_pid" ]; then
        kill "$notify_pid" 2>/dev/null || true
    fi
    if [ -n "$policy_backup" ] && [ -f "$policy_backup" ]; then
        $SUDO cp "$policy_backup" /etc/suitd/policy.ini || true
    fi
    $SUDO rm -f /etc/suitd/policies/pkgtest.ini 2>/dev/null || true
    if [ "$made_run_dir" -eq 1 ]; then
        $SUDO rm -f /run/suitd/suitd.sock
        $SUDO rmdir /run/suitd 2>/dev/null || true
    fi
    for u in $test_users; do
        $SUDO userdel "$u" >/dev/null 2>&1 || true
    done
    if [ "$installed" -eq 1 ] && [ "$keep" -eq 0 ]; then
        $SUDO dpkg --purge suitd >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
    if [ "$status" -eq 0 ]; then echo "test-package: PASS"; else echo "test-package: FAILED (status $status)" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Tools used only for packaging, never for building suitd itself.
need_pkgs=""
command -v dpkg-shlibdeps >/dev/null 2>&1 || need_pkgs="$need_pkgs dpkg-dev"
command -v cpack >/dev/null 2>&1 || need_pkgs="$need_pkgs cmake"
command -v objdump >/dev/null 2>&1 || need_pkgs="$need_pkgs binutils"
command -v groff >/dev/null 2>&1 || need_pkgs="$need_pkgs groff-base"
command -v man >/dev/null 2>&1 || need_pkgs="$need_pkgs man-db"
command -v python3 >/dev/null 2>&1 || need_pkgs="$need_pkgs python3"
if [ "$want_lintian" -eq 1 ] && ! command -v lintian >/dev/null 2>&1; then
    need_pkgs="$need_pkgs lintian"
fi
if [ -n "$need_pkgs" ]; then
    step "installing packaging tools:$need_pkgs"
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $need_pkgs
fi

# --------------------------------------------------------------------------
step "source consistency"
# policy.ini must list exactly the parameters the bundled ruleset defines.
clp_names=$(sed -n 's/.*(policy (name \([a-z0-9-]*\)).*/\1/p' rules/policy.clp | sort)
ini_names=$(sed -n 's/^; \([a-z][a-z0-9-]*\) = [0-9.]*$/\1/p' packaging/policy.ini | sort)
[ -n "$clp_names" ] || fail "no policy parameters found in rules/policy.clp"
[ "$clp_names" = "$ini_names" ] || {
    echo "$clp_names" >"$TMP/clp"; echo "$ini_names" >"$TMP/ini"
    diff -u "$TMP/clp" "$TMP/ini" >&2 || true
    fail "packaging/policy.ini does not list the parameters of rules/policy.clp"
}
ok "policy.ini lists the $(echo "$clp_names" | wc -l) parameters of rules/policy.clp"
for key in socket listen token_file rules policy workers max_connections \
    max_message max_inflight max_queue idle_timeout request_timeout max_output \
    max_firings rule_deadline shutdown_timeout reload_timeout log_level log_facts \
    decision_log user start_with_failing_cases policy_dir policy_environments; do
    grep -Eq "^;? ?$key =" packaging/suitd.conf || fail "suitd.conf does not document $key"
    grep -q "^\.B $key\$" packaging/suitd.conf.5 || fail "suitd.conf(5) does not document $key"
done
ok "suitd.conf and suitd.conf(5) document every setting"
for page in packaging/suitd.8 packaging/suitd.conf.5 packaging/suit.1 packaging/suit-bench.1 packaging/suit-httpd.8; do
    [ -f "$page" ] || fail "$page is missing"
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warnings" ] || { echo "$warnings" >&2; fail "groff warnings in $page"; }
done
ok "man pages format without groff warnings"
# systemd bounds ExecReload= by TimeoutStartSec=: it must outlast suit
# reload's own --timeout, so that suit's message says what happened.
reload_wait=$(sed -n 's/^ExecReload=.* --timeout \([0-9]*\).*/\1/p' packaging/suitd.service)
start_timeout=$(sed -n 's/^TimeoutStartSec=\([0-9]*\)s$/\1/p' packaging/suitd.service)
[ -n "$reload_wait" ] && [ -n "$start_timeout" ] || fail "suitd.service: no ExecReload= --timeout or TimeoutStartSec="
[ "$start_timeout" -gt "$reload_wait" ] || fail "TimeoutStartSec=${start_timeout}s does not outlast suit reload --timeout $reload_wait"
grep -q "^#define CLI_RELOAD_TIMEOUT_S $reload_wait\.0\$" client/cli_args.h \
    || fail "suit reload's default timeout differs from the unit's --timeout $reload_wait"
# The daemon abandons a reload before suit stops waiting for it, so the
# daemon's timeout error, not suit's, says what happened.
daemon_wait=$(sed -n 's/^; reload_timeout = \([0-9]*\)$/\1/p' packaging/suitd.conf)
if [ -z "$daemon_wait" ] || [ "$daemon_wait" -ge "$reload_wait" ]; then
    fail "suitd.conf's reload_timeout (${daemon_wait:-none}) is not below suit reload --timeout $reload_wait"
fi
ok "reload: suitd gives up after ${daemon_wait} s, suit waits ${reload_wait} s, systemd ${start_timeout} s"

# --------------------------------------------------------------------------
step "build the package"
# Debian's hardening flags (fortify, stack protector, relro, bindnow), and
# --as-needed so Depends lists only libraries whose symbols are used.
CFLAGS="$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CFLAGS) $(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS) -Wl,--as-needed"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >"$TMP/configure.log" 2>&1 \
    || { cat "$TMP/configure.log" >&2; fail "cmake configure"; }
# Only what the package holds: the tests are built and run by CI elsewhere.
cmake --build "$BUILD" -j2 --target suitd suit suit-bench suit-httpd suitd-package-files \
    || fail "cmake --build (suitd, suit, suit-bench, suit-httpd)"
rm -f "$BUILD"/suitd_*.deb
(cd "$BUILD" && cpack -G DEB) >"$TMP/cpack.log" 2>&1 || { cat "$TMP/cpack.log" >&2; fail "cpack -G DEB"; }
if grep -E "dpkg-shlibdeps: warning|could avoid a useless dependency" "$TMP/cpack.log" >&2; then
    fail "dpkg-shlibdeps warnings (see above): Depends would not be minimal"
fi
set -- "$BUILD"/suitd_*.deb
[ -f "$1" ] || fail "cpack produced no suitd_*.deb"
DEB=$1
ok "built $(basename "$DEB")"

# --------------------------------------------------------------------------
step "inspect the package"
dpkg-deb -I "$DEB" >"$TMP/info"
dpkg-deb -f "$DEB" >"$TMP/control"
cat "$TMP/control"
field() { sed -n "s/^$1: //p" "$TMP/control"; }
[ "$(field Package)" = suitd ] || fail "Package is not suitd"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ "$(field Section)" = science ] || fail "Section"
depends=$(field Depends)
[ -n "$depends" ] || fail "empty Depends: dpkg-shlibdeps did not run"
echo "$depends" | grep -q "libc6 (>=" || fail "Depends lacks a versioned libc6"
case "$depends" in
    *-dev*|*clips*|*cmake*|*check*) fail "Depends names a build-only package: $depends" ;;
esac
# Every dependency must provide a library that suitd or suit really loads.
dpkg-deb -x "$DEB" "$TMP/root"
needed=$(for f in "$TMP/root/usr/sbin/suitd" "$TMP/root/usr/bin/suit" "$TMP/root/usr/bin/suit-bench" "$TMP/root/usr/sbin/suit-httpd"; do
    objdump -p "$f" | sed -n 's/^ *NEEDED *//p'; done | sort -u)
echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//; s/:.*//' | while read -r dep; do
    [ -n "$dep" ] || continue
    used=0
    for lib in $needed; do
        if dpkg -S "*/$lib" 2>/dev/null | grep -q "^$dep\(:[a-z0-9]*\)\?:"; then used=1; fi
    done
    [ "$used" -eq 1 ] || fail "Depends on $dep, but no NEEDED library comes from it"
done
ok "Depends is exact: $depends"
for f in $(dpkg-deb --ctrl-tarfile "$DEB" | tar -t | sed 's|^\./||' | grep .); do echo "$f"; done >"$TMP/ctrl-files"
for f in control md5sums conffiles postinst prerm postrm; do
    grep -qx "$f" "$TMP/ctrl-files" || fail "control archive lacks $f"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$TMP/conffiles"
printf '/etc/suitd/suitd.conf\n/etc/suitd/policy.ini\n/etc/suitd/suit-httpd.conf\n/etc/suitd/policies/clinic.ini.example\n/etc/logrotate.d/suitd\n' \
    | diff -u - "$TMP/conffiles" \
    || fail "conffiles is not exactly suitd.conf, policy.ini, suit-httpd.conf, policies/clinic.ini.example and logrotate.d/suitd"
ok "control archive: md5sums, conffiles, maintainer scripts"

dpkg-deb -c "$DEB" | awk '{print $1, $2, $6}' | sed 's| \./| /|' >"$TMP/contents"
DOCS="/usr/share/doc/suitd/README.md.gz /usr/share/doc/suitd/SECURITY.md.gz
/usr/share/doc/suitd/PROTOCOL.md.gz /usr/share/doc/suitd/CDS-HOOKS.md.gz
/usr/share/doc/suitd/rules/README.md.gz
/usr/share/doc/suitd/rules/REFERENCE.md.gz /usr/share/doc/suitd/rules/CONTRACT.md.gz
/usr/share/doc/suitd/examples/patient.json"
# The consultation page, as suit-httpd serves it (http/ui: every file).
UI_FILES=$(cd "$SRC/http/ui" && for f in *; do printf '/usr/share/suitd/ui/%s ' "$f"; done)
expect="/usr/sbin/suitd /usr/bin/suit /usr/bin/suit-bench /usr/share/suitd/rules/manifest.ini
/usr/share/suitd/rules/policy.clp /usr/share/suitd/rules/REFERENCE.md
/usr/share/suitd/rules/terminology.tsv
/etc/suitd/suitd.conf /etc/suitd/policy.ini /etc/suitd/policies/clinic.ini.example
/lib/systemd/system/suitd.service /lib/systemd/system/suitd.socket
/usr/lib/sysusers.d/suitd.conf /usr/share/man/man8/suitd.8.gz
/usr/share/man/man5/suitd.conf.5.gz /usr/share/man/man1/suit.1.gz
/usr/share/man/man1/suit-bench.1.gz
/usr/share/doc/suitd/copyright /usr/share/doc/suitd/changelog.Debian.gz $DOCS
/usr/sbin/suit-httpd /lib/systemd/system/suit-httpd.service /etc/suitd/suit-httpd.conf
/usr/share/man/man8/suit-httpd.8.gz /etc/logrotate.d/suitd $UI_FILES"
for f in $expect; do
    grep -q " $f\$" "$TMP/contents" || fail "package lacks $f"
done
ls "$TMP"/root/usr/share/suitd/rules/tests/*.json >/dev/null 2>&1 \
    || fail "package lacks the ruleset's test cases (reload runs them)"
# Nothing else may sneak in (test binaries, headers, static libraries).
unexpected=$(awk '{print $3}' "$TMP/contents" | grep -v '/$' | grep -Ev \
    '^/(usr/sbin/suitd|usr/bin/suit|usr/bin/suit-bench|usr/sbin/suit-httpd|usr/share/suitd/rules/.*|usr/share/suitd/ui/[a-z]+\.(html|css|js|svg)|etc/suitd/(suitd\.conf|policy\.ini|suit-httpd\.conf|policies/clinic\.ini\.example)|etc/logrotate\.d/suitd|lib/systemd/system/(suitd\.(service|socket)|suit-httpd\.service)|usr/lib/sysusers\.d/suitd\.conf|usr/share/man/man[158]/[a-z.-]+\.[158]\.gz|usr/share/doc/suitd/(copyright|changelog\.Debian\.gz|(rules/)?[A-Z]+(-[A-Z]+)?\.md\.gz|examples/patient\.json)|usr/share/lintian/overrides/suitd)$' || true)
[ -z "$unexpected" ] || { echo "$unexpected" >&2; fail "unexpected files in the package"; }
grep -E '^-rwx' "$TMP/contents" | awk '{print $3}' | sort >"$TMP/exec"
printf '/usr/bin/suit\n/usr/bin/suit-bench\n/usr/sbin/suit-httpd\n/usr/sbin/suitd\n' | diff -u - "$TMP/exec" || fail "executables other than suitd, suit, suit-bench and suit-httpd"
awk '$2 != "root/root" {print}' "$TMP/contents" | grep . && fail "files not owned by root/root"
for gz in "$TMP"/root/usr/share/man/man*/*.gz $(find "$TMP/root/usr/share/doc/suitd" -name '*.gz'); do
    # gzip -n: no original name (FLG bit 3) and a zero timestamp.
    hdr=$(od -An -tx1 -N8 "$gz" | tr -d ' \n')
    [ "$(echo "$hdr" | cut -c7-8)" = 00 ] || fail "$gz stores a file name (not gzip -n)"
    [ "$(echo "$hdr" | cut -c9-16)" = 00000000 ] || fail "$gz stores a timestamp (not gzip -n)"
    gzip -t "$gz" || fail "$gz is not valid gzip"
done
for f in "$TMP/root/usr/sbin/suitd" "$TMP/root/usr/bin/suit" "$TMP/root/usr/bin/suit-bench" "$TMP/root/usr/sbin/suit-httpd"; do
    readelf -S "$f" | grep -q '\.symtab' && fail "$f is not stripped"
    # Debian's hardening: PIE, full RELRO (relro + bindnow), fortified calls.
    readelf -h "$f" | grep -q 'Type: *DYN' || fail "$f is not PIE"
    readelf -l "$f" | grep -q 'GNU_RELRO' || fail "$f lacks RELRO"
    readelf -d "$f" | grep -q 'BIND_NOW' || fail "$f lacks BIND_NOW"
    readelf -W --dyn-syms "$f" | grep -q '__[a-z]*_chk' || fail "$f uses no fortified functions"
done
# The documentation the README promises, readable as shipped.
for f in $DOCS; do
    case "$f" in
        *.gz) zcat "$TMP/root$f" | head -n 1 | grep -q '^# ' || fail "$f does not start with a Markdown title" ;;
    esac
done
cmp -s "$TMP/root/usr/lib/sysusers.d/suitd.conf" packaging/suitd.sysusers || fail "sysusers.d/suitd.conf is not packaging/suitd.sysusers"
cmp -s "$TMP/root/etc/logrotate.d/suitd" packaging/suitd.logrotate || fail "logrotate.d/suitd is not packaging/suitd.logrotate"
if command -v logrotate >/dev/null 2>&1; then
    logrotate -d "$TMP/root/etc/logrotate.d/suitd" >"$TMP/logrotate.log" 2>&1 \
        || { cat "$TMP/logrotate.log" >&2; fail "logrotate -d refuses logrotate.d/suitd"; }
fi
ok "contents: binaries (stripped, PIE, full RELRO, fortified), ruleset, units, sysusers.d, conffiles, man pages, documentation, copyright, changelog"

if command -v lintian >/dev/null 2>&1; then
    step "lintian"
    lintian --info --display-info --fail-on error,warning "$DEB" || fail "lintian"
    ok "lintian clean (overrides: packaging/lintian-overrides)"
else
    echo "  (lintian not installed: skipped; use --lintian)"
fi

# --------------------------------------------------------------------------
step "install"
if dpkg-query -W -f='${Status}' suitd 2>/dev/null | grep -q "ok installed"; then
    $SUDO dpkg --purge suitd
fi
installed=1
$SUDO apt-get install -y -q --no-install-recommends "$DEB" || fail "apt-get install $DEB"
for f in /usr/sbin/suitd /usr/bin/suit /usr/bin/suit-bench /usr/share/suitd/rules/manifest.ini \
    /etc/suitd/suitd.conf /etc/suitd/policy.ini /lib/systemd/system/suitd.service \
    /lib/systemd/system/suitd.socket /usr/lib/sysusers.d/suitd.conf \
    /usr/sbin/suit-httpd /etc/suitd/suit-httpd.conf /lib/systemd/system/suit-httpd.service; do
    [ -e "$f" ] || fail "$f not installed"
done
getent group suitd >/dev/null || fail "postinst did not create the suitd group (systemd-sysusers)"
ok "postinst created the system group suitd (gid $(getent group suitd | cut -d: -f3))"
# Minimal images (Docker's debian) tell dpkg to drop man pages on unpack.
if grep -qs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    echo "  (dpkg here excludes /usr/share/man: man page check skipped)"
else
    man -w suitd >/dev/null && man -w suitd.conf >/dev/null && man -w suit >/dev/null \
        && man -w suit-bench >/dev/null && man -w suit-httpd >/dev/null \
        || fail "man cannot find suitd(8), suitd.conf(5), suit(1), suit-bench(1) or suit-httpd(8)"
fi
# Reinstalling runs postinst with a previous version, the upgrade path.
$SUDO dpkg -i "$DEB" >/dev/null || fail "reinstall (upgrade path)"
ok "installed $(dpkg-query -W -f='${Package} ${Version}' suitd)"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify /lib/systemd/system/suitd.socket /lib/systemd/system/suitd.service \
        || fail "systemd-analyze verify of the installed units"
    systemd-analyze security --offline=true /lib/systemd/system/suitd.service | tail -n 1
    systemd-analyze verify /lib/systemd/system/suit-httpd.service \
        || fail "systemd-analyze verify of the installed suit-httpd unit"
    systemd-analyze security --offline=true /lib/systemd/system/suit-httpd.service | tail -n 1
fi

# --------------------------------------------------------------------------
step "run the installed suitd against the installed ruleset"
/usr/sbin/suitd --version || fail "suitd --version"
/usr/sbin/suitd check /usr/share/suitd/rules || fail "suitd check of the installed ruleset"
/usr/sbin/suitd test /usr/share/suitd/rules >"$TMP/test.log" 2>&1 \
    || { tail -n 30 "$TMP/test.log" >&2; fail "suitd test of the installed ruleset"; }
tail -n 1 "$TMP/test.log"

SOCK=$TMP/suitd.sock
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The shipped configuration, with the socket and port moved out of the way
# of any system instance (command-line flags win over the file).
# Stand in for systemd's notification socket: Type=notify needs READY=1.
python3 - "$TMP/notify" "$TMP/notify.txt" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as out:
    try:
        while True:
            msg = s.recv(4096).decode()
            out.write(msg.replace("\n", " ") + "\n")
            out.flush()
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
EOF
notify_pid=$!
i=0
until [ -S "$TMP/notify" ]; do
    i=$((i + 1)); [ "$i" -le 50 ] || fail "notify listener did not start"
    sleep 0.1
done
NOTIFY_SOCKET=$TMP/notify /usr/sbin/suitd serve --config /etc/suitd/suitd.conf --socket "$SOCK" \
    --listen "127.0.0.1:$PORT" --workers 2 >"$TMP/suitd.log" 2>&1 &
daemon_pid=$!
i=0
until [ -S "$SOCK" ]; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$TMP/suitd.log" >&2; fail "suitd exited at start"; }
    i=$((i + 1)); [ "$i" -le 100 ] || { cat "$TMP/suitd.log" >&2; fail "no socket after 10 s"; }
    sleep 0.1
done
ok "suitd serving on $SOCK and 127.0.0.1:$PORT (pid $daemon_pid)"
i=0
until grep -q "READY=1" "$TMP/notify.txt" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -le 50 ] || fail "no READY=1 on NOTIFY_SOCKET (Type=notify would time out)"
    sleep 0.1
done
ok "sd_notify READY=1 received"

/usr/bin/suit --socket "$SOCK" ping || fail "suit ping over the Unix socket"
/usr/bin/suit --connect "127.0.0.1:$PORT" ping || fail "suit ping over TCP"
rc=0
/usr/bin/suit --socket "$SOCK" check --json --age 34 --pregnant no --breastfeeding no \
    --fitzpatrick 2 --area face --indication acne-scars >"$TMP/result.json" || rc=$?
# Exit status is the verdict class (0 suitable .. 5 contraindicated, see
# suit(1)); 64 and above are usage, connection and protocol errors.
[ "$rc" -le 5 ] || { cat "$TMP/result.json" >&2; fail "suit check --json exited $rc"; }
python3 - "$TMP/result.json" "$rc" <<'EOF' || fail "suit check --json did not return a result"
import json, sys
r = json.load(open(sys.argv[1]))
codes = {"suitable": 0, "suitable-with-precautions": 1, "incomplete": 2, "defer": 3,
         "refer": 4, "contraindicated": 5}
assert r["verdict"] in codes, r["verdict"]
assert codes[r["verdict"]] == int(sys.argv[2]), ("exit status", sys.argv[2], "for", r["verdict"])
print("  verdict:", r["verdict"], "| findings:", len(r.get("findings", [])))
EOF
# The readable report of a clear contraindication, as staff would see it.
rc=0
/usr/bin/suit --socket "$SOCK" check --age 30 --pregnant yes --breastfeeding no \
    --fitzpatrick 3 --area face --indication acne-scars >"$TMP/report.txt" || rc=$?
head -n 5 "$TMP/report.txt"
[ "$rc" -eq 5 ] || fail "suit check of a pregnant patient exited $rc, not 5 (contraindicated)"
grep -qi "contraindicated" "$TMP/report.txt" || fail "pregnant patient not reported contraindicated"
ok "suit ping and suit check answered by the installed daemon"

# The installed gateway, with the shipped configuration, in front of the
# installed daemon: health, readiness, an assessment, metrics.  Under strace
# when it is there, to hold its system calls to its unit's filter.
HPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trace=""
command -v strace >/dev/null 2>&1 && trace="strace -f -qq -o $TMP/strace-httpd.log"
$trace /usr/sbin/suit-httpd --config /etc/suitd/suit-httpd.conf --suitd "$SOCK" \
    --listen "127.0.0.1:$HPORT" --threads 2 >"$TMP/suit-httpd.log" 2>&1 &
httpd_job=$!
httpd_pid=$httpd_job
i=0
until grep -q "suit-httpd: ready" "$TMP/suit-httpd.log" 2>/dev/null; do
    kill -0 "$httpd_pid" 2>/dev/null || { cat "$TMP/suit-httpd.log" >&2; fail "suit-httpd exited at start"; }
    i=$((i + 1)); [ "$i" -le 100 ] || { cat "$TMP/suit-httpd.log" >&2; fail "suit-httpd not ready after 10 s"; }
    sleep 0.1
done
H=http://127.0.0.1:$HPORT
curl -sf "$H/healthz" >/dev/null || fail "GET /healthz"
curl -sf "$H/readyz" | grep -q '"ready":true' || fail "GET /readyz is not ready"
curl -sf -H 'Content-Type: application/json' -d '{"patient": {"age": 30, "pregnant": true,
    "breastfeeding": false, "fitzpatrick": 3, "area": "face", "indication": "acne-scars"}}' \
    "$H/v1/assess" >"$TMP/http-result.json" || fail "POST /v1/assess"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["verdict"] == "contraindicated" else "verdict %s" % r["verdict"])' \
    "$TMP/http-result.json" || fail "POST /v1/assess: a pregnant patient is not contraindicated"
# The consultation page, from the installed files (on: loopback).
curl -sfI "$H/" >"$TMP/ui-head.txt" || fail "GET / (the consultation page)"
grep -qi "^content-security-policy: default-src 'self'" "$TMP/ui-head.txt" \
    || fail "GET / lacks its Content-Security-Policy"
curl -sf "$H/ui/app.js" | cmp -s - "$SRC/http/ui/app.js" || fail "GET /ui/app.js is not the shipped app.js"
curl -sf "$H/metrics" >"$TMP/metrics.txt" || fail "GET /metrics"
grep -q '^suitd_ruleset_info{' "$TMP/metrics.txt" || fail "/metrics lacks suitd's counters"
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$TMP/metrics.txt" || fail "promtool check metrics refused /metrics"
fi
[ -z "$trace" ] || httpd_pid=$(pgrep -P "$httpd_pid" || echo "$httpd_pid")
kill -TERM "$httpd_pid"
i=0
while kill -0 "$httpd_pid" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -le 100 ] || fail "suit-httpd did not stop on SIGTERM"
    sleep 0.1
done
wait "$httpd_job" 2>/dev/null || true
httpd_job=""
if [ -n "$trace" ]; then
    python3 "$SRC/packaging/syscall-check.py" /lib/systemd/system/suit-httpd.service \
        "$TMP/strace-httpd.log" || fail "suit-httpd makes system calls its unit forbids"
fi
ok "the installed suit-httpd answered /healthz, /readyz, /v1/assess, / (the page) and /metrics"

# systemctl reload: SIGHUP, then RELOADING=1 and READY=1 again once the
# ruleset's tests have passed and the new one is in place.
kill -HUP "$daemon_pid"
i=0
until [ "$(grep -c "READY=1" "$TMP/notify.txt")" -ge 2 ]; do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$TMP/suitd.log" >&2; fail "suitd died on SIGHUP"; }
    i=$((i + 1)); [ "$i" -le 300 ] || fail "no READY=1 after the SIGHUP reload"
    sleep 0.1
done
grep -q "RELOADING=1" "$TMP/notify.txt" || fail "no RELOADING=1 on SIGHUP"
/usr/bin/suit --socket "$SOCK" stats --json >"$TMP/stats.json" || fail "suit stats after SIGHUP"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["reloads"]; sys.exit(0 if r["ok"] == 1 and r["failed"] == 0 else "reloads: %r" % r)' \
    "$TMP/stats.json" || fail "the SIGHUP reload did not succeed"
/usr/bin/suit --socket "$SOCK" ping >/dev/null || fail "suit ping after SIGHUP reload"
ok "SIGHUP reloads the installed ruleset (tests passed) and keeps serving"

kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
[ "$rc" -eq 0 ] || { cat "$TMP/suitd.log" >&2; fail "suitd exited $rc on SIGTERM"; }
[ ! -e "$SOCK" ] || fail "socket file left after SIGTERM"
wait "$notify_pid" 2>/dev/null || true
grep -q "STOPPING=1" "$TMP/notify.txt" || fail "no STOPPING=1 on NOTIFY_SOCKET"
ok "SIGTERM: clean exit, socket removed"

# --------------------------------------------------------------------------
step "the units: socket activation, the suitd group, ExecReload="
# systemd is not running here, so systemd-socket-activate(1) stands in for
# it, with what the installed units say: suitd.socket's ListenStream= (both
# are bound, and the daemon is started on the first connection with both,
# LISTEN_FDS=2), its SocketGroup=/SocketMode=/DirectoryMode= (applied by
# hand: systemd-socket-activate cannot), and suitd.service's ExecStart= run
# as an unprivileged user (nobody, for the DynamicUser=).
command -v systemd-socket-activate >/dev/null 2>&1 || fail "systemd-socket-activate missing (package systemd)"
unit_get() { sed -n "s/^$2=//p" "/lib/systemd/system/$1"; }
listens=$(unit_get suitd.socket ListenStream)
sock_group=$(unit_get suitd.socket SocketGroup)
sock_mode=$(unit_get suitd.socket SocketMode)
dir_mode=$(unit_get suitd.socket DirectoryMode)
exec_start=$(unit_get suitd.service ExecStart)
exec_reload=$(unit_get suitd.service ExecReload | sed 's/^+//')
[ "$listens" = "/run/suitd/suitd.sock
127.0.0.1:7433" ] || fail "suitd.socket listens on: $listens"
[ "$sock_group" = suitd ] && [ "$sock_mode" = 0660 ] || fail "suitd.socket: SocketGroup=$sock_group SocketMode=$sock_mode"
[ -n "$exec_start" ] && [ -n "$exec_reload" ] || fail "suitd.service lacks ExecStart= or ExecReload="
if [ -e /run/suitd/suitd.sock ] || python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", 7433)) != 0)'; then
    fail "/run/suitd/suitd.sock or 127.0.0.1:7433 is in use: stop the daemon there first"
fi

# Two throw-away users: one in the suitd group, one not.
for u in suittest-member suittest-other; do
    $SUDO userdel "$u" >/dev/null 2>&1 || true
done
$SUDO useradd --system --no-create-home --shell /usr/sbin/nologin --groups suitd suittest-member
$SUDO useradd --system --no-create-home --shell /usr/sbin/nologin suittest-other
test_users="suittest-member suittest-other"
as_user() { u=$1; shift; $SUDO runuser -u "$u" -- env -u SUIT_ADDR -u XDG_RUNTIME_DIR "$@"; }

# A packaged system with no daemon running: suit says how to start it.
rc=0
as_user suittest-other /usr/bin/suit ping >"$TMP/none.out" 2>"$TMP/none.err" || rc=$?
cat "$TMP/none.err"
[ "$rc" -eq 69 ] || fail "suit ping with no daemon exited $rc, not 69"
grep -q "^suit: suitd is not running: start it with: systemctl start suitd$" "$TMP/none.err" \
    || fail "suit ping with no daemon does not say 'systemctl start suitd'"
ok "no daemon: suit says systemctl start suitd (exit 69)"

made_run_dir=1
$SUDO mkdir -p -m "$dir_mode" /run/suitd
set --
for l in $listens; do set -- "$@" -l "$l"; done
$SUDO systemd-socket-activate "$@" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    $exec_start >"$TMP/activated.log" 2>&1 &
activated_pid=$!
i=0
until [ -S /run/suitd/suitd.sock ]; do
    kill -0 "$activated_pid" 2>/dev/null || { cat "$TMP/activated.log" >&2; fail "systemd-socket-activate exited"; }
    i=$((i + 1)); [ "$i" -le 100 ] || fail "no /run/suitd/suitd.sock after 10 s"
    sleep 0.1
done
$SUDO chgrp "$sock_group" /run/suitd/suitd.sock
$SUDO chmod "$sock_mode" /run/suitd/suitd.sock
ls -l /run/suitd/suitd.sock
[ "$(stat -c %G:%a /run/suitd/suitd.sock)" = "suitd:660" ] || fail "socket is not group suitd, mode 0660"

# root's default is the system socket; the first connection starts the daemon.
/usr/bin/suit --timeout 60 ping || { cat "$TMP/activated.log" >&2; fail "suit ping (root, default address)"; }
grep -q "using 2 socket(s) from systemd" "$TMP/activated.log" || { cat "$TMP/activated.log" >&2; fail "the daemon did not take both sockets"; }
[ "$(ps -o user= -p "$activated_pid")" = nobody ] || fail "the activated daemon does not run as nobody"
ok "socket activation: both sockets passed, the daemon runs as nobody, root reaches it by default"

# A member of the suitd group reaches the Unix socket, reload included
# (reload never falls back to TCP, so its success proves the socket).
as_user suittest-member /usr/bin/suit ping || fail "suit ping as a member of suitd"
as_user suittest-member /usr/bin/suit reload || fail "suit reload as a member of suitd"
ok "a member of the suitd group uses the Unix socket (ping, reload)"

# Anyone else: reload is refused with the hint; ping falls back to TCP.
rc=0
as_user suittest-other /usr/bin/suit reload 2>"$TMP/other.err" || rc=$?
cat "$TMP/other.err"
[ "$rc" -eq 77 ] || fail "suit reload outside the group exited $rc, not 77"
grep -q "^suit: permission denied: add yourself to the suitd group, or use SUIT_ADDR=127.0.0.1:7433$" \
    "$TMP/other.err" || fail "no 'add yourself to the suitd group' hint"
as_user suittest-other /usr/bin/suit ping 2>"$TMP/other.err" || fail "suit ping outside the group (TCP fallback)"
[ ! -s "$TMP/other.err" ] || { cat "$TMP/other.err" >&2; fail "the TCP fallback printed errors"; }
as_user suittest-other env SUIT_ADDR=127.0.0.1:7433 /usr/bin/suit info >/dev/null || fail "SUIT_ADDR=127.0.0.1:7433 suit info"
ok "outside the group: reload refused with the group hint (77), ping over the TCP fallback"

# systemctl reload suitd runs ExecReload=: synchronous, and it fails when
# the reload is refused.
$SUDO $exec_reload || fail "ExecReload= ($exec_reload)"
/usr/bin/suit stats --json >"$TMP/stats2.json" || fail "suit stats"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["reloads"]; sys.exit(0 if r["ok"] == 2 and r["failed"] == 0 else "reloads: %r" % r)' \
    "$TMP/stats2.json" || fail "ExecReload= did not reload"
policy_backup=$TMP/policy.ini.orig
cp /etc/suitd/policy.ini "$policy_backup"
printf '[policy]\nno-such-parameter = 1\n' | $SUDO tee /etc/suitd/policy.ini >/dev/null
rc=0
$SUDO $exec_reload 2>"$TMP/refused.err" || rc=$?
cat "$TMP/refused.err"
[ "$rc" -eq 78 ] || fail "ExecReload= of a refused policy exited $rc, not 78"
grep -q "suit: reload failed: " "$TMP/refused.err" || fail "the refused reload does not say why"
$SUDO cp "$policy_backup" /etc/suitd/policy.ini
policy_backup=""
$SUDO $exec_reload >/dev/null || fail "ExecReload= after restoring policy.ini"
ok "ExecReload= waits for the outcome: 0 on success, 78 (and why) when refused"

# The named policies' folder: shipped empty but for an example suitd does
# not read; a policy deployed there is served after a reload.
[ -d /etc/suitd/policies ] || fail "/etc/suitd/policies is not installed"
[ "$(ls -A /etc/suitd/policies)" = "clinic.ini.example" ] \
    || fail "/etc/suitd/policies holds more than clinic.ini.example: $(ls -A /etc/suitd/policies)"
grep -q '^policy_dir = /etc/suitd/policies$' /etc/suitd/suitd.conf \
    || fail "suitd.conf does not set policy_dir = /etc/suitd/policies"
/usr/bin/suit info --json | python3 -c 'import json,sys; p=json.load(sys.stdin)["policies"]; sys.exit(0 if list(p) == ["default"] else "policies: %r" % list(p))' \
    || fail "the packaged daemon serves more than the default policy"
printf '[policy]\nisotretinoin-washout-days = 90\n' | $SUDO tee /etc/suitd/policies/pkgtest.ini >/dev/null
/usr/sbin/suitd check --policy-dir /etc/suitd/policies /usr/share/suitd/rules >"$TMP/pcheck.txt" \
    || { cat "$TMP/pcheck.txt" >&2; fail "suitd check --policy-dir /etc/suitd/policies"; }
grep -q '^policy pkgtest: ok' "$TMP/pcheck.txt" || fail "suitd check --policy-dir did not list pkgtest"
$SUDO $exec_reload >/dev/null || fail "ExecReload= with /etc/suitd/policies/pkgtest.ini"
rc=0
/usr/bin/suit check --policy pkgtest --json -f /usr/share/doc/suitd/examples/patient.json \
    >"$TMP/pkgtest.json" || rc=$?
[ "$rc" -le 5 ] || fail "suit check --policy pkgtest exited $rc"
grep -q '"name": "pkgtest"' "$TMP/pkgtest.json" || fail "the result does not name the policy pkgtest"
$SUDO rm -f /etc/suitd/policies/pkgtest.ini
$SUDO $exec_reload >/dev/null || fail "ExecReload= after removing pkgtest.ini"
ok "/etc/suitd/policies: shipped with its example only; a deployed policy is served after a reload"

# The documentation and the example patient, as installed.
rc=0
/usr/bin/suit check -f /usr/share/doc/suitd/examples/patient.json >"$TMP/example.txt" || rc=$?
[ "$rc" -le 5 ] || fail "suit check -f examples/patient.json exited $rc"
head -n 1 "$TMP/example.txt"
ok "the example patient in /usr/share/doc/suitd/examples is assessed"

# suit bench runs the installed suit-bench, which finds the daemon as suit does.
/usr/bin/suit bench --method ping -n 200 --json >"$TMP/bench.json" || fail "suit bench"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["address"] == "unix:/run/suitd/suitd.sock" else "address %s" % r["address"])' \
    "$TMP/bench.json" || fail "suit-bench did not find the system socket"
/usr/bin/suit-bench -n 100 >/dev/null || fail "suit-bench (assess, the installed ruleset's cases)"
ok "suit bench and suit-bench reach the system daemon by default"

$SUDO kill -TERM "$activated_pid"
rc=0
wait "$activated_pid" || rc=$?
activated_pid=""
[ "$rc" -eq 0 ] || { cat "$TMP/activated.log" >&2; fail "activated suitd exited $rc on SIGTERM"; }
[ -S /run/suitd/suitd.sock ] || fail "the daemon removed the socket that systemd owns"
$SUDO rm -f /run/suitd/suitd.sock
$SUDO rmdir /run/suitd
made_run_dir=0
ok "SIGTERM: clean exit; the socket stays for systemd (RemoveOnStop=) to remove"

# --------------------------------------------------------------------------
step "system calls against the unit's SystemCallFilter="
if command -v strace >/dev/null 2>&1; then
    # The same work as above, traced from the first instruction: start, both
    # listeners, every method, SIGHUP and reload, SIGTERM.
    SOCK2=$TMP/traced.sock
    strace -f -qq -o "$TMP/strace.log" /usr/sbin/suitd serve --config /etc/suitd/suitd.conf \
        --socket "$SOCK2" --listen "127.0.0.1:$PORT" --workers 2 >"$TMP/suitd-traced.log" 2>&1 &
    strace_pid=$!
    i=0
    until [ -S "$SOCK2" ]; do
        i=$((i + 1)); [ "$i" -le 300 ] || { cat "$TMP/suitd-traced.log" >&2; fail "traced suitd did not start"; }
        sleep 0.1
    done
    traced_pid=$(pgrep -P "$strace_pid")
    [ -n "$traced_pid" ] || fail "cannot find the traced suitd"
    /usr/bin/suit --socket "$SOCK2" ping >/dev/null || fail "ping (traced)"
    /usr/bin/suit --connect "127.0.0.1:$PORT" info >/dev/null || fail "info over TCP (traced)"
    /usr/bin/suit --connect "127.0.0.1:$PORT" check --age 52 --pregnant no --breastfeeding no \
        --fitzpatrick 5 --area face --indication melasma --med isotretinoin:30 >/dev/null || true
    /usr/bin/suit --socket "$SOCK2" stats >/dev/null || fail "stats (traced)"
    /usr/bin/suit --socket "$SOCK2" reload >/dev/null || fail "reload (traced)"
    kill -HUP "$traced_pid"
    sleep 2
    kill -TERM "$traced_pid"
    wait "$strace_pid" || true
    [ ! -e "$SOCK2" ] || fail "traced suitd did not shut down cleanly"
    python3 "$SRC/packaging/syscall-check.py" /lib/systemd/system/suitd.service "$TMP/strace.log" \
        || fail "suitd makes system calls its unit forbids"
else
    echo "  (strace not installed: skipped)"
fi

# --------------------------------------------------------------------------
step "purge"
if [ "$keep" -eq 1 ]; then
    echo "  (--keep: left installed)"
    exit 0
fi
$SUDO apt-get purge -y -q suitd || fail "apt-get purge suitd"
installed=0
if dpkg-query -W -f='${Status}' suitd 2>/dev/null | grep -q "installed"; then
    fail "dpkg still knows suitd: $(dpkg-query -W -f='${Status}' suitd)"
fi
for f in /usr/sbin/suitd /usr/bin/suit /usr/bin/suit-bench /usr/share/suitd /etc/suitd \
    /lib/systemd/system/suitd.service /lib/systemd/system/suitd.socket \
    /usr/lib/sysusers.d/suitd.conf /usr/share/doc/suitd /usr/sbin/suit-httpd \
    /lib/systemd/system/suit-httpd.service /usr/share/man/man8/suit-httpd.8.gz \
    /usr/share/man/man8/suitd.8.gz /usr/share/man/man5/suitd.conf.5.gz \
    /usr/share/man/man1/suit.1.gz /usr/share/man/man1/suit-bench.1.gz \
    /usr/share/lintian/overrides/suitd \
    /etc/systemd/system/multi-user.target.wants/suitd.service \
    /etc/systemd/system/sockets.target.wants/suitd.socket \
    /var/lib/systemd/deb-systemd-helper-enabled/suitd.service.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/suitd.socket.dsh-also \
    /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/suitd.service \
    /var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants/suitd.socket \
    /var/lib/systemd/deb-systemd-helper-masked/suitd.service \
    /var/lib/systemd/deb-systemd-helper-masked/suitd.socket; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f left after purge"
done
ok "purged: no file of suitd left (the suitd group stays, as Debian keeps system groups)"
