#!/usr/bin/env bash
# ECS tasks (`make bench`): RunTask -> RUNNING as a client sees it (raw signed
# RunTask, then DescribeTasks every 10 ms until lastStatus is RUNNING) for a
# small busybox image built offline, against `crun run -d` by hand of the same
# bundle (the config.json annexd wrote for a task, on a plain rootfs copy
# instead of the overlay) until `crun state` says running; interleaved, in the
# same run. Goals: p50 ratio <= 1.5x and p50 <= 0.5 s. Also printed: the same
# peer joining a namespace it first made by hand with the `ip` runs annexd's
# awsvpc attachment makes, when annexd's container is really running (`crun
# state`), where RunTask's time goes (the task's own timestamps), and annexd's
# RSS growth per idle task with TASKS tasks running at once. Needs root;
# says so and skips otherwise. Timing never fails the run.
#
#   tests/bench/ecs_bench.sh [BUILD_DIR]     (env: ROUNDS=20, TASKS=100)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "== ecs: SKIPPED (needs root: tasks run under crun in their own namespaces)"
  exit 0
fi
for tool in crun umoci skopeo busybox ip; do
  command -v "$tool" >/dev/null || { echo "ecs_bench: $tool is missing (make test-deps installs it)" >&2; exit 1; }
done
source "$ROOT/tests/bench/lib.sh"
# annexd writes its root credentials to the data dir's credentials file, as on an appliance; lib.sh's
# random ones in the environment would take their place (and annexctl would sign with them).
unset ANNEX_ROOT_ACCESS_KEY_ID ANNEX_ROOT_SECRET_ACCESS_KEY
WORK=$(mktemp -d "$BUILD/ecs-bench.XXXXXX")  # on the build disk: task records and bundles are real
DATA=$WORK/annexd-data  # annex_start (lib.sh) puts it there
ANNEX_PID=
ENDPOINT=

# Stops every task while annexd can, then annexd; removes what a failed run
# left: containers, namespaces, the data dir's bridge, nft table and cgroups.
cleanup() {
  set +e
  if [[ -n $ANNEX_PID ]] && kill -0 "$ANNEX_PID" 2>/dev/null; then
    python3 -c '
import sys; sys.path.insert(0, sys.argv[1])
import ecs_bench as e
ecs = e.Ecs(sys.argv[2], *e.read_credentials(sys.argv[3] + "/credentials"))
try:
    arns, token = [], None
    while True:
        r = ecs.call("ListTasks", {"cluster": e.CLUSTER, **({"nextToken": token} if token else {})})
        arns += r.get("taskArns", [])
        token = r.get("nextToken")
        if not token: break
    running = [t["taskArn"] for t in ecs.describe(arns) if t["lastStatus"] != "STOPPED"] if arns else []
    if running: ecs.stop(running)
except Exception as x:
    if "ClusterNotFound" not in str(x): print("ecs_bench cleanup: stopping tasks:", x, file=sys.stderr)
' "$ROOT/tests/bench" "$ENDPOINT" "$DATA"
    stop_pid "$ANNEX_PID"
  fi
  local state=$DATA/containers/runtime peer=$WORK/peer-runtime cid line
  for root in "$state" "$peer"; do
    [[ -d $root ]] || continue
    for cid in $(crun --root "$root" list -q 2>/dev/null); do
      echo "ecs_bench: removing leftover container $cid" >&2
      crun --root "$root" delete -f "$cid" >/dev/null 2>&1
    done
  done
  while read -r line _; do
    [[ $line == ecs-bench-peer-* ]] && ip netns del "$line"
    [[ -f $WORK/task-ids && $line == annex-ecs-* ]] && grep -qx "${line#annex-ecs-}" "$WORK/task-ids" && ip netns del "$line"
  done < <(ip netns list 2>/dev/null)
  annex_remove_host_state "$DATA"
  # Overlay roots and other mounts under the work dir, deepest first.
  findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ROUNDS=${ROUNDS:-20}
TASKS=${TASKS:-100}

# The image: a static busybox and a few applets, /bin/sh as its command, built with no network.
(
  cd "$WORK"
  umoci init --layout L
  umoci new --image L:latest
  umoci unpack --rootless --image L:latest b
  mkdir -p b/rootfs/bin b/rootfs/etc b/rootfs/tmp
  cp "$(readlink -f "$(command -v busybox)")" b/rootfs/bin/busybox
  for c in sh echo cat sleep ls id hostname; do ln -sf busybox "b/rootfs/bin/$c"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >b/rootfs/etc/passwd
  printf 'root:x:0:\n' >b/rootfs/etc/group
  umoci repack --image L:latest b
  umoci config --image L:latest --config.cmd /bin/sh --config.env PATH=/bin
  skopeo copy -q oci:L:latest docker-archive:bb.tar:busybox:latest
) >"$WORK/image.log" 2>&1 || { cat "$WORK/image.log" >&2; exit 1; }

# annexd as an operator starts it: root credentials in the data dir's credentials file.
ANNEX_LOG_LEVEL=${ANNEX_LOG_LEVEL:-info} annex_start "$BUILD/bin/annexd" "$WORK" annexd || exit 1
ENDPOINT=$ANNEX_ENDPOINT
"$BUILD/bin/annexctl" --endpoint "http://$ENDPOINT" --data-dir "$DATA" images import "$WORK/bb.tar" \
  --repository busybox:latest >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; exit 1; }

echo "== ecs: $(nproc) cores, data on $(df --output=source "$WORK" | tail -1), crun $(crun --version | sed -n '1s/crun version //p'), $ROUNDS rounds, $TASKS idle tasks"
python3 "$ROOT/tests/bench/ecs_bench.py" --endpoint "$ENDPOINT" --data-dir "$DATA" --work "$WORK" \
  --rootfs "$WORK/b/rootfs" --annexd-pid "$ANNEX_PID" --rounds "$ROUNDS" --tasks "$TASKS" \
  --task-ids "$WORK/task-ids" --results "$BUILD/bench-results.jsonl"
