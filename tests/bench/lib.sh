# Shared helpers for the bench scripts (sourced, not run): free ports, starting
# annexd on a temp data dir and waiting for health, and stopping every process
# these helpers started (by pid, never by name).

BENCH_PIDS=()

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Random root credentials for this run (annexd and annex-loadgen both read these).
if [[ -z "${ANNEX_ROOT_ACCESS_KEY_ID:-}" ]]; then
  export ANNEX_ROOT_ACCESS_KEY_ID="AKBENCH$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
  export ANNEX_ROOT_SECRET_ACCESS_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
fi

# wait_http URL SECONDS PID: polls until URL answers 200; fails if PID exits.
wait_http() {
  local url=$1 limit=$2 pid=$3 i
  for ((i = 0; i < limit * 20; i++)); do
    if curl -sf -o /dev/null --max-time 2 "$url"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

# annex_start ANNEXD WORKDIR NAME [extra annexd args...]: starts annexd with data
# in WORKDIR/NAME-data, log in WORKDIR/NAME.log; sets ANNEX_PID, ANNEX_ENDPOINT.
annex_start() {
  local bin=$1 work=$2 name=$3 attempt port
  shift 3
  for attempt in 1 2 3; do
    port=$(free_port)
    mkdir -p "$work/$name-data"
    "$bin" --data-dir "$work/$name-data" --listen "127.0.0.1:$port" --log-level ${ANNEX_LOG_LEVEL:-warn} "$@" \
      >"$work/$name.log" 2>&1 &
    ANNEX_PID=$!
    BENCH_PIDS+=("$ANNEX_PID")
    ANNEX_ENDPOINT="127.0.0.1:$port"
    if wait_http "http://$ANNEX_ENDPOINT/_annex/health" 30 "$ANNEX_PID"; then return 0; fi
    echo "annexd ($name) did not become healthy on port $port (attempt $attempt); log tail:" >&2
    tail -20 "$work/$name.log" >&2
    stop_pid "$ANNEX_PID"
  done
  return 1
}

# stop_pid PID: SIGTERM, then SIGKILL after 15 s.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# annex_remove_host_state DATA: what an annexd on DATA made on the host for
# workloads and left behind after a failed run: its spare task namespaces,
# its bridge and nft table, its workload cgroups (named after DATA's path).
annex_remove_host_state() {
  local data=$1 tag ns d
  [[ -d $data ]] || return 0
  tag=$(printf %s "$(realpath "$data")" | sha256sum | cut -c1-12)
  # The state names attachments by id; their namespaces are "annex-<id>".
  for ns in $(grep -ao 'ecs-spare-[0-9a-f]*' "$data/network/network.state" 2>/dev/null | sort -u); do
    ip netns del "annex-$ns" 2>/dev/null
  done
  ip link show "annex${tag:0:8}" >/dev/null 2>&1 && ip link del "annex${tag:0:8}"
  nft list table ip "annex_${tag:0:8}" >/dev/null 2>&1 && nft delete table ip "annex_${tag:0:8}"
  for d in /sys/fs/cgroup/*/annex-workloads-"$tag" /sys/fs/cgroup/annex-workloads-"$tag"; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}

bench_stop_all() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
  BENCH_PIDS=()
}
