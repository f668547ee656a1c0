# policyc: the two commands the README opens with are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
NODE ?= node-a
APT_PACKAGES := libyaml-dev pkg-config iptables iproute2 conntrack ipset nftables python3 git time \
  openssl python3-kubernetes python3-yaml
BIN := .build/debug/policyc
# `make install` puts policyc, its man page and shell completions under
# $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
DESTDIR ?=
# The release build has its own folder, so it can run beside `swift test`.
RELEASE_SCRATCH := .build-release
RELEASE_BIN := $(RELEASE_SCRATCH)/release/policyc
STAGE := .build/install-stage

.PHONY: setup build demo test unit checks docs-and-unit kernel fuzz format-lint docs-check bench clean release release-suites kernel-full stage install uninstall install-check mutants properties-long agent-test bench-agent

# Installs the Debian packages policyc and its tests need, only when missing.
setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi
	@# The SARIF test validates against the official schema with Python's jsonschema.
	@python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema 2>/dev/null \
	  || (apt-get install -y -qq python3-jsonschema >/dev/null)

# SwiftPM runs the BuildInfo plugin (which stamps the git commit into
# `policyc --version` and SARIF) only when it plans the build again, and an
# incremental build after a commit that adds no file does not: it would name
# the commit before. A touched manifest makes it plan (a few seconds).
build: setup
	@touch Package.swift 2>/dev/null || true
	$(SWIFT) build

# Compiles the shipped samples for one node and prints the rules.
demo: build
	$(BIN) compile --node $(NODE) samples/cluster

unit: build
	$(SWIFT) test

# The real-kernel suite judges the binary users install: the static release
# build (it also compiles ten times faster than the debug build, and the suite
# calls it thousands of times). In `make test` each case runs in every mode
# and family with the topologies taken in turn (a third of the case runs, so
# the suite keeps within CI's time); `make kernel-full` runs every case on
# every topology too (about 9 minutes; run it before a release).
kernel: release
	python3 Tests/Kernel/run.py --policyc $(RELEASE_BIN) --rotate-topologies

kernel-full: release
	python3 Tests/Kernel/run.py --policyc $(RELEASE_BIN)

# Every input the fuzzer ever broke policyc with, then a one-minute
# coverage-guided run (libFuzzer + ASan; see Fuzz/README.md).
fuzz: setup
	bash Fuzz/run.sh --replay
	bash Fuzz/run.sh 60

# Builds in release, generates W1-W3 (seeded) and prints the table of
# bench/README.md: parse floor, compile times, RSS, counts, load times.
bench: setup
	bash bench/run.sh

# The style check STYLE.md asks for: the checked-in .swift-format, kept clean.
format-lint:
	$(SWIFT) format lint --strict -r Sources Tests Fuzz/FuzzTarget.swift Package.swift Plugins

# Every count README.md, docs/ and bench/README.md state, against the code and
# the built binary; the outputs they show; the command table; the kubectl lines;
# no path outside the repository (Tests/Docs/check_docs.py, a few seconds).
docs-check: build
	python3 Tests/Docs/check_docs.py --policyc $(BIN) --strict-help

# The whole suite: formatting, the documentation check, unit and golden tests,
# the real-kernel suite, the agent's tests, the fuzz regressions and a
# one-minute fuzz run, and the install check (the installed binary in a
# minimal Debian 12 root).
test: format-lint checks

# Three stages at once on 2 cores, after the Debian packages (.ci/stages.sh):
# the debug build, the documentation check and the unit tests (XCTest runs
# them one after another, on one core); the fuzzer (its own swiftc build in
# .build-fuzz, then a one-minute run), at a lower priority because it has the
# most slack; and the static release build with everything that judges it
# (release-suites). Each stage's whole output goes to .build/ci/ and is
# printed, with its time, when all are done; any failing fails the target.
checks: setup
	@bash .ci/stages.sh docs-and-unit nice:fuzz release-suites

docs-and-unit: docs-check unit

# The release build (in .build-release: SwiftPM locks .build for as long as
# `swift test` runs), then the kernel suite and the agent's tests side by side
# (the agent's mostly wait on the test API server and on packets, while the
# kernel suite keeps the CPUs busy), then the install check.
release-suites: release
	@STAGE_MAKEFLAGS="-o release" bash .ci/stages.sh kernel agent-test
	$(MAKE) --no-print-directory install-check

