#!/usr/bin/env bash
# Mutation check (`make mutants`, not in CI): applies deliberate semantic
# mutations one at a time to the emitters, the engine, the shared model and
# the independent reference, runs the fast tests that should catch each,
# restores the source, and prints mutation -> catching test (or SURVIVED).
# Usage: bash Tests/Mutants/run.sh [NAME-REGEX]
# MUTANTS_DRY=1 only checks that every patch applies.
set -uo pipefail
cd "$(dirname "$0")/../.."
ONLY="${1:-}"
LOG_DIR="${MUTANTS_LOG_DIR:-/tmp/policyc-mutants}"
mkdir -p "$LOG_DIR"
RESULTS=()

# mutate FILE OLD NEW: replaces the one occurrence of OLD; fails when OLD
# is missing or not unique (the patch did not apply).
mutate() {
  python3 - "$1" "$2" "$3" "${MUTANTS_DRY:-}" <<'PY'
import sys
path, old, new, dry = sys.argv[1:5]
text = open(path).read()
count = text.count(old)
if count != 1:
    sys.exit(f"patch did not apply: {count} matches of {old!r} in {path}")
if not dry:
    open(path, "w").write(text.replace(old, new))
PY
}

# run NAME FILE OLD NEW TEST... : the first listed test filter that fails catches it.
run() {
  local name="$1" file="$2" old="$3" new="$4"
  shift 4
  if [[ -n "$ONLY" && ! "$name" =~ $ONLY ]]; then return; fi
  local backup
  backup="$(mktemp)"
  cp "$file" "$backup"
  if ! mutate "$file" "$old" "$new"; then
    RESULTS+=("$name|$file|PATCH FAILED")
    rm -f "$backup"
    return
  fi
  local caught="SURVIVED"
  if [[ -n "${MUTANTS_DRY:-}" ]]; then
    caught="(dry run: patch applies)"
  elif ! swift build --build-tests >"$LOG_DIR/$name.build.log" 2>&1; then
    caught="build failed (see $LOG_DIR/$name.build.log)"
  else
    for filter in "$@"; do
      echo "== $name: $filter" >&2
      if ! swift test --skip-build --filter "$filter" >"$LOG_DIR/$name.log" 2>&1; then
        caught="$filter"
        break
      fi
    done
  fi
  cp "$backup" "$file"
  rm -f "$backup"
  RESULTS+=("$name|$file|$caught")
  echo "== $name -> $caught" >&2
}

trap 'git checkout -- Sources 2>/dev/null' INT TERM

SOUND=ReferenceSoundnessTests
ENGINE=EmitterAgreementTests/testConnectivityEngineAgreesWithTheReference
EMIT=EmitterAgreementTests/testRandomClustersAgreeWithTheReference
GOLD='GoldenTests|EmitterAgreementTests/testGoldenCasesAgreeWithTheReference'
UNIT=UnitTests

# The shared model (used by both emitters, the engine and ReferenceVerdict).
run selector-notin-absent Sources/PolicyModel/Selector.swift \
  'case .notIn: return value.map { !values.contains($0) } ?? true' \
  'case .notIn: return value.map { !values.contains($0) } ?? false' "$SOUND" "$ENGINE" "$UNIT"
run selector-doesnotexist Sources/PolicyModel/Selector.swift \
  'case .doesNotExist: return value == nil' 'case .doesNotExist: return true' "$SOUND" "$ENGINE" "$UNIT"
run selector-matchlabels-absent Sources/PolicyModel/Selector.swift \
  'where labels[key] != value {' 'where labels[key] != nil && labels[key] != value {' "$SOUND" "$ENGINE" "$UNIT"
run peer-namespace-or-pod Sources/PolicyModel/Cluster.swift \
  'guard let labels = namespaceLabels[pod.meta.namespace], nsSelector.matches(labels) else { return false }' \
  'guard let labels = namespaceLabels[pod.meta.namespace], nsSelector.matches(labels) else { return podSelector?.matches(pod.meta.labels) ?? false }' \
  "$SOUND" "$ENGINE" "$UNIT"
