#!/usr/bin/env bash
# Proves `make install` gives a policyc that runs on a node without Swift.
#
# 1. `make install DESTDIR=<tmp>`: the static release binary, man page and
#    completions, in a temporary root.
# 2. A minimal Debian 12 root made with `debootstrap --variant=minbase` and only
#    libyaml-0-2, iptables and nftables added, cached in $POLICYC_CHROOT_CACHE
#    (default /var/cache/policyc/bookworm-minbase), rebuilt when missing or
#    broken. The mirror is the one this machine's apt uses.
# 3. The cached root stays pristine: each run works in an overlay of it, inside
#    a private mount and network namespace (`unshare`), so every mount goes
#    away with the namespace, even when the run is killed.
# 4. In the chroot: `policyc compile` of samples/cluster and samples/admin for
#    a node, iptables and nft backends, must give the bytes the same binary
#    gives on this host; the chroot's own `iptables-restore --test` and
#    `nft -c -f` accept them; `--version` names the commit, SARIF's
#    tool.driver.version says the same; ldd finds every library; the man page
#    and the bash, zsh and fish completions are installed.
#
# Needs root. Usage: Tests/Install/chroot_check.sh [--root-only]
# (--root-only: just make sure the cached root exists and works.)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
CACHE=${POLICYC_CHROOT_CACHE:-/var/cache/policyc/bookworm-minbase}
SUITE=bookworm
PACKAGES=libyaml-0-2,iptables,nftables
NODE=node-a
# What the cached root was made from; a different recipe rebuilds it.
RECIPE="debootstrap --variant=minbase --include=$PACKAGES $SUITE"

fail() {
  echo "install-check: FAIL: $*" >&2
  exit 1
}
note() { echo "install-check: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f s", b-a}'; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot and network namespaces)"

# Unmounts everything at or below $1, deepest first. Needed only for a root a
# killed debootstrap left behind (it mounts /proc, /sys and binds devices).
unmount_below() {
  local dir mounts
  dir=$(realpath -m "$1")
  mapfile -t mounts < <(awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r)
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
}

# rm -rf that never crosses into a mounted filesystem.
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_below "$1"
  rm -rf --one-file-system "$1"
}

# The Debian mirror this machine's apt uses (one-line and deb822 sources),
# skipping the security archive; deb.debian.org when none is configured.
debian_mirror() {
  local f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -r "$f" ] || continue
      awk 'BEGIN { RS = ""; FS = "\n" }
        { types = ""; uris = ""
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^Types:/) types = $i
            if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          }
          if (types ~ /(^|[ \t])deb([ \t]|$)/) print uris }' "$f" | tr ' ' '\n'
    done
  } | grep -E '^https?://' | grep -E '/debian/?$' | head -1 || true
}

# A usable cached root: made by this recipe, runs a shell, has the packages.
root_ok() {
  [ "$(cat "$CACHE/.policyc-recipe" 2>/dev/null)" = "$RECIPE" ] || return 1
  chroot "$CACHE" /bin/true 2>/dev/null || return 1
  local status
  status=$(chroot "$CACHE" dpkg-query -W -f '${Status}\n' libyaml-0-2 iptables nftables 2>/dev/null) || return 1
  [ "$(grep -cx 'install ok installed' <<<"$status")" = 3 ] || return 1
  [ -x "$CACHE/usr/sbin/nft" ] && [ -e "$CACHE/usr/sbin/iptables-restore" ]
}

