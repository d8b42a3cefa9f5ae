#!/usr/bin/env bash
# bench_smoke (ctest label "bench-smoke"): proves annex-loadgen works against a
# fresh annexd — a few hundred signed PUTs (sha256 and unsigned payloads), GETs
# and a mixed run must all succeed. Pass/fail on errors only, never on timing.
#
#   smoke_test.sh ANNEXD LOADGEN
set -euo pipefail
ANNEXD=${1:?usage: smoke_test.sh ANNEXD LOADGEN}
LOADGEN=${2:?usage: smoke_test.sh ANNEXD LOADGEN}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

WORK=$(mktemp -d /tmp/annex-bench-smoke.XXXXXX)
cleanup() {
  bench_stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT

annex_start "$ANNEXD" "$WORK" smoke
ep=$ANNEX_ENDPOINT

run() {
  echo "+ annex-loadgen $*"
  "$LOADGEN" --endpoint "$ep" --bucket smoke "$@"
}
run --op put --size 4096 --concurrency 4 --requests 200
run --op put --size 100000 --concurrency 2 --requests 20 --payload-hash unsigned --key-prefix u-
run --op get --size 4096 --concurrency 4 --requests 300 --keys 20
run --op get --size 3000000 --concurrency 2 --requests 6 --keys 2 --key-prefix big-
run --op mixed --size 1024 --concurrency 4 --requests 200 --keys 10 --key-prefix m-

# A wrong secret must be reported as errors with a non-zero exit.
if "$LOADGEN" --endpoint "$ep" --bucket smoke --op get --keys 1 --requests 5 --no-prepare --no-create-bucket \
    --secret-key wrong-secret-wrong-secret >"$WORK/bad.json" 2>/dev/null; then
  echo "FAIL: annex-loadgen exited 0 although every request had a bad signature"; exit 1
fi
grep -q '"errors":5' "$WORK/bad.json" || { echo "FAIL: expected 5 errors:"; cat "$WORK/bad.json"; exit 1; }
echo "bench smoke OK: every request succeeded"
