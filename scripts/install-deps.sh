#!/usr/bin/env bash
# Installs everything Annex needs to build, run and test on Debian 12.
# Idempotent: packages already present are skipped, so repeat runs cost ~1 s.
set -euo pipefail

BUILD_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libboost-dev liblmdb-dev libssl-dev zlib1g-dev libzstd-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libpugixml-dev libcli11-dev libjemalloc-dev
  # Image archives and layers (services/registry).
  libarchive-dev
  # The appliance <-> control plane link (sync/proto).
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # annex-image assembles disk images with these (no mounts needed).
  e2fsprogs dosfstools mtools binutils faketime
  # What ECS tasks run on (services/containers): the OCI runtimes, task
  # networks (bridge, veth, network namespaces) and port-mapping DNAT.
  crun runc iproute2 nftables
  # What database instances run on (services/database): PostgreSQL's own
  # binaries (never Debian's default cluster), its client tools, and the
  # backup tool that archives to the appliance's S3 API.
  postgresql-15 postgresql-client-15 pgbackrest
)
# Real clients and peers the integration tests and benchmarks drive.
TEST_PACKAGES=(
  awscli python3-boto3 s3cmd rclone curl nginx procps
  # Boot tests: images run under qemu, through OVMF's UEFI firmware too.
  qemu-system-x86 ovmf fdisk
  # Registry clients, and the reference registry the image benchmark compares with.
  skopeo podman umoci docker-registry
  # Container tests build their images offline from a static busybox.
  busybox-static
  # A real browser submits an HTML upload form (S3 POST Object) in the integration tests.
  chromium
)

want=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--test" ]]; then
  want+=("${TEST_PACKAGES[@]}")
  # Node.js may already come from elsewhere (with its own npm); Debian's npm
  # conflicts with such an install, so only add what is missing.
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The JavaScript SDK test uses @aws-sdk/client-s3 from npm, kept out of the tree.
if [[ "${1:-}" == "--test" ]]; then
  NODE_DIR="$(cd "$(dirname "$0")/.." && pwd)/build/node"
  if [[ ! -d "$NODE_DIR/node_modules/@aws-sdk/client-s3" ]]; then
    mkdir -p "$NODE_DIR"
    echo "install-deps: npm install @aws-sdk/client-s3 into $NODE_DIR"
    if ! (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund @aws-sdk/client-s3@3 >/dev/null 2>&1); then
      # In CI a missing client must stop the run, not turn into a skipped test.
      if [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; then
        echo "install-deps: npm install @aws-sdk/client-s3 failed (CI is set: stopping)" >&2
        exit 1
      fi
      echo "install-deps: npm install failed; the JavaScript SDK test will report a skip" >&2
    fi
  fi
fi
