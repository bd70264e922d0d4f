#!/usr/bin/env bash
# Stops the throwaway slapd of ops/ldap/start.sh (its data stays; --purge deletes it).
set -euo pipefail
state="${STEWARD_LDAP_DIR:-/var/lib/steward-ldap}"
if [ -f "$state/slapd.pid" ]; then kill "$(cat "$state/slapd.pid")" 2>/dev/null || true; rm -f "$state/slapd.pid"; fi
if [ "${1:-}" = --purge ]; then rm -rf "$state"; fi