# A release binary with the Swift runtime and Foundation linked in statically,
# so it runs on a node without Swift: it needs only libc-level libraries and
# libyaml (libyaml-0-2). The ldd check fails the build otherwise.
release: setup
	@touch Package.swift 2>/dev/null || true
	$(SWIFT) build -c release --static-swift-stdlib --product policyc --scratch-path $(RELEASE_SCRATCH)
	@bad=$$(ldd $(RELEASE_BIN) | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|/opt/swift|not found' || true); \
	if [ -n "$$bad" ]; then echo "release: $(RELEASE_BIN) still needs the toolchain's libraries:"; echo "$$bad"; exit 1; fi

# The man page comes from swift-argument-parser's generate-manual plugin: it
# builds the package itself (in debug, into .build/debug, which `make build`
# has already built, so this costs seconds), runs
# `policyc --experimental-dump-help` and writes mdoc. Dated by the commit, so
# one commit gives one page. Completions come from the installed binary
# itself. Always rerun (both builds are incremental): a new commit changes
# `--version` without touching a source file.
MANUAL_SCRATCH := .build
stage: release
	rm -rf $(STAGE) $(MANUAL_SCRATCH)/plugins/GenerateManual/outputs/policyc
	$(SWIFT) package generate-manual --configuration debug \
	  --date "$$(git log -1 --format=%cs 2>/dev/null || date -u +%F)"
	mkdir -p $(STAGE)
	@# The generator copies help text verbatim, and roff drops a text line that
	@# starts with '.' or "'" as an unknown request (".yaml, .yml and .json)"
	@# vanished); \& in front keeps it. mdoc's own macros start uppercase.
	sed -e 's/^\([.'\'']\)\([^A-Z\\]\)/\\\&\1\2/' \
	  $(MANUAL_SCRATCH)/plugins/GenerateManual/outputs/policyc/policyc.1 >$(STAGE)/policyc.1
	for shell in bash zsh fish; do \
	  $(RELEASE_BIN) --generate-completion-script $$shell >$(STAGE)/completion.$$shell || exit 1; \
	done
	cp $(RELEASE_BIN) $(STAGE)/policyc
	strip $(STAGE)/policyc

install: stage
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 $(STAGE)/policyc $(DESTDIR)$(PREFIX)/bin/policyc
	install -m 0644 $(STAGE)/policyc.1 $(DESTDIR)$(PREFIX)/share/man/man1/policyc.1
	install -m 0644 $(STAGE)/completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/policyc
	install -m 0644 $(STAGE)/completion.zsh $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_policyc
	install -m 0644 $(STAGE)/completion.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/policyc.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/policyc $(DESTDIR)$(PREFIX)/share/man/man1/policyc.1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/policyc \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_policyc \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/policyc.fish

# `make install` into a temporary root, then the installed binary in a minimal
# Debian 12 root (debootstrap minbase + libyaml-0-2, iptables, nftables; cached
# in /var/cache/policyc): same compile bytes as on this host, and the chroot's
# own iptables-restore and nft accept them (Tests/Install/chroot_check.sh).
install-check:
	bash Tests/Install/chroot_check.sh

# The property tests at ten times the rounds (for a nightly `make test-long`);
# POLICYC_SEED=N repeats a run, the default seed is the date.
properties-long: setup
	POLICYC_PROPERTY_SCALE=10 $(SWIFT) test --filter PropertyTests

# Deliberate semantic mutations, one at a time, and the test that catches
# each (Tests/Mutants/run.sh; not in CI, about half an hour).
mutants: setup
	bash Tests/Mutants/run.sh

clean:
	rm -rf .build

# The agent's tests (Tests/Agent, about 3 minutes, root): the test API server
# against the documented protocol (real TLS); the deploy/ manifests against the
# Kubernetes API types; then `policyc agent` (the release binary) in a node
# network namespace with routed pods, following the test API server through
# every scenario of Tests/Agent/scenarios.py, judged by real packets, in both
# backends; and the ClusterRole against the requests the agent made.
agent-test: release
	python3 Tests/Agent/test_apiserver.py
	python3 Tests/Agent/test_deploy.py
	python3 Tests/Agent/scenarios.py --policyc $(RELEASE_BIN)

# policyc agent on W3 (50,000 pods, 10,000 policies) served by the test API
# server: initial sync, idle CPU, 60 s of churn at 50 events/s with
# event-to-kernel latency p50/p99/max polled with ipset/nft, CPU and peak RSS,
# both backends (bench/agent.py; root, not CI, about 10 minutes).
bench-agent: release
	python3 bench/agent.py --policyc $(RELEASE_BIN)
