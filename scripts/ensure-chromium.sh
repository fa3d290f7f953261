#!/usr/bin/env bash
# Installs Debian's chromium when it is missing (the report's browser test renders in it).
# Idempotent: does nothing when `chromium` is already on PATH. Needs root (or sudo) for apt.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "ensure-chromium: chromium is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium
command -v chromium >/dev/null 2>&1 || {
    echo "ensure-chromium: apt-get finished but chromium is still not on PATH" >&2
    exit 1
}
