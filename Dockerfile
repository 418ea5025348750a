# syntax=docker/dockerfile:1
# One image per WhitePay service, all from one shared build stage:
#   docker build --target challenger -t whitepay/challenger:dev .
# Without Docker (buildah + podman, a base image made with debootstrap):
#   scripts/images.sh   (docs/images.md)
#
# Targets: challenger, challenge-store, st-calculator, consensus-coordinator,
# chain-submitter, provider.
#
# A runtime image holds only its service, as `pnpm deploy --prod` lays it out
# in /app: the service's compiled dist/, its production node_modules, and the
# workspace packages it depends on copied into node_modules (their dist/ only,
# see each package.json `files`). WORKDIR /app, user and group 10001,
# CMD ["node", "dist/main.js"]. Files are owned by root: read-only to the
# service, which also runs with a read-only root filesystem (the Helm chart's
# securityContext); only the provider writes, to PROVIDER_DATA_DIR.
#
# Database migration — the challenge-store image carries @whitepay/store:
#   workdir:  /app
#   command:  node node_modules/@whitepay/store/dist/cli.js migrate
#   env:      STORE_DATABASE_URL (and STORE_LOG_LEVEL), read through the store CLI's config schema
# (The service itself also migrates at start unless CHALLENGE_STORE_MIGRATE=false.)
#
# Build arguments:
#   NODE_IMAGE           base of every stage: Debian bookworm with Node 20 and
#                        corepack on PATH (default node:20-bookworm-slim;
#                        scripts/images.sh passes one it made with debootstrap).
#
# Build secret (optional):
#   ca                   a CA bundle that the registry downloads (corepack,
#                        pnpm fetch) trust in addition to Node's own, for a
#                        TLS-inspecting proxy in front of the npm registry:
#                        `--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`
#                        (scripts/images.sh passes the host's). A secret is
#                        mounted only while that step runs and is in no layer.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# COREPACK_INTEGRITY_KEYS=0: the registry serves no signatures for pnpm; the
# version is still pinned by its sha512 in package.json `packageManager`.
ENV CI=true COREPACK_INTEGRITY_KEYS=0 COREPACK_ENABLE_DOWNLOAD_PROMPT=0
RUN corepack enable
WORKDIR /src
# Dependencies first: `pnpm fetch` needs only the lockfile, so this layer
# (every package tarball in the store) is reused until the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && corepack install && pnpm fetch
COPY . .
# Compile the services and the workspace packages they depend on (each
# package's `build` script: tsc over its tsconfig.build.json, no tests).
RUN pnpm install --offline --frozen-lockfile \
 && pnpm --filter-prod "{./services/*}..." build
# One directory per service with only what it needs at run time.
# `pnpm deploy` in pnpm 10 requires injected workspace packages (real copies
# instead of symlinks into the workspace); it is set for this command only,
# with --config, so the developers' workspace keeps its symlinks. (`--legacy`,
# pnpm 9's implementation, would need no setting; the current one derives the
# service's own pnpm-lock.yaml from the workspace lockfile and writes it into
# the deploy dir, where it stays as the record of what the image holds.)
RUN for svc in challenger challenge-store st-calculator consensus-coordinator chain-submitter provider; do \
      pnpm --filter "@whitepay/${svc}" deploy --prod --offline --config.inject-workspace-packages=true "/deploy/${svc}" \
        || exit 1; \
    done

# Shared by every target: the user, the environment, the entry point.
FROM ${NODE_IMAGE} AS runtime
RUN groupadd --gid 10001 whitepay \
 && useradd --uid 10001 --gid whitepay --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin whitepay
ENV NODE_ENV=production
WORKDIR /app
USER 10001:10001
EXPOSE 8080
CMD ["node", "dist/main.js"]

FROM runtime AS challenger
ENV SERVICE=challenger
COPY --from=build /deploy/challenger /app

FROM runtime AS challenge-store
ENV SERVICE=challenge-store
EXPOSE 9090
COPY --from=build /deploy/challenge-store /app

FROM runtime AS st-calculator
ENV SERVICE=st-calculator
EXPOSE 9090
COPY --from=build /deploy/st-calculator /app

FROM runtime AS consensus-coordinator
ENV SERVICE=consensus-coordinator
EXPOSE 7300
COPY --from=build /deploy/consensus-coordinator /app

FROM runtime AS chain-submitter
ENV SERVICE=chain-submitter
COPY --from=build /deploy/chain-submitter /app

FROM runtime AS provider
ENV SERVICE=provider
EXPOSE 7070
COPY --from=build /deploy/provider /app
