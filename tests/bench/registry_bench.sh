#!/usr/bin/env bash
# Registry push and pull (`make bench`): skopeo copies a ~200 MiB image of
# several gzip'd layers from a local OCI layout into annexd's registry and
# back, and the same into Debian's docker-registry (the reference
# distribution registry, filesystem storage on the same disk), in the same
# run. Each round pushes to a fresh repository so every layer really
# travels, then pulls it with one client and with CLIENTS at once (several
# hosts pulling the same image, as a service scaling out does); the two
# servers take turns going first. Goal: annexd >= 1.0x the reference on
# push and on pull. One skopeo pulling alone is bound by its own hashing
# and writing, so that ratio sits at parity; concurrent pulls show the
# server's own cost.
#
#   tests/bench/registry_bench.sh [BUILD_DIR]   (env: ROUNDS=5, LAYERS=4, LAYER_MIB=50, CLIENTS=3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
source "$ROOT/tests/bench/lib.sh"
WORK=$(mktemp -d "$BUILD/registry-bench.XXXXXX")  # on the build disk: /tmp may be tmpfs
cleanup() {
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-3}
LAYERS=${LAYERS:-4}
LAYER_MIB=${LAYER_MIB:-50}
for tool in skopeo docker-registry /usr/bin/aws; do
  command -v "$tool" >/dev/null || { echo "registry_bench: $tool is missing (make test-deps installs it)" >&2; exit 1; }
done

# An OCI layout of incompressible layers, built here with no network.
python3 - "$WORK/layout" "$LAYERS" "$LAYER_MIB" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, layers, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
descs, diff_ids = [], []
for i in range(layers):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        payload = os.urandom(mib << 20)
        info = tarfile.TarInfo("layer%d/data.bin" % i)
        info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))
    diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
    digest, size = put(gzip.compress(raw.getvalue(), compresslevel=1))
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cdigest, csize = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
                       "layers": descs}).encode()
mdigest, msize = put(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": mdigest, "size": msize, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]},
          open(os.path.join(root, "index.json"), "w"))
open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
IMAGE_BYTES=$(du -sb "$WORK/layout/blobs" | cut -f1)
echo "== registry: $(nproc) cores, data on $(df --output=source "$WORK" | tail -1), image $((IMAGE_BYTES >> 20)) MiB in $LAYERS layers, $ROUNDS rounds"

# The reference registry: filesystem storage, no auth, plain HTTP on loopback.
REG_PORT=$(free_port)
mkdir -p "$WORK/reference"
cat >"$WORK/reference.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $WORK/reference}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REG_PORT}
YML
docker-registry serve "$WORK/reference.yml" >"$WORK/reference.log" 2>&1 &
REF_PID=$!
BENCH_PIDS+=($REF_PID)
wait_http "http://127.0.0.1:$REG_PORT/v2/" 30 "${BENCH_PIDS[-1]}" || { cat "$WORK/reference.log" >&2; exit 1; }

annex_start "$BUILD/bin/annexd" "$WORK" annexd
export AWS_ACCESS_KEY_ID=$ANNEX_ROOT_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$ANNEX_ROOT_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
aws_ecr() { /usr/bin/aws --endpoint-url "http://$ANNEX_ENDPOINT" ecr "$@"; }
TOKEN=$(aws_ecr get-login-password)

