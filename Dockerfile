# syntax=docker/dockerfile:1
# couponlock image: `docker build -t couponlock .`
#   app:        docker run -p 3000:3000 -e DATABASE_URL=... -e REDIS_URL=... couponlock
#   migrations: docker run --rm -e DATABASE_URL=... couponlock node dist/database/migrate.js
# Run it with an init process (`docker run --init`, or `init: true` in compose) so signals
# are forwarded and zombies reaped; the app itself drains on SIGTERM.

# Node 24 LTS, pinned to a full version (a floating tag changes under a rebuild). .ci/run tests
# the same version (NODE24_VERSION there; src/config/deploy-files.spec.ts checks they agree).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---- build: compile the lock package, then the app (the only stage with dev dependencies) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The lock is an npm workspace (packages/lock): its manifest is part of the install.
COPY package.json package-lock.json ./
COPY packages/lock/package.json ./packages/lock/
# --ignore-scripts: no third-party install script runs; nothing the build uses needs one.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY packages/lock/tsconfig.json packages/lock/tsconfig.build.json ./packages/lock/
COPY packages/lock/src ./packages/lock/src
COPY src ./src
# packages/lock/dist is @couponlock/lock; dist/main.js is the server; migrations compile to
# dist/database/migrations/*.js.
RUN npm run build

# ---- deps: production dependencies only -------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/lock/package.json ./packages/lock/
# No install scripts here either (the only production one is @scarf/scarf's usage report).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies + dist/, non-root ----------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/lock/package.json ./packages/lock/
# node_modules/@couponlock/lock is a symlink to packages/lock (COPY keeps it a symlink), which
# needs its compiled dist/.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/packages/lock/dist ./packages/lock/dist
COPY --from=build /app/dist ./dist
# Code and node_modules stay root-owned and read-only to the process.
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
# slim has no curl: probe with node's own fetch. Liveness only (/health/live touches neither
# PostgreSQL nor Redis): a dependency outage must not get every replica marked dead and
# restarted; routing decisions use /health/ready instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
