#!/bin/bash
# Entrypoint of restate-classify/postgres:15-standin (written for this project).
#
#   postgres [-c name=value ...]   create the cluster in PGDATA on first start, then run postgres
#   -c name=value ...              the same (a leading option means "postgres <options>")
#   anything else                  run as given (bash, psql, ...)
#
# First start (PGDATA holds no cluster):
#   - initdb as POSTGRES_USER (default postgres) with POSTGRES_PASSWORD (required), UTF8/C.UTF-8;
#   - clients over TCP need the password (scram-sha-256, from anywhere: `host all all all`);
#     the Unix socket inside the container trusts local users, so `docker exec … psql` works;
#   - listen_addresses = '*';
#   - a temporary server reachable only through the socket creates POSTGRES_DB (default: the
#     user's name) and runs /docker-entrypoint-initdb.d/*.sql and *.sh, then stops.
# Every start: postgres runs as the user postgres, on PGPORT (default 5432), with the -c settings
# of the command. Later starts ignore POSTGRES_USER/PASSWORD/DB, as the cluster already exists.

set -euo pipefail
shopt -s nullglob

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

if [[ $# -eq 0 || $1 == -* ]]; then
    set -- postgres "$@"
fi
if [[ $1 != postgres ]]; then
    exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGPORT="${PGPORT:-5432}"
readonly SOCKET_DIR=/var/run/postgresql
readonly INCOMPLETE="$PGDATA/.initialisation-incomplete"

if ! [[ $PGPORT =~ ^[0-9]+$ ]] || ((10#$PGPORT < 1 || 10#$PGPORT > 65535)); then
    die "PGPORT=$PGPORT is not a port number"
fi

# As root: give PGDATA and the socket directory to postgres, then run this script again as it.
if [[ $(id -u) -eq 0 ]]; then
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    find "$PGDATA" -xdev ! -user postgres -exec chown postgres:postgres {} +
    install -d -o postgres -g postgres -m 2775 "$SOCKET_DIR"
    HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi

[[ -w $PGDATA ]] || die "PGDATA $PGDATA is not writable by uid $(id -u); run the container as root or give that directory to uid $(id -u)"

[[ ! -e $INCOMPLETE ]] || die "an earlier first start did not finish initialising $PGDATA; remove that volume (its data is incomplete) and start again"

initialise() {
    local user="${POSTGRES_USER:-postgres}"
    local db="${POSTGRES_DB:-$user}"
    [[ -n ${POSTGRES_PASSWORD:-} ]] ||
        die "$PGDATA holds no cluster yet and POSTGRES_PASSWORD is empty; set POSTGRES_PASSWORD (this image has no password-less mode)"
    local entries=("$PGDATA"/* "$PGDATA"/.[!.]*)
    [[ ${#entries[@]} -eq 0 ]] ||
        die "$PGDATA is not empty but holds no cluster (no PG_VERSION); use an empty volume"

    log "first start: creating the cluster in $PGDATA (superuser $user, database $db)"
    local extra=()
    read -ra extra <<<"${POSTGRES_INITDB_ARGS:-}"
    # initdb removes what it made if it fails; from here on a marker notes an unfinished start.
    initdb --pgdata="$PGDATA" --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 "${extra[@]}" >&2
    : >"$INCOMPLETE"
    {
        printf '\n# Added by the image entrypoint.\n'
        printf "listen_addresses = '*'\n"
    } >>"$PGDATA/postgresql.conf"
    {
        printf '\n# Added by the image entrypoint: TCP clients from anywhere, with a password.\n'
        printf 'host all all all scram-sha-256\n'
    } >>"$PGDATA/pg_hba.conf"

    # A temporary server on the socket only (the last listen_addresses wins), with the command's
    # settings, so nothing can connect over TCP before initialisation is done.
    postgres "${@:2}" -c listen_addresses= -p "$PGPORT" &
    local pid=$!
    local deadline=$((SECONDS + 60))
    until pg_isready -q -h "$SOCKET_DIR" -p "$PGPORT" -U "$user" -d postgres; do
        kill -0 "$pid" 2>/dev/null || die "the temporary server exited during initialisation (see above)"
        ((SECONDS < deadline)) || die "the temporary server was not ready within 60 s"
        sleep 0.2
    done

    export PGHOST="$SOCKET_DIR" PGUSER="$user"
    if [[ $db != postgres ]]; then
        # \gexec runs the statement format() builds; %I quotes the name as an identifier.
        psql -v ON_ERROR_STOP=1 -q -d postgres -v db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') \gexec
SQL
    fi
    export PGDATABASE="$db"
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
        *.sql)
            log "running $f"
            psql -v ON_ERROR_STOP=1 -q -f "$f"
            ;;
        *.sh)
            log "running $f"
            bash "$f"
            ;;
        *) log "ignoring $f (only *.sql and *.sh are run)" ;;
        esac
    done
    unset PGHOST PGUSER PGDATABASE

    kill -INT "$pid"
    wait "$pid" || die "the temporary server did not stop cleanly"
    rm -f "$INCOMPLETE"
    log "cluster created; starting postgres"
}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    initialise "$@"
fi

exec "$@"
