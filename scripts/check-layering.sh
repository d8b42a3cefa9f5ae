#!/usr/bin/env bash
# The platform must not know its services: only the composition root
# (appliance/daemon/daemon.cc) may include a header from services/. A new
# service then touches its own folder, its tests and one line there.
# Exits 1 and lists every other file in appliance/ or sync/ that does.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
composition_root="appliance/daemon/daemon.cc"
cd "$root" || exit 2
bad=$(grep -rlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]services/' appliance sync \
        --include='*.h' --include='*.cc' --include='*.cpp' | grep -vx "$composition_root")
if [[ -n "$bad" ]]; then
  echo "check-layering: only $composition_root may include services/ headers; these do too:" >&2
  while read -r f; do grep -nE '#[[:space:]]*include[[:space:]]*[<"]services/' "$f" | sed "s|^|  $f:|" >&2; done <<<"$bad"
  exit 1
fi
echo "check-layering: ok (services/ is included only by $composition_root)"
