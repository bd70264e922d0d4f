#!/usr/bin/env bash
# A private sshd on loopback for the end-to-end tests: the apply engine reaches the
# sandbox controller over real SSH with a generated key. Idempotent; prints the
# connection as KEY=VALUE lines (STEWARD_SSH_URL, STEWARD_SSH_KEY).
set -euo pipefail
state="${STEWARD_SSH_DIR:-/var/lib/steward-ssh}"
port="${STEWARD_SSH_PORT:-12222}"

if ! command -v /usr/sbin/sshd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq openssh-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openssh-server >/dev/null; }
fi

mkdir -p "$state" /run/sshd
chmod 700 "$state"
[ -f "$state/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$state/host_ed25519"
[ -f "$state/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$state/client_ed25519"
cp "$state/client_ed25519.pub" "$state/authorized_keys"
chmod 600 "$state/authorized_keys"

# SFTP as Debian's sshd_config has it: the executor does its file work over one SFTP
# session (the external sftp-server starts through the user's shell, like a command).
cat > "$state/sshd_config.$$" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $state/host_ed25519
PidFile $state/sshd.pid
AuthorizedKeysFile $state/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers root
MaxStartups 50:30:100
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
changed=0
cmp -s "$state/sshd_config.$$" "$state/sshd_config" || changed=1
mv -f "$state/sshd_config.$$" "$state/sshd_config"

if [ -f "$state/sshd.pid" ] && kill -0 "$(cat "$state/sshd.pid")" 2>/dev/null; then
  # A running sshd of an older configuration re-reads it (SIGHUP; open sessions stay).
  if [ "$changed" = 1 ]; then
    /usr/sbin/sshd -t -f "$state/sshd_config"
    kill -HUP "$(cat "$state/sshd.pid")"
    sleep 0.5
  fi
else
  /usr/sbin/sshd -t -f "$state/sshd_config"
  /usr/sbin/sshd -f "$state/sshd_config"
fi
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
echo "STEWARD_SSH_URL=ssh://root@127.0.0.1:$port"
echo "STEWARD_SSH_KEY=$state/client_ed25519"
echo "STEWARD_SSH_HOST_KEY=$(ssh-keygen -lf "$state/host_ed25519.pub" | awk '{print $2}')"
