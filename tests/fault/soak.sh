#!/usr/bin/env bash
# 10-minute soak of a real suitd with mixed valid and invalid traffic and a
# reload every 30 s (issue 7).  Not run in CI.  Reports crashes (must be 0),
# the count of each outcome, the daemon's error and drop counters, and RSS
# at start and end; exits 1 on a crash, an unexpected answer, or RSS growth
# over SOAK_RSS_GROWTH_KB.
#
#   tests/fault/soak.sh [extra suitd serve flags...]
#
#   SUITD_BIN           the daemon (default build-fault/daemon/suitd, then build/)
#   SOAK_SECONDS        duration (default 600)
#   SOAK_CLIENTS        client threads (default 4)
#   SOAK_RSS_GROWTH_KB  allowed RSS growth (default 65536)
set -euo pipefail
# A test rig run as root: its daemons use root-owned temporary directories,
# so let them stay root (suitd otherwise refuses root without --user).
export SUITD_ALLOW_ROOT=1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${SUITD_BIN:-}" ]; then
    for b in build-fault build; do
        if [ -x "$root/$b/daemon/suitd" ]; then SUITD_BIN=$root/$b/daemon/suitd; break; fi
    done
fi
[ -n "${SUITD_BIN:-}" ] || { echo "soak: set SUITD_BIN (no built suitd found)" >&2; exit 2; }
export SUITD_BIN SUITD_SOURCE_DIR=$root
exec python3 "$here/soak.py" "$@"
