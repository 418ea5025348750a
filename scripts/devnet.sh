#!/usr/bin/env bash
# The README's first command: install what is missing, then start the local
# network (`pnpm devnet`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -f test/devnet/main.ts ]; then
  exec pnpm --filter @whitepay/test exec tsx --conditions=development devnet/main.ts "$@"
fi
echo "The local network is not built yet (see the open issues); nothing more to start." >&2
exit 1
