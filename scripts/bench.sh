#!/usr/bin/env bash
# `pnpm bench`: every benchmark, each printing a table. Benchmarks live in
# `<package>/bench/*.bench.ts` and are plain scripts (never timed assertions).
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
for b in $(ls packages/*/bench/*.bench.ts services/*/bench/*.bench.ts contracts/bench/*.bench.ts test/bench/*.bench.ts 2>/dev/null); do
  if [ -n "$filter" ] && [[ "$b" != *"$filter"* ]]; then continue; fi
  printf '\n\033[1m== %s\033[0m\n' "$b"
  pnpm exec tsx --conditions=development "$b"
done
