#!/usr/bin/env bash
# pgBackRest against annexd's own S3, end to end (docs/backups-pgbackrest.md).
# Starts annexd with an HTTPS listener on a temp data dir, creates the backup
# bucket through the S3 API, makes a PostgreSQL 15 instance (initdb as the
# postgres user, SCRAM, WAL archived by pgBackRest), and then: stanza-create,
# check, a full backup of the empty instance, pgbench -i -s 15 (~250 MB), a
# full backup of that, rows written before a timestamp and rows after it, an
# incremental backup deleted again with `expire --set`, a point-in-time restore
# into a new data directory that becomes a new instance with its own stanza and
# repository path, and psql checks that exactly the rows before the timestamp
# are there. Prints timings, MB/s and every S3 answer annexd gave pgBackRest
# that was not a success or an expected 404. Removes everything it made, on
# failure too. Not part of ctest: it needs root, PostgreSQL 15 and pgBackRest.
#
#   tests/bench/backrest_proof.sh [BUILD_DIR]     (default: build; env SCALE=15 KEEP=1 keeps the temp dir)
#
# The pgbackrest.conf written here has the shape RenderBackrestConfig
# (services/database/backrest_config.cc) produces; keep the two in step.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "== backrest proof: SKIPPED (needs root: PostgreSQL runs as the postgres user)"
  exit 0
fi
PGBIN=/usr/lib/postgresql/15/bin
for tool in /usr/bin/pgbackrest "$PGBIN/initdb" "$PGBIN/pg_ctl" "$PGBIN/psql" "$PGBIN/pgbench" aws curl python3 runuser; do
  command -v "$tool" >/dev/null || { echo "backrest_proof: $tool is missing" >&2; exit 1; }
done
id postgres >/dev/null 2>&1 || { echo "backrest_proof: no postgres user" >&2; exit 1; }
[[ -x $BUILD/bin/annexd ]] || { echo "backrest_proof: $BUILD/bin/annexd is not built" >&2; exit 1; }
source "$ROOT/tests/bench/lib.sh"
# annexd writes its root credentials into the data dir, as on an appliance.
unset ANNEX_ROOT_ACCESS_KEY_ID ANNEX_ROOT_SECRET_ACCESS_KEY
SCALE=${SCALE:-15}
BUCKET=pgbackups
REGION=us-east-1
WORK=$(mktemp -d /tmp/backrest-proof.XXXXXX)
chmod 755 "$WORK"  # mktemp makes it 0700: the postgres user must get through it
ANNEX_PID=
PG_DIRS=()

as_pg() { runuser -u postgres -- "$@"; }
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
step() { echo "-- $*"; }

