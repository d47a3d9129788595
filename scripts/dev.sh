#!/usr/bin/env bash
# `npm run dev`: the whole demo on this machine, from nothing —
#   installs npm packages if missing, builds Ory Hydra v2.3.0 and Mailpit if missing (fetching Go
#   when the machine has none new enough), uses the PostgreSQL on 127.0.0.1:5432 or starts the
#   project's own there (data in .run/postgres), creates the databases if missing, migrates Hydra
#   and the app, seeds config/demo.yaml and a demo user, starts Mailpit (catches the app's mail), Hydra, the app and a small
#   demo OAuth client, and prints where to click and where the mail is read.
# Ctrl-C stops everything it started. Secrets are generated once into .run/secrets.env (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

APP_PORT="${APP_PORT:-3000}"
# The app's host name in its public URL; "localhost" for passkeys (a relying party's id is a domain name).
APP_HOST="${APP_HOST:-127.0.0.1}"
HYDRA_PUBLIC_PORT="${HYDRA_PUBLIC_PORT:-4444}"
HYDRA_ADMIN_PORT="${HYDRA_ADMIN_PORT:-4445}"
DEMO_CLIENT_PORT="${DEMO_CLIENT_PORT:-5555}"
MAILPIT_SMTP_PORT="${MAILPIT_SMTP_PORT:-1025}"
MAILPIT_HTTP_PORT="${MAILPIT_HTTP_PORT:-8025}"
# PG_BASE_URL set: that server must answer. Unset: 127.0.0.1:5432 if a server answers there, else
# the project's own PostgreSQL started on that port (scripts/ensure-postgres.sh).
PG_CONFIGURED="${PG_BASE_URL:-}"
PG_BASE_URL="${PG_BASE_URL:-postgresql://postgres@127.0.0.1:5432}"
APP_DB="${APP_DB:-audience_login}"
HYDRA_DB="${HYDRA_DB:-hydra}"
DEMO_EMAIL="${DEMO_EMAIL:-demo@example.com}"

