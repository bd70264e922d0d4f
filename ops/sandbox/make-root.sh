#!/usr/bin/env bash
# Makes the Debian 13 (trixie) root that the Slurm 24.11 sandbox runs in:
#   debootstrap --variant=minbase trixie DIR, then, inside DIR, Debian's slurmctld slurmd
#   slurmdbd slurm-client munge mariadb-server (the packages' services are not started).
# The root is built under DIR.partial and renamed to DIR only when complete, so an
# interrupted run never leaves a half-made root behind; a complete DIR is left alone.
# debootstrap itself is installed on the host when missing (Debian's package).
#
# Usage (as root): bash ops/sandbox/make-root.sh DIR [MIRROR]
#   MIRROR defaults to $STEWARD_DEBIAN_MIRROR or http://deb.debian.org/debian
set -euo pipefail

PACKAGES=(slurmctld slurmd slurmdbd slurm-client munge mariadb-server)
SUITE=trixie

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: make-root.sh DIR [MIRROR]" >&2
  exit 2
fi
dir=$1
mirror=${2:-${STEWARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}}
if [[ $dir != /* || $dir == / ]]; then
  echo "make-root.sh: DIR must be an absolute path other than /, not \"$dir\"" >&2
  exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "make-root.sh: run as root (debootstrap and chroot need it)" >&2
  exit 1
fi
marker=$dir/.steward-root
if [[ -f $marker ]]; then
  echo "make-root.sh: $dir is complete ($(cat "$marker"))"
  exit 0
fi

if ! command -v debootstrap >/dev/null; then
  echo "make-root.sh: installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends debootstrap || { apt-get update && apt-get install -y --no-install-recommends debootstrap; }
fi

partial=$dir.partial
# A partial root from an interrupted run: nothing may be mounted in it before it goes.
if [[ -e $partial ]]; then
  if grep -q " $partial/" /proc/self/mountinfo; then
    echo "make-root.sh: $partial has mounts; unmount them first" >&2
    exit 1
  fi
  rm -rf --one-file-system "$partial"
fi
mkdir -p "$(dirname "$dir")"

started=$SECONDS
echo "make-root.sh: debootstrap --variant=minbase $SUITE $partial $mirror"
debootstrap --variant=minbase "$SUITE" "$partial" "$mirror" >"$dir.debootstrap.log" 2>&1 || {
  echo "make-root.sh: debootstrap failed; last lines of $dir.debootstrap.log:" >&2
  tail -n 20 "$dir.debootstrap.log" >&2
  exit 1
}
echo "make-root.sh: debootstrap took $((SECONDS - started)) s"

# Keep the packages' maintainer scripts from starting daemons inside the root.
printf '#!/bin/sh\nexit 101\n' >"$partial/usr/sbin/policy-rc.d"
chmod 755 "$partial/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$partial/etc/resolv.conf" 2>/dev/null || true

step=$SECONDS
# apt inside the chroot needs /proc; mounted only for the install, in a private mount
# namespace of its own so nothing stays mounted when it exits.
unshare -m --propagation private -- bash -c '
  set -e
  mount -t proc proc "$1/proc"
  shift
  DEBIAN_FRONTEND=noninteractive chroot "$0" apt-get install -y --no-install-recommends "$@"
  chroot "$0" apt-get clean
' "$partial" "$partial" "${PACKAGES[@]}" >"$dir.apt.log" 2>&1 || {
  echo "make-root.sh: apt-get install in the root failed; last lines of $dir.apt.log:" >&2
  tail -n 20 "$dir.apt.log" >&2
  exit 1
}
echo "make-root.sh: packages took $((SECONDS - step)) s"

version=$(chroot "$partial" /usr/sbin/slurmctld -V)
echo "$SUITE $version $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$partial/.steward-root"
mv "$partial" "$dir"
echo "make-root.sh: $dir ready: $version in $((SECONDS - started)) s"