build_root() {
  if ! command -v debootstrap >/dev/null; then
    note "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } ||
      fail "cannot install debootstrap"
  fi
  local mirror new=$CACHE.new t
  mirror=$(debian_mirror)
  mirror=${mirror:-http://deb.debian.org/debian}
  note "building the $SUITE minbase root in $CACHE from $mirror (missing or broken)"
  remove_tree "$new"
  remove_tree "$CACHE"
  mkdir -p "$(dirname "$CACHE")"
  t=$(now)
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$new" "$mirror" \
    >"$(dirname "$CACHE")/debootstrap.log" 2>&1; then
    tail -20 "$(dirname "$CACHE")/debootstrap.log" >&2
    remove_tree "$new"
    fail "debootstrap failed (log: $(dirname "$CACHE")/debootstrap.log)"
  fi
  unmount_below "$new"
  # apt's package cache is not needed to run anything.
  rm -rf --one-file-system "$new"/var/cache/apt/archives/*.deb "$new"/var/lib/apt/lists/*_Packages
  printf '%s' "$RECIPE" >"$new/.policyc-recipe"
  mv "$new" "$CACHE"
  note "debootstrap took $(since "$t") ($(du -sh --one-file-system "$CACHE" | cut -f1))"
}

# The cached Debian root, built when missing or broken; one run at a time.
prepare_root() {
  mkdir -p "$(dirname "$CACHE")"
  exec 9>"$CACHE.lock"
  flock 9
  if root_ok; then
    note "using the cached root $CACHE"
  else
    build_root
    root_ok || fail "the new root in $CACHE is not usable"
  fi
}
if [ "${1:-}" = --root-only ]; then
  prepare_root
  exit 0
fi

START=$(now)
WORK=$(mktemp -d /tmp/policyc-install-check.XXXXXX)
trap 'remove_tree "$WORK"' EXIT

# 1. make install into a temporary root.
t=$(now)
make -C "$REPO" --no-print-directory install DESTDIR="$WORK/dest" PREFIX=/usr/local >"$WORK/install.log" 2>&1 ||
  {
    tail -30 "$WORK/install.log" >&2
    fail "make install failed"
  }
note "make install DESTDIR=... took $(since "$t")"
BIN=$WORK/dest/usr/local/bin/policyc
[ -x "$BIN" ] || fail "make install did not install bin/policyc"
note "binary: $(stat -c %s "$BIN") bytes"

# 2. The Debian root.
prepare_root

# 3. What the binary gives on this host, from the repository's samples.
SETS=(cluster admin)
BACKENDS=(iptables nft)
mkdir -p "$WORK/host" "$WORK/chroot"
for s in "${SETS[@]}"; do
  for b in "${BACKENDS[@]}"; do
    (cd "$REPO" && "$BIN" compile --node "$NODE" --backend "$b" "samples/$s") >"$WORK/host/$s.$b" ||
      fail "compile of samples/$s --backend $b failed on the host"
    [ -s "$WORK/host/$s.$b" ] || fail "compile of samples/$s --backend $b gave nothing on the host"
  done
done
HOST_VERSION=$("$BIN" --version)

# 4. The same in the chroot: an overlay of the cached root (so it stays
#    pristine) with the installed files and the samples copied in, all inside a
#    private mount and network namespace.
mkdir -p "$WORK/upper" "$WORK/overlay-work" "$WORK/root"
inner() {
  set -euo pipefail
  local root=$WORK/root s b
  mount -t overlay overlay -o "lowerdir=$CACHE,upperdir=$WORK/upper,workdir=$WORK/overlay-work" "$root"
  cp -a "$WORK/dest/usr/local/." "$root/usr/local/"
  mkdir -p "$root/check"
  cp -a "$REPO/samples" "$root/check/samples"
  cp -a "$WORK/host" "$root/check/host"
  # iptables-restore and nft look at /proc; a fresh one for this namespace.
  mount -t proc proc "$root/proc"
  in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  for s in "${SETS[@]}"; do
    for b in "${BACKENDS[@]}"; do
      in_root /bin/sh -c "cd /check && policyc compile --node $NODE --backend $b samples/$s" >"$WORK/chroot/$s.$b"
    done
    in_root iptables-restore --test --noflush "/check/host/$s.iptables"
    in_root nft -c -f "/check/host/$s.nft"
  done
  in_root policyc --version >"$WORK/chroot/version"
  in_root /bin/sh -c "cd /check && policyc lint --format sarif samples/cluster; [ \$? -le 1 ]" \
    >"$WORK/chroot/lint.sarif" 2>/dev/null
  in_root ldd /usr/local/bin/policyc >"$WORK/chroot/ldd"
  in_root bash -c 'source /usr/local/share/bash-completion/completions/policyc && complete -p policyc' \
    >"$WORK/chroot/complete"
}
export -f inner
export WORK CACHE NODE REPO
t=$(now)
SETS_LIST=${SETS[*]} BACKENDS_LIST=${BACKENDS[*]} \
  unshare --mount --net --propagation private -- bash -c \
  'read -ra SETS <<<"$SETS_LIST"; read -ra BACKENDS <<<"$BACKENDS_LIST"; inner' ||
  fail "a step in the chroot failed (compile, iptables-restore --test, nft -c, --version, lint or ldd)"
note "chroot steps took $(since "$t")"

# 5. The checks.
for s in "${SETS[@]}"; do
  for b in "${BACKENDS[@]}"; do
    cmp "$WORK/host/$s.$b" "$WORK/chroot/$s.$b" ||
      fail "compile --node $NODE --backend $b samples/$s differs between the chroot and the host"
  done
done
note "compile output identical in the chroot and on the host ($(cat "$WORK"/host/* | wc -c) bytes," \
  "${#SETS[@]} sample sets x ${BACKENDS[*]}); the chroot's iptables-restore --test and nft -c accept it"

[ "$(cat "$WORK/chroot/version")" = "$HOST_VERSION" ] ||
  fail "--version: chroot says '$(cat "$WORK/chroot/version")', host '$HOST_VERSION'"
number=$(sed -n 's/.*static let number = "\(.*\)".*/\1/p' "$REPO/Sources/PolicyAnalysis/PolicycVersion.swift")
if commit=$(git -C "$REPO" rev-parse --verify --quiet --short=12 HEAD 2>/dev/null); then
  modified=""
  [ -z "$(git -C "$REPO" --no-optional-locks status --porcelain --untracked-files=no)" ] || modified=", modified"
  expected="policyc $number (commit $commit$modified)"
else
  expected="policyc $number (commit unknown)"
fi
[ "$HOST_VERSION" = "$expected" ] || fail "--version says '$HOST_VERSION', expected '$expected'"
note "--version: $HOST_VERSION"

driver=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["runs"][0]["tool"]["driver"]; print(d["version"])' \
  "$WORK/chroot/lint.sarif") || fail "lint --format sarif gave no tool.driver.version"
[ "policyc $driver" = "$HOST_VERSION" ] || fail "SARIF tool.driver.version '$driver' is not '${HOST_VERSION#policyc }'"
note "SARIF tool.driver.version: $driver"

if grep -Eq 'not found|libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime' "$WORK/chroot/ldd"; then
  cat "$WORK/chroot/ldd" >&2
  fail "the binary needs libraries the Debian root does not have"
fi
note "ldd in the chroot: $(awk '{print $1}' "$WORK/chroot/ldd" | tr '\n' ' ')"

MAN=$WORK/upper/usr/local/share/man/man1/policyc.1
[ -s "$MAN" ] || fail "man page share/man/man1/policyc.1 not installed"
grep -q '^\.Dt POLICYC 1' "$MAN" || fail "policyc.1 is not the generated mdoc page"
# A text line starting with '.' or "'" would be read as a roff request and
# vanish from the page (make install escapes them).
if grep -n "^[.'][^A-Z\\]" "$MAN"; then fail "policyc.1 has text lines roff would drop (above)"; fi
for c in compile apply matrix explain diff lint rules; do
  grep -qw "$c" "$MAN" || fail "policyc.1 does not describe the $c command"
done
grep -q 'complete .*policyc' "$WORK/chroot/complete" || fail "bash completion does not register for policyc"
head -1 "$WORK/upper/usr/local/share/zsh/site-functions/_policyc" | grep -qx '#compdef policyc' ||
  fail "zsh completion share/zsh/site-functions/_policyc missing or wrong"
grep -q "^complete -c 'policyc' " "$WORK/upper/usr/local/share/fish/vendor_completions.d/policyc.fish" ||
  fail "fish completion share/fish/vendor_completions.d/policyc.fish missing or wrong"
note "man page and bash, zsh, fish completions installed"

[ -z "$(findmnt -rn -o TARGET | grep -F "$WORK" || true)" ] || fail "mounts left under $WORK"
note "PASS in $(since "$START")"
