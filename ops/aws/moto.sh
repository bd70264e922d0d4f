#!/usr/bin/env bash
# The AWS emulator's back end: moto's server on loopback (moto 5.2.1, preinstalled for the
# machine's Python 3.11; elsewhere `pip install 'moto[server]'`). Idempotent; prints the URL.
# Tests put test/support/aws/front.ts before it: the front implements what moto lacks
# (SSM sessions, ...), enforces AWS's documented limits, and passes the rest to moto.
#   ops/aws/moto.sh          start (or reuse) the server, print http://127.0.0.1:PORT
#   ops/aws/moto.sh stop     stop it
set -euo pipefail
state="${STEWARD_MOTO_DIR:-/var/lib/steward-moto}"
port="${STEWARD_MOTO_PORT:-15000}"
mkdir -p "$state"

if [ "${1:-start}" = stop ]; then
  if [ -f "$state/moto.pid" ]; then kill "$(cat "$state/moto.pid")" 2>/dev/null || true; rm -f "$state/moto.pid"; fi
  exit 0
fi

up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if ! { [ -f "$state/moto.pid" ] && kill -0 "$(cat "$state/moto.pid")" 2>/dev/null && up; }; then
  python3 -c 'import moto.server' 2>/dev/null || { echo "moto is not installed: pip install 'moto[server]'" >&2; exit 1; }
  # setsid: the server outlives the shell (and the test) that started it; the next run reuses it.
  setsid python3 -m moto.server -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 < /dev/null &
  echo $! > "$state/moto.pid"
  for _ in $(seq 1 100); do up && break; sleep 0.1; done
  up || { echo "moto did not start on port $port; see $state/moto.log" >&2; exit 1; }
fi
echo "http://127.0.0.1:$port"
