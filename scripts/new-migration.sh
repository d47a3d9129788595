#!/usr/bin/env bash
# Creates a new Prisma migration from the change to prisma/schema.prisma since the last commit,
# offline (Prisma's WASM engine; `prisma migrate dev` does not work here — see README "Development").
# Usage: npm run db:new-migration -- <name>      e.g. npm run db:new-migration -- add_invitation_note
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-}"
[[ "$name" =~ ^[a-z0-9_]+$ ]] || { echo "usage: npm run db:new-migration -- <name: a-z 0-9 _>" >&2; exit 2; }
base="${MIGRATION_BASE:-HEAD}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! git show "$base:prisma/schema.prisma" > "$tmp/old.prisma" 2>/dev/null; then
  echo "new-migration: no prisma/schema.prisma at $base" >&2; exit 1
fi
if cmp -s "$tmp/old.prisma" prisma/schema.prisma; then
  echo "new-migration: prisma/schema.prisma is unchanged since $base; nothing to do" >&2; exit 1
fi
touch "$tmp/engine"
# The WASM engine opens a connection through the adapter even for a file-to-file diff.
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
dir="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_$name"
mkdir -p "$dir"
PRISMA_QUERY_ENGINE_LIBRARY="$tmp/engine" npx prisma migrate diff \
  --from-schema-datamodel "$tmp/old.prisma" --to-schema-datamodel prisma/schema.prisma --script > "$dir/migration.sql"
npx prisma generate >/dev/null
echo "new-migration: wrote $dir/migration.sql — review it, then: npm run db:migrate"
