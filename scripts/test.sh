#!/usr/bin/env bash
# The README's second command and what CI runs: install what is missing,
# then run every check and every test (`pnpm check`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec pnpm check
