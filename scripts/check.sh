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
# Two passes: unit and integration tests two files at a time, with coverage;
# then the suites that run whole keeper groups or the local network (dozens of
# processes each), one file at a time so that they never compete for the
# machine's two cores.
HEAVY=(test/e2e test/devnet test/rounds test/chart)
EXCLUDE=()
for h in "${HEAVY[@]}"; do EXCLUDE+=(--exclude "$h/**"); done
mkdir -p .tmp
status=0
step "tests (vitest, with coverage)"
pnpm exec vitest run --coverage "${EXCLUDE[@]}" \
  --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json || status=$?
step "multi-keeper and local-network suites (vitest, one file at a time)"
pnpm exec vitest run "${HEAVY[@]}" --no-file-parallelism \
  --reporter=default --reporter=json --outputFile.json=.tmp/vitest-heavy.json || status=$?
node scripts/test-summary.mjs --coverage coverage/coverage-summary.json .tmp/vitest.json .tmp/vitest-heavy.json || status=$?
exit $status
