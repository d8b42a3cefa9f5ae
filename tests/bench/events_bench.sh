#!/usr/bin/env bash
# The event bus (`make bench`): events published in durable commits and
# delivered end to end, against the same commits without events (the peer),
# and publish-to-delivery latency at 1,000 events/s (goal: p99 <= 50 ms).
#
#   tests/bench/events_bench.sh [BUILD_DIR]     (env: EVENTS, RATE, DURATION in seconds)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
WORK=$(mktemp -d "$BUILD/events-bench.XXXXXX")  # on the build disk: /tmp may be tmpfs
trap 'rm -rf "$WORK"' EXIT
echo "== events: $(nproc) cores, data on $(df --output=source "$WORK" | tail -1)"
out=$("$BUILD/bin/annex-events-bench" --dir "$WORK" --events "${EVENTS:-5000}" --rate "${RATE:-1000}" \
  --seconds "${DURATION:-10}")
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def line(name, value, goal, ok):
    print("%-52s %14s   goal %-10s %s" % (name, value, goal, "ok" if ok else "MISSED"))
print("durable commits/s without events (peer)  %.0f" % d["commits_per_s_peer"])
print("durable commits/s with an event each     %.0f (delivered end to end: %.0f/s)" % (d["published_per_s"], d["delivered_per_s"]))
print("publish throughput vs the peer           %.2fx (the subscriber'"'"'s cursor commits share the disk)" % d["publish_ratio"])
line("publish-to-delivery p99 at %d events/s (achieved %.0f)" % (d["rate"], d["achieved_rate"]),
     "%.1f ms" % d["latency_ms_p99"], "<= 50 ms", d["latency_ms_p99"] <= 50)
print("p50 %.2f ms, max %.1f ms" % (d["latency_ms_p50"], d["latency_ms_max"]))
'
