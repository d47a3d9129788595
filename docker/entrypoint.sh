#!/bin/sh
# The demo's start command (docker-compose.yml's `command`; the image's default is the server alone):
# apply the app's migrations, apply the audiences configuration (to the app's store and Hydra's
# clients; idempotent), then start the compiled server.
set -eu
npx prisma migrate deploy
node dist/prisma/seed.js --config "${AUDIENCES_CONFIG:-config/demo.yaml}"
exec sh scripts/start.sh
