#!/usr/bin/env bash
# `npm test`: every test CI runs, on a fresh machine with npm and nothing else. Installs or builds
# what is missing (Node.js 24, the npm packages, Prisma's client, Go, Hydra, Mailpit, Helm,
# Chromium when it can), finds PostgreSQL (the server at TEST_PG_URL, else 127.0.0.1:5432, else the
# suite's own one, stopped again at the end), type-checks, then runs every jest project.
# Arguments go to jest, e.g. `npm test -- test/e2e/seed.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[test]\033[0m %s\n' "$*" >&2; }

# Node.js 24 first on PATH for the compiler, jest and every process the tests start (scripts/ensure-node.sh).
PATH="$(bash scripts/ensure-node.sh):$PATH"
export PATH
bash scripts/ensure-npm.sh
bash scripts/build-hydra.sh
bash scripts/build-mailpit.sh
bash scripts/build-helm.sh

# The browser tests (the e2e files using test/support/chromium.ts) drive Debian's Chromium.
# ensure-chromium.sh installs it when it can (root with apt-get); otherwise it says what to run, and the rest of the suite runs
# without them (jest.config.js leaves them out; in CI they are required).
chromium_note=""
if ! bash scripts/ensure-chromium.sh; then
  [ -z "${CI:-}" ] || { say "CI needs Chromium for the browser tests"; exit 1; }
  chromium_note="the browser tests (e2e files using test/support/chromium.ts) did not run: Chromium is missing (see the message above)"
  say "$chromium_note"
fi

own_pg=""
stop_pg() { [ -z "$own_pg" ] || bash scripts/ensure-postgres.sh --stop "$own_pg"; }
trap stop_pg EXIT
if [ -n "${TEST_PG_URL:-}" ]; then
  bash scripts/ensure-postgres.sh "$TEST_PG_URL" >/dev/null
else
  # No server on the default port: the suite's own, on a free port, so that it never collides with
  # the demo's (`npm run dev` may start one on 5432 while this runs).
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')"
  url="$(bash scripts/ensure-postgres.sh --own .run/postgres-test "$port" postgresql://postgres@127.0.0.1:5432)"
  [ "$url" = "postgresql://postgres@127.0.0.1:5432" ] || own_pg=.run/postgres-test
  export TEST_PG_URL="$url/postgres"
fi

npx tsc -p tsconfig.json --noEmit
rc=0
npx jest --maxWorkers=2 "$@" || rc=$?
[ -z "$chromium_note" ] || say "$chromium_note"
exit "$rc"
