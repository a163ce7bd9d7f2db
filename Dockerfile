# syntax=docker/dockerfile:1
#
# Telework broker image: build with dev dependencies, run with production dependencies only,
# as a non-root user, from a read-only root filesystem (the Helm chart mounts /tmp and the pools file).
#
#   docker build -t telework-broker:0.1.0 .
#   docker run --rm -p 8080:8080 telework-broker:0.1.0     # embedded store, sample config/broker.yaml
#
# Node 20 LTS on Debian bookworm-slim: glibc (no musl surprises in native add-ons), `sleep` for the
# chart's preStop hook, and a `node` user with uid 1000.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# tsc, then postbuild (scripts/copy-assets.js) copies the Lua scripts and pages next to the compiled code.
RUN npm run build

# ---- deps: production dependencies only ------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    BROKER_CONFIG=/app/config/broker.yaml \
    BROKER_STATE_DIR=/tmp/broker
WORKDIR /app
# Owned by root and not writable by the broker's user: the code cannot be changed at run time.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
# The node image's unprivileged user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080
# The broker stops taking requests on SIGTERM, finishes those in flight and closes Redis.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
