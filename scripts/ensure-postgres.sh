#!/usr/bin/env bash
# Finds the PostgreSQL that `npm run dev` and `npm test` use, and prints its base URL on stdout.
#   ensure-postgres.sh URL                    URL must answer (a server the user configured)
#   ensure-postgres.sh --own DIR PORT URL     URL when it answers; otherwise the project's own server
#                                             (scripts/postgres.mjs serve: PostgreSQL from the npm
#                                             package embedded-postgres) on 127.0.0.1:PORT with its
#                                             data in DIR, started in the background (pid in DIR.pid,
#                                             log in DIR.log) or reused when it already runs
#   ensure-postgres.sh --stop DIR             stops the own server of DIR (its data stays)
# Needs Node.js and the npm packages (the callers install them first). Messages go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "ensure-postgres: $*" >&2; }
alive() { [ -f "$1.pid" ] && kill -0 "$(cat "$1.pid")" 2>/dev/null; }

if [ "${1:-}" = "--stop" ]; then
  dir="$2"
  if alive "$dir"; then
    pid="$(cat "$dir.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then say "the server of $dir did not stop; killing it"; kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" || true; fi
  fi
  rm -f "$dir.pid" "$dir.port"
  exit 0
fi

own=""
if [ "${1:-}" = "--own" ]; then own=1; dir="$2"; port="$3"; shift 3; fi
url="${1:?usage: ensure-postgres.sh [--own DIR PORT] URL | --stop DIR}"
base="${url%/}"
# The check connects to the maintenance database, whatever database URL names.
check_url() { printf '%s/postgres' "$(printf '%s' "$1" | sed -E 's#(//[^/]*)/.*$#\1#')"; }

if node scripts/postgres.mjs answers "$(check_url "$base")"; then
  echo "$base"; exit 0
fi
if [ -z "$own" ]; then
  say "no PostgreSQL answers at $base (start it, or leave PG_BASE_URL / TEST_PG_URL unset to use the project's own server)"
  exit 1
fi

if alive "$dir"; then
  port="$(cat "$dir.port")" # an earlier run's server still runs: reused, on its own port
else
  say "no PostgreSQL answers at $base: starting the project's own PostgreSQL on 127.0.0.1:$port (data in $dir, log in $dir.log)"
  mkdir -p "$(dirname "$dir")"
  # setsid: its own process group, so a Ctrl-C meant for the caller reaches it only through --stop.
  setsid node scripts/postgres.mjs serve "$dir" "$port" >"$dir.log" 2>&1 </dev/null &
  echo $! >"$dir.pid"
  echo "$port" >"$dir.port"
fi
own_url="postgresql://postgres@127.0.0.1:$port"
for _ in $(seq 1 300); do
  if grep -q "^postgres: ready on" "$dir.log" 2>/dev/null && node scripts/postgres.mjs answers "$own_url/postgres"; then
    echo "$own_url"; exit 0
  fi
  alive "$dir" || break
  sleep 0.2
done
say "the project's own PostgreSQL did not start; last lines of $dir.log:"
tail -n 20 "$dir.log" >&2 || true
exit 1
