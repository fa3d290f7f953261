#!/bin/bash
# Entrypoint of restate-classify/minio-standin (written for this project). NOT MinIO: it takes
# MinIO's container command line and runs SeaweedFS's all-in-one server (`weed mini`) instead.
#
#   server DIR [--address [HOST]:PORT] [--console-address [HOST]:PORT]
#       S3 on PORT (default 9000), data under DIR, one identity with MINIO_ROOT_USER /
#       MINIO_ROOT_PASSWORD (or their *_FILE variants; default minioadmin/minioadmin, as MinIO)
#       and every S3 action. No bucket is created in advance, and a PUT to a missing bucket
#       fails (no auto-create), as on MinIO.
#   anything else that is a program: run as given (bash, ...)
#
# What it does not do: nothing listens on the console address (there is no MinIO console), one
# directory only (no erasure sets, no {1...n} expansion), no TLS (--certs-dir); `mc` is a stand-in
# for three commands only (see mc).
# SeaweedFS's own master, volume, filer and admin ports listen inside the container only; they
# are picked so as not to clash with the S3 and console ports.

set -euo pipefail

log() { printf 'minio-standin: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

if [[ $# -eq 0 ]]; then
    set -- server /data
fi
if [[ $1 != server ]]; then
    if command -v "$1" >/dev/null 2>&1; then
        exec "$@"
    fi
    die "this stand-in implements only 'server DIR [--address :PORT] [--console-address :PORT]' (got: $*)"
fi
shift

address=":9000"
console=":9001"
dirs=()
while (($#)); do
    case $1 in
    --address)
        [[ $# -ge 2 ]] || die "--address needs a value"
        address=$2
        shift 2
        ;;
    --address=*)
        address=${1#*=}
        shift
        ;;
    --console-address)
        [[ $# -ge 2 ]] || die "--console-address needs a value"
        console=$2
        shift 2
        ;;
    --console-address=*)
        console=${1#*=}
        shift
        ;;
    --quiet | --anonymous | --json) shift ;;
    -*) die "MinIO option $1 is not supported by this stand-in (SeaweedFS behind MinIO's command line)" ;;
    *)
        dirs+=("$1")
        shift
        ;;
    esac
done
[[ ${#dirs[@]} -eq 1 ]] || die "exactly one data directory is supported, got ${#dirs[@]}: ${dirs[*]:-none}"
dir=${dirs[0]}
[[ $dir != *'...'* ]] || die "$dir: MinIO's {1...n} expansion (erasure sets) is not supported"
[[ $dir == /* ]] || die "$dir: the data directory must be an absolute path"

# "[HOST]:PORT" -> HOST (empty: all addresses) and PORT.
split_address() {
    local what=$1 addr=$2
    local host=${addr%:*} port=${addr##*:}
    [[ $addr == *:* ]] || die "$what '$addr' is not [HOST]:PORT"
    if ! [[ $port =~ ^[0-9]+$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
        die "$what '$addr': '$port' is not a port number"
    fi
    host=${host#[}
    host=${host%]}
    printf '%s %s\n' "${host:-0.0.0.0}" "$((10#$port))"
}
read -r bind s3_port <<<"$(split_address --address "$address")"
read -r _ console_port <<<"$(split_address --console-address "$console")"
[[ $s3_port != "$console_port" ]] || die "--address and --console-address use the same port $s3_port"

# Credentials, as MinIO reads them (env, or a file named by *_FILE), with MinIO's length rules.
secret_from() {
    local var=$1 file_var="${1}_FILE"
    if [[ -n ${!file_var:-} ]]; then
        [[ -r ${!file_var} ]] || die "$file_var=${!file_var}: cannot read that file"
        head -n 1 "${!file_var}"
    else
        printf '%s\n' "${!var:-}"
    fi
}
user="$(secret_from MINIO_ROOT_USER)"
password="$(secret_from MINIO_ROOT_PASSWORD)"
if [[ -z $user && -z $password ]]; then
    user=minioadmin
    password=minioadmin
    log "warning: MINIO_ROOT_USER and MINIO_ROOT_PASSWORD are unset: using the default minioadmin:minioadmin"
fi
((${#user} >= 3)) || die "MINIO_ROOT_USER must be at least 3 characters"
((${#password} >= 8)) || die "MINIO_ROOT_PASSWORD must be at least 8 characters"
json_string() {
    local s=$1
    [[ $s != *[[:cntrl:]]* ]] || die "credentials must not contain control characters"
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# Ports taken: S3 and console, and the gRPC companions SeaweedFS puts 10000 above each port.
# free_port sets REPLY (not printed: a command substitution would lose the bookkeeping).
declare -A used=(["$s3_port"]=1 ["$console_port"]=1)
free_port() {
    local p=$1
    while [[ -n ${used[$p]:-} || -n ${used[$((p + 10000))]:-} ]] || ((p + 10000 > 65535)); do
        p=$((p + 1))
        ((p <= 55535)) || p=1024
    done
    used[$p]=1
    used[$((p + 10000))]=1
    REPLY=$p
}
s3_grpc=$((s3_port + 10000))
if ((s3_grpc > 65535)) || [[ -n ${used[$s3_grpc]:-} ]]; then
    free_port 18333
    s3_grpc=$REPLY
fi
used[$s3_grpc]=1
free_port 9333
master_port=$REPLY
free_port 9340
volume_port=$REPLY
free_port 8888
filer_port=$REPLY
free_port 23646
admin_port=$REPLY

mkdir -p "$dir"
# Rewritten at every start from the environment (as MinIO takes its root credentials), outside
# the data volume.
conf_dir="${TMPDIR:-/tmp}/minio-standin"
install -d -m 0700 "$conf_dir"
identity="$conf_dir/s3-identities.json"
(
    umask 077
    printf '{"identities":[{"name":"minio-root","credentials":[{"accessKey":%s,"secretKey":%s}],"actions":["Admin","Read","Write","List","Tagging"]}]}\n' \
        "$(json_string "$user")" "$(json_string "$password")" >"$identity"
)

# Inside the container every SeaweedFS component reaches the others on loopback, unless the
# address names one host to bind, in which case they use that.
advertise=127.0.0.1
[[ $bind == 0.0.0.0 || $bind == "::" ]] || advertise=$bind

log "NOT MinIO: SeaweedFS $(weed version 2>/dev/null | awk '{print $3}') S3 on $bind:$s3_port, data in $dir; nothing serves the console address :$console_port"
exec weed mini \
    -dir="$dir" \
    -ip="$advertise" \
    -ip.bind="$bind" \
    -s3.port="$s3_port" \
    -s3.port.grpc="$s3_grpc" \
    -master.port="$master_port" \
    -master.port.grpc="$((master_port + 10000))" \
    -volume.port="$volume_port" \
    -volume.port.grpc="$((volume_port + 10000))" \
    -filer.port="$filer_port" \
    -filer.port.grpc="$((filer_port + 10000))" \
    -admin.port="$admin_port" \
    -admin.port.grpc="$((admin_port + 10000))" \
    -s3.config="$identity" \
    -s3.autoCreateBucket=false \
    -s3.allowDeleteBucketNotEmpty=false \
    -webdav=false \
    -admin.ui=false \
    -s3.port.iceberg=0 \
    -s3.port.lance=0 \
    -master.telemetry=false \
    -master.volumeSizeLimitMB=256
