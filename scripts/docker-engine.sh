#!/usr/bin/env bash
# Start, stop or query a local Docker engine for restate-classify's docker runtime (and for CI),
# set up so that no container traffic and no image pull leaves this machine.
#
#   scripts/docker-engine.sh start    install docker.io, debootstrap, docker-compose if missing, start dockerd
#   scripts/docker-engine.sh stop     stop the dockerd this script started, undo its host changes
#   scripts/docker-engine.sh status   exit 0 (printing the version) if an engine answers, else 1
#
# What `start` does, in order:
#   - apt-get install --no-install-recommends docker.io debootstrap docker-compose (update only when a
#     package has no candidate or the install fails);
#   - records the host's net.ipv4.ip_forward and iptables state, then sets ip_forward=0;
#   - starts dockerd in the background with --bip 172.17.0.1/16 (so the default bridge has a
#     gateway, which the docker runtime needs to find the handler address) and
#     --ip-forward=false, with HTTP(S)_PROXY pointing at a closed loopback port so any
#     accidental pull fails at once;
#   - waits (bounded) until the engine answers;
#   - inserts `iptables -I DOCKER-USER -o <default-route interface> -j DROP` (once), so nothing a
#     container sends can leave the machine even if forwarding were turned on.
#
# Environment:
#   DOCKER_ENGINE_STATE          state dir: pid file, log, saved host state
#                                (default /var/tmp/restate-classify-docker)
#   DOCKER_ENGINE_SOCKET         unix socket dockerd listens on (default /var/run/docker.sock)
#   DOCKER_ENGINE_START_TIMEOUT  seconds to wait for the engine to answer (default 60)
#   DOCKER_ENGINE_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 90; the
#                                engine first stops containers, Restate nodes get 40 s each)
#
# Must run as root. PID 1 need not be systemd: dockerd is started by hand.

set -euo pipefail

readonly STATE_DIR="${DOCKER_ENGINE_STATE:-/var/tmp/restate-classify-docker}"
readonly SOCKET_PATH="${DOCKER_ENGINE_SOCKET:-/var/run/docker.sock}"
readonly START_TIMEOUT="${DOCKER_ENGINE_START_TIMEOUT:-60}"
readonly STOP_TIMEOUT="${DOCKER_ENGINE_STOP_TIMEOUT:-90}"
readonly BRIDGE_IP="172.17.0.1/16"
readonly DEAD_PROXY="http://127.0.0.1:9"
readonly PACKAGES=(docker.io debootstrap docker-compose)

readonly PID_FILE="$STATE_DIR/dockerd.pid"
readonly STARTTIME_FILE="$STATE_DIR/dockerd.starttime"
readonly LOG_FILE="$STATE_DIR/dockerd.log"
readonly SAVED_IP_FORWARD="$STATE_DIR/host.ip_forward"
readonly SAVED_FORWARD_POLICY="$STATE_DIR/host.forward_policy"
readonly SAVED_HAD_DOCKER_CHAINS="$STATE_DIR/host.had_docker_chains"
readonly GUARD_IFACE_FILE="$STATE_DIR/guard.iface"

PROG="$(basename "$0")"
readonly PROG

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

usage() {
    cat >&2 <<EOF
usage: $PROG start|stop|status

  start   install docker.io, debootstrap and docker-compose if missing, start dockerd (no routing, pulls fail
          fast, container egress dropped); does nothing if an engine already answers
  stop    stop the dockerd this script started (by its pid) and undo its host changes
  status  print the engine version and exit 0 if an engine answers on $SOCKET_PATH, else exit 1

state dir: $STATE_DIR (set DOCKER_ENGINE_STATE to change)
EOF
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "'$PROG $1' must run as root (it installs packages, starts dockerd and changes iptables); run it with sudo or as root"
}

docker_cli() { docker -H "unix://$SOCKET_PATH" "$@"; }

# The server version if an engine answers on our socket; fails otherwise.
engine_version() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 10 docker -H "unix://$SOCKET_PATH" version --format '{{.Server.Version}}' 2>/dev/null
}

# Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the pid it identifies
# one process, so a reused pid is never mistaken for our dockerd.
proc_starttime() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    # The command name (field 2) may contain spaces; count fields after its closing paren.
    stat="${stat##*) }"
    # shellcheck disable=SC2086 # splitting on purpose
    set -- $stat
    printf '%s\n' "${20}"
}

