#!/usr/bin/env bash
# Regenerates every piece of generated code (protobuf → TypeScript, Solidity →
# ABIs and bytecode). With --check, regenerates into the tree and fails if
# anything changed: generated code is never edited by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1
for gen in scripts/gen.d/*.sh; do
  [ -e "$gen" ] || continue
  bash "$gen"
done
if [ $check -eq 1 ]; then
  if [ -n "$(git status --porcelain -- '**/generated/**' 'packages/proto/src/gen' 'contracts/artifacts' 2>/dev/null)" ]; then
    echo "generated code drifted from its sources; run 'pnpm gen' and commit:" >&2
    git status --porcelain -- '**/generated/**' 'packages/proto/src/gen' 'contracts/artifacts' >&2
    exit 1
  fi
  echo "generated code matches its sources"
fi
