#!/usr/bin/env bash
# Runs `make STAGE` for every STAGE at once, each into .build/ci/STAGE.log;
# when all have ended, prints each log under a line with its time, and fails
# if any failed. A stage written as nice:STAGE runs at a lower CPU priority
# (work with slack that should not slow the stages others wait for).
# STAGE_MAKEFLAGS goes to every make (e.g. "-o release": already built).
#
#   .ci/stages.sh docs-and-unit nice:fuzz release-suites
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build/ci
stages=()
for arg in "$@"; do
  stage=${arg#nice:}
  stages+=("$stage")
  prefix=()
  [ "$arg" = "$stage" ] || prefix=(nice -n 10)
  (
    start=$(date +%s)
    "${prefix[@]}" "${MAKE:-make}" --no-print-directory ${STAGE_MAKEFLAGS:-} "$stage" >".build/ci/$stage.log" 2>&1
    echo $? >".build/ci/$stage.rc"
    echo $(($(date +%s) - start)) >".build/ci/$stage.secs"
  ) &
done
wait
failed=""
for stage in "${stages[@]}"; do
  echo "==== make $stage ($(cat ".build/ci/$stage.secs") s, .build/ci/$stage.log)"
  cat ".build/ci/$stage.log"
  [ "$(cat ".build/ci/$stage.rc")" = 0 ] || failed="$failed $stage"
done
if [ -n "$failed" ]; then
  echo "stages failed:$failed"
  exit 1
fi