# The pid of the dockerd this script started, if it is still that process; fails otherwise.
our_pid() {
    local pid started
    [[ -s $PID_FILE && -s $STARTTIME_FILE ]] || return 1
    pid="$(<"$PID_FILE")"
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
    started="$(proc_starttime "$pid")" || return 1
    [[ $started == "$(<"$STARTTIME_FILE")" ]] || return 1
    printf '%s\n' "$pid"
}

default_iface() {
    ip route show default 2>/dev/null |
        awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

# ---------------------------------------------------------------------------------------------
# start

pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

pkg_has_candidate() {
    local c
    c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
    [[ -n $c && $c != "(none)" ]]
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [[ ${#missing[@]} -gt 0 ]] || return 0
    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${missing[*]} and no apt-get here; install them with this system's package manager"
    local updated=false
    for p in "${missing[@]}"; do
        if ! pkg_has_candidate "$p"; then
            say "apt has no candidate for $p yet: running apt-get update"
            nice -n 10 apt-get update -q || die "apt-get update failed; check that this machine reaches its Debian mirror (see /etc/apt/sources.list.d/)"
            updated=true
            break
        fi
    done
    say "installing ${missing[*]} (apt-get, --no-install-recommends)"
    local install=(nice -n 10 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}")
    if ! "${install[@]}"; then
        $updated && die "apt-get install ${missing[*]} failed (see above)"
        say "install failed; refreshing package lists once and retrying"
        nice -n 10 apt-get update -q || die "apt-get update failed; check that this machine reaches its Debian mirror"
        "${install[@]}" || die "apt-get install ${missing[*]} failed (see above)"
    fi
}

# Remembers the host's state before our first start (kept across restarts, so a crashed run
# never overwrites the original values with ours).
save_host_state() {
    [[ -e $SAVED_IP_FORWARD ]] || sysctl -n net.ipv4.ip_forward >"$SAVED_IP_FORWARD"
    if [[ ! -e $SAVED_FORWARD_POLICY ]]; then
        iptables -t filter -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3 }' >"$SAVED_FORWARD_POLICY" || true
    fi
    if [[ ! -e $SAVED_HAD_DOCKER_CHAINS ]]; then
        if iptables -t filter -S 2>/dev/null | grep -q '^-N DOCKER'; then
            echo yes >"$SAVED_HAD_DOCKER_CHAINS"
        else
            echo no >"$SAVED_HAD_DOCKER_CHAINS"
        fi
    fi
}

add_egress_guard() {
    local iface deadline
    iface="$(default_iface)"
    if [[ -z $iface ]]; then
        say "warning: no default route, so no interface to guard; containers cannot route out anyway (ip_forward=0)"
        return 0
    fi
    deadline=$((SECONDS + 10))
    until iptables -t filter -S DOCKER-USER >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "dockerd is up but the iptables chain DOCKER-USER does not exist; see $LOG_FILE"
        sleep 0.2
    done
    if ! iptables -C DOCKER-USER -o "$iface" -j DROP 2>/dev/null; then
        iptables -I DOCKER-USER -o "$iface" -j DROP ||
            die "could not add 'iptables -I DOCKER-USER -o $iface -j DROP'; containers could reach the network through $iface. Stop the engine with '$PROG stop'"
    fi
    echo "$iface" >"$GUARD_IFACE_FILE"
    say "egress guard: DOCKER-USER drops everything containers send out through $iface"
}

check_bridge_gateway() {
    local gw
    gw="$(docker_cli network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)"
    if [[ -z $gw ]]; then
        say "warning: the engine's default bridge has no IPv4 gateway; restate-classify --runtime docker will need --handler-bind. Restart dockerd with --bip $BRIDGE_IP"
    fi
}

cmd_start() {
    need_root start
    mkdir -p "$STATE_DIR"
    # The tools the tests use beside the engine (docker-compose, debootstrap) are installed
    # whether or not an engine runs already.
    install_packages
    local version pid
    if version="$(engine_version)"; then
        if pid="$(our_pid)"; then
            say "docker engine $version already running (pid $pid, started by this script); nothing to start"
            add_egress_guard
        else
            say "a docker engine ($version) already answers on $SOCKET_PATH; it was not started by this script, so it is left as it is (its settings may differ: --bip, --ip-forward, egress guard)"
        fi
        check_bridge_gateway
        return 0
    fi

    if pid="$(our_pid)"; then
        die "the dockerd this script started (pid $pid) is running but does not answer on $SOCKET_PATH; see $LOG_FILE, then run '$PROG stop' and start again"
    fi
    local other
    other="$(pgrep -x dockerd | tr '\n' ' ' || true)"
    if [[ -n $other ]]; then
        die "a dockerd not started by this script is running (pid ${other% }) but does not answer on $SOCKET_PATH; not starting a second engine. Stop it, or point DOCKER_ENGINE_SOCKET at its socket"
    fi
    rm -f "$PID_FILE" "$STARTTIME_FILE"

    command -v dockerd >/dev/null 2>&1 || die "dockerd not found on PATH after installing docker.io"
    command -v docker >/dev/null 2>&1 || die "docker client not found on PATH after installing docker.io"
    command -v iptables >/dev/null 2>&1 || die "iptables not found (docker.io depends on it); apt-get install iptables"

    save_host_state
    sysctl -q -w net.ipv4.ip_forward=0 >/dev/null || die "could not set net.ipv4.ip_forward=0"

    local t0=$SECONDS
    printf '=== %s: %s start\n' "$(date -u +%FT%TZ)" "$PROG" >>"$LOG_FILE"
    # setsid: dockerd outlives this script and its terminal or job's process group.
    HTTP_PROXY="$DEAD_PROXY" HTTPS_PROXY="$DEAD_PROXY" NO_PROXY="localhost,127.0.0.1" \
        http_proxy="$DEAD_PROXY" https_proxy="$DEAD_PROXY" no_proxy="localhost,127.0.0.1" \
        setsid dockerd \
        --host "unix://$SOCKET_PATH" \
        --pidfile "$PID_FILE" \
        --bip "$BRIDGE_IP" \
        --ip-forward=false \
        </dev/null >>"$LOG_FILE" 2>&1 &
    local launcher=$!

    local deadline=$((SECONDS + START_TIMEOUT))
    until version="$(engine_version)"; do
        if ! kill -0 "$launcher" 2>/dev/null; then
            local p=""
            [[ -s $PID_FILE ]] && p="$(<"$PID_FILE")"
            if [[ -z $p ]] || ! kill -0 "$p" 2>/dev/null; then
                say "dockerd exited during start-up; last lines of $LOG_FILE:"
                tail -n 20 "$LOG_FILE" >&2
                die "dockerd did not start (see above)"
            fi
        fi
        if ((SECONDS >= deadline)); then
            say "dockerd did not answer on $SOCKET_PATH within ${START_TIMEOUT}s; last lines of $LOG_FILE:"
            tail -n 20 "$LOG_FILE" >&2
            die "engine start timed out; run '$PROG stop' to stop it, fix the cause and start again"
        fi
        sleep 0.2
    done

    [[ -s $PID_FILE ]] || die "dockerd answers but wrote no pid file $PID_FILE"
    pid="$(<"$PID_FILE")"
    proc_starttime "$pid" >"$STARTTIME_FILE" || die "cannot read /proc/$pid/stat"
    say "docker engine $version answering on $SOCKET_PATH after $((SECONDS - t0))s (pid $pid, log $LOG_FILE)"
    add_egress_guard
    check_bridge_gateway
    say "no routing (ip_forward=0, --ip-forward=false); image pulls go to $DEAD_PROXY and fail at once"
}

# ---------------------------------------------------------------------------------------------
# stop

# Deletes the iptables rules and chains dockerd created, but only if none existed before our first
# start (so rules of another engine or of the admin are never touched).
remove_docker_iptables() {
    [[ "$(cat "$SAVED_HAD_DOCKER_CHAINS" 2>/dev/null)" == no ]] || return 0
    local table rule chain args
    for table in filter nat; do
        while IFS= read -r rule; do
            read -ra args <<<"${rule#-A }"
            iptables -t "$table" -D "${args[@]}" 2>/dev/null || say "warning: could not delete iptables -t $table rule: $rule"
        done < <(iptables -t "$table" -S 2>/dev/null |
            grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ' |
            grep -E -- '-j DOCKER|docker0|br-[0-9a-f]{12}' || true)
        local chains
        chains="$(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }')"
        for chain in $chains; do iptables -t "$table" -F "$chain" 2>/dev/null || true; done
        for chain in $chains; do
            iptables -t "$table" -X "$chain" 2>/dev/null || say "warning: could not delete iptables -t $table chain $chain"
        done
    done
}

restore_host() {
    local iface policy fwd link
    if [[ -s $GUARD_IFACE_FILE ]]; then
        iface="$(<"$GUARD_IFACE_FILE")"
        while iptables -C DOCKER-USER -o "$iface" -j DROP 2>/dev/null; do
            iptables -D DOCKER-USER -o "$iface" -j DROP || break
        done
        rm -f "$GUARD_IFACE_FILE"
    fi
    remove_docker_iptables
    if [[ -s $SAVED_FORWARD_POLICY ]]; then
        policy="$(<"$SAVED_FORWARD_POLICY")"
        iptables -t filter -P FORWARD "$policy" 2>/dev/null || say "warning: could not restore the FORWARD policy $policy"
    fi
    for link in "$@"; do
        if ip link show "$link" >/dev/null 2>&1; then
            ip link delete "$link" 2>/dev/null || say "warning: could not delete interface $link"
        fi
    done
    if [[ -d /run/docker/netns ]]; then
        local m
        for m in /run/docker/netns/*; do
            [[ -e $m ]] || continue
            if mountpoint -q "$m"; then umount "$m" 2>/dev/null || say "warning: could not unmount $m"; fi
        done
    fi
    if [[ -s $SAVED_IP_FORWARD ]]; then
        fwd="$(<"$SAVED_IP_FORWARD")"
        sysctl -q -w "net.ipv4.ip_forward=$fwd" >/dev/null || say "warning: could not restore net.ipv4.ip_forward=$fwd"
    fi
    rm -f "$SAVED_IP_FORWARD" "$SAVED_FORWARD_POLICY" "$SAVED_HAD_DOCKER_CHAINS" "$PID_FILE" "$STARTTIME_FILE"
}

cmd_stop() {
    need_root stop
    local pid
    if ! pid="$(our_pid)"; then
        local version
        if version="$(engine_version)"; then
            die "the docker engine ($version) on $SOCKET_PATH was not started by this script (no live pid in $PID_FILE); not stopping it"
        fi
        if [[ -e $SAVED_IP_FORWARD || -e $GUARD_IFACE_FILE ]]; then
            say "the dockerd this script started is gone; undoing its host changes"
            restore_host docker0
        else
            say "no dockerd started by this script is running; nothing to stop"
        fi
        return 0
    fi

    # Bridges dockerd made (docker0 for the default network, br-<id> for the others) and its
    # direct children (containerd, docker-proxy), in case it has to be killed.
    local links=(docker0) id children
    while IFS= read -r id; do
        [[ -n $id ]] && links+=("br-${id:0:12}")
    done < <(docker_cli network ls -q --no-trunc --filter driver=bridge 2>/dev/null || true)
    children="$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ' || true)"

    say "stopping dockerd (pid $pid): SIGTERM, up to ${STOP_TIMEOUT}s for it to stop its containers"
    local t0=$SECONDS
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            say "dockerd (pid $pid) still running after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            local c
            for c in $children; do
                # Only processes that are still dockerd's children.
                if [[ "$(ps -o ppid= -p "$c" 2>/dev/null | tr -d ' ')" == "$pid" ]]; then
                    kill -KILL "$c" 2>/dev/null || true
                fi
            done
            break
        fi
        sleep 0.2
    done
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not exit even after SIGKILL"
    say "dockerd stopped after $((SECONDS - t0))s"
    restore_host "${links[@]}"
    say "host restored: egress guard removed, docker's bridges and iptables chains deleted, net.ipv4.ip_forward=$(sysctl -n net.ipv4.ip_forward)"
}

# ---------------------------------------------------------------------------------------------
# status

cmd_status() {
    local version pid
    if version="$(engine_version)"; then
        if pid="$(our_pid)"; then
            printf 'docker engine %s on %s (pid %s, started by %s)\n' "$version" "$SOCKET_PATH" "$pid" "$PROG"
        else
            printf 'docker engine %s on %s (not started by %s)\n' "$version" "$SOCKET_PATH" "$PROG"
        fi
        return 0
    fi
    printf 'no docker engine answers on %s; start one with: %s start\n' "$SOCKET_PATH" "$0"
    return 1
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
-h | --help | help) usage ;;
*)
    usage
    exit 2
    ;;
esac
