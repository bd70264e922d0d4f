#!/usr/bin/env bash
# Installs HAProxy (Debian package) for the login-node tests, and the PAM/sshd/wall tools a
# login node uses. Idempotent; the packaged haproxy service is left stopped: tests run their
# own haproxy process with a private configuration and runtime socket.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v /usr/sbin/sshd >/dev/null 2>&1 || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v wall >/dev/null 2>&1 || need+=(bsdutils)
[ -e /lib/x86_64-linux-gnu/security/pam_limits.so ] || [ -e /usr/lib/x86_64-linux-gnu/security/pam_limits.so ] || need+=(libpam-modules)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
# The package starts a system haproxy on Debian; the tests do not want it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then systemctl stop haproxy || true; fi
haproxy -v | awk "NR == 1"
