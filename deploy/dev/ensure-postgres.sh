#!/usr/bin/env bash
# Prints a DATABASE_URL for tests and the dev stack, making sure a server
# answers there:
#   1. $DATABASE_URL when set;
#   2. else the local server at 127.0.0.1:5432 (user postgres, database test) if it answers;
#   3. else a private cluster under .data/pg on port 55432, initialised and
#      started on first use (installing Debian's postgresql when missing).
# Progress goes to stderr; only the URL goes to stdout.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
log() { echo "ensure-postgres: $*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi

answers() { # answers URL
  if command -v psql >/dev/null 2>&1; then
    PGCONNECT_TIMEOUT=3 psql "$1" -XAtqc 'select 1' >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
  fi
}

local_url="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
if answers "$local_url" 5432; then
  echo "$local_url"
  exit 0
fi

port=${KEFU_PG_PORT:-55432}
data="$root/.data/pg"
run="$root/.data/pg-run"
private_url="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ]; then
  log "PostgreSQL binaries missing: installing Debian's postgresql"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# initdb and postgres refuse to run as root: use the postgres system user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$data" "$run"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data" "$run"
if [ ! -f "$data/PG_VERSION" ]; then
  log "initialising a private cluster in $data"
  as_pg "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi
if ! as_pg "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  log "starting the private cluster on 127.0.0.1:$port"
  as_pg "$pgbin/pg_ctl" -D "$data" -l "$run/postgres.log" -w -t 60 \
    -o "-p $port -k $run -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
fi
if ! as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc "select 1 from pg_database where datname='test'" postgres | grep -q 1; then
  as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
fi
echo "$private_url"
