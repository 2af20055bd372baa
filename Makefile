# dgw: the two commands (see README.md). Both install what they need first.
#   make run   build and boot the gateway lab (today: the kTLS test VM demo)
#   make test  every test this machine can run
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help deps run test test-host test-vm bench fuzz lint clean

help:
	@echo "make run    build, boot the kTLS test VM and show a real kTLS transfer"
	@echo "make test   lint, unit and interop tests on the host, kTLS tests in the VM (both kernels)"
	@echo "make bench  userspace vs kTLS vs sendfile/splice benchmark in the VM (docs/perf.md)"
	@echo "make fuzz   run every fuzz target for a while (FUZZ_SECONDS, default 60)"

deps:
	@scripts/install-deps

run: deps
	@scripts/run-demo

test: deps
	@scripts/test-all

test-host: deps
	@scripts/test-all --host-only

test-vm: deps
	@tests/vm/ktls-vm-test

bench: deps
	@scripts/bench-vm
	@scripts/bench-sip-vm

fuzz: deps
	@scripts/fuzz $${FUZZ_SECONDS:-60}

lint: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

clean:
	cargo clean
	rm -rf build
