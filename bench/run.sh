#!/usr/bin/env bash
# policyc benchmark: W1/W2/W3 of docs/performance.md against the
# libyaml parse floor, on this machine, in one run. See bench/README.md.
#
#   bench/run.sh                      # everything, 3 repetitions
#   BENCH_REPS=5 bench/run.sh
#   BENCH_WORKLOADS="w1 w2" bench/run.sh
#
# Environment (all optional):
#   BENCH_REPS=3            repetitions of every timed step (medians are reported)
#   BENCH_WORKLOADS="w1 w2 w3"
#   BENCH_MODES="rules ipset nft"   rules: plain iptables rules; ipset: --ipset-out; nft: --backend nft
#   BENCH_SEED=1            generator seed
#   BENCH_NODE=node-0000    the node compiled for
#   BENCH_LOAD=1            0 skips loading the output into a scratch network namespace
#   BENCH_SKIP_BUILD=0      1 uses the existing release binary in the scratch path
#   BENCH_POLICYC=PATH      benchmark this binary instead of building one
#   BENCH_SCRATCH=.build-bench  build, data and results folder
#   BENCH_FLEET="w3"        workloads that also get `compile --all-nodes`
#   BENCH_FLEET_MODES="ipset rules"  the modes --all-nodes runs in (each must be in BENCH_MODES)
#   BENCH_JSON="w1 w2 w3"   workloads that are also compiled from their `kubectl -o json` form
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SCRATCH=${BENCH_SCRATCH:-.build-bench}
REPS=${BENCH_REPS:-3}
SEED=${BENCH_SEED:-1}
WORKLOADS=${BENCH_WORKLOADS:-"w1 w2 w3"}
MODES=${BENCH_MODES:-"rules ipset nft"}
NODE=${BENCH_NODE:-node-0000}
LOAD=${BENCH_LOAD:-1}
FLEET=${BENCH_FLEET-w3}
FLEET_MODES=${BENCH_FLEET_MODES:-"ipset rules"}
JSON_SHAPES=${BENCH_JSON-"w1 w2 w3"}
DATA=$SCRATCH/data
RESULTS_MD=$SCRATCH/results.md
RESULTS_TSV=$SCRATCH/results.tsv
EXTRA_TSV=$SCRATCH/results-fleet-json.tsv
NETNS=policyc-bench-$$

[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_REPS must be a positive integer" >&2; exit 2; }
mkdir -p "$SCRATCH" "$DATA"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/policyc-bench.XXXXXX")

cleanup() {
  ip netns del "$NETNS" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# median of the numbers on standard input
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print "n/a"} else if(NR%2){print a[(NR+1)/2]} else {printf "%.3f\n",(a[NR/2]+a[NR/2+1])/2}}'; }
maxof() { sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="n/a" || b=="n/a" || b+0==0) print "n/a"; else printf "%.2f\n", a/b }'; }
kb2mb() { awk -v k="$1" 'BEGIN{ if (k=="n/a" || k=="") print "n/a"; else printf "%.0f\n", k/1024 }'; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f\n", (b-a)/1e9}'; }

# ---------------------------------------------------------------------------
# Tools

if [[ -n ${BENCH_POLICYC:-} ]]; then
  POLICYC=$BENCH_POLICYC
else
  if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building policyc (swift build -c release --scratch-path $SCRATCH)"
    if ! swift build -c release --scratch-path "$SCRATCH" >"$SCRATCH/build.log" 2>&1; then
      tail -40 "$SCRATCH/build.log" >&2
      echo "bench: release build failed (full log: $SCRATCH/build.log)" >&2
      exit 1
    fi
  fi
  POLICYC=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path 2>/dev/null)/policyc
fi
[[ -x $POLICYC ]] || { echo "bench: no policyc binary at $POLICYC" >&2; exit 1; }

FLOOR=$SCRATCH/parsefloor
if [[ ! -x $FLOOR || bench/parsefloor.c -nt $FLOOR ]]; then
  log "building parsefloor"
  cc -O2 bench/parsefloor.c -lyaml -o "$FLOOR"
fi

TIME_BIN=/usr/bin/time
if [[ ! -x $TIME_BIN ]] && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  log "installing the Debian package 'time'"
  DEBIAN_FRONTEND=noninteractive apt-get -y -qq install time >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get -y -qq install time >/dev/null 2>&1; } || true
fi
[[ -x $TIME_BIN ]] || TIME_BIN=""

