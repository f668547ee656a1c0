#!/usr/bin/env bash
# Fuzzes policyc for SECONDS (default 60) with libFuzzer; see Fuzz/README.md.
#
#   Fuzz/run.sh [SECONDS]        build if needed, seed, fuzz; exit 1 on a crash
#   Fuzz/run.sh --replay [FILE]  run every Fuzz/regressions/* (or FILE...) once
#
# Environment: FUZZ_WORKERS=N runs N fuzzing processes (default 1: the
# machine has two cores); FUZZ_ORACLES=0 turns off the differential checks;
# FUZZ_ARGS adds libFuzzer flags.
#
# Seeds go to .build-fuzz/seeds (rebuilt on each run from samples/ and the
# golden inputs, which are only read); the corpus that grows lives in
# .build-fuzz/corpus and is kept between runs; crashes, timeouts and
# out-of-memory inputs are written to .build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${FUZZ_BUILD_DIR:-.build-fuzz}
bin=$(Fuzz/build.sh)
# Swift's own crash backtracer fights ASan and libFuzzer over the signal
# (it can hang, or report its own stack reads as ASan errors): leave crashes
# to them. Leak reports are off: Swift runtime caches look like leaks.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

if [ "${1:-}" = "--replay" ]; then
  shift
  files=("$@")
  if [ ${#files[@]} -eq 0 ]; then
    shopt -s nullglob
    files=(Fuzz/regressions/*)
  fi
  [ ${#files[@]} -gt 0 ] || { echo "run.sh: nothing to replay"; exit 0; }
  # Each file once, with the same limits as fuzzing; a crash exits non-zero.
  FUZZ_PARALLEL_EVERY=1 exec "$bin" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -runs=1 "${files[@]}"
fi

seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: Fuzz/run.sh [SECONDS] | --replay [FILE...]" >&2; exit 2; }

# --- seed corpus: copies, never the originals
seeds="$OUT/seeds"
rm -rf "$seeds"
mkdir -p "$seeds" "$OUT/corpus" "$OUT/crashes"
n=0
while IFS= read -r -d '' f; do
  [ "$(stat -c %s "$f")" -le 65536 ] || continue
  cp "$f" "$seeds/$(printf '%s' "$f" | tr '/' '_')"
  n=$((n + 1))
done < <(find samples Tests/Golden -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) \
  ! -name 'expected*' ! -name 'sarif-schema*' -print0 | sort -z)
# One input holds one file: also give it whole multi-file cases as one
# stream, so pods, namespaces and policies meet in one input.
bundle() { # name, files...
  local name=$1
  shift
  local dest="$seeds/bundle_$name.yaml"
  : >"$dest"
  for f in "$@"; do
    if [ -s "$dest" ]; then printf -- '\n---\n' >>"$dest"; fi
    cat "$f" >>"$dest"
  done
  if [ "$(stat -c %s "$dest")" -gt 65536 ]; then rm -f "$dest"; else n=$((n + 1)); fi
}
while IFS= read -r -d '' dir; do
  mapfile -t files < <(find "$dir" -type f \( -name '*.yaml' -o -name '*.yml' \) ! -name 'expected*' | sort)
  if [ ${#files[@]} -gt 1 ]; then bundle "$(printf '%s' "$dir" | tr '/' '_')" "${files[@]}"; fi
done < <(find Tests/Golden -mindepth 2 -maxdepth 3 -type d -print0 | sort -z)
for ns in samples/cluster/policies/*.yaml; do
  name=$(basename "$ns" .yaml)
  bundle "samples_cluster_$name" samples/cluster/namespaces.yaml "$ns" "samples/cluster/pods/$name.yaml"
done
echo "run.sh: $n seed inputs in $seeds" >&2

corpora=("$OUT/corpus" "$seeds")
[ -d Fuzz/regressions ] && corpora+=(Fuzz/regressions)

log="$OUT/fuzz.log"
workers=${FUZZ_WORKERS:-1}
args=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds"
  -dict=Fuzz/yaml.dict -artifact_prefix="$OUT/crashes/" -print_final_stats=1 -detect_leaks=0)
if [ "$workers" -gt 1 ]; then args+=(-fork="$workers"); fi
# shellcheck disable=SC2206
args+=(${FUZZ_ARGS:-})

echo "run.sh: fuzzing for ${seconds}s: $bin ${args[*]} ${corpora[*]}" >&2
started="$OUT/crashes/.started"
touch "$started"
set +e
"$bin" "${args[@]}" "${corpora[@]}" >"$log" 2>&1
status=$?
set -e

# Final stats; in fork mode (FUZZ_WORKERS > 1) the last status line instead.
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' ||
  grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' ||
  grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 || true)
echo "run.sh: ${execs:-?} executions, ${speed:-?} exec/s, ${cov:-cov: ?}, ${corpus:-corp: ?} (log: $log)"
if [ "$status" -ne 0 ]; then
  grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*ORACLE|.*Test unit written|.*ALARM|.*out-of-memory|.*deadly signal)' "$log" | head -20 >&2 || true
  echo "run.sh: FAILED (libFuzzer exit $status); written by this run:" >&2
  find "$OUT/crashes" -type f ! -name .started -newer "$started" >&2 || true
  echo "run.sh: replay with: Fuzz/run.sh --replay FILE   (then copy it to Fuzz/regressions/, see Fuzz/README.md)" >&2
  exit 1
fi
