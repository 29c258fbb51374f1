# The image of each service (knowledge, operations, coordination): one Dockerfile, the service a build
# argument. Build from the repository root (the context is the whole monorepo):
#   docker build --build-arg SERVICE=knowledge    --build-arg PORT=4101 -t agent-platform/knowledge:dev .
#   docker build --build-arg SERVICE=operations   --build-arg PORT=4102 -t agent-platform/operations:dev .
#   docker build --build-arg SERVICE=coordination --build-arg PORT=4103 -t agent-platform/coordination:dev .
# (`npm run images:build` builds all three with podman on a locally made base image; docs/deploy.md.)
# Runs as the unprivileged `node` user (uid 1000) on a read-only root filesystem; the only writable
# path it needs is /tmp (mount a tmpfs / emptyDir there). Stores and secrets come from the environment.
#
# The operations image also carries the database migrator, run as a one-shot (compose service,
# Kubernetes Job, Helm pre-install/pre-upgrade hook) with the schema owner's URL, never on a replica's start:
#   docker run --rm -e DATABASE_ADMIN_URL=postgresql://owner:…@host:5432/platform \
#     agent-platform/operations:dev node /app/services/operations/dist/migrate/migrate.js deploy
#
# Optional, for networks whose egress proxy re-signs TLS: a CA bundle as the build secret `npm_ca`
# (`--secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt`) is trusted by `npm ci` through
# NODE_EXTRA_CA_CERTS. A secret mount is never part of a layer; without it the build is unchanged.
ARG NODE_IMAGE=node:24-trixie-slim

# ---- deps: every workspace's dependencies, dev included (tsc, turbo, prisma), exactly as locked ----
# The same for the three services, so one build of it serves all three.
FROM ${NODE_IMAGE} AS deps
ENV npm_config_update_notifier=false TURBO_TELEMETRY_DISABLED=1
WORKDIR /app
# Manifests only, so this layer is rebuilt only when a package.json or the lockfile changes.
# npm ci needs every workspace's package.json to check the lockfile, even in a filtered install.
COPY package.json package-lock.json .npmrc ./
COPY shared/contracts/package.json shared/contracts/
COPY shared/kit/package.json shared/kit/
COPY shared/otel/package.json shared/otel/
COPY shared/agent-sdk/package.json shared/agent-sdk/
COPY shared/client/package.json shared/client/
COPY shared/testkit/package.json shared/testkit/
COPY services/knowledge/package.json services/knowledge/
COPY services/operations/package.json services/operations/
COPY services/coordination/package.json services/coordination/
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci

# ---- build: tsc for the three services and the workspace packages they depend on (turbo ^build) ----
# One build for all three (not per SERVICE): coordination's dependencies already take in operations
# (its router type, for the typed client) and knowledge, so this costs one service's build and the
# second and third image find it cached. Operations' build generates the Prisma client here from
# prisma/schema.prisma (never committed, never downloaded) and compiles its migrator
# (services/operations/migrate) to services/operations/dist/migrate beside the service.
FROM deps AS build
COPY tsconfig.base.json turbo.json prisma.config.ts ./
COPY prisma ./prisma
COPY shared ./shared
COPY services ./services
RUN npx turbo run build --filter=@platform/knowledge... --filter=@platform/operations... --filter=@platform/coordination...

# ---- extra: what only one service ships, under /extra (empty for the others) -------------------------
# Operations: the migrator's migrations, and Prisma's schema engine compiled to WebAssembly (no native
# engine, no download), the migrator's only package outside operations' own dependencies (pg,
# @prisma/adapter-pg, zod). The migrator itself ships in operations' dist/ with the service.
FROM build AS extra
ARG SERVICE
RUN mkdir /extra \
 && if [ "$SERVICE" = operations ]; then \
      mkdir -p /extra/prisma /extra/node_modules/@prisma \
      && cp -r prisma/migrations /extra/prisma/ \
      && cp -r node_modules/@prisma/schema-engine-wasm /extra/node_modules/@prisma/; \
    fi

# ---- prod-deps: runtime dependencies of this one workspace only ----------------------------------
# --omit=optional drops what only optional peers pull in (the prisma CLI, Studio); typescript is a
# peer of @trpc/server that nothing loads at run time. Only this service's manifest: with the other
# services' present, npm keeps the production dependencies of each service this one links as a
# devDependency for its router type (coordination → operations: @prisma/client, 73 MB; operations →
# knowledge: neo4j-driver), none of which it loads.
FROM ${NODE_IMAGE} AS prod-deps
ARG SERVICE
RUN case "$SERVICE" in knowledge|operations|coordination) ;; \
      *) echo "build argument SERVICE must be knowledge, operations or coordination (got '$SERVICE')" >&2; exit 1 ;; esac
ENV npm_config_update_notifier=false
WORKDIR /app
COPY --from=deps /app/package.json /app/package-lock.json /app/.npmrc ./
COPY --from=deps /app/shared ./shared
COPY --from=deps /app/services/${SERVICE}/package.json ./services/${SERVICE}/
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --omit=dev --omit=optional --workspace=@platform/${SERVICE} --ignore-scripts \
 && rm -rf node_modules/typescript

# ---- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (graceful shutdown) and reaps zombies. npm, npx, corepack
# and yarn go: the image only ever runs `node` (the service, the migrator), and a package manager on
# the PATH in production is a ready way to fetch and run unreviewed code (and a scanner finding of its
# own). They stay in the base image's lower layer, so this saves no bytes; it takes them off the PATH.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /root/.npm
ARG SERVICE
ARG PORT
# PORT is given with SERVICE (build arguments cannot derive one from the other); the pair is checked.
RUN case "$SERVICE:$PORT" in knowledge:4101|operations:4102|coordination:4103) ;; \
      *) echo "build arguments SERVICE:PORT must be knowledge:4101, operations:4102 or coordination:4103 (got '$SERVICE:$PORT')" >&2; exit 1 ;; esac
ENV NODE_ENV=production HOST=0.0.0.0 PORT=${PORT}
WORKDIR /app
# Files stay owned by root and read-only for the `node` user.
COPY --from=prod-deps /app ./
COPY --from=build /app/shared/contracts/dist ./shared/contracts/dist
COPY --from=build /app/shared/kit/dist ./shared/kit/dist
COPY --from=build /app/shared/otel/dist ./shared/otel/dist
COPY --from=build /app/services/${SERVICE}/dist ./services/${SERVICE}/dist
COPY --from=extra /extra ./
WORKDIR /app/services/${SERVICE}
USER node
EXPOSE ${PORT}
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "./dist/instrumentation.js", "dist/main.js"]
# OCI annotations, last so a new revision re-labels without rebuilding any layer.
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="agent-platform-${SERVICE}" \
      org.opencontainers.image.description="agent platform ${SERVICE} service" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}"
