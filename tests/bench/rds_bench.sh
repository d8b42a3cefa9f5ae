#!/usr/bin/env bash
# RDS instances (`make bench`): CreateDBInstance -> available as a client sees
# it (a raw signed CreateDBInstance of a db.t3.micro with a DBName, then
# DescribeDBInstances every 50 ms until DBInstanceStatus is available), and
# the first psql login over TCP, against the same steps by hand (sparse image,
# mkfs.ext4, direct-I/O loop, mount, initdb, postgres until pg_isready,
# CREATE DATABASE); interleaved, ROUNDS instances each, every one deleted
# again (SkipFinalSnapshot). Goal: p50 <= 5 s. Then pgbench select-only (-S)
# and tpcb-like against a db.m5.large instance and against postgres started
# by hand under the postgres user with the instance's initdb options and its
# annex.conf (another port) on a plain directory of the same disk (the peer);
# to tell a gap's causes apart, also that same peer moved into cgroups with
# the instance's limits for its runs (peer-cgroup), and a peer of its own on a
# loop-mounted ext4 image made as annexd makes a volume (peer-loop). All
# interleaved, over TCP 127.0.0.1 with the master password, a CHECKPOINT
# before each run; server CPU per transaction from the postmaster's reaped
# children. Goal: managed/peer >= 0.95x. Then snapshots and restores of that
# data in MB/s: CreateDBSnapshot -> available, RestoreDBInstanceFromDBSnapshot
# -> files restored and -> available, against pgBackRest by hand with the same
# options into a repository on the local disk. Needs root; says so and skips
# otherwise. Timing never fails the run.
#
#   tests/bench/rds_bench.sh [BUILD_DIR]
#     (env: ROUNDS=5, DURATION=10 s per pgbench run, PGBENCH_ROUNDS=4, SCALE=10, CLIENTS=4, THREADS=2,
#      BACKUP_RETENTION=1: the pgbench instance's; 0 turns its WAL archiving off, as the peers have it;
#      SNAPSHOT_ROUNDS=3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "== rds: SKIPPED (needs root: instances run under the postgres user on loop-mounted volumes)"
  exit 0
fi
PG_BIN=/usr/lib/postgresql/15/bin
for tool in "$PG_BIN/initdb" "$PG_BIN/postgres" "$PG_BIN/pgbench" "$PG_BIN/pg_isready" /usr/bin/psql setpriv \
  losetup mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "rds_bench: $tool is missing (make test-deps installs it)" >&2; exit 1; }
done
id postgres >/dev/null 2>&1 || { echo "rds_bench: no postgres user (the postgresql-15 package makes it)" >&2; exit 1; }
source "$ROOT/tests/bench/lib.sh"
# annexd writes its root credentials to the data dir's credentials file, as on an appliance; lib.sh's
# random ones in the environment would take their place.
unset ANNEX_ROOT_ACCESS_KEY_ID ANNEX_ROOT_SECRET_ACCESS_KEY
# A short path: an instance's socket, DATA/database/instances/db-<26>/run/.s.PGSQL.<port>, must fit the 107
# bytes of a Unix socket's name (postgres exits otherwise), which $BUILD/rds-bench.XXXXXX/data would not leave.
# The peers' directories go beside it, on the same disk.
WORK=$(mktemp -d /var/tmp/rds-bench.XXXXXX)
chmod 711 "$WORK"  # postgres opens its data directory by path: it must pass through
DATA=$WORK/annexd-data  # annex_start (lib.sh) puts it there
ANNEX_PID=
ENDPOINT=

# Deletes every instance while annexd can, then stops annexd; kills what a
# failed run left (postgres in the data dir's cgroups, the peers' postgres),
# unmounts every volume under the work dir, detaches their loop devices; and
# removes what annexd's start made for tasks: spare task namespaces, the data
# dir's bridge, nft table and cgroups.
cleanup() {
  set +e
  if [[ -n $ANNEX_PID ]] && kill -0 "$ANNEX_PID" 2>/dev/null; then
    timeout 300 python3 "$ROOT/tests/bench/rds_bench.py" --endpoint "$ENDPOINT" --data-dir "$DATA" --work "$WORK" \
      --delete-all || echo "rds_bench cleanup: deleting instances failed" >&2
    stop_pid "$ANNEX_PID"
  fi
  local tag d pid pidfile img dev m
  if [[ -d $DATA ]]; then
    tag=$(printf %s "$(realpath "$DATA")" | sha256sum | cut -c1-12)
    for procs in /sys/fs/cgroup/*/annex-workloads-"$tag"/*/cgroup.procs \
      /sys/fs/cgroup/annex-workloads-"$tag"/*/cgroup.procs; do
      [[ -f $procs ]] || continue
      for pid in $(cat "$procs"); do
        echo "rds_bench: killing leftover process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))" >&2
        kill -KILL "$pid" 2>/dev/null
      done
    done
  fi
  # The peers' postgres (started by hand): by the postmaster.pid of each data dir under the work dir.
  while read -r pidfile; do
    pid=$(head -1 "$pidfile")
    if [[ $pid =~ ^[0-9]+$ ]] && [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$PG_BIN/postgres" ]]; then
      echo "rds_bench: stopping leftover postgres $pid ($(dirname "$pidfile"))" >&2
      kill -INT "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
  done < <(find "$WORK" -name postmaster.pid 2>/dev/null)
  sleep 0.5
  # The cgroups the peer ran in for its peer-cgroup runs (named after the work dir).
  for d in /sys/fs/cgroup/*/"$(basename "$WORK")" /sys/fs/cgroup/"$(basename "$WORK")"; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  # Volumes under the work dir, deepest first, then their loop devices.
  findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | while read -r m; do umount -l "$m"; done
  while read -r img; do
    for dev in $(losetup -j "$img" -O NAME -n 2>/dev/null); do losetup -d "$dev"; done
  done < <(find "$WORK" -name 'volume.img*' 2>/dev/null)
  annex_remove_host_state "$DATA"
  rm -rf "$WORK"
}
trap cleanup EXIT

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}

# annexd as an operator starts it: root credentials in the data dir's credentials file.
ANNEX_LOG_LEVEL=${ANNEX_LOG_LEVEL:-info} annex_start "$BUILD/bin/annexd" "$WORK" annexd || exit 1
ENDPOINT=$ANNEX_ENDPOINT

autogroup=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo -)
echo "== rds: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, data on $(df --output=source "$WORK" | tail -1)" \
  "($(findmnt -n -o FSTYPE --target "$WORK")), Linux $(uname -r) (autogroup $autogroup)," \
  "$("$PG_BIN/postgres" --version), load average $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS instances"
python3 "$ROOT/tests/bench/rds_bench.py" --endpoint "$ENDPOINT" --data-dir "$DATA" --work "$WORK" \
  --rounds "$ROUNDS" --duration "$DURATION" --pgbench-rounds "${PGBENCH_ROUNDS:-4}" --scale "${SCALE:-10}" \
  --clients "${CLIENTS:-4}" --threads "${THREADS:-2}" --pgbench-backup-retention "${BACKUP_RETENTION:-1}" \
  --snapshot-rounds "${SNAPSHOT_ROUNDS:-3}" --results "$BUILD/bench-results.jsonl" || {
  echo "rds_bench: failed; annexd's log without its request lines:" >&2
  grep -v ' request id=' "$WORK/annexd.log" | tail -20 >&2
  exit 1
}
