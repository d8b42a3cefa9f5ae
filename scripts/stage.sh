#!/usr/bin/env bash
# stage.sh NAME CMD...: runs CMD, then prints how long it took and appends the
# same line to $ANNEX_STAGE_LOG (make test prints them all at the end). The
# free space of the build's and the tests' file systems is printed too: a
# stage that fails with ENOSPC then says so at a glance.
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
avail() { df -h --output=avail "$1" 2>/dev/null | tail -1 | tr -d ' '; }
line=$(printf 'stage %-14s %5d s  exit %d  (free: . %s, %s %s)' "$name" "$(($(date +%s) - start))" "$rc" \
    "$(avail .)" "${TMPDIR:-/tmp}" "$(avail "${TMPDIR:-/tmp}")")
echo "== $line"
[[ -n "${ANNEX_STAGE_LOG:-}" ]] && echo "$line" >>"$ANNEX_STAGE_LOG"
exit $rc
