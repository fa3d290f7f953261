#!/usr/bin/env bash
# Runs a command with a local Docker engine and the locally built images, for the docker tests:
#
#   scripts/with-docker.sh cargo test --locked --no-fail-fast
#
# Starts the engine (scripts/docker-engine.sh: no routing, pulls fail, container egress
# dropped) unless one answers already, builds the images without a registry
# (scripts/build-images.sh, cached), exports RESTATE_CLASSIFY_*_IMAGE so the binary and the
# tests run those images, runs the command, and stops the engine again if it started it.
# Without root no engine can be started here: the command then runs as it is and the docker
# tests say SKIPPED with the reason.

set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'with-docker: %s\n' "$*" >&2; }

started=false
stop_engine() {
    if $started; then
        scripts/docker-engine.sh stop || say "stopping the engine failed; see scripts/docker-engine.sh status"
    fi
}
trap stop_engine EXIT

if ! scripts/docker-engine.sh status >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        say "no Docker engine answers and starting one needs root: running without (docker tests will say SKIPPED)"
        "$@"
        exit
    fi
    scripts/docker-engine.sh start
    started=true
else
    # Installs docker-compose and debootstrap when missing; leaves a running engine alone.
    if [[ $(id -u) -eq 0 ]]; then
        scripts/docker-engine.sh start
    fi
fi
eval "$(scripts/build-images.sh --print-env)"
export RESTATE_CLASSIFY_RESTATE_IMAGE RESTATE_CLASSIFY_OBJECT_STORE_IMAGE RESTATE_CLASSIFY_POSTGRES_IMAGE
say "images: $RESTATE_CLASSIFY_RESTATE_IMAGE, $RESTATE_CLASSIFY_OBJECT_STORE_IMAGE, $RESTATE_CLASSIFY_POSTGRES_IMAGE"
"$@"