say() { printf '\033[1m[dev]\033[0m %s\n' "$*" >&2; }
pids=()
cleanup() {
  trap - INT TERM EXIT
  trap '' PIPE # the terminal or a pipe reading our output may be gone already
  if [ ${#pids[@]} -gt 0 ]; then
    # Each process runs in its own process group (setsid): kill the groups, children included.
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    say "stopped Mailpit, Hydra, the app and the demo client" || true
  fi
  if [ -n "${own_pg:-}" ]; then bash scripts/ensure-postgres.sh --stop "$own_pg"; say "stopped the project's PostgreSQL (its data stays in $own_pg)" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url what logfile
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  say "$2 did not start; last lines of $3:"; tail -n 30 "$3" >&2; exit 1
}
for port in "$APP_PORT" "$HYDRA_PUBLIC_PORT" "$HYDRA_ADMIN_PORT" "$DEMO_CLIENT_PORT" "$MAILPIT_SMTP_PORT" "$MAILPIT_HTTP_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then say "port $port is already in use (another dev stack?)"; exit 1; fi
done

# Node.js 24 (the system's when new enough, else the pinned official build in .bin/: scripts/ensure-node.sh).
PATH="$(bash scripts/ensure-node.sh):$PATH"
export PATH
bash scripts/ensure-npm.sh
bash scripts/build-hydra.sh
bash scripts/build-mailpit.sh
if [ -n "$PG_CONFIGURED" ]; then
  bash scripts/ensure-postgres.sh "$PG_BASE_URL" >/dev/null
else
  [ "$(bash scripts/ensure-postgres.sh --own .run/postgres 5432 "$PG_BASE_URL")" = "$PG_BASE_URL" ]
  [ ! -f .run/postgres.pid ] || own_pg=.run/postgres
fi
node scripts/postgres.mjs createdb "$PG_BASE_URL/postgres" "$APP_DB" "$HYDRA_DB"

mkdir -p .run
rnd() { node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("hex"))'; }
if [ ! -f .run/secrets.env ]; then
  umask 077
  cat > .run/secrets.env <<EOS
SECRETS_SYSTEM=$(rnd)
SESSION_SECRETS=$(rnd)
DEMO_PASSWORD=demo-$(rnd | cut -c1-12)
EOS
  say "generated secrets in .run/secrets.env"
  new_demo_password=1
fi
# Client secrets config/demo.yaml names; one added to it later is appended to an older secrets.env.
for name in DEMO_WEB_CLIENT_SECRET DEMO_BACKEND_CLIENT_SECRET; do
  grep -q "^$name=" .run/secrets.env || echo "$name=$(rnd)" >> .run/secrets.env
done
set -a
# shellcheck disable=SC1091
. .run/secrets.env
DATABASE_URL="$PG_BASE_URL/$APP_DB"
DSN="$PG_BASE_URL/$HYDRA_DB?sslmode=disable"
HYDRA_PUBLIC_URL="http://127.0.0.1:$HYDRA_PUBLIC_PORT"
HYDRA_ADMIN_URL="http://127.0.0.1:$HYDRA_ADMIN_PORT"
APP_BASE_URL="http://$APP_HOST:$APP_PORT"
SMTP_URL="smtp://127.0.0.1:$MAILPIT_SMTP_PORT"
MAIL_FROM="${MAIL_FROM:-Sign-in service <no-reply@localhost>}"
set +a
MAILPIT_URL="http://127.0.0.1:$MAILPIT_HTTP_PORT"

say "migrating Hydra's and the app's databases"
.bin/hydra migrate sql -e --yes >.run/hydra-migrate.log 2>&1 || { tail -n 30 .run/hydra-migrate.log >&2; exit 1; }
npx prisma migrate deploy >.run/prisma-migrate.log 2>&1 || { tail -n 30 .run/prisma-migrate.log >&2; exit 1; }

say "starting Mailpit (SMTP $SMTP_URL, mail readable at $MAILPIT_URL)"
# Mail is kept in .run/mailpit.db across restarts (Mailpit keeps the newest 500 messages).
setsid .bin/mailpit --smtp "127.0.0.1:$MAILPIT_SMTP_PORT" --listen "127.0.0.1:$MAILPIT_HTTP_PORT" \
  --database .run/mailpit.db --disable-version-check --smtp-disable-rdns >.run/mailpit.log 2>&1 &
pids+=($!)
wait_http "$MAILPIT_URL/readyz" "Mailpit" .run/mailpit.log

say "starting Ory Hydra ($HYDRA_PUBLIC_URL, admin $HYDRA_ADMIN_URL)"
SERVE_PUBLIC_PORT="$HYDRA_PUBLIC_PORT" SERVE_ADMIN_PORT="$HYDRA_ADMIN_PORT" URLS_SELF_ISSUER="$HYDRA_PUBLIC_URL" \
  URLS_LOGIN="$APP_BASE_URL/login" URLS_CONSENT="$APP_BASE_URL/consent" URLS_LOGOUT="$APP_BASE_URL/logout" \
  URLS_POST_LOGOUT_REDIRECT="$APP_BASE_URL/signed-out" URLS_ERROR="$APP_BASE_URL/error" \
  setsid .bin/hydra serve all --dev --sqa-opt-out -c hydra/hydra.yml >.run/hydra.log 2>&1 &
pids+=($!)
wait_http "$HYDRA_ADMIN_URL/health/ready" "Hydra" .run/hydra.log

say "seeding config/demo.yaml and the demo user"
AUDIENCES_CONFIG=config/demo.yaml node_modules/.bin/tsx prisma/seed.ts
# A reset ends the user's sessions, so only when the demo password was just generated.
node_modules/.bin/tsx src/admin/create-user.ts --email "$DEMO_EMAIL" --password "$DEMO_PASSWORD" --name "Demo User" --verified ${new_demo_password:+--reset-password}

say "starting the app ($APP_BASE_URL)"
HOST=127.0.0.1 PORT="$APP_PORT" COOKIE_SECURE=false LOG_LEVEL="${LOG_LEVEL:-info}" setsid node_modules/.bin/tsx src/server.ts >.run/app.log 2>&1 &
pids+=($!)
wait_http "$APP_BASE_URL/health" "the app" .run/app.log
DEMO_CLIENT_PORT="$DEMO_CLIENT_PORT" setsid node_modules/.bin/tsx scripts/demo-client.ts >.run/demo-client.log 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$DEMO_CLIENT_PORT/" "the demo client" .run/demo-client.log

cat >&2 <<EOM

  Everything is running. Click to start an authorization-code flow for the demo client:

      http://127.0.0.1:$DEMO_CLIENT_PORT/start?client=demo-web

  (it redirects to $HYDRA_PUBLIC_URL/oauth2/auth?client_id=demo-web&response_type=code&...;
   http://127.0.0.1:$DEMO_CLIENT_PORT/ also offers the public client demo-mobile)

  Sign in as   $DEMO_EMAIL   /   $DEMO_PASSWORD

  Mail sent by the app (verification, recovery) arrives in Mailpit's inbox: $MAILPIT_URL/
  (the newest message alone: $MAILPIT_URL/view/latest.html; all of them, as JSON: $MAILPIT_URL/api/v1/messages)

  Your account (consents, name, address, password): $APP_BASE_URL/account

  Logs: .run/app.log  .run/hydra.log  .run/demo-client.log  .run/mailpit.log        Ctrl-C stops everything.

EOM
wait -n "${pids[@]}" || true
say "a process exited; see the logs in .run/"
