# policyc: the two commands the README opens with are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
NODE ?= node-a
APT_PACKAGES := libyaml-dev pkg-config iptables iproute2 conntrack ipset nftables python3 git time
BIN := .build/debug/policyc

.PHONY: setup build demo test unit kernel fuzz format-lint docs-check bench clean mutants properties-long

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

build: setup
	$(SWIFT) build

# Compiles the shipped samples for one node and prints the rules.
demo: build
	$(BIN) compile --node $(NODE) samples/cluster

unit: build
	$(SWIFT) test

kernel: build
	python3 Tests/Kernel/run.py --policyc $(BIN)

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
	$(SWIFT) format lint --strict -r Sources Tests Fuzz/FuzzTarget.swift Package.swift

# Every count README.md, docs/ and bench/README.md state, against the code and
# the built binary; the outputs they show; the command table; the kubectl lines;
# no path outside the repository (Tests/Docs/check_docs.py, a few seconds).
docs-check: build
	python3 Tests/Docs/check_docs.py --policyc $(BIN) --strict-help

# The whole suite: formatting, the documentation check, unit and golden tests,
# the real-kernel suite, then the fuzz regressions and a one-minute fuzz run.
test: format-lint docs-check unit kernel fuzz

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
