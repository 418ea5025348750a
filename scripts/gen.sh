#!/usr/bin/env bash
# Regenerates every piece of generated code: each scripts/gen.d/*.sh writes
# one output directory, named on its "# output:" line. With --check, the
# outputs are snapshotted first and compared after regeneration: generated
# code is never edited by hand, and CI fails when it drifts from its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1
snap=$(mktemp -d)
trap 'rm -rf "$snap"' EXIT
drift=0
for gen in scripts/gen.d/*.sh; do
  [ -e "$gen" ] || continue
  out=$(sed -n 's/^# output: //p' "$gen" | head -1)
  if [ $check -eq 1 ] && [ -n "$out" ] && [ -d "$out" ]; then
    mkdir -p "$snap/$out" && cp -a "$out/." "$snap/$out/"
  fi
  bash "$gen"
  if [ $check -eq 1 ] && [ -n "$out" ]; then
    if ! diff -r -q "$snap/$out" "$out" >/dev/null 2>&1; then
      echo "drift: $out differs from what $gen generates:" >&2
      diff -r "$snap/$out" "$out" | head -40 >&2 || true
      drift=1
    fi
  fi
done
if [ $check -eq 1 ]; then
  [ $drift -eq 0 ] || { echo "generated code drifted from its sources; run 'pnpm gen' and commit" >&2; exit 1; }
  echo "generated code matches its sources"
fi
