#!/usr/bin/env bash
# Makes sure PostgreSQL answers on $PGHOST:$PGPORT (default 127.0.0.1:5432); starts the local
# Debian cluster when it is down and this machine has one.
set -euo pipefail
host="${PGHOST:-127.0.0.1}"; port="${PGPORT:-5432}"
ready() { pg_isready -h "$host" -p "$port" -q 2>/dev/null; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  echo "ensure-postgres: starting the local PostgreSQL cluster" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
for _ in $(seq 1 60); do ready && exit 0; sleep 0.5; done
echo "ensure-postgres: PostgreSQL is not reachable on $host:$port (set PGHOST/PGPORT or start it)" >&2
exit 1
