# syntax=docker/dockerfile:1
# One image per WhitePay service, from one build:
#   docker build --target challenger -t whitepay/challenger:dev .
# Targets: challenger, challenge-store, st-calculator, consensus-coordinator,
# chain-submitter, provider. Every image holds the whole built workspace
# (shared layers, so six images cost about one) and starts its service with
# `node dist/main.js` as an unprivileged user. The challenge-store image also
# runs the database migration: `node packages/store/dist/cli.js migrate` from
# /app (the Helm chart's hook Job does exactly this).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV CI=true COREPACK_INTEGRITY_KEYS=0 PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN corepack enable
WORKDIR /src
# Dependencies first: `pnpm fetch` needs only the lockfile, so this layer is
# reused until the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN corepack install && pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile \
 && pnpm -r build \
 && find . -name node_modules -type d -prune -exec rm -rf {} + \
 && pnpm install --offline --frozen-lockfile --prod

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
RUN groupadd --system --gid 10001 whitepay \
 && useradd --system --uid 10001 --gid whitepay --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin whitepay
WORKDIR /app
# Owned by root and read-only for the service user.
COPY --from=build /src/package.json /src/pnpm-workspace.yaml ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages ./packages
COPY --from=build /src/contracts ./contracts
COPY --from=build /src/services ./services
USER 10001:10001
EXPOSE 8080 50051
CMD ["node", "dist/main.js"]

FROM runtime AS challenger
ENV SERVICE=challenger
WORKDIR /app/services/challenger

FROM runtime AS challenge-store
ENV SERVICE=challenge-store
WORKDIR /app/services/challenge-store

FROM runtime AS st-calculator
ENV SERVICE=st-calculator
WORKDIR /app/services/st-calculator

FROM runtime AS consensus-coordinator
ENV SERVICE=consensus-coordinator
WORKDIR /app/services/consensus-coordinator

FROM runtime AS chain-submitter
ENV SERVICE=chain-submitter
WORKDIR /app/services/chain-submitter

FROM runtime AS provider
ENV SERVICE=provider
WORKDIR /app/services/provider
