#!/usr/bin/env bash
# The supervisor (`make bench`): spawn-to-running of a supervised /bin/true
# (Supervisor::Start: cgroup, annex-shim, the workload's exec, a durable
# record) against fork+exec of /bin/true by hand (the peer, goal <= 1.5x),
# and the supervising process's RSS growth per idle supervised workload
# (goal <= 16 KiB). Needs root (cgroups); says so and skips otherwise.
#
#   tests/bench/supervisor_bench.sh [BUILD_DIR]     (env: ITERATIONS, CHILDREN)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
if [ "$(id -u)" != 0 ]; then
  echo "== supervisor: SKIPPED (needs root for cgroups)"
  exit 0
fi
WORK=$(mktemp -d "$BUILD/supervisor-bench.XXXXXX")  # on the build disk: the record commits are real
trap 'rm -rf "$WORK"' EXIT
echo "== supervisor: $(nproc) cores, $(grep -c . /proc/self/cgroup) cgroup hierarchies, data on $(df --output=source "$WORK" | tail -1)"
out=$("$BUILD/bin/annex-supervisor-bench" --dir "$WORK" --shim "$BUILD/bin/annex-shim" \
  --iterations "${ITERATIONS:-200}" --children "${CHILDREN:-500}" 2>/dev/null)
echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def line(name, value, goal, ok):
    print("%-58s %12s   goal %-10s %s" % (name, value, goal, "ok" if ok else "MISSED"))
f, j, s, c = d["fork_exec"], d["fork_join_exec"], d["supervised"], d["durable_commit"]
print("fork+exec /bin/true by hand (peer)        p50 %6.2f ms  p90 %6.2f ms" % (f["p50_ms"], f["p90_ms"]))
print("fork + cgroup join + exec by hand         p50 %6.2f ms  p90 %6.2f ms" % (j["p50_ms"], j["p90_ms"]))
print("Supervisor::Start (running, record durable) p50 %6.2f ms  p90 %6.2f ms" % (s["p50_ms"], s["p90_ms"]))
print("  of which one durable LMDB commit         p50 %6.2f ms" % c["p50_ms"])
n = d["supervised_without_cgroups"]
print("the same Start without cgroups             p50 %6.2f ms  p90 %6.2f ms" % (n["p50_ms"], n["p90_ms"]))
line("spawn-to-running vs fork+exec by hand (p50, %d runs)" % d["iterations"], "%.2fx" % d["ratio_p50"], "<= 1.5x",
     d["ratio_p50"] <= 1.5)
print("  vs fork + cgroup join + exec by hand     %.2fx" % d["ratio_p50_vs_join"])
line("supervising process RSS per idle workload (%d running)" % d["running"], "%.1f KiB" % d["rss_kib_per_child"],
     "<= 16 KiB", d["rss_kib_per_child"] <= 16)
print("  anonymous memory per workload %.1f KiB; each annex-shim holds %.0f KiB RSS" % (d["anon_kib_per_child"], d["shim_rss_kib"]))
'
