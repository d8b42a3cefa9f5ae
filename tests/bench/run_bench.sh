#!/usr/bin/env bash
# The Annex benchmark (`make bench`; not part of ctest). In ONE run on this
# machine it measures annexd and its peers on the same workloads and prints
# ratios annex/peer next to the goals of issue 3 — never pass/fail on absolute
# times (DESIGN.md §8):
#
#   4 KiB GET req/s      annexd vs nginx serving the same-size files      goal >= 0.5
#   4 KiB PUT req/s      annexd (durable) vs fsync-peer write+fsync+rename goal >= 0.8
#   4 KiB PUT versioned  annexd into a versioned bucket vs unversioned     goal >= 0.9
#   64 MiB GET/PUT SSE   annexd (SSE-S3, the default) vs annexd storing
#                        plaintext (--plaintext-objects)                   goal >= 0.8
#   64 MiB GET MB/s      annexd vs nginx                                   goal >= 0.8
#   64 MiB PUT MB/s      annexd vs dd conv=fsync (same filesystem)         goal >= 0.7
#   all four             annexd vs s3rver (npm, installed into build/bench-node)
#   memory               annexd VmRSS idle <= 64 MiB; VmHWM under 32 concurrent
#                        256 MiB uploads <= 256 MiB
#   crash test           tests/chaos/crash_test.py with CYCLES=100
#
# The 4 KiB rows report the median of BENCH_ROUNDS (3) interleaved annex/peer runs.
# Environment: BENCH_QUICK=1 for a ~1-minute smoke run (short runs, reduced
# memory test, 5 crash cycles); BUILD_DIR (default build); BENCH_DURATION /
# BENCH_SMALL_CONCURRENCY (16) / BENCH_LARGE_CONCURRENCY (4) to override;
# BENCH_SKIP="crash memory s3rver" to leave parts out.
# Exit status: non-zero only when a tool reported errors (a request failed,
# a peer could not start); ratios below their goals are reported, not failed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build}
[[ $BUILD == /* ]] || BUILD=$REPO/$BUILD
BIN=$BUILD/bin
QUICK=${BENCH_QUICK:-0}
SKIP=" ${BENCH_SKIP:-} "
C_SMALL=${BENCH_SMALL_CONCURRENCY:-16}
C_LARGE=${BENCH_LARGE_CONCURRENCY:-4}
if [[ $QUICK == 1 ]]; then ROUNDS=${BENCH_ROUNDS:-1}; else ROUNDS=${BENCH_ROUNDS:-3}; fi
if [[ $QUICK == 1 ]]; then
  DUR=${BENCH_DURATION:-2}; WARM=0.5; BIG_PUTS=8; MEM_SIZE=$((16 << 20)); CYCLES=${CYCLES:-5}
else
  DUR=${BENCH_DURATION:-10}; WARM=1; BIG_PUTS=32; MEM_SIZE=$((256 << 20)); CYCLES=${CYCLES:-100}
fi
SMALL=4096
BIG=$((64 << 20))
BIG_KEYS=8
MEM_UPLOADS=32
FAILED=0

# shellcheck source=lib.sh
source "$HERE/lib.sh"

for tool in annexd annex-loadgen fsync-peer; do
  if [[ ! -x $BIN/$tool ]]; then
    echo "bench: building $tool" >&2
    cmake --build "$BUILD" -j2 --target "$tool" >&2 || { echo "bench: cannot build $tool" >&2; exit 1; }
  fi
done
LOADGEN=$BIN/annex-loadgen

# Everything lives on the build directory's filesystem, so annexd, nginx, the
# fsync peer and dd all read and write the same disk.
WORK=$(mktemp -d "$BUILD/bench-run.XXXXXX")
RESULTS=$WORK/results.jsonl
TABLE=$WORK/table.txt
: >"$TABLE"
cleanup() {
  bench_stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" >&2; }

# jfield FILE KEY: a field of the single JSON line in FILE.
jfield() {
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])[sys.argv[2]])' "$1" "$2" 2>/dev/null
}

# measure NAME CMD...: runs CMD (which prints one JSON line), keeps the line
# in $WORK/NAME.json and results.jsonl; errors → FAILED=1.
measure() {
  local name=$1
  shift
  log "$name: $*"
  if "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"; then
    python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(json.dumps({"name": sys.argv[2], **r}))' \
      "$WORK/$name.json" "$name" >>"$RESULTS"
  else
    FAILED=1
    log "$name FAILED:"
    cat "$WORK/$name.json" "$WORK/$name.err" >&2
    echo "{\"name\":\"$name\",\"failed\":true}" >"$WORK/$name.json"
  fi
}

# cpu_ticks PID...: user+system clock ticks the processes have used so far.
cpu_ticks() {
  local p t=0 v
  for p in "$@"; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# measure_cpu NAME "PIDS" CMD...: measure, and also the server processes' CPU
# per request (user+system, warm-up included in both counts) into NAME.cpu.
# CPU per request is far steadier than req/s when the peers swing.
measure_cpu() {
  local name=$1 pids=$2 t0 t1
  shift 2
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids)
  measure "$name" "$@"
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids)
  python3 - "$WORK/$name.json" "$((t1 - t0))" "$(getconf CLK_TCK)" "$WARM" >"$WORK/$name.cpu" <<'PY' || rm -f "$WORK/$name.cpu"
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ticks, hz, warm = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ops = r["ops_per_s"] * (r["seconds"] + warm)
print(f"{ticks / hz / ops * 1e6:.2f}")
PY
}

# measure_io NAME PID CMD...: measure, and also the bytes the server process
# wrote to files per request (/proc/PID/io wchar: what write, pwrite and
# writev were handed; annexd's sockets use sendmsg, which wchar does not
# count; warm-up included) into NAME.io. Unlike req/s it does not swing with
# the disk's flush latency: it shows what a workload costs the disk.
# write_bytes is no measure of it: the kernel charges a whole large folio
# of the page cache to the first write that dirties it (4x too much here).
bytes_written() { awk '/^wchar/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
measure_io() {
  local name=$1 pid=$2 w0 w1
  shift 2
  w0=$(bytes_written "$pid")
  measure "$name" "$@"
  w1=$(bytes_written "$pid")
  python3 - "$WORK/$name.json" "$((w1 - w0))" "$WARM" >"$WORK/$name.io" <<'PY' || rm -f "$WORK/$name.io"
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ops = r["ops_per_s"] * (r["seconds"] + float(sys.argv[3]))
print(f"{int(sys.argv[2]) / ops:.0f}")
PY
}

# value NAME FIELD: the field from a measured run, or "" when the run failed.
value() { [[ -s $WORK/$1.json ]] && jfield "$WORK/$1.json" "$2"; }

# row LABEL UNIT FIELD ANNEX PEERNAME PEER [GOAL] [NOTE]
row() {
  local label=$1 unit=$2 field=$3 a b
  a=$(value "$4" "$field")
  b=$(value "$6" "$field")
  python3 - "$label" "$unit" "$a" "$5" "$b" "${7:-}" "${8:-}" >>"$TABLE" <<'EOF'
import sys
label, unit, a, peer, b, goal, note = sys.argv[1:]
fmt = lambda v: f"{float(v):10.1f}" if v else "    failed"
line = f"{label:<11} annex {fmt(a)} {unit:<5}  {peer:<7} {fmt(b)} {unit:<5}"
if a and b and float(b) > 0:
    r = float(a) / float(b)
    line += f"  ratio {r:6.2f}"
    if goal:
        line += f" (goal >= {goal}) " + ("met" if r >= float(goal) else "BELOW GOAL")
else:
    line += "  ratio    n/a"
if note:
    line += f"  [{note}]"
print(line)
EOF
}

# ---------------------------------------------------------------- peers
start_nginx() {
  NGINX_ROOT=$WORK/nginx-root
  mkdir -p "$NGINX_ROOT" "$WORK/nginx-tmp"
  local i port
  for ((i = 0; i < 64; i++)); do head -c $SMALL /dev/urandom >"$NGINX_ROOT/obj-$(printf %06d $i)"; done
  for ((i = 0; i < BIG_KEYS; i++)); do
    head -c $BIG /dev/urandom >"$NGINX_ROOT/big-$(printf %06d $i)"
  done
  port=$(free_port)
  # Workers must read the files: as root, run them as root (the temp dir is 0700).
  local user_line=""
  [[ $(id -u) == 0 ]] && user_line="user root;"
  cat >"$WORK/nginx.conf" <<EOF
$user_line
worker_processes auto;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120;
  keepalive_requests 100000000;
  default_type application/octet-stream;
  client_body_temp_path $WORK/nginx-tmp;
  proxy_temp_path $WORK/nginx-tmp;
  fastcgi_temp_path $WORK/nginx-tmp;
  uwsgi_temp_path $WORK/nginx-tmp;
  scgi_temp_path $WORK/nginx-tmp;
  server { listen 127.0.0.1:$port; root $NGINX_ROOT; }
}
EOF
  nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
  BENCH_PIDS+=("$!")
  NGINX_PID=$!
  NGINX_ENDPOINT=127.0.0.1:$port
  wait_http "http://$NGINX_ENDPOINT/obj-000000" 10 "$!"
}

S3RVER_NOTE=""
start_s3rver() {
  local node_dir=$BUILD/bench-node bin port
  bin=$node_dir/node_modules/.bin/s3rver
  if [[ ! -x $bin ]]; then
    log "installing s3rver into $node_dir"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error s3rver@3.7.1 >"$WORK/npm.log" 2>&1 ||
      { S3RVER_NOTE="npm install s3rver failed: $(tail -1 "$WORK/npm.log")"; return 1; }
  fi
  port=$(free_port)
  mkdir -p "$WORK/s3rver-data"
  node "$bin" -d "$WORK/s3rver-data" -a 127.0.0.1 -p "$port" --silent >"$WORK/s3rver.log" 2>&1 &
  BENCH_PIDS+=("$!")
  S3RVER_PID=$!
  S3RVER_ENDPOINT=127.0.0.1:$port
  # Any HTTP answer means it listens (anonymous GET / is an error document).
  local i
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null --max-time 1 "http://$S3RVER_ENDPOINT/" && return 0
    kill -0 "$S3RVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  S3RVER_NOTE="s3rver did not start: $(tail -3 "$WORK/s3rver.log")"
  return 1
}

rss_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------- workloads
LG_SMALL=(--size $SMALL --concurrency "$C_SMALL" --duration "$DUR" --warmup "$WARM" --keys 64)
LG_BIG_GET=(--size $BIG --concurrency "$C_LARGE" --duration "$DUR" --warmup "$WARM" --keys $BIG_KEYS --key-prefix big-)
LG_BIG_PUT=(--size $BIG --concurrency "$C_LARGE" --requests "$BIG_PUTS" --payload-hash unsigned --key-prefix bigput-)

run_annex_workloads() {  # NAME-PREFIX ENDPOINT [credential args...]
  local p=$1 ep=$2
  shift 2
  measure_cpu "$p-get4k" "${SERVER_PIDS:-}" "$LOADGEN" --endpoint "$ep" "$@" --op get "${LG_SMALL[@]}"
  measure "$p-put4k" "$LOADGEN" --endpoint "$ep" "$@" --op put "${LG_SMALL[@]}" --payload-hash sha256
  measure "$p-get64m" "$LOADGEN" --endpoint "$ep" "$@" --op get "${LG_BIG_GET[@]}"
  measure "$p-put64m" "$LOADGEN" --endpoint "$ep" "$@" --op put "${LG_BIG_PUT[@]}"
}

# dd conv=fsync, C_LARGE streams at once (the PUT side has C_LARGE connections),
# BIG_PUTS files in all; prints the aggregate in the loadgen JSON shape.
run_dd() {
  local dir=$WORK/dd per=$((BIG_PUTS / C_LARGE)) s e i
  mkdir -p "$dir"
  s=$(date +%s.%N)
  for ((i = 0; i < C_LARGE; i++)); do
    (for ((j = 0; j < per; j++)); do
      dd if=/dev/zero of="$dir/f$i-$j" bs=1M count=$((BIG >> 20)) conv=fsync status=none || exit 1
    done) &
  done
  local rc=0
  for ((i = 0; i < C_LARGE; i++)); do wait -n || rc=1; done
  e=$(date +%s.%N)
  rm -rf "$dir"
  python3 -c 'import sys; s,e,n,b,c=map(float,sys.argv[1:]); t=e-s; print("{\"op\":\"dd\",\"concurrency\":%d,\"ops\":%d,\"seconds\":%.3f,\"ops_per_s\":%.3f,\"mb_per_s\":%.3f,\"errors\":0}" % (c,n,t,n/t,n*b/t/1e6))' \
    "$s" "$e" "$((per * C_LARGE))" "$BIG" "$C_LARGE"
  return $rc
}

memory_test() {
  local avail_kib need_kib=$(((MEM_SIZE >> 10) * MEM_UPLOADS + (1 << 20)))
  avail_kib=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
  if ((avail_kib < need_kib)); then
    echo "memory     skipped: $((avail_kib >> 20)) GiB free on $WORK, need $((need_kib >> 20)) GiB" >>"$TABLE"
    return
  fi
  annex_start "$BIN/annexd" "$WORK" mem || { FAILED=1; echo "memory     annexd did not start" >>"$TABLE"; return; }
  local pid=$ANNEX_PID peak=0 r
  sleep 1
  local idle
  idle=$(rss_kib "$pid" VmRSS)
  "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op put --size "$MEM_SIZE" --concurrency $MEM_UPLOADS \
    --requests $MEM_UPLOADS --payload-hash unsigned --bucket mem >"$WORK/mem-put.json" 2>"$WORK/mem-put.err" &
  local lg=$!
  while kill -0 "$lg" 2>/dev/null; do
    r=$(rss_kib "$pid" VmRSS)
    ((${r:-0} > peak)) && peak=$r
    sleep 0.1
  done
  if wait "$lg"; then sed 's/^{/{"name":"annex-mem-put",/' "$WORK/mem-put.json" >>"$RESULTS"; else
    FAILED=1
    log "memory upload run FAILED:"
    cat "$WORK/mem-put.json" "$WORK/mem-put.err" >&2
  fi
  local hwm
  hwm=$(rss_kib "$pid" VmHWM)
  python3 - "$idle" "$hwm" "$peak" "$MEM_UPLOADS" "$MEM_SIZE" "$(jfield "$WORK/mem-put.json" mb_per_s)" >>"$TABLE" <<'EOF'
import sys
idle, hwm, peak, n, size, mbs = sys.argv[1:]
mib = lambda k: int(k) / 1024 if k else float("nan")
print(f"RSS idle    annex {mib(idle):8.1f} MiB   (goal <= 64 MiB) " + ("met" if idle and mib(idle) <= 64 else "BELOW GOAL"))
label = f"{n} x {int(size) >> 20} MiB PUT"
print(f"RSS peak    annex {mib(hwm):8.1f} MiB VmHWM (sampled VmRSS max {mib(peak):.1f} MiB) during {label}"
      f" at {mbs} MB/s  (goal <= 256 MiB) " + ("met" if hwm and mib(hwm) <= 256 else "BELOW GOAL"))
EOF
  stop_pid "$pid"
  rm -rf "$WORK/mem-data"
}

crash_test() {
  local script=$REPO/tests/chaos/crash_test.py rc s e
  if [[ ! -f $script ]]; then
    echo "crash test  skipped: tests/chaos/crash_test.py does not exist" >>"$TABLE"
    return
  fi
  log "crash test with CYCLES=$CYCLES"
  s=$(date +%s)
  ANNEXD=$BIN/annexd ANNEXCTL=$BIN/annexctl CYCLES=$CYCLES PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 "$script" >"$WORK/crash.log" 2>&1
  rc=$?
  e=$(date +%s)
  case $rc in
    0) echo "crash test  $CYCLES cycles passed in $((e - s)) s" >>"$TABLE" ;;
    77) echo "crash test  skipped by the test itself: $(tail -1 "$WORK/crash.log")" >>"$TABLE" ;;
    *) FAILED=1
       echo "crash test  $CYCLES cycles FAILED (exit $rc) after $((e - s)) s; log tail:" >>"$TABLE"
       tail -25 "$WORK/crash.log" | sed 's/^/    /' >>"$TABLE" ;;
  esac
}

# ---------------------------------------------------------------- the run
START=$(date +%s)
log "work dir $WORK (quick=$QUICK, ${DUR}s per timed run, concurrency $C_SMALL small / $C_LARGE large)"

annex_start "$BIN/annexd" "$WORK" annex || { log "annexd did not start"; exit 1; }
ANNEX_MAIN_PID=$ANNEX_PID
sleep 1
IDLE_MAIN=$(rss_kib "$ANNEX_MAIN_PID" VmRSS)
start_nginx || { log "nginx did not start: $(cat "$WORK/nginx.log")"; FAILED=1; }

SERVER_PIDS=$ANNEX_MAIN_PID run_annex_workloads annex "$ANNEX_ENDPOINT"
# The same PUTs into a bucket with versioning enabled: every overwrite keeps
# the previous version (one more LMDB record per PUT).
python3 - "http://$ANNEX_ENDPOINT" <<'PY' || { log "could not make the versioned bucket"; FAILED=1; }
import os, sys
import boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=os.environ["ANNEX_ROOT_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["ANNEX_ROOT_SECRET_ACCESS_KEY"])
s3.create_bucket(Bucket="benchv")
s3.put_bucket_versioning(Bucket="benchv", VersioningConfiguration={"Status": "Enabled"})
PY
measure_io annex-vput4k "$ANNEX_MAIN_PID" "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --bucket benchv --op put "${LG_SMALL[@]}" --payload-hash sha256
AFTER_MAIN=$(rss_kib "$ANNEX_MAIN_PID" VmHWM)

nginx_pids() { pgrep -P "${NGINX_PID:-0}" | tr '\n' ' '; }
measure_cpu nginx-get4k "$(nginx_pids)" "$LOADGEN" --endpoint "$NGINX_ENDPOINT" --unsigned --path-template '/{key}' --op get "${LG_SMALL[@]}"
run_fsync_peer() {  # NAME
  mkdir -p "$WORK/fsync-peer"
  measure "$1" "$BIN/fsync-peer" --dir "$WORK/fsync-peer" --threads "$C_SMALL" --size $SMALL --duration "$DUR" --warmup "$WARM"
  rm -rf "$WORK/fsync-peer"
}
run_fsync_peer fsync-put4k
# More rounds of the 4 KiB pairs, each side right after the other: the peers
# swing by 2x between runs on shared machines, so the table reports the
# median of BENCH_ROUNDS interleaved runs for these rows.
for ((round = 2; round <= ROUNDS; round++)); do
  measure_cpu "annex-get4k-r$round" "$ANNEX_MAIN_PID" "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op get \
    "${LG_SMALL[@]}" --no-prepare
  measure_cpu "nginx-get4k-r$round" "$(nginx_pids)" "$LOADGEN" --endpoint "$NGINX_ENDPOINT" --unsigned --path-template '/{key}' --op get \
    "${LG_SMALL[@]}"
  measure_io "annex-put4k-r$round" "$ANNEX_MAIN_PID" "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op put "${LG_SMALL[@]}" --payload-hash sha256
  measure_io "annex-vput4k-r$round" "$ANNEX_MAIN_PID" "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --bucket benchv --op put "${LG_SMALL[@]}" \
    --payload-hash sha256
  run_fsync_peer "fsync-put4k-r$round"
done
for name in annex-get4k nginx-get4k annex-put4k fsync-put4k annex-vput4k; do
  python3 - "$WORK" "$name" "$ROUNDS" <<'PY'
import json, statistics, sys
work, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = []
for r in range(1, rounds + 1):
    path = f"{work}/{name}.json" if r == 1 else f"{work}/{name}-r{r}.json"
    try:
        runs.append(json.loads(open(path).read().strip().splitlines()[-1]))
    except (OSError, ValueError, IndexError):
        pass
ok = [x for x in runs if not x.get("failed")]
out = {"ops_per_s": statistics.median(x["ops_per_s"] for x in ok), "runs": [x["ops_per_s"] for x in ok]} if ok \
    else {"failed": True}
open(f"{work}/{name}-median.json", "w").write(json.dumps(out) + "\n")
print(f"rounds      {name:<12} " + "  ".join(f"{x:9.1f}" for x in out.get("runs", [])))
PY
done >"$WORK/rounds.txt"
# The same annexd build storing plaintext: what encryption at rest costs.
MAIN_ENDPOINT=$ANNEX_ENDPOINT
if annex_start "$BIN/annexd" "$WORK" plain --plaintext-objects; then
  PLAIN_PID=$ANNEX_PID
  measure plain-get64m "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op get "${LG_BIG_GET[@]}"
  measure plain-put64m "$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op put "${LG_BIG_PUT[@]}"
  stop_pid "$PLAIN_PID"
  rm -rf "$WORK/plain-data"
else
  log "the plaintext annexd did not start"
  FAILED=1
fi
ANNEX_ENDPOINT=$MAIN_ENDPOINT ANNEX_PID=$ANNEX_MAIN_PID
measure nginx-get64m "$LOADGEN" --endpoint "$NGINX_ENDPOINT" --unsigned --path-template '/{key}' --op get "${LG_BIG_GET[@]}"
measure dd-put64m run_dd

S3RVER_UP=0
if [[ $SKIP != *" s3rver "* ]]; then
  if start_s3rver; then
    S3RVER_UP=1
    run_annex_workloads s3rver "$S3RVER_ENDPOINT" --access-key S3RVER --secret-key S3RVER
  else
    log "$S3RVER_NOTE"
  fi
fi
bench_stop_all
rm -rf "$WORK/annex-data" "$WORK/s3rver-data" "$WORK/nginx-root"

{
  row "4KiB GET" "req/s" ops_per_s annex-get4k-median nginx nginx-get4k-median 0.5 "median of $ROUNDS interleaved runs"
  row "4KiB PUT" "req/s" ops_per_s annex-put4k-median fsync fsync-put4k-median 0.8 \
    "median of $ROUNDS; durable; peer write+fsync+rename x$C_SMALL threads"
  row "4KiB PUT versioned" "req/s" ops_per_s annex-vput4k-median unversioned annex-put4k-median 0.9 \
    "median of $ROUNDS; every PUT keeps the version it replaces"
  cat "$WORK/rounds.txt" >>"$TABLE"
  python3 - "$WORK" "$ROUNDS" >>"$TABLE" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def per_round(name, ext):  # a figure each round left in NAME[-rN].EXT
    out = []
    for r in range(1, rounds + 1):
        try:
            out.append(float(open(f"{work}/{name}{'' if r == 1 else f'-r{r}'}.{ext}").read()))
        except (OSError, ValueError):
            pass
    return out
u, v = per_round("annex-put4k", "io"), per_round("annex-vput4k", "io")
if u and v:
    mu, mv = statistics.median(u), statistics.median(v)
    print(f"4KiB PUT    bytes written per request (median): unversioned {mu / 1024:.1f} KiB, versioned {mv / 1024:.1f} KiB"
          f"  unversioned/versioned {mu / mv:.2f}")
a, n = per_round("annex-get4k", "cpu"), per_round("nginx-get4k", "cpu")
if a and n:
    ma, mn = statistics.median(a), statistics.median(n)
    print(f"4KiB GET    server CPU per request (user+system, median): annex {ma:.1f} us, nginx {mn:.1f} us"
          f"  nginx/annex {mn / ma:.2f}   rounds annex " + " ".join(f"{x:.1f}" for x in a) +
          "  nginx " + " ".join(f"{x:.1f}" for x in n))
PY
  row "64MiB GET" "MB/s" mb_per_s annex-get64m nginx nginx-get64m 0.8
  row "64MiB PUT" "MB/s" mb_per_s annex-put64m dd dd-put64m 0.7 "$C_LARGE parallel dd conv=fsync"
  row "64MiB GET SSE" "MB/s" mb_per_s annex-get64m plaintext plain-get64m 0.8 "SSE-S3 (AES-256-GCM) vs the same build storing plaintext"
  row "64MiB PUT SSE" "MB/s" mb_per_s annex-put64m plaintext plain-put64m 0.8
  if ((S3RVER_UP)); then
    row "4KiB GET" "req/s" ops_per_s annex-get4k s3rver s3rver-get4k "" "s3rver 3.7.1, node $(node --version)"
    row "4KiB PUT" "req/s" ops_per_s annex-put4k s3rver s3rver-put4k "" "s3rver never fsyncs"
    row "64MiB GET" "MB/s" mb_per_s annex-get64m s3rver s3rver-get64m
    row "64MiB PUT" "MB/s" mb_per_s annex-put64m s3rver s3rver-put64m "" "s3rver never fsyncs"
  elif [[ $SKIP != *" s3rver "* ]]; then
    echo "s3rver      not measured: $S3RVER_NOTE" >>"$TABLE"
  fi
} >/dev/null

if [[ $SKIP != *" memory "* ]]; then memory_test; fi
if [[ $SKIP != *" crash "* ]]; then crash_test; fi

echo
echo "Annex benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r), quick=$QUICK"
echo "annex/peer ratios measured in this run (loadgen on the same machine; ${DUR}s runs after ${WARM}s warm-up;"
echo "concurrency $C_SMALL for 4 KiB, $C_LARGE for 64 MiB; 4 KiB PUTs sign sha256 payloads, 64 MiB PUTs UNSIGNED-PAYLOAD)"
echo
cat "$TABLE"
echo
echo "annexd main instance: VmRSS idle $((${IDLE_MAIN:-0} / 1024)) MiB, VmHWM after the workloads $((${AFTER_MAIN:-0} / 1024)) MiB"
echo "latency (p50 / p99 ms):"
python3 - "$RESULTS" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "p50_ms" in r:
        print(f"  {r.get('name', ''):<16} {r.get('op'):<18} size {r.get('size', ''):>10}  c={r.get('concurrency'):<3} "
              f"p50 {r['p50_ms']:9.3f}  p99 {r['p99_ms']:9.3f}  ops {r['ops']}")
EOF
cp "$RESULTS" "$BUILD/bench-results.jsonl"
echo "raw results: $BUILD/bench-results.jsonl; total $(($(date +%s) - START)) s"
exit $FAILED
