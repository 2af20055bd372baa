# dgw: the two commands (see README.md). Both install what they need first.
#   make run   build the development image, boot it against a local lab
#   make test  every test this machine can run
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help deps run test test-host test-vm test-system check-layer image demo-ktls bench fuzz lint clean

help:
	@echo "make run    build the development image, boot it in QEMU against a local lab (Kamailio, NTP, ACS)"
	@echo "make test   lint, host tests, fuzz replay, layer checks, kTLS in the VM, the system test"
	@echo "make image  build the development image only (build/image/dgw-dev.img)"
	@echo "make demo-ktls  the small kTLS test VM downloading a file over kernel TLS"
	@echo "make bench  userspace vs kTLS vs sendfile/splice benchmark in the VM (docs/perf.md)"
	@echo "make fuzz   run every fuzz target for a while (FUZZ_SECONDS, default 60)"

deps:
	@scripts/install-deps

run: deps
	@scripts/run-lab

image: deps
	@image/build-image

demo-ktls: deps
	@scripts/run-demo

test: deps
	@scripts/test-all

test-host: deps
	@scripts/test-all --host-only

test-vm: deps
	@tests/vm/ktls-vm-test

test-system: deps
	@scripts/system-test

check-layer: deps
	@scripts/check-layer

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