# seconds COMMAND...: wall time of one run, in seconds.
seconds() {
  local start=$EPOCHREALTIME
  "$@" >/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
# cpu_ticks PID: the process's user + system CPU so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Pulled copies go to memory where there is room, so the disk is not what is measured.
PULLS=/dev/shm
[[ -d $PULLS && -w $PULLS ]] || PULLS=$WORK
PULL_DIR=$(mktemp -d "$PULLS/registry-bench-pull.XXXXXX")
trap 'cleanup; rm -rf "$PULL_DIR"' EXIT

# push SERVER ROUND, pull SERVER ROUND, pull_many SERVER ROUND: one timed copy.
endpoint() { [[ $1 == annex ]] && echo "$ANNEX_ENDPOINT" || echo "127.0.0.1:$REG_PORT"; }
creds() { [[ $1 == annex ]] && echo "AWS:$TOKEN" || echo "none:none"; }
push() {
  local auth=(--dest-creds "$(creds "$1")")
  [[ $1 == annex ]] || auth=()
  skopeo copy -q --dest-tls-verify=false "${auth[@]}" "oci:$WORK/layout:v1" "docker://$(endpoint "$1")/bench/app-$2:v1"
}
pull_one() {
  local auth=(--src-creds "$(creds "$1")")
  [[ $1 == annex ]] || auth=()
  rm -rf "$PULL_DIR/$3"
  skopeo copy -q --src-tls-verify=false "${auth[@]}" "docker://$(endpoint "$1")/bench/app-$2:v1" "dir:$PULL_DIR/$3"
}
pull() { pull_one "$1" "$2" single; }
pull_many() {
  local pids=() c status=0
  for ((c = 1; c <= CLIENTS; c++)); do
    pull_one "$1" "$2" "client-$c" &
    pids+=($!)
  done
  for c in "${pids[@]}"; do wait "$c" || status=1; done
  rm -rf "$PULL_DIR"/client-*
  return $status
}

declare -A total cpu
for key in push pull many; do total[annex-$key]=0; total[ref-$key]=0; cpu[annex-$key]=0; cpu[ref-$key]=0; done
for ((r = 1; r <= ROUNDS; r++)); do
  aws_ecr create-repository --repository-name "bench/app-$r" >/dev/null
  order=(annex ref)
  ((r % 2)) || order=(ref annex)
  for step in push pull pull_many; do
    for server in "${order[@]}"; do
      key=${step#pull_}
      [[ $step == pull_many ]] && key=many
      pid=$ANNEX_PID
      [[ $server == ref ]] && pid=$REF_PID
      before=$(cpu_ticks "$pid")
      t=$(seconds "$step" "$server" "$r")
      total[$server-$key]=$(add "${total[$server-$key]}" "$t")
      cpu[$server-$key]=$((cpu[$server-$key] + $(cpu_ticks "$pid") - before))
    done
  done
done
rm -rf "$PULL_DIR"

python3 - "$IMAGE_BYTES" "$ROUNDS" "$CLIENTS" "$(getconf CLK_TCK)" \
  "${total[annex-push]}" "${total[ref-push]}" "${total[annex-pull]}" "${total[ref-pull]}" \
  "${total[annex-many]}" "${total[ref-many]}" \
  "${cpu[annex-push]}" "${cpu[ref-push]}" "${cpu[annex-pull]}" "${cpu[ref-pull]}" "${cpu[annex-many]}" "${cpu[ref-many]}" <<'PY'
import sys
size, rounds, clients, hz = map(int, sys.argv[1:5])
ap, rp, al, rl, am, rm = map(float, sys.argv[5:11])
cpu = [int(x) / hz for x in sys.argv[11:17]]
mbps = lambda t, n=1: size * rounds * n / t / 1e6
gb = lambda n=1: size * rounds * n / 1e9
rows = (("push", mbps(ap), mbps(rp), cpu[0] / gb(), cpu[1] / gb()),
        ("pull, 1 client", mbps(al), mbps(rl), cpu[2] / gb(), cpu[3] / gb()),
        ("pull, %d clients" % clients, mbps(am, clients), mbps(rm, clients), cpu[4] / gb(clients), cpu[5] / gb(clients)))
for name, a, r, ac, rc in rows:
    print("%-17s annexd %7.1f MB/s   docker-registry %7.1f MB/s   ratio %.2fx   goal >= 1.00x   %s"
          % (name, a, r, a / r, "ok" if a / r >= 1.0 else "MISSED"))
    print("%-17s server CPU per GB: annexd %.2f s, docker-registry %.2f s" % ("", ac, rc))
PY
