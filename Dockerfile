# syntax=docker/dockerfile:1
# One image for every `dco` process; docker-compose.yml runs it twice:
#   worker (the default command) and bridge (`command: ["bridge"]`).
#   docker build -t dco .
#   docker run --rm dco --help
# The CLI runs the TypeScript sources through tsx (bin/dco): there is no build step.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- 1: dependencies -------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Our fixes to dependencies, applied by npm ci's postinstall (patch-package): see patches/.
COPY patches ./patches
# Exactly the lockfile, without devDependencies: what runs is all in `dependencies` (tsx runs
# the sources; @temporalio/worker bundles the workflows with its own webpack and swc).
# jest, ts-jest, typescript and the type packages are only for tests and type checks.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

# --- 2: runtime ------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only for the `node` user that runs the processes. tsx keeps its
# compile cache in /tmp; nothing else is written except .data/ (`dco sim`'s journals and the
# bridge's dead letters, .data/deadletters: mount a volume there to keep them).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY protocol ./protocol
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY bridge ./bridge
COPY client ./client
COPY cli ./cli
COPY config ./config
COPY device ./device
COPY stack ./stack
COPY bin ./bin
# The workflow bundle, built once here (node_modules/.cache/dco, by content hash) so a worker
# container loads it instead of bundling at every start (about 120 MB less peak memory).
RUN ./bin/dco build-workflows && mkdir -p .data && chown node:node .data

USER node
# No HEALTHCHECK yet: the processes have no health or metrics endpoint (it comes with the
# observability work), and "the process exists" is what Docker already knows. Compose
# restarts a service that exits (restart: unless-stopped).
HEALTHCHECK NONE
ENTRYPOINT ["./bin/dco"]
CMD ["worker"]
