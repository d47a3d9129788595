#!/usr/bin/env bash
# `npm test`: type-check, then every jest project (unit + end-to-end against real Hydra/PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
# Node.js 24 first on PATH for the compiler, jest and every process the tests start (scripts/ensure-node.sh).
PATH="$(bash scripts/ensure-node.sh):$PATH"
export PATH
[ -d src/generated/prisma ] || npm run --silent prisma:generate >/dev/null
npx tsc -p tsconfig.json --noEmit
exec npx jest --maxWorkers=2 "$@"
