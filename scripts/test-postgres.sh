#!/usr/bin/env bash
# Start or stop a private, throw-away PostgreSQL cluster on 127.0.0.1 for the test suite.
#
#   scripts/test-postgres.sh start DIR [PORT]   # prints the URL for GRADER_TEST_POSTGRES_URL
#   scripts/test-postgres.sh stop DIR
#
# Uses Debian's PostgreSQL server binaries (package "postgresql"). When run as root the
# cluster runs as the "postgres" system user, since PostgreSQL refuses to run as root.
set -euo pipefail

action=${1:?usage: $0 start|stop DIR [PORT]}
dir=$(realpath -m "${2:?usage: $0 start|stop DIR [PORT]}")
port=${3:-55432}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    echo "PostgreSQL server binaries not found; install them with: apt-get install -y postgresql" >&2
    exit 1
fi

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        su postgres -s /bin/bash -c "$*"
    else
        bash -c "$*"
    fi
}

case "$action" in
start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        as_owner "'$bindir/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 >'$dir/initdb.log'"
    fi
    as_owner "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/postgres.log' \
        -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off -c full_page_writes=off\" \
        -w -t 60 start >/dev/null"
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "'$bindir/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null"
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
