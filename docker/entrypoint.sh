#!/bin/sh
# Container entrypoint of the app image: apply the app's migrations, apply the demo audiences
# configuration (to the app's store and Hydra's clients; idempotent), then start the server.
set -eu
npx prisma migrate deploy
AUDIENCES_CONFIG="${AUDIENCES_CONFIG:-config/demo.yaml}" npx tsx prisma/seed.ts
exec npx tsx src/server.ts