run peer-and-drops-pod-selector Sources/PolicyModel/Cluster.swift \
  'for i in podsByNamespace[ns] ?? [] where podSelector?.matches(pods[i].meta.labels) ?? true {' \
  'for i in podsByNamespace[ns] ?? [] where nsSelector != nil || podSelector?.matches(pods[i].meta.labels) ?? true {' \
  "$GOLD" "$EMIT"
run named-port-any-protocol Sources/PolicyModel/Objects.swift \
  'ports.filter { $0.name == portName && $0.proto == proto }' 'ports.filter { $0.name == portName }' \
  "$SOUND" "$ENGINE" "$UNIT"
run policytypes-ignored Sources/PolicyModel/Objects.swift \
  'public func applies(to direction: PolicyType) -> Bool { policyTypes.contains(direction) }' \
  'public func applies(to direction: PolicyType) -> Bool { true }' "$SOUND" "$ENGINE" "$UNIT"
run admin-order-reversed Sources/PolicyModel/AdminPolicy.swift \
  'if a.tier != b.tier { return a.tier < b.tier }' 'if a.tier != b.tier { return b.tier < a.tier }' \
  "$SOUND" "$ENGINE" "$UNIT"
# The iptables emitter.
run iptables-except-ignored Sources/RuleModel/PolicyChains.swift \
  'case .block(let cidr, let except) where except.isEmpty:' 'case .block(let cidr, _):' "$GOLD" "$EMIT"
run iptables-endport-dropped Sources/RuleModel/RuleLowering.swift \
  'range: start...(entry.endPort ?? start), destination: nil))' 'range: start...start, destination: nil))' \
  "$GOLD" "$EMIT"
# The connectivity engine.
run engine-endport-off-by-one Sources/PolicyAnalysis/Connectivity/ConnectivityEngine.swift \
  'set = set.union(PortSet(entry.proto, start...(entry.endPort ?? start)))' \
  'set = set.union(PortSet(entry.proto, start...max(start, (entry.endPort ?? start) - 1)))' "$ENGINE"
run engine-pass-as-allow Sources/PolicyAnalysis/Connectivity/ConnectivityEngine.swift \
  'case .pass: passed = passed.union(hit)' 'case .pass: allowed = allowed.union(hit)' "$ENGINE"
# The independent reference.
run reference-notin-absent Sources/PolicyReference/Matching.swift \
  'if let actual, requirement.values.contains(actual) { return false }' \
  'if actual.map({ requirement.values.contains($0) }) ?? true { return false }' "$SOUND" "$ENGINE"
run reference-peer-or Sources/PolicyReference/Matching.swift \
  'selectorHolds(namespaceSelector, labels) else {' 'selectorHolds(namespaceSelector, labels) || podSelector != nil else {' \
  "$SOUND" "$ENGINE"
run reference-except-ignored Sources/PolicyReference/Matching.swift \
  "if !block.except.contains(where: { inside(address, \$0) }) { return true }" 'return true' "$SOUND" "$ENGINE"
run reference-named-port-any-protocol Sources/PolicyReference/Matching.swift \
  'where container.name == name && container.proto == traffic.proto && container.number == traffic.port {' \
  'where container.name == name && container.number == traffic.port {' "$SOUND" "$ENGINE"
run reference-policytypes-ignored Sources/PolicyReference/IndependentReference.swift \
  '$0.policyTypes.contains(direction) && selectorHolds' 'selectorHolds' "$SOUND" "$ENGINE"
run reference-pass-continues Sources/PolicyReference/IndependentReference.swift \
  'case .pass: break adminTier' 'case .pass: continue adminTier' "$SOUND" "$ENGINE"

[[ -n "${MUTANTS_DRY:-}" ]] || swift build --build-tests >/dev/null 2>&1
printf '%-36s %-62s %s\n' MUTATION FILE "CAUGHT BY"
survived=0
for row in "${RESULTS[@]}"; do
  IFS='|' read -r name file caught <<<"$row"
  printf '%-36s %-62s %s\n' "$name" "$file" "$caught"
  [[ "$caught" == SURVIVED || "$caught" == "PATCH FAILED" ]] && survived=$((survived + 1))
done
echo "${#RESULTS[@]} mutations, $survived survived or did not apply"
[[ $survived -eq 0 ]]
