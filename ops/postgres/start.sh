#!/usr/bin/env bash
# Starts a private PostgreSQL for the store tests (and for trying several replicas by
# hand), from Debian's packages: installs them when missing, runs its own cluster under
# a state directory as the `postgres` OS user (PostgreSQL refuses to run as root),
# listening on 127.0.0.1 only, and makes the role `steward` (may create databases) and
# the database `steward_test`. Idempotent: a second run finds it up and only prints.
#
# Prints the DATABASE_URL on stdout (the only thing printed there); progress goes to
# stderr. Settings trade durability for speed (fsync off): for tests only.
#
#   STEWARD_PG_DIR   state directory (default /var/lib/steward-postgres); the postgres
#                    user must be able to reach it, so not under /root
#   STEWARD_PG_PORT  port (default 15432)
set -euo pipefail

STATE_DIR="${STEWARD_PG_DIR:-/var/lib/steward-postgres}"
PORT="${STEWARD_PG_PORT:-15432}"
URL="postgres://steward:steward@127.0.0.1:${PORT}/steward_test"
DATA="$STATE_DIR/data"
SOCKETS="$STATE_DIR/run"

say() { echo "postgres: $*" >&2; }

pg_bindir() {
  # The newest installed major version.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Already up and answering for steward (also the path for non-root developers).
if command -v psql >/dev/null && psql "$URL" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  say "already running on 127.0.0.1:$PORT"
  echo "$URL"
  exit 0
fi

if [ -z "$(pg_bindir)" ]; then
  [ "$(id -u)" = 0 ] || { say "PostgreSQL is not installed; run this script as root to install it"; exit 1; }
  say "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends postgresql >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends postgresql >&2
  fi
fi
BIN="$(pg_bindir)"
[ -x "$BIN/initdb" ] || { say "no initdb under /usr/lib/postgresql/*/bin"; exit 1; }

# Run PostgreSQL's own tools as `postgres` when we are root, as ourselves otherwise.
if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
  mkdir -p "$STATE_DIR"
  chown postgres:postgres "$STATE_DIR"
  chmod 0700 "$STATE_DIR"
else
  as_pg() { "$@"; }
  mkdir -p "$STATE_DIR"
fi
as_pg mkdir -p "$SOCKETS" 2>/dev/null || {
  say "the postgres user cannot write $STATE_DIR (is a parent directory private, like /root?); set STEWARD_PG_DIR"
  exit 1
}

if [ ! -f "$DATA/PG_VERSION" ]; then
  say "creating a cluster in $DATA"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >&2
  as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<CONF
# HPC Steward test cluster (ops/postgres/start.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKETS'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi

if ! as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
  say "starting on 127.0.0.1:$PORT"
  as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$STATE_DIR/postgres.log" -w -t 60 >&2 || {
    say "failed to start; the end of $STATE_DIR/postgres.log:"
    tail -n 20 "$STATE_DIR/postgres.log" >&2 || true
    exit 1
  }
fi

as_pg "$BIN/psql" -h "$SOCKETS" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'steward') THEN
    CREATE ROLE steward LOGIN CREATEDB PASSWORD 'steward';
  ELSE
    ALTER ROLE steward LOGIN CREATEDB PASSWORD 'steward';
  END IF;
END $$;
SELECT 'CREATE DATABASE steward_test OWNER steward' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'steward_test')
\gexec
SQL

say "ready"
echo "$URL"
