#!/usr/bin/env bash
# Installs what the real-Slurm sandbox runs: Debian's Slurm (slurmctld, slurmd, slurmdbd,
# client commands), munge and MariaDB; and debootstrap, which makes the Debian 13 root of
# the Slurm 24.11 sandbox (ops/sandbox/make-root.sh). Idempotent: packages already installed are left
# alone, and `apt-get update` runs only when the package lists are missing or an install
# from them fails. The packages' own services are NOT started (the sandbox runs private
# daemons under its state directory and never uses /etc/slurm, /etc/munge or /run/munge).
#
# Usage (as root): bash ops/sandbox/install.sh
set -euo pipefail

PACKAGES=(slurmctld slurmd slurmdbd slurm-client munge mariadb-server debootstrap)

if [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  echo "install.sh: needs a Debian/Ubuntu system with apt-get; install ${PACKAGES[*]} by hand" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ $status == ii* ]] || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install.sh: ${PACKAGES[*]} already installed"
  exit 0
fi
echo "install.sh: installing ${missing[*]}"

# Keep the packages' init scripts from starting system-wide daemons during the install
# (the usual policy-rc.d switch; removed again on exit, and only if we put it there).
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
  apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
}
lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' 2>/dev/null | head -n 1)
if [[ -z $lists ]]; then
  apt-get update
  apt_install
elif ! apt_install; then
  echo "install.sh: install failed with the current package lists; running apt-get update and retrying" >&2
  apt-get update
  apt_install
fi

for bin in slurmctld slurmd slurmdbd munged mariadbd; do
  if ! command -v "$bin" >/dev/null && [[ ! -x /usr/sbin/$bin ]]; then
    echo "install.sh: $bin still missing after the install" >&2
    exit 1
  fi
done
echo "install.sh: done"
