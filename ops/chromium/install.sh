#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the dashboard's browser test
# (test/integration/dashboard.test.ts drives it with playwright-core, executablePath
# /usr/bin/chromium). Idempotent: nothing happens when it is installed.
#
# Usage (as root): bash ops/chromium/install.sh
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "chromium/install.sh: chromium already installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "chromium/install.sh: run as root (it installs a Debian package)" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
