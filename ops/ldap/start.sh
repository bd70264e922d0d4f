#!/usr/bin/env bash
# A throwaway OpenLDAP server for the identity tests: Debian's slapd on 127.0.0.1 with its
# own configuration and database under $STEWARD_LDAP_DIR (default /var/lib/steward-ldap),
# never the system's /etc/ldap/slapd.d. Installs slapd and ldap-utils non-interactively when
# missing (root). Idempotent: reuses a running server. Prints its URL; the suffix is
# dc=steward,dc=test, the admin cn=admin,dc=steward,dc=test, whose password is in
# $STEWARD_LDAP_DIR/admin.password.
#   ops/ldap/start.sh     start (or reuse) it, print ldap://127.0.0.1:PORT
#   ops/ldap/stop.sh      stop it
set -euo pipefail
state="${STEWARD_LDAP_DIR:-/var/lib/steward-ldap}"
port="${STEWARD_LDAP_PORT:-13389}"
suffix="dc=steward,dc=test"
url="ldap://127.0.0.1:$port"

if ! command -v slapd >/dev/null && [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null; then
  # The package's own configuration is not used; skip its questions.
  export DEBIAN_FRONTEND=noninteractive
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get install -y -q slapd ldap-utils >&2 || { apt-get update -q >&2 && apt-get install -y -q slapd ldap-utils >&2; }
  # Debian starts its own slapd on install; this script runs its own instead.
  if command -v systemctl >/dev/null; then systemctl disable --now slapd >/dev/null 2>&1 || true; fi
fi

up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if [ -f "$state/slapd.pid" ] && kill -0 "$(cat "$state/slapd.pid")" 2>/dev/null && up; then
  echo "$url"
  exit 0
fi

mkdir -p "$state/data"
chmod 700 "$state"
# No trailing newline: ldapadd -y reads the file's every byte.
[ -s "$state/admin.password" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$state/admin.password"
chmod 600 "$state/admin.password"
cat > "$state/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $state/slapd.pid
argsfile $state/slapd.args
sizelimit unlimited
database mdb
maxsize 268435456
suffix "$suffix"
rootdn "cn=admin,$suffix"
rootpw $(cat "$state/admin.password")
directory $state/data
index objectClass eq
CONF
slapd=$(command -v slapd || echo /usr/sbin/slapd)
"$slapd" -f "$state/slapd.conf" -h "$url/" >&2
for _ in $(seq 1 100); do up && break; sleep 0.1; done
up || { echo "slapd did not start on port $port" >&2; exit 1; }
# The suffix entry, once.
if ! ldapsearch -x -H "$url" -b "$suffix" -s base -LLL dn >/dev/null 2>&1; then
  printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: steward\no: steward\n' "$suffix" |
    ldapadd -x -H "$url" -D "cn=admin,$suffix" -y "$state/admin.password" >/dev/null
fi
echo "$url"