HELP=$("$POLICYC" compile --help 2>&1 || true)
HAS_JOBS=0; grep -q -- '--jobs' <<<"$HELP" && HAS_JOBS=1
HAS_IPSET=0; grep -q -- '--ipset-out' <<<"$HELP" && HAS_IPSET=1
HAS_NFT=0; grep -q -- '--backend' <<<"$HELP" && HAS_NFT=1
HAS_ALL_NODES=0; grep -q -- '--all-nodes' <<<"$HELP" && HAS_ALL_NODES=1

CAN_LOAD=0
if [[ $LOAD == 1 ]] && [[ $(id -u) == 0 ]] && command -v ip >/dev/null && command -v iptables-restore >/dev/null; then
  if ip netns add "$NETNS" >/dev/null 2>&1; then
    CAN_LOAD=1
    ip netns del "$NETNS" >/dev/null 2>&1 || true
  fi
fi
HAS_IPSET_BIN=0; command -v ipset >/dev/null && HAS_IPSET_BIN=1

# timed OUT ERR cmd...: runs cmd, sets T_WALL (s), T_RSS (KB or n/a), T_RC.
timed() {
  local out=$1 err=$2; shift 2
  local t0 t1
  T_RC=0
  t0=$(now_ns)
  if [[ -n $TIME_BIN ]]; then
    "$TIME_BIN" -f '%M' -o "$WORK/rss" "$@" >"$out" 2>"$err" || T_RC=$?
  else
    # Fallback: VmHWM of the child, through a small wrapper.
    python3 - "$@" >"$out" 2>"$err" 3>"$WORK/rss" <<'EOF' || T_RC=$?
import os, resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
os.write(3, b"%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)
EOF
  fi
  t1=$(now_ns)
  T_WALL=$(secs "$t0" "$t1")
  T_RSS=$(tail -1 "$WORK/rss" 2>/dev/null | tr -dc '0-9')
  [[ -n $T_RSS ]] || T_RSS=n/a
}

# ---------------------------------------------------------------------------
# Machine

CPU=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
MEM_GB=$(awk '/^MemTotal/{printf "%.1f", $2/1048576}' /proc/meminfo)
NPROC=$(nproc)
KERNEL=$(uname -r)
IPT_VERSION=$(iptables-restore --version 2>/dev/null | head -1 || echo "iptables-restore: none")
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain -- Sources Package.swift 2>/dev/null) ]] && REV="$REV+dirty"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

log "machine: $NPROC cores, $CPU, $MEM_GB GiB; load average $LOAD_START"
log "policyc $REV ($POLICYC); --jobs: $([[ $HAS_JOBS == 1 ]] && echo yes || echo no); --ipset-out: $([[ $HAS_IPSET == 1 ]] && echo yes || echo no); loading: $([[ $CAN_LOAD == 1 ]] && echo "netns $NETNS" || echo no)"

# ---------------------------------------------------------------------------
# Data (cached: regenerated when gen.py changes)

GEN_SUM=$(sha256sum bench/gen.py | cut -c1-16)
dataset() {
  local shape=$1 format=${2:-yaml}
  local file=$DATA/$shape-seed$SEED.$format
  local stamp=$file.gen
  if [[ ! -s $file || ! -f $stamp || $(cat "$stamp") != "$GEN_SUM" ]]; then
    log "generating $shape (seed $SEED, $format) -> $file"
    python3 bench/gen.py --shape "$shape" --seed "$SEED" --format "$format" --out "$file" --stats 2>"$file.stats.json"
    echo "$GEN_SUM" >"$stamp"
  fi
  echo "$file"
}

# ---------------------------------------------------------------------------
# Measurements

printf 'workload\tmode\tinput_mb\tevents\tfloor_s\tcompile_j1_s\tcompile_s\tratio_j1\tratio\trss_j1_mb\trss_mb\trules\tchains\tsets\tset_entries\tiptables_restore_s\tipset_restore_s\tread_s\tcompiled_s\twrote_s\tsame_output\n' >"$RESULTS_TSV"
printf 'workload\trun\tinput_mb\tfloor_s\tcompile_j1_s\tcompile_s\tratio_j1\tratio\tone_node_s\tx_one_node\tfiles\toutput_mb\trss_mb\tsame_output\n' >"$EXTRA_TSV"
ROWS=()
NOTES=()

