#!/usr/bin/env bash
# Builds the libFuzzer binary .build-fuzz/policyc-fuzz with swiftc alone (no
# SwiftPM), every Swift module instrumented with -sanitize=fuzzer,address.
#
#   Fuzz/build.sh            # -O (default): slower to build, ~2-4x more execs/s
#   FUZZ_OPT=-Onone Fuzz/build.sh
#
# Modules are compiled one at a time, in dependency order, each whole-module
# into one object plus its .swiftmodule; a module is rebuilt only when one of
# its sources, or a module it depends on, is newer than its object.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFTC=${SWIFTC:-swiftc}
OUT=${FUZZ_BUILD_DIR:-.build-fuzz}
OPT=${FUZZ_OPT:--O}
SAN=${FUZZ_SANITIZE:-fuzzer,address}
mkdir -p "$OUT/modules" "$OUT/obj"

command -v "$SWIFTC" >/dev/null || { echo "build.sh: $SWIFTC not found" >&2; exit 2; }
pkg-config --exists yaml-0.1 2>/dev/null || [ -e /usr/include/yaml.h ] || {
  echo "build.sh: libyaml headers missing (apt-get install libyaml-dev)" >&2
  exit 2
}
YAML_CFLAGS=$(pkg-config --cflags yaml-0.1 2>/dev/null || true)
YAML_LIBS=$(pkg-config --libs yaml-0.1 2>/dev/null || echo -lyaml)

# Flags every compile shares. A change of them rebuilds everything.
COMMON=(-swift-version 6 "$OPT" -g -sanitize="$SAN" -parse-as-library
  -I "$OUT/modules" -I Sources/CLibYAML -Xcc -I -Xcc Sources/CLibYAML)
for f in $YAML_CFLAGS; do COMMON+=(-Xcc "$f"); done
flags_id="$SWIFTC $(${SWIFTC} --version 2>&1 | head -1) ${COMMON[*]}"
if [ "$(cat "$OUT/flags" 2>/dev/null)" != "$flags_id" ]; then
  rm -rf "$OUT/modules"/* "$OUT/obj"/*
  printf '%s' "$flags_id" >"$OUT/flags"
fi

# module: dependencies (order matters)
MODULES=(
  "YAMLBridge:"
  "PolicyModel:YAMLBridge"
  "RuleModel:PolicyModel YAMLBridge"
  "IptablesEmitter:RuleModel PolicyModel YAMLBridge"
  "NftEmitter:RuleModel PolicyModel YAMLBridge"
  "PolicyAnalysis:PolicyModel YAMLBridge"
)

stale() { # target, then inputs: true when target is missing or older than one input
  local target=$1
  shift
  [ -e "$target" ] || return 0
  [ -n "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]
}

objects=()
for entry in "${MODULES[@]}"; do
  name=${entry%%:*}
  deps=${entry#*:}
  mapfile -t sources < <(find "Sources/$name" -name '*.swift' | LC_ALL=C sort)
  inputs=("${sources[@]}" Sources/CLibYAML)
  for d in $deps; do inputs+=("$OUT/modules/$d.swiftmodule"); done
  obj="$OUT/obj/$name.o"
  objects+=("$obj")
  if stale "$obj" "${inputs[@]}"; then
    echo "build.sh: compiling $name (${#sources[@]} files, $OPT)" >&2
    start=$SECONDS
    "$SWIFTC" "${COMMON[@]}" -module-name "$name" -wmo -num-threads 0 \
      -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
      -c "${sources[@]}" -o "$obj.tmp"
    mv "$obj.tmp" "$obj"
    echo "build.sh: $name done in $((SECONDS - start))s" >&2
  fi
done

target_src=(Fuzz/FuzzTarget.swift)
target_obj="$OUT/obj/FuzzTarget.o"
if stale "$target_obj" "${target_src[@]}" "${objects[@]}"; then
  echo "build.sh: compiling FuzzTarget" >&2
  "$SWIFTC" "${COMMON[@]}" -module-name PolicycFuzz -wmo -num-threads 0 \
    -c "${target_src[@]}" -o "$target_obj.tmp"
  mv "$target_obj.tmp" "$target_obj"
fi

bin="$OUT/policyc-fuzz"
if stale "$bin" "$target_obj" "${objects[@]}"; then
  echo "build.sh: linking $bin" >&2
  # shellcheck disable=SC2086
  # (gold warns once per ASan helper symbol that it cannot export: noise)
  "$SWIFTC" -sanitize="$SAN" -g "$target_obj" "${objects[@]}" $YAML_LIBS -o "$bin.tmp" 2>&1 |
    { grep -v "Cannot export local symbol '__asan" || true; } >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