cleanup() {
  local rc=$? dir pid i
  set +e
  for dir in "${PG_DIRS[@]}"; do
    [[ -f $dir/data/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1
  done
  # archive-push-async processes postgres started: they leave once their queue is empty.
  # ("[p]" keeps grep from finding its own command line.)
  for ((i = 0; i < 100; i++)); do
    pid=$(grep -l -- "[p]gbackrest --config=$WORK/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | head -1)
    [[ -z $pid ]] && break
    ((i == 99)) && { echo "backrest_proof: stopping leftover pgbackrest $pid" >&2; kill "$pid"; }
    sleep 0.1
  done
  [[ -n $ANNEX_PID ]] && stop_pid "$ANNEX_PID"
  if [[ $rc != 0 ]]; then
    echo "== backrest proof FAILED (exit $rc); log tails:" >&2
    for f in "$WORK"/annex.log "$WORK"/*/pg.log "$WORK"/*/backrest/log/*.log; do
      [[ -f $f ]] && { echo "--- $f" >&2; tail -15 "$f" >&2; }
    done
  fi
  local data=$WORK/annex-data tag
  if [[ -d $data ]]; then  # what annexd's network and supervisor set up for this data dir
    tag=$(printf %s "$(realpath "$data")" | sha256sum | cut -c1-12)
    ip link show "annex${tag:0:8}" >/dev/null 2>&1 && ip link del "annex${tag:0:8}"
    nft list table ip "annex_${tag:0:8}" >/dev/null 2>&1 && nft delete table ip "annex_${tag:0:8}"
    for d in /sys/fs/cgroup/*/annex-workloads-"$tag"; do
      [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT

# --- annexd with HTTPS, and the bucket --------------------------------------
TLS_PORT=$(free_port)
ANNEX_LOG_LEVEL=info annex_start "$BUILD/bin/annexd" "$WORK" annex --tls-listen "127.0.0.1:$TLS_PORT"
HTTP=http://$ANNEX_ENDPOINT
export AWS_SHARED_CREDENTIALS_FILE=$WORK/annex-data/credentials AWS_PROFILE=annex AWS_DEFAULT_REGION=$REGION
KEY=$(awk -F' *= *' '$1 == "aws_access_key_id" {print $2}' "$AWS_SHARED_CREDENTIALS_FILE")
SECRET=$(awk -F' *= *' '$1 == "aws_secret_access_key" {print $2}' "$AWS_SHARED_CREDENTIALS_FILE")
aws --endpoint-url "$HTTP" s3api create-bucket --bucket "$BUCKET" >/dev/null
step "annexd: http $HTTP, https 127.0.0.1:$TLS_PORT, bucket $BUCKET"

# An instance's directory: data, socket, pgBackRest's log/lock/spool, the CA.
make_instance_dirs() {
  local dir=$1
  mkdir -p "$dir/data" "$dir/run" "$dir/backrest/log" "$dir/backrest/lock" "$dir/backrest/spool"
  # The CA as annexd serves it; postgres must read it (annexd's own copy is under its data dir).
  curl -sf "$HTTP/_annex/ca.pem" -o "$dir/backrest/ca.pem"
  cmp -s "$dir/backrest/ca.pem" "$WORK/annex-data/tls/ca.pem"
  chmod 700 "$dir/data"
  chown -R postgres:postgres "$dir"
  PG_DIRS+=("$dir")
}

# render_conf REPO_PATH STANZA INSTANCE_DIR PG_PORT: pgbackrest.conf as RenderBackrestConfig writes it.
render_conf() {
  local repo_path=$1 stanza=$2 dir=$3 port=$4
  cat <<EOF
# pgBackRest for stanza $stanza, written by annexd (services/database): do not edit.
[global]
# repo1: s3://$BUCKET$repo_path
repo1-type=s3
repo1-s3-endpoint=localhost
repo1-storage-port=$TLS_PORT
repo1-s3-uri-style=path
repo1-s3-region=$REGION
repo1-s3-bucket=$BUCKET
repo1-s3-key=$KEY
repo1-s3-key-secret=$SECRET
repo1-storage-ca-file=$dir/backrest/ca.pem
repo1-storage-verify-tls=y
repo1-path=$repo_path
repo1-bundle=y
repo1-retention-full-type=time
repo1-retention-full=7
# how commands run
process-max=2
compress-type=zst
archive-async=y
spool-path=$dir/backrest/spool
lock-path=$dir/backrest/lock
log-path=$dir/backrest/log
log-level-console=warn
log-level-file=info
start-fast=y

[global:archive-push]
log-level-file=warn

[global:archive-get]
log-level-file=warn

[$stanza]
pg1-path=$dir/data
pg1-port=$port
pg1-socket-path=$dir/run
pg1-user=postgres
pg1-database=postgres
EOF
}

# write_conf FILE ...render_conf args: 0600, the postgres user's (it holds the secret).
write_conf() {
  local file=$1
  shift
  render_conf "$@" >"$file"
  chown postgres:postgres "$file"
  chmod 600 "$file"
}

# annex.conf: the settings the service owns, included from postgresql.conf. Restored data
# directories carry the source's copy, so it is rewritten before every first start.
write_annex_conf() {
  local dir=$1 port=$2 stanza=$3
  cat >"$dir/data/annex.conf" <<EOF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir/run'
wal_level = replica
archive_mode = on
archive_command = '/usr/bin/pgbackrest --config=$dir/backrest/pgbackrest.conf --stanza=$stanza archive-push %p'
archive_timeout = 60
logging_collector = off
EOF
  chown postgres:postgres "$dir/data/annex.conf"
}

pg_start() { as_pg "$PGBIN/pg_ctl" -D "$1/data" -l "$1/pg.log" -w -t 120 start >/dev/null; }
# psql_at DIR PORT SQL: one statement, unaligned, tuples only.
psql_at() { as_pg "$PGBIN/psql" -h "$1/run" -p "$2" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atqc "$3"; }
br() { as_pg /usr/bin/pgbackrest "$@"; }
# info_field CONF STANZA PY_EXPR: evaluates PY_EXPR over the stanza's `info --output=json` entry `s`.
info_field() {
  br --config="$1" --stanza="$2" info --output=json | python3 -c "import json,sys; s=json.load(sys.stdin)[0]; print($3)"
}

# --- the source instance ---------------------------------------------------------
SRC=$WORK/src
SRC_PORT=$(free_port)
make_instance_dirs "$SRC"
printf 'proof-%s\n' "$RANDOM$RANDOM" >"$WORK/pw"
chown postgres "$WORK/pw"
as_pg "$PGBIN/initdb" -D "$SRC/data" -U postgres --pwfile="$WORK/pw" --auth=scram-sha-256 -E UTF8 \
  --locale=C.UTF-8 >"$SRC/initdb.log"
# pgBackRest connects over the socket as postgres: peer authentication, no password to keep.
sed -i '1i local all postgres peer' "$SRC/data/pg_hba.conf"
echo "include 'annex.conf'" >>"$SRC/data/postgresql.conf"
write_annex_conf "$SRC" "$SRC_PORT" src
write_conf "$SRC/backrest/pgbackrest.conf" /src src "$SRC" "$SRC_PORT"
SRC_CONF=$SRC/backrest/pgbackrest.conf
pg_start "$SRC"
step "source instance on port $SRC_PORT, repository s3://$BUCKET/src"

t0=$(now)
br --config="$SRC_CONF" --stanza=src stanza-create
t1=$(now)
br --config="$SRC_CONF" --stanza=src check
t2=$(now)
step "stanza-create $(secs "$t0" "$t1") s, check $(secs "$t1" "$t2") s"

t0=$(now)
br --config="$SRC_CONF" --stanza=src backup --type=full
t1=$(now)
EMPTY_BACKUP_S=$(secs "$t0" "$t1")
step "full backup of the empty instance: $EMPTY_BACKUP_S s"

t0=$(now)
as_pg "$PGBIN/pgbench" -h "$SRC/run" -p "$SRC_PORT" -U postgres -i -s "$SCALE" -q postgres >"$SRC/pgbench.log" 2>&1
t1=$(now)
step "pgbench -i -s $SCALE: $(secs "$t0" "$t1") s, database $(psql_at "$SRC" "$SRC_PORT" \
  "select pg_size_pretty(pg_database_size('postgres'))")"

t0=$(now)
br --config="$SRC_CONF" --stanza=src backup --type=full
t1=$(now)
FULL_S=$(secs "$t0" "$t1")
FULL_BYTES=$(info_field "$SRC_CONF" src "s['backup'][-1]['info']['size']")
FULL_REPO=$(info_field "$SRC_CONF" src "s['backup'][-1]['info']['repository']['size']")
FULL_MBS=$(python3 -c "print(f'{$FULL_BYTES / 1e6 / ($t1 - $t0):.1f}')")
step "full backup: $((FULL_BYTES / 1000000)) MB of cluster ($((FULL_REPO / 1000000)) MB in S3) in $FULL_S s: $FULL_MBS MB/s"

# --- rows before and after the target time -----------------------------------------
psql_at "$SRC" "$SRC_PORT" "create table proof(id int primary key, phase text not null)"
psql_at "$SRC" "$SRC_PORT" "insert into proof select g, 'before' from generate_series(1, 1000) g"
sleep 1
TARGET=$(psql_at "$SRC" "$SRC_PORT" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1
psql_at "$SRC" "$SRC_PORT" "insert into proof select g, 'after' from generate_series(1001, 1500) g"
# The commit after the target must be archived, or recovery ends before reaching the target (FATAL).
SEGMENT=$(psql_at "$SRC" "$SRC_PORT" "select pg_walfile_name(pg_switch_wal())")
for ((i = 0; i < 600; i++)); do
  ARCHIVED=$(psql_at "$SRC" "$SRC_PORT" "select coalesce(last_archived_wal, '') from pg_stat_archiver")
  [[ $ARCHIVED > $SEGMENT || $ARCHIVED == "$SEGMENT" ]] && break
  sleep 0.1
done
[[ $ARCHIVED > $SEGMENT || $ARCHIVED == "$SEGMENT" ]] || { echo "segment $SEGMENT was not archived" >&2; exit 1; }
step "target time $TARGET; 1000 rows before it, 500 after; WAL archived through $ARCHIVED"

# --- an incremental backup, deleted again (DeleteDBSnapshot) ---------------------------
# (pgBackRest warns that this expires the latest backup: expected here.)
br --config="$SRC_CONF" --stanza=src backup --type=incr
INCR=$(info_field "$SRC_CONF" src "s['backup'][-1]['label']")
br --config="$SRC_CONF" --stanza=src expire --set="$INCR"
LEFT=$(info_field "$SRC_CONF" src "' '.join(b['label'] for b in s['backup'])")
[[ " $LEFT " != *" $INCR "* ]] || { echo "expire --set=$INCR left it in place" >&2; exit 1; }
step "incremental $INCR taken and deleted; backups left: $LEFT"

# --- point-in-time restore into a new instance --------------------------------------------
DST=$WORK/dst
DST_PORT=$(free_port)
make_instance_dirs "$DST"
# Restoring reads the source's repository and stanza: a config of its own for that, with the
# new data directory. recovery's restore_command (in postgresql.auto.conf) names this file.
write_conf "$DST/backrest/restore.conf" /src src "$DST" "$DST_PORT"
write_conf "$DST/backrest/pgbackrest.conf" /dst dst "$DST" "$DST_PORT"
t0=$(now)
br --config="$DST/backrest/restore.conf" --stanza=src restore --type=time --target="$TARGET" --target-action=promote
t1=$(now)
RESTORE_S=$(secs "$t0" "$t1")
RESTORE_MBS=$(python3 -c "print(f'{$(du -sb "$DST/data" | cut -f1) / 1e6 / ($t1 - $t0):.1f}')")
step "restore: $(du -sm "$DST/data" | cut -f1) MB in $RESTORE_S s: $RESTORE_MBS MB/s"

# The restored annex.conf is the source's: its port, socket and archive_command into /src.
grep -q -- "--stanza=src archive-push" "$DST/data/annex.conf"
write_annex_conf "$DST" "$DST_PORT" dst
# The new instance's own stanza exists before it archives its first segment (the history file).
br --config="$DST/backrest/pgbackrest.conf" --stanza=dst stanza-create --no-online
t0=$(now)
pg_start "$DST"
for ((i = 0; i < 1200; i++)); do
  [[ $(psql_at "$DST" "$DST_PORT" "select pg_is_in_recovery()" 2>/dev/null) == f ]] && break
  sleep 0.1
done
t1=$(now)
[[ $(psql_at "$DST" "$DST_PORT" "select pg_is_in_recovery()") == f ]] || { echo "dst never promoted" >&2; exit 1; }
step "recovery to the target and promotion: $(secs "$t0" "$t1") s"

GOT=$(psql_at "$DST" "$DST_PORT" "select count(*) || ' ' || coalesce(min(id), 0) || ' ' || coalesce(max(id), 0) ||
  ' ' || count(*) filter (where phase = 'after') from proof")
[[ $GOT == "1000 1 1000 0" ]] || { echo "restored rows: got '$GOT', want '1000 1 1000 0'" >&2; exit 1; }
ACCOUNTS=$(psql_at "$DST" "$DST_PORT" "select count(*) from pgbench_accounts")
[[ $ACCOUNTS == $((SCALE * 100000)) ]] || { echo "pgbench_accounts: $ACCOUNTS rows" >&2; exit 1; }
step "restored instance: exactly rows 1..1000 ('before'), none after; pgbench_accounts $ACCOUNTS rows"

# The new instance archives to its own path; nothing of its timeline reached the source's.
br --config="$DST/backrest/pgbackrest.conf" --stanza=dst check
br --config="$DST/backrest/pgbackrest.conf" --stanza=dst backup --type=full
SRC_ARCHIVE=$(aws --endpoint-url "$HTTP" s3 ls --recursive "s3://$BUCKET/src/archive/")
DST_ARCHIVE=$(aws --endpoint-url "$HTTP" s3 ls --recursive "s3://$BUCKET/dst/archive/")
# Timeline 2's files: 00000002.history and segments whose name starts with the timeline, 00000002.
TL2='/00000002(\.history|[0-9A-F]{16})'
if grep -qE "$TL2" <<<"$SRC_ARCHIVE"; then
  echo "the restored instance's timeline 2 reached the source's archive:" >&2
  grep -E "$TL2" <<<"$SRC_ARCHIVE" >&2
  exit 1
fi
grep -qE '/00000002\.history' <<<"$DST_ARCHIVE" || { echo "no 00000002.history in s3://$BUCKET/dst" >&2; exit 1; }
step "new instance: check, full backup, timeline 2 in s3://$BUCKET/dst; none of it in the source's archive"

# --- what annexd answered -------------------------------------------------------------
echo "-- S3 requests annexd served (op status count):"
grep ' request ' "$WORK/annex.log" | sed -nE 's/.* op=([A-Za-z0-9]+) .* status=([0-9]+) .*/\1 \2/p' | sort | uniq -c |
  awk '{printf "   %-26s %s %6d\n", $2, $3, $1}'
UNEXPECTED=$(grep ' request ' "$WORK/annex.log" | grep -vE 'status=(2[0-9][0-9]|404) ' | grep -v 'op=CreateBucket' || true)
if [[ -n $UNEXPECTED ]]; then
  echo "== annexd answered these with errors:" >&2
  echo "$UNEXPECTED" >&2
  exit 1
fi

echo "== backrest proof: ok"
printf '   %-44s %s\n' "full backup, empty instance (s)" "$EMPTY_BACKUP_S" \
  "full backup, pgbench -s $SCALE (s, MB/s)" "$FULL_S, $FULL_MBS" \
  "PITR restore (s, MB/s)" "$RESTORE_S, $RESTORE_MBS"
