# vigil: build, generate, test, bench, run, lint. Run as root on Linux.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN := bin/vigil
# Compiler flags for the BPF object (read by bpf2go through the environment).
# -mcpu=v3: 32-bit jumps and ALU ops (Linux 5.1+); -g keeps BTF for CO-RE.
BPF2GO_CFLAGS := -O2 -g -Wall -Werror -mcpu=v3
export BPF2GO_CFLAGS
# Debian packages needed to regenerate the BPF object (not to build or test).
GEN_DEPS := clang llvm libbpf-dev bpftool
# Debian packages the tests run for real: rsyslog (the syslog sink's peer);
# containerd, runc and dockerd (real containers for the metadata tests);
# busybox-static (the test image's rootfs); libcap2-bin (setcap, for the
# xattr events of file capabilities).
TEST_DEPS := rsyslog containerd runc docker.io busybox-static libcap2-bin python3 openssl passwd procps e2fsprogs perl curl
TEST_BINS := rsyslogd containerd runc dockerd busybox setcap python3 openssl useradd pgrep chattr perl curl
# Helm (the chart's lint and template test) is not packaged in Debian 12:
# built from the Go module proxy into .tools/bin, which the tests find first.
HELM_VERSION := v3.22.0
TOOLS := $(CURDIR)/.tools/bin

.PHONY: all build generate gen-deps test-deps bench-deps vmlinux test vm-test bench-vm test-short bench bench-types bench-types15 bench-compare bench-go fuzz run lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/vigil

# Regenerate the BPF object and its Go bindings from bpf/c and bpf/include.
generate: gen-deps
	$(GO) generate ./bpf/

gen-deps:
	@missing=""; for c in clang llvm-strip bpftool; do command -v $$c >/dev/null || missing=1; done; \
	[ -f /usr/include/bpf/bpf_helpers.h ] || missing=1; \
	if [ -n "$$missing" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(GEN_DEPS); \
	fi

test-deps:
	@missing=""; for c in $(TEST_BINS); do command -v $$c >/dev/null || missing=1; done; \
	[ -z "$$missing" ] || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_DEPS); }
	@[ -x $(TOOLS)/helm ] || GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

# Refresh bpf/include/vmlinux.h from the running kernel's BTF (CO-RE makes
# the result portable; only needed for new kernel types).
vmlinux: gen-deps
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/include/vmlinux.h

# The whole test suite. Live tests load BPF programs into this kernel and
# need root; under CI=true they fail instead of skipping when they cannot.
# Then the noise check: ordinary work under `vigil run` raises no alert.
# Last, the kernel matrix (vm-test).
test: build test-deps
	$(GO) vet ./...
	PATH=$(TOOLS):$$PATH $(GO) test -count=1 ./...
	scripts/noise-check.sh $(BIN)
	scripts/vm/run.sh

# The kernel matrix: Debian's 6.1 and 6.12 kernels under QEMU, with and
# without bpf in lsm=, running the BPF test binary (scripts/vm/run.sh).
vm-test:
	scripts/vm/run.sh

# BenchmarkPolicySize inside the VMs, under BPF LSM.
bench-vm:
	VIGIL_VM_BENCH=1 scripts/vm/run.sh

test-short:
	$(GO) test -short ./...

# Whole-system ratios: syscall loops with and without `vigil events`
# (every event streamed), the same loops with and without `vigil run`
# (built-in rules; the open loop's file is one no rule cares about),
# redis-benchmark with and without vigil run, and vigil's RSS after 5 busy
# minutes (BENCH_RSS_SECONDS).
bench: build bench-go bench-deps
	bench/run.sh $(BIN)
	BENCH_MODE=run BENCH_OUT=bench/results-run.json bench/run.sh $(BIN)
	@if [ -f $(FALCO_RULES)/falco_rules.yaml ]; then $(MAKE) bench-falco; fi
	BENCH_MODE=policy BENCH_OUT=bench/results-policy.json bench/run.sh $(BIN)
	VIGIL_VM_BENCH=1 scripts/vm/run.sh
	bench/redis.sh $(BIN)
	bench/rss.sh $(BIN)
	$(MAKE) bench-types

# Issue 7: each new syscall's loop without and with vigil (one rule per new
# type, none matching; then the built-in rules), and the open/exec/connect
# loops with every new type on against the vigil of the commit before
# issue 7 (built here from git).
PRE_ISSUE7 ?= 7db8a80
# build_at builds the vigil of commit $(1) into $(2), from a temporary worktree.
define build_at
	rm -rf $(2).src && git worktree add --detach $(2).src $(1) && \
	  (cd $(2).src && $(GO) build -o $(2) ./cmd/vigil); \
	  status=$$?; git worktree remove --force $(2).src; test $$status -eq 0
