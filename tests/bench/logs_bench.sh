#!/usr/bin/env bash
# CloudWatch Logs ingestion (`make bench`): PutLogEvents of 1,000-event
# batches against annexd, each batch acknowledged once durable, against the
# same lines appended to plain files with one fsync per batch (the peer), on
# the same disk in the same run. Goal: annexd at >= 0.8x the peer's events/s
# with concurrent writers (a throughput goal). One writer sending batches
# back to back measures request latency instead; its ratio is printed too
# (docs/performance.md explains the gap).
#
#   tests/bench/logs_bench.sh [BUILD_DIR]   (env: SECONDS_EACH, EVENTS, LINE_SIZE, CONNECTIONS="1 4 8")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
source "$ROOT/tests/bench/lib.sh"
WORK=$(mktemp -d "$BUILD/logs-bench.XXXXXX")  # on the build disk: /tmp may be tmpfs
cleanup() {
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

LOADGEN="$BUILD/bin/annex-logs-loadgen"
[[ -x "$LOADGEN" ]] || LOADGEN="$BUILD/tests/bench/annex-logs-loadgen"
SECONDS_EACH=${SECONDS_EACH:-10}
EVENTS=${EVENTS:-1000}
LINE_SIZE=${LINE_SIZE:-120}
echo "== logs: $(nproc) cores, data on $(df --output=source "$WORK" | tail -1), batches of $EVENTS x $LINE_SIZE-byte lines"
annex_start "$BUILD/bin/annexd" "$WORK" annexd

for c in ${CONNECTIONS:-1 4 8}; do
  mkdir -p "$WORK/peer-$c"
  annex=$("$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --connections "$c" --events "$EVENTS" --line-size "$LINE_SIZE" \
    --seconds "$SECONDS_EACH" --group "/bench/c$c")
  peer=$("$LOADGEN" --peer-dir "$WORK/peer-$c" --connections "$c" --events "$EVENTS" --line-size "$LINE_SIZE" \
    --seconds "$SECONDS_EACH")
  python3 - "$c" "$annex" "$peer" <<'PY'
import json, sys
c, a, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ratio = a["events_per_s"] / p["events_per_s"] if p["events_per_s"] else 0
print("%d writer(s)  annexd PutLogEvents %9.0f events/s %6.1f MB/s  batch p50 %5.1f ms p99 %5.1f ms"
      % (int(c), a["events_per_s"], a["mb_per_s"], a["batch_ms_p50"], a["batch_ms_p99"]))
print("             file + fsync/batch   %9.0f events/s %6.1f MB/s  batch p50 %5.1f ms p99 %5.1f ms"
      % (p["events_per_s"], p["mb_per_s"], p["batch_ms_p50"], p["batch_ms_p99"]))
if int(c) == 1:
    print("             ratio %.2fx   (one writer: latency-bound, not the throughput goal)" % ratio)
else:
    print("             ratio %.2fx   goal >= 0.80x   %s" % (ratio, "ok" if ratio >= 0.8 else "MISSED"))
PY
done
