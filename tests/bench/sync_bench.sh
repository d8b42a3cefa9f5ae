#!/usr/bin/env bash
# The control plane under a simulated fleet (`make bench`): annex-sync-loadgen
# starts annex-control, enrolls APPLIANCES simulated appliances (real tokens,
# certificates and mutual TLS, no services), and measures
#   - heartbeat-to-status latency at a 10 s heartbeat (goal: p99 <= 1 s),
#   - the reconnect storm after `kill -9` + restart (goal: peak <= 3x mean),
#   - a real agent's resync of RESOURCES resources with 1 % changed (goal: < 5 s).
# The load generator shares this machine's cores with annex-control.
#
#   tests/bench/sync_bench.sh [BUILD_DIR]     (env: APPLIANCES, MEASURE_SECONDS, RESOURCES)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
APPLIANCES=${APPLIANCES:-1000}
MEASURE_SECONDS=${MEASURE_SECONDS:-60}
RESOURCES=${RESOURCES:-10000}
WORK=$(mktemp -d "$BUILD/sync-bench.XXXXXX")  # on the build disk: /tmp may be tmpfs
trap 'rm -rf "$WORK"' EXIT

echo "== sync: $APPLIANCES simulated appliances against one annex-control ($(nproc) cores, shared)"
out=$("$BUILD/bin/annex-sync-loadgen" --control-bin "$BUILD/bin/annex-control" --work-dir "$WORK/run" \
  --appliances "$APPLIANCES" --measure-seconds "$MEASURE_SECONDS" --resources "$RESOURCES" 2>"$WORK/stderr") || {
  tail -20 "$WORK/stderr" >&2
  exit 1
}
echo "$out" | grep -v '^{'
echo "$out" | tail -1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
s, r, y = d["steady"], d["restart"], d["resync"]
def line(name, value, goal, ok):
    print("%-46s %12s   goal %-10s %s" % (name, value, goal, "ok" if ok else "MISSED"))
print()
line("heartbeat-to-status p99 (%d appliances)" % s["appliances"], "%.0f ms" % s["heartbeat_to_status_ms_p99"],
     "<= 1000 ms", s["heartbeat_to_status_ms_p99"] <= 1000)
line("reconnect peak / mean after restart", "%.2fx" % r["reconnect_peak_to_mean"], "<= 3x",
     r["reconnect_peak_to_mean"] <= 3)
line("resync, %d of %d resources changed" % (y["changed"], y["resources"]), "%.2f s" % y["resync_s"], "< 5 s",
     y["resync_s"] < 5)
'
