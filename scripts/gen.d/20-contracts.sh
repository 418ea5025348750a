#!/usr/bin/env bash
# Solidity → ABIs and bytecode (solcjs from npm, offline), plus typed ABIs for TypeScript.
# output: contracts/generated
set -euo pipefail
cd "$(dirname "$0")/../../contracts"
node scripts/compile.mjs
