#!/usr/bin/env bash
# Installs what WhitePay needs on a fresh Debian machine with Node 20 and npm:
# pnpm (through corepack, pinned in package.json), the system servers the
# tests and the local network run (nats-server, redis-server, PostgreSQL,
# Prometheus), and the workspace's node modules. Idempotent: a second run
# only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export COREPACK_INTEGRITY_KEYS=0
say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

# 1. pnpm through corepack (the version and hash are pinned in package.json).
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$(node -p 'require("./package.json").packageManager.split("@")[1].split("+")[0]')" ]; then
  say "enabling pnpm through corepack"
  if ! corepack enable 2>/dev/null; then
    $SUDO corepack enable
  fi
fi
say "pnpm $(pnpm --version)"

# 2. System servers, from Debian's packages, only when missing.
have_pg() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -x /usr/local/bin/initdb ]
}
missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_pg || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
# Prometheus and promtool: the alert rules' unit tests and the scrape test.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# Headless Chromium: the CORS test opens a dashboard page from file:// (playwright-core drives it).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} with apt-get (this takes a minute)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian packages start system-wide daemons; WhitePay starts its own on
  # random loopback ports, so the system ones are not needed.
  for svc in redis-server postgresql nats-server prometheus prometheus-node-exporter; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi
# PostgreSQL refuses to run as root; as root the tests run it as `postgres`.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  say "creating the unprivileged 'postgres' system user"
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi
say "nats-server $(nats-server --version 2>&1 | head -1 | awk '{print $NF}'), $(redis-server --version | awk '{print $3}'), PostgreSQL $(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)"

# 3. Node modules, exactly as locked.
say "installing node modules"
if [ -n "${CI:-}" ]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --frozen-lockfile
fi
say "ready"
