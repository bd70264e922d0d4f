#!/usr/bin/env bash
# Stops the PostgreSQL started by ops/postgres/start.sh. With --wipe, also deletes its
# state directory (all its databases).
set -euo pipefail

STATE_DIR="${STEWARD_PG_DIR:-/var/lib/steward-postgres}"
DATA="$STATE_DIR/data"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi

if [ -n "$BIN" ] && [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >&2
else
  echo "postgres: not running" >&2
fi

if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$STATE_DIR"
  echo "postgres: removed $STATE_DIR" >&2
fi
