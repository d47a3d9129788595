# App image (login/consent app), used by docker-compose.yml and the Helm chart. Two stages:
#   build    all dependencies, the Prisma client generated, TypeScript compiled to dist/ (`npm run build`)
#   runtime  production dependencies and the compiled JavaScript, run with node (no tsx, no compiler)
# Default command: the server, `sh scripts/start.sh` (node dist/src/server.js with its memory settings) (port 3000; probes /health/alive, /health/ready).
# In the same image:
#   migrations  npx prisma migrate deploy                    (the Prisma CLI is among the production
#               dependencies: it is @prisma/client's optional peer, so `npm ci --omit=dev` keeps it)
#   seed        node dist/prisma/seed.js --config <file>
#   demo        sh docker/entrypoint.sh                       (docker-compose.yml: migrate, seed, serve)
FROM node:24-bookworm-slim AS base
# openssl: Prisma's CLI probes for it and warns without it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
# playwright-core (browser tests only) never downloads a browser.
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

FROM base AS build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# prisma.config.ts / schema.prisma need a DATABASE_URL to load; generate never connects to it.
RUN DATABASE_URL=postgresql://build:build@localhost:5432/build npx prisma generate \
 && npm run build

FROM base AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM base AS runtime
ENV NODE_ENV=production
# Memory: one instance stays near or under 150 MiB under load (issue #12): scripts/start.sh starts
# node with MALLOC_ARENA_MAX=1 and V8's semi/old-space limits (the reasons are there). The Helm
# chart sets the same through the environment (values.yaml: nodeOptions, mallocArenaMax).
COPY --from=prod-deps /app/node_modules ./node_modules
# views/, public/, locales/, config/, prisma/ (migrations), prisma.config.ts, docker/ (see .dockerignore).
COPY . .
COPY --from=build /app/dist ./dist
# The generated client, for the admin scripts (`npm run user:create`, …), which run from src/ with tsx.
COPY --from=build /app/src/generated ./src/generated
USER node
EXPOSE 3000
CMD ["sh", "scripts/start.sh"]