endef
bench-types: build
	BENCH_MODE=types BENCH_OUT=bench/results-types.json bench/run.sh $(BIN)
	BENCH_MODE=types-floor BENCH_OUT=bench/results-types-floor.json bench/run.sh $(BIN)
	BENCH_MODE=types-builtin BENCH_OUT=bench/results-types-builtin.json bench/run.sh $(BIN)
	$(call build_at,$(PRE_ISSUE7),/tmp/vigil-pre-issue7.bin)
	BENCH_MODE=types-existing BENCH_BASE_VIGIL=/tmp/vigil-pre-issue7.bin BENCH_OUT=bench/results-types-existing.json bench/run.sh $(BIN)
	$(MAKE) bench-types15

# Issue 15: each new syscall's loop (BENCH_SET=15) without and with vigil,
# at the floor, and the open/exec/connect loops against the vigil of the
# commit before issue 15 (PRE_ISSUE15).
PRE_ISSUE15 ?= 506ea30
bench-types15: build
	BENCH_MODE=types BENCH_SET=15 BENCH_OUT=bench/results-types15.json bench/run.sh $(BIN)
	BENCH_MODE=types-floor BENCH_SET=15 BENCH_OUT=bench/results-types15-floor.json bench/run.sh $(BIN)
	$(MAKE) bench-compare BENCH_BASE=$(PRE_ISSUE15)

# The open/exec/connect loops under `vigil run` (built-in rules) against
# the vigil of BENCH_BASE (built here from git) in one interleaved run:
# a change meant to cost nothing gives ratios of 1. BENCH_BASE defaults
# to the commit before issue 12's restructuring.
BENCH_BASE ?= 506ea30
bench-compare: build
	$(call build_at,$(BENCH_BASE),/tmp/vigil-base.bin)
	BENCH_MODE=compare BENCH_BASE_VIGIL=/tmp/vigil-base.bin BENCH_OUT=bench/results-compare.json bench/run.sh $(BIN)

# The soak test (not part of make test): SOAK_DURATION (default 1h) of
# mixed load under vigil run, a reload every minute, webhook and NATS
# outages, a SIGKILL and restart every 10 minutes; every marker alert
# accounted for (internal/soak). The summary goes to bench/soak-<time>.json
# and docs/daemon.md; the exit status is 1 if anything is unaccounted for.
SOAK_DURATION ?= 1h
.PHONY: soak
soak: build
	$(GO) run ./scripts/soak -vigil $(BIN) -duration $(SOAK_DURATION) -out bench/soak-$$(date -u +%Y%m%dT%H%MZ).json

bench-deps:
	@command -v redis-benchmark >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools; }

# Go micro-benchmarks (decoder and friends).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./bpf/... ./engine/...
	FALCO_RULES_DIR=$(abspath $(FALCO_RULES)) $(GO) test -run '^$$' -bench 'Mix' -count 5 ./falco/

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./bpf/
	$(GO) test -run '^$$' -fuzz FuzzFloodRecord -fuzztime $(FUZZTIME) ./bpf/
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME) ./rules/
	$(GO) test -run '^$$' -fuzz FuzzCreatedID -fuzztime $(FUZZTIME) ./containers/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./falco/
	$(GO) test -run '^$$' -fuzz FuzzLoadFalco -fuzztime $(FUZZTIME) ./rules/

# The open/exec/connect loops under vigil run with Falco's stable rules
# (third-party data from FALCO_RULES, never committed), beside the same
# loops with the built-in rules: results-run.json and results-falco.json.
.PHONY: bench-falco
bench-falco: build
	BENCH_MODE=falco BENCH_FALCO_RULES=$(FALCO_RULES)/falco_rules.yaml BENCH_OUT=bench/results-falco.json bench/run.sh $(BIN)

# Falco compatibility (not part of make test; third-party data, never
# committed): rules validate --falco-rules on Falco's stable, incubating and
# sandbox files, one by one and together, with the counts of active and
# skipped rules. Fails only if a file does not load.
FALCO_RULES ?= ../shared/falco-rules
.PHONY: falco-compat
falco-compat: build
	@if [ ! -d $(FALCO_RULES) ]; then echo "falco-compat: $(FALCO_RULES) does not exist; nothing to measure"; exit 0; fi; \
	for f in $(FALCO_RULES)/falco_rules.yaml $(FALCO_RULES)/falco-incubating_rules.yaml $(FALCO_RULES)/falco-sandbox_rules.yaml; do \
		printf '%s: ' $$(basename $$f); ./$(BIN) rules validate --falco-rules $$f 2>/dev/null || exit 1; \
	done; \
	printf 'all three: '; ./$(BIN) rules validate $(addprefix --falco-rules ,$(FALCO_RULES)/falco_rules.yaml $(FALCO_RULES)/falco-incubating_rules.yaml $(FALCO_RULES)/falco-sandbox_rules.yaml) 2>&1 | \
		sed -n 's/^warning: //p; $$p' | grep -v '^$$' | sed 's/ (LOAD_[A-Z_]*)$$//'

# The main job with built-in defaults: built-in rules, alerts on stdout.
run: build
	./$(BIN) run

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfel\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