for shape in $WORKLOADS; do
  file=$(dataset "$shape")
  ONE_NODE_RULES_S=n/a ONE_NODE_IPSET_S=n/a
  bytes=$(stat -c %s "$file")
  mb=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')

  log "$shape: parse floor ($REPS x, $mb MB)"
  "$FLOOR" "$file" "$REPS" >"$WORK/floor.txt"
  events=$(sed -n 's/.*events=\([0-9]*\).*/\1/p' "$WORK/floor.txt" | head -1)
  floor=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$WORK/floor.txt" | median)
  floor=$(printf '%.3f' "$floor")

  if [[ -s $file.stats.json ]]; then
    NOTES+=("$shape: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join(f"{k} {v}" for k,v in d.items()))' "$file.stats.json")")
  fi

  for mode in $MODES; do
    if [[ $mode == ipset && $HAS_IPSET != 1 ]]; then
      log "$shape: policyc has no --ipset-out; skipping ipset mode"
      continue
    fi
    if [[ $mode == nft && ( $HAS_NFT != 1 || -z $(command -v nft) ) ]]; then
      log "$shape: no --backend in policyc or no nft here; skipping nft mode"
      continue
    fi
    extra=()
    [[ $mode == ipset ]] && extra=(--ipset-out "$WORK/out.ipset")
    [[ $mode == nft ]] && extra=(--backend nft)
    declare -A wall=() rss=()
    settings=(default)
    [[ $HAS_JOBS == 1 ]] && settings=(j1 default)
    same=yes
    for setting in "${settings[@]}"; do
      jobs_flag=()
      [[ $setting == j1 ]] && jobs_flag=(--jobs 1)
      walls=() rsss=()
      [[ $setting == default ]] && { p_read=(); p_compile=(); p_write=(); }
      for ((r = 1; r <= REPS; r++)); do
        log "$shape/$mode: compile ${jobs_flag[*]:-(default jobs)} rep $r/$REPS"
        rm -f "$WORK/out.rules" "$WORK/out.ipset"
        timed "$WORK/compile.out" "$WORK/compile.err" \
          "$POLICYC" compile --node "$NODE" --verbose "${jobs_flag[@]}" -o "$WORK/out.rules" "${extra[@]}" "$file"
        if [[ $T_RC != 0 ]]; then
          echo "bench: policyc failed on $file (exit $T_RC):" >&2
          grep -v '^policyc: read\|^policyc: [0-9]* chain' "$WORK/compile.err" | head -20 >&2
          exit 1
        fi
        walls+=("$T_WALL")
        rsss+=("$T_RSS")
        if [[ $setting == default ]]; then
          # policyc --verbose: "policyc: read X seconds, compiled Y seconds, wrote Z seconds"
          phases=$(sed -n 's/^policyc: read \([0-9.]*\) seconds, compiled \([0-9.]*\) seconds, wrote \([0-9.]*\) seconds.*/\1 \2 \3/p' "$WORK/compile.err" | tail -1)
          if [[ -n $phases ]]; then
            read -r a b c <<<"$phases"
            p_read+=("$a"); p_compile+=("$b"); p_write+=("$c")
          fi
        fi
      done
      wall[$setting]=$(printf '%s\n' "${walls[@]}" | median)
      rss[$setting]=$(printf '%s\n' "${rsss[@]}" | maxof)
      # Keep the last output of each setting; both settings must agree.
      cp "$WORK/out.rules" "$WORK/$setting.rules"
      [[ -f $WORK/out.ipset ]] && cp "$WORK/out.ipset" "$WORK/$setting.ipset"
      cp "$WORK/compile.err" "$WORK/$setting.err"
    done
    if [[ $HAS_JOBS == 1 ]]; then
      cmp -s "$WORK/j1.rules" "$WORK/default.rules" || same=no
      if [[ $mode == ipset ]]; then cmp -s "$WORK/j1.ipset" "$WORK/default.ipset" || same=no; fi
      [[ $same == yes ]] || log "WARNING: $shape/$mode: --jobs 1 and default jobs wrote different output"
    else
      same=n/a
    fi
    ph_read=n/a ph_compile=n/a ph_write=n/a
    if ((${#p_read[@]})); then
      printf -v ph_read '%.3f' "$(printf '%s\n' "${p_read[@]}" | median)"
      printf -v ph_compile '%.3f' "$(printf '%s\n' "${p_compile[@]}" | median)"
      printf -v ph_write '%.3f' "$(printf '%s\n' "${p_write[@]}" | median)"
    fi

    rules_file=$WORK/default.rules
    rules=$(grep -c -E '^-(A|I) ' "$rules_file" || true)
    chains=$(grep -c '^:' "$rules_file" || true)
    sets=n/a entries=n/a
    if [[ $mode == nft ]]; then
      # policyc --verbose: "policyc: nft: C chains, R rules, S sets, E set elements"
      read -r chains rules sets entries < <(sed -n 's/^policyc: nft: \([0-9]*\) chains\{0,1\}, \([0-9]*\) rules\{0,1\}, \([0-9]*\) sets\{0,1\}, \([0-9]*\) set elements\{0,1\}$/\1 \2 \3 \4/p' "$WORK/default.err")
    elif [[ $mode == ipset ]]; then
      # Each set is created twice (itself, and the temporary -T set it is
      # filled under) and swapped once: count the swaps.
      sets=$(grep -c '^swap ' "$WORK/default.ipset" || true)
      entries=$(grep -c '^add ' "$WORK/default.ipset" || true)
    fi

    ipt_load=n/a ips_load=n/a
    if [[ $CAN_LOAD == 1 ]]; then
      ipt=() ips=()
      for ((r = 1; r <= REPS; r++)); do
        log "$shape/$mode: load into netns $NETNS rep $r/$REPS"
        ip netns del "$NETNS" >/dev/null 2>&1 || true
        ip netns add "$NETNS"
        if [[ $mode == ipset ]]; then
          if [[ $HAS_IPSET_BIN != 1 ]]; then break; fi
          t0=$(now_ns)
          if ! ip netns exec "$NETNS" ipset restore <"$WORK/default.ipset" 2>"$WORK/load.err"; then
            log "WARNING: ipset restore failed: $(head -3 "$WORK/load.err")"; ips=(); ipt=(); break
          fi
          t1=$(now_ns)
          ips+=("$(secs "$t0" "$t1")")
        fi
        loader=(iptables-restore --noflush)
        [[ $mode == nft ]] && loader=(nft -f -)
        t0=$(now_ns)
        if ! ip netns exec "$NETNS" "${loader[@]}" <"$rules_file" 2>"$WORK/load.err"; then
          log "WARNING: ${loader[0]} failed: $(head -3 "$WORK/load.err")"; ipt=(); break
        fi
        t1=$(now_ns)
        ipt+=("$(secs "$t0" "$t1")")
      done
      ip netns del "$NETNS" >/dev/null 2>&1 || true
      ((${#ipt[@]})) && ipt_load=$(printf '%s\n' "${ipt[@]}" | median)
      ((${#ips[@]})) && ips_load=$(printf '%s\n' "${ips[@]}" | median)
    fi

    j1=${wall[j1]:-n/a}
    dflt=${wall[default]}
    r1=$(ratio "$j1" "$floor")
    rd=$(ratio "$dflt" "$floor")
    rss1=$(kb2mb "${rss[j1]:-n/a}")
    rssd=$(kb2mb "${rss[default]}")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
      "$shape" "$mode" "$mb" "$events" "$floor" "$j1" "$dflt" "$r1" "$rd" "$rss1" "$rssd" "$rules" "$chains" \
      "$sets" "$entries" "$ipt_load" "$ips_load" "$ph_read" "$ph_compile" "$ph_write" "$same" >>"$RESULTS_TSV"
    [[ $mode == rules ]] && { cp "$WORK/default.rules" "$WORK/one-node.rules"; ONE_NODE_RULES_S=$dflt; }
    [[ $mode == ipset ]] && { cp "$WORK/default.rules" "$WORK/one-node-ipset.rules"; cp "$WORK/default.ipset" "$WORK/one-node.ipset"; ONE_NODE_IPSET_S=$dflt; }
    unset wall rss
  done

  # The whole fleet from one read: --all-nodes against one node's compile
  # (default jobs, same mode), measured in this run.
  if [[ " $FLEET " == *" $shape "* && $HAS_ALL_NODES == 1 ]]; then
    for mode in $FLEET_MODES; do
      [[ " $MODES " == *" $mode "* && ( $mode == rules || $mode == ipset ) ]] || continue
      one=$([[ $mode == rules ]] && echo "${ONE_NODE_RULES_S:-n/a}" || echo "${ONE_NODE_IPSET_S:-n/a}")
      walls=() rsss=()
      for ((r = 1; r <= REPS; r++)); do
        log "$shape/$mode: compile --all-nodes rep $r/$REPS"
        rm -rf "$WORK/fleet"
        extra=()
        [[ $mode == ipset ]] && extra=(--ipset-out "$WORK/fleet")
        timed "$WORK/fleet.out" "$WORK/fleet.err" \
          "$POLICYC" compile --all-nodes -o "$WORK/fleet" "${extra[@]}" "$file"
        if [[ $T_RC != 0 ]]; then
          echo "bench: policyc compile --all-nodes failed on $file (exit $T_RC):" >&2
          head -20 "$WORK/fleet.err" >&2
          exit 1
        fi
        walls+=("$T_WALL")
        rsss+=("$T_RSS")
      done
      files=$(find "$WORK/fleet" -type f | wc -l)
      out_mb=$(du -sb "$WORK/fleet" | awk '{printf "%.1f", $1/1e6}')
      # node-0000's file must be the one compile --node wrote above.
      same=yes
      if [[ $mode == rules ]]; then
        cmp -s "$WORK/fleet/$NODE.rules.v4" "$WORK/one-node.rules" || same=no
      else
        cmp -s "$WORK/fleet/$NODE.rules.v4" "$WORK/one-node-ipset.rules" || same=no
        cmp -s "$WORK/fleet/$NODE.ipset.v4" "$WORK/one-node.ipset" || same=no
      fi
      [[ $same == yes ]] || log "WARNING: $shape/$mode: --all-nodes wrote another $NODE file than compile --node"
      fw=$(printf '%s\n' "${walls[@]}" | median)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$shape" "all-nodes $mode" "$mb" "$floor" "n/a" "$fw" "n/a" "$(ratio "$fw" "$floor")" "$one" \
        "$(ratio "$fw" "$one")" "$files" "$out_mb" "$(kb2mb "$(printf '%s\n' "${rsss[@]}" | maxof)")" "$same" >>"$EXTRA_TSV"
      rm -rf "$WORK/fleet"
    done
  fi

  # The same cluster as `kubectl get -o json` prints it, against the floor of
  # the JSON file (libyaml reads JSON as YAML flow: the same event parser).
  if [[ " $JSON_SHAPES " == *" $shape "* && " $MODES " == *" rules "* ]]; then
    jfile=$(dataset "$shape" json)
    jmb=$(awk -v b="$(stat -c %s "$jfile")" 'BEGIN{printf "%.1f", b/1e6}')
    log "$shape/json: parse floor ($REPS x, $jmb MB)"
    "$FLOOR" "$jfile" "$REPS" >"$WORK/jfloor.txt"
    jfloor=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$WORK/jfloor.txt" | median)
    jfloor=$(printf '%.3f' "$jfloor")
    declare -A jwall=() jrss=()
    settings=(default)
    [[ $HAS_JOBS == 1 ]] && settings=(j1 default)
    same=yes
    for setting in "${settings[@]}"; do
      jobs_flag=()
      [[ $setting == j1 ]] && jobs_flag=(--jobs 1)
      walls=() rsss=()
      for ((r = 1; r <= REPS; r++)); do
        log "$shape/json: compile ${jobs_flag[*]:-(default jobs)} rep $r/$REPS"
        timed "$WORK/json.out" "$WORK/json.err" \
          "$POLICYC" compile --node "$NODE" "${jobs_flag[@]}" -o "$WORK/json.rules" "$jfile"
        if [[ $T_RC != 0 ]]; then
          echo "bench: policyc failed on $jfile (exit $T_RC):" >&2
          head -20 "$WORK/json.err" >&2
          exit 1
        fi
        walls+=("$T_WALL")
        rsss+=("$T_RSS")
      done
      jwall[$setting]=$(printf '%s\n' "${walls[@]}" | median)
      jrss[$setting]=$(printf '%s\n' "${rsss[@]}" | maxof)
      # The JSON of the cluster must compile to the bytes its YAML did.
      cmp -s "$WORK/json.rules" "$WORK/one-node.rules" || same=no
    done
    [[ $same == yes ]] || log "WARNING: $shape/json: the JSON input compiled to other rules than the YAML"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
      "$shape" "json rules" "$jmb" "$jfloor" "${jwall[j1]:-n/a}" "${jwall[default]}" \
      "$(ratio "${jwall[j1]:-n/a}" "$jfloor")" "$(ratio "${jwall[default]}" "$jfloor")" "n/a" "n/a" 1 \
      "$(awk -v b="$(stat -c %s "$WORK/json.rules")" 'BEGIN{printf "%.1f", b/1e6}')" \
      "$(kb2mb "${jrss[j1]:-n/a}") / $(kb2mb "${jrss[default]}")" "$same" >>"$EXTRA_TSV"
    unset jwall jrss
  fi
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# Report: an aligned table on standard output, Markdown in results.md.

{
  echo "## policyc benchmark"
  echo
  echo "- date: $STARTED; policyc $REV; seed $SEED; node $NODE; $REPS repetition(s), medians"
  echo "- machine: $NPROC cores, $CPU, $MEM_GB GiB RAM, Linux $KERNEL"
  echo "- $IPT_VERSION; load average at start $LOAD_START, at end $LOAD_END"
  echo
  echo "| workload | mode | input MB | parse floor s | compile s --jobs 1 | compile s default | x floor (-j1) | x floor (default) | peak RSS MB (-j1 / default) | rules | chains | sets | set entries | rules load s | ipset restore s |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  tail -n +2 "$RESULTS_TSV" | while IFS=$'\t' read -r w m mb ev fl c1 cd r1 rd s1 sd ru ch se en il isl pr pc pw same; do
    echo "| $w | $m | $mb | $fl | $c1 | $cd | $r1 | $rd | $s1 / $sd | $ru | $ch | $se | $en | $il | $isl |"
  done
  echo
  echo "Where the default-jobs time goes (policyc --verbose, median of each phase), and whether --jobs 1 and the default wrote the same bytes:"
  echo
  echo "| workload | mode | libyaml events | read s | compile s | write s | same output |"
  echo "|---|---|--:|--:|--:|--:|---|"
  tail -n +2 "$RESULTS_TSV" | while IFS=$'\t' read -r w m mb ev fl c1 cd r1 rd s1 sd ru ch se en il isl pr pc pw same; do
    echo "| $w | $m | $ev | $pr | $pc | $pw | $same |"
  done
  if [[ $(wc -l <"$EXTRA_TSV") -gt 1 ]]; then
    echo
    echo "The whole fleet from one read (\`--all-nodes\`, default jobs, against one node's compile in the same mode above), and the same cluster as \`kubectl get -o json\` prints it (against the parse floor of the JSON file; same output: the JSON compiles to the YAML's bytes, and node-0000's fleet file is the one \`--node\` wrote):"
    echo
    echo "| workload | run | input MB | parse floor s | compile s --jobs 1 | compile s default | x floor (-j1) | x floor (default) | one node s | x one node | files | output MB | peak RSS MB | same output |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
    tail -n +2 "$EXTRA_TSV" | while IFS=$'\t' read -r w run mb fl c1 cd r1 rd one xo files omb rss same; do
      echo "| $w | $run | $mb | $fl | $c1 | $cd | $r1 | $rd | $one | $xo | $files | $omb | $rss | $same |"
    done
  fi
  if ((${#NOTES[@]})); then
    echo
    echo "Generated inputs (bench/gen.py --stats):"
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
  fi
} >"$RESULTS_MD"

echo
echo "machine: $NPROC cores, $CPU, $MEM_GB GiB RAM, Linux $KERNEL; $IPT_VERSION"
echo "policyc $REV; seed $SEED; node $NODE; $REPS repetition(s), medians; load average $LOAD_START -> $LOAD_END"
echo
{
  printf 'workload\tmode\tMB\tfloor_s\tj1_s\tdefault_s\tx_floor_j1\tx_floor\tRSS_MB_j1/def\trules\tchains\tsets\tentries\tipt_load_s\tipset_load_s\n'
  tail -n +2 "$RESULTS_TSV" | while IFS=$'\t' read -r w m mb ev fl c1 cd r1 rd s1 sd ru ch se en il isl pr pc pw same; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
      "$w" "$m" "$mb" "$fl" "$c1" "$cd" "$r1" "$rd" "$s1/$sd" "$ru" "$ch" "$se" "$en" "$il" "$isl"
  done
} | column -t -s $'\t'
if [[ $(wc -l <"$EXTRA_TSV") -gt 1 ]]; then
  echo
  {
    printf 'workload\trun\tMB\tfloor_s\tj1_s\tdefault_s\tx_floor_j1\tx_floor\tone_node_s\tx_one_node\tfiles\tout_MB\tRSS_MB\tsame\n'
    tail -n +2 "$EXTRA_TSV"
  } | column -t -s $'\t'
fi
echo
echo "Markdown: $RESULTS_MD   raw: $RESULTS_TSV $EXTRA_TSV"
