#!/usr/bin/env bash
# Stops the private sshd of start.sh (idempotent).
set -euo pipefail
state="${STEWARD_SSH_DIR:-/var/lib/steward-ssh}"
if [ -f "$state/sshd.pid" ]; then
  kill "$(cat "$state/sshd.pid")" 2>/dev/null || true
  rm -f "$state/sshd.pid"
fi
