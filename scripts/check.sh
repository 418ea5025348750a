#!/usr/bin/env bash
# `pnpm check`: types, lint, generated-code drift, then the whole test suite
# with coverage. Prints a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "typecheck (tsc -b)"
pnpm exec tsc -b
step "lint and format (biome)"
pnpm exec biome check .
step "generated code is up to date"
bash scripts/gen.sh --check
step "helm chart (lint, render, schema validation)"
bash scripts/check-helm.sh
step "tests (vitest, with coverage)"
mkdir -p .tmp
status=0
pnpm exec vitest run --coverage --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json || status=$?
node scripts/test-summary.mjs .tmp/vitest.json coverage/coverage-summary.json || status=$?
exit $status
