#!/usr/bin/env bash
# Authorization cost on the 4 KiB GET path (`make bench`): the same GETs
# signed by the account root (identity policies do not bind it) and by a
# user whose 10 attached policies of 10 statements each (wildcards, policy
# variables, conditions) must all be evaluated — every statement is checked
# for an explicit deny, and the one Allow comes last. Rounds alternate
# root/user in one annexd (the user first in every other round) and the
# medians are compared. Goal: the user's req/s >= 0.9x the root's.
# It also prints annexd's CPU time per request for each (from its threads'
# schedstat): on a shared machine req/s swing by tens of percent between
# rounds, while the CPU difference per request shows what authorization
# itself costs.
#
#   tests/bench/authz_bench.sh [BUILD_DIR]   (env: SECONDS_EACH, ROUNDS, CONCURRENCY)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
source "$ROOT/tests/bench/lib.sh"
WORK=$(mktemp -d "$BUILD/authz-bench.XXXXXX")
cleanup() {
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

LOADGEN="$BUILD/bin/annex-loadgen"
SECONDS_EACH=${SECONDS_EACH:-5}
ROUNDS=${ROUNDS:-5}
CONCURRENCY=${CONCURRENCY:-8}
WARMUP=1
BUCKET=authz-bench
echo "== authorization: $(nproc) cores, 4 KiB GETs, $CONCURRENCY connections, $ROUNDS x ${SECONDS_EACH}s rounds each"
annex_start "$BUILD/bin/annexd" "$WORK" annexd

# The user, its policies and keys, through the IAM API as any client would.
user_keys=$(python3 - "http://$ANNEX_ENDPOINT" "$BUCKET" <<'PY'
import json, os, sys
import boto3
endpoint, bucket = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=os.environ["ANNEX_ROOT_ACCESS_KEY_ID"],
                   aws_secret_access_key=os.environ["ANNEX_ROOT_SECRET_ACCESS_KEY"])
iam.create_user(UserName="bench")
for p in range(10):
    statements = []
    for s in range(9):  # none of these applies to s3:GetObject on the bench bucket
        statements.append([
            {"Effect": "Deny", "Action": "s3:Delete*", "Resource": f"arn:aws:s3:::{bucket}/protected-{p}-{s}/*"},
            {"Effect": "Allow", "Action": ["s3:List*", "s3:GetBucket*"], "Resource": f"arn:aws:s3:::other-{p}-{s}",
             "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/secret-{p}-{s}/*",
             "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}},
            {"Effect": "Allow", "Action": "s3:Put*", "Resource": f"arn:aws:s3:::{bucket}/home/${{aws:username}}/*",
             "Condition": {"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}},
        ][s % 4])
    last = ({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]},
                           "Bool": {"aws:MultiFactorAuthPresent": "false"}}}
            if p == 9 else
            {"Effect": "Deny", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/quarantine-{p}/*"})
    doc = {"Version": "2012-10-17", "Statement": statements + [last]}
    arn = iam.create_policy(PolicyName=f"bench-{p}", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="bench", PolicyArn=arn)
key = iam.create_access_key(UserName="bench")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
)
read -r USER_KEY USER_SECRET <<<"$user_keys"

# The objects, written once by the root (a get run PUTs its key set first).
"$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op get --size 4096 --keys 200 --requests 1 --bucket "$BUCKET" \
  --concurrency 4 >/dev/null
# annexd's CPU time so far in ns, all threads (schedstat: time on a CPU).
annexd_cpu_ns() { cat /proc/"$ANNEX_PID"/task/*/schedstat 2>/dev/null | awk '{ns += $1} END {printf "%.0f", ns}'; }
get() {  # get ACCESS SECRET: the load generator's JSON, with annexd's CPU time for the run added
  local before after json
  before=$(annexd_cpu_ns)
  json=$("$LOADGEN" --endpoint "$ANNEX_ENDPOINT" --op get --size 4096 --keys 200 --bucket "$BUCKET" --no-prepare \
    --no-create-bucket --concurrency "$CONCURRENCY" --duration "$SECONDS_EACH" --warmup "$WARMUP" \
    --access-key "$1" --secret-key "$2")
  after=$(annexd_cpu_ns)
  echo "${json%\}},\"annexd_cpu_ns\":$((after - before))}"
}
results=()
for ((r = 0; r < ROUNDS; r++)); do
  if ((r % 2)); then results+=("user $(get "$USER_KEY" "$USER_SECRET")"); fi
  results+=("root $(get "$ANNEX_ROOT_ACCESS_KEY_ID" "$ANNEX_ROOT_SECRET_ACCESS_KEY")")
  if ((r % 2 == 0)); then results+=("user $(get "$USER_KEY" "$USER_SECRET")"); fi
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, sys, statistics
warmup = float(sys.argv[1])
rows = {"root": [], "user": []}
for line in sys.stdin:
    who, data = line.split(" ", 1)
    d = json.loads(data)
    if d.get("errors"):
        sys.exit("errors in a %s run: %s" % (who, d))
    rows[who].append(d)
def med(who, key):
    return statistics.median(r[key] for r in rows[who])
# annexd CPU per request: its CPU time over the run (warm-up included) by
# the requests the run made (at the measured rate over the warm-up too).
# Less disturbed than req/s by whatever else the machine runs.
for r in rows["root"] + rows["user"]:
    r["cpu_us"] = r["annexd_cpu_ns"] / 1000 / (r["ops_per_s"] * (r["seconds"] + warmup))
root, user = med("root", "ops_per_s"), med("user", "ops_per_s")
root_cpu, user_cpu = med("root", "cpu_us"), med("user", "cpu_us")
print("account root (not bound by policies)      %8.0f req/s  p50 %.2f ms  annexd %.1f us CPU/req" %
      (root, med("root", "p50_ms"), root_cpu))
print("user, 10 policies x 10 statements        %8.0f req/s  p50 %.2f ms  annexd %.1f us CPU/req" %
      (user, med("user", "p50_ms"), user_cpu))
print("authorization: %+.1f us annexd CPU per request (user - root, medians)" % (user_cpu - root_cpu))
ratio = user / root if root else 0
print("ratio %.2fx   goal >= 0.90x   %s" % (ratio, "ok" if ratio >= 0.9 else "MISSED"))
' "$WARMUP"
