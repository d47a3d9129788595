#!/usr/bin/env bash
# Installs the npm packages (`npm ci`) when node_modules is missing or package-lock.json changed since
# the last install here, and generates Prisma's client when it is missing or the schema changed.
# Run with Node.js 24 first on PATH (scripts/ensure-node.sh). Playwright never downloads a browser of
# its own: the browser tests drive Debian's Chromium (scripts/ensure-chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp() { node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha256").update(process.argv.slice(1).map(p=>f.readFileSync(p)).join("\0")).digest("hex"))' "$@"; }

want="$(stamp package-lock.json)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.installed-lock 2>/dev/null)" != "$want" ]; then
  echo "ensure-npm: installing the npm packages (npm ci)" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2
  echo "$want" >node_modules/.installed-lock
fi
want="$(stamp prisma/schema.prisma package-lock.json)"
if [ ! -d src/generated/prisma ] || [ "$(cat src/generated/.schema-stamp 2>/dev/null)" != "$want" ]; then
  npm run --silent prisma:generate >/dev/null
  echo "$want" >src/generated/.schema-stamp
fi
