#!/usr/bin/env bash
# The README's first command: install what is missing, then start the local network (`pnpm devnet`).
#   bash scripts/devnet.sh [--fresh] [--keepers N] [--providers M] [...]   start or resume, until Ctrl-C
#   bash scripts/devnet.sh ctl <command>                                   control a running network
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "ctl" ]; then
  bash scripts/bootstrap.sh
fi
if [ -f test/devnet/main.ts ]; then
  # `exec` so that Ctrl-C and SIGTERM reach the devnet itself, which stops every process it started.
  exec node --conditions=development --import tsx test/devnet/main.ts "$@"
fi
echo "The local network is not built yet (see the open issues); nothing more to start." >&2
exit 1
