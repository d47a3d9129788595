# App image (login/consent app); used by docker-compose.yml. Runs from the TypeScript sources with tsx.
FROM node:20-bookworm-slim

# openssl: Prisma's CLI probes for it and warns without it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
# playwright-core (browser tests only) never downloads a browser.
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# All dependencies, dev ones included: the Prisma CLI runs `migrate deploy` at start-up.
COPY package.json package-lock.json ./
RUN npm ci && npm cache clean --force

COPY . .
# prisma.config.ts / schema.prisma need a DATABASE_URL to load; generate never connects to it.
RUN DATABASE_URL=postgresql://build:build@localhost:5432/build npx prisma generate

ENV NODE_ENV=production
USER node
EXPOSE 3000
ENTRYPOINT ["sh", "/app/docker/entrypoint.sh"]
