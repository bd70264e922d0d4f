#!/usr/bin/env bash
# A "node" for the identity tests, run inside `unshare --mount --propagation private`: its
# own /etc (a copy: passwd, group, shadow...) and /home bind-mounted over the host's in
# this mount namespace only, then sshd in the foreground on its own loopback port.
#   posix-node.sh ETC_DIR HOME_DIR SSHD_CONFIG
set -euo pipefail
mount --bind "$1" /etc
mount --bind "$2" /home
exec /usr/sbin/sshd -D -e -f "$3"
