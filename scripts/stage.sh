#!/usr/bin/env bash
# stage.sh NAME CMD...: runs CMD, then prints how long it took and appends the
# same line to $ANNEX_STAGE_LOG (make test prints them all at the end).
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
line=$(printf 'stage %-14s %5d s  exit %d' "$name" "$(($(date +%s) - start))" "$rc")
echo "== $line"
[[ -n "${ANNEX_STAGE_LOG:-}" ]] && echo "$line" >>"$ANNEX_STAGE_LOG"
exit $rc
