#!/usr/bin/env bash
# Image benchmark (issue 4): annex-image build time cold (empty package cache,
# downloads included) and warm, boot-to-ready in qemu (direct kernel and
# UEFI), and `annex-image flash` (verify + write + fsync + read back) against
# `dd bs=4M conv=fsync` of the same image to the same target, as a file and
# as a loop device where the machine allows one. Prints one table; ratios
# are dd time / flash time (>= 0.9 is the goal). Not part of ctest.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build}
BIN=$BUILD/bin
ACCEL=${ANNEX_QEMU_ACCEL:-tcg}
WORK=$(mktemp -d "$BUILD/image-bench.XXXXXX")
LOOP=""
cleanup() {
  [[ -n $LOOP ]] && losetup -d "$LOOP" 2>/dev/null
  pkill -f "image-bench.*qemu" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

"$BIN/annex-image" keygen --out "$WORK/keys" >/dev/null
cat >"$WORK/firstboot.conf" <<CONF
root_access_key_id=AKIABENCHBENCHBENCH1
root_secret_access_key=benchsecretbenchsecretbenchsecret0123456
CONF
build() {  # CACHE OUT
  "$BIN/annex-image" build -q --out "$2" --key "$WORK/keys/signing.key" --version 1.0.0 --size 768M \
    --cache "$1" --config "$WORK/firstboot.conf" >/dev/null
}

s=$(now); build "$WORK/cold-cache" "$WORK/cold.img" || exit 1; e=$(now); COLD=$(secs "$s" "$e")
s=$(now); build "$WORK/cold-cache" "$WORK/disk.img" || exit 1; e=$(now); WARM=$(secs "$s" "$e")

boot_to_ready() {  # MODE → seconds until /_annex/health answers through the forwarded port
  local mode=$1 port disk=$WORK/boot-$1.img args=()
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cp --sparse=always "$WORK/disk.img" "$disk"
  if [[ $mode == uefi ]]; then
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$WORK/vars.fd"
    args=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
          -drive "if=pflash,format=raw,file=$WORK/vars.fd")
  else
    MTOOLS_SKIP_CHECK=1 mcopy -o -n -i "$disk@@1048576" ::/annex/a/vmlinuz ::/annex/a/initrd.img "$WORK/"
    args=(-kernel "$WORK/vmlinuz" -initrd "$WORK/initrd.img" -append "annex.slot=a console=ttyS0 quiet")
  fi
  local start=$(now)
  qemu-system-x86_64 -machine "q35,accel=$ACCEL" -cpu max -m 1024 -smp 2 -nographic -name image-bench \
    -drive "file=$disk,format=raw,if=virtio" -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:4566" \
    -device virtio-net-pci,netdev=n0 "${args[@]}" >"$WORK/$mode.console" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 600; i++)); do
    if curl -sf -m 2 "http://127.0.0.1:$port/_annex/health" >/dev/null; then
      secs "$start" "$(now)"
      kill -9 $pid; wait $pid 2>/dev/null
      return 0
    fi
    sleep 0.2
  done
  kill -9 $pid; echo "n/a"
}
BOOT_DIRECT=$(boot_to_ready direct)
BOOT_UEFI=$(boot_to_ready uefi)

flash_vs_dd() {  # TARGET → "flash_s dd_s" (best of 3 each)
  local target=$1 best_f=999 best_d=999 f d s e i
  for i in 1 2 3; do
    [[ -b $target ]] || rm -f "$target"
    s=$(now); "$BIN/annex-image" flash -q "$WORK/disk.img" "$target" --pubkey "$WORK/keys/signing.pub" >/dev/null || return 1
    e=$(now); f=$(secs "$s" "$e")
    [[ -b $target ]] || rm -f "$target"
    s=$(now); dd if="$WORK/disk.img" of="$target" bs=4M conv=fsync status=none || return 1
    e=$(now); d=$(secs "$s" "$e")
    best_f=$(python3 -c "print(min($best_f, $f))"); best_d=$(python3 -c "print(min($best_d, $d))")
  done
  echo "$best_f $best_d"
}
read -r FLASH_FILE DD_FILE < <(flash_vs_dd "$WORK/target.img")
LOOP_NOTE=""
truncate -s 800M "$WORK/loop-backing.img"
if LOOP=$(losetup --find --show "$WORK/loop-backing.img" 2>/dev/null); then
  read -r FLASH_LOOP DD_LOOP < <(flash_vs_dd "$LOOP")
else
  LOOP=""; LOOP_NOTE="loop devices not allowed here"
fi

MB=$(python3 -c "print(768*1048576/1e6)")
python3 - "$COLD" "$WORK" "$WARM" "$BOOT_DIRECT" "$BOOT_UEFI" "$ACCEL" "$FLASH_FILE" "$DD_FILE" \
  "${FLASH_LOOP:-}" "${DD_LOOP:-}" "$LOOP_NOTE" "$MB" <<'PY'
import sys
cold, work, warm, direct, uefi, accel, ff, df, fl, dl, note, mb = sys.argv[1:]
mb = float(mb)
print(f"\nAnnex image benchmark (768 MiB image; qemu accel={accel})")
print(f"build, cold package cache (downloads)  {float(cold):6.2f} s")
print(f"build, warm package cache              {float(warm):6.2f} s")
print(f"boot to ready, direct kernel           {direct:>6} s")
print(f"boot to ready, UEFI (OVMF+systemd-boot){uefi:>6} s")
def row(label, f, d):
    f, d = float(f), float(d)
    print(f"flash -> {label:<8} {mb/f:8.0f} MB/s ({f:.2f} s)  dd {mb/d:8.0f} MB/s ({d:.2f} s)  ratio {d/f:5.2f} (goal >= 0.9)")
row("file", ff, df)
if fl:
    row("loop dev", fl, dl)
else:
    print(f"flash -> loop dev  skipped: {note}")
PY
