// The one compiler configuration of the contracts: npm `solc` (solcjs, no network), `evmVersion` prague,
// viaIR, optimizer 200 runs, no metadata hash; imports (`@openzeppelin/...`) resolve from node_modules.
// compile.mjs uses it for the product (every .sol under src/), the tests for their test-only contracts
// (test/sol/, never in generated/), so both compile the library code the same way.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const solc = require('solc');

/** The compiler's version string (`0.8.30+commit.…`). */
export const solcVersion = () => solc.version();

/** Every `.sol` under `dir` (subfolders included), keyed by `${prefix}/${relative path}`, sorted. */
export function solSources(dir, prefix) {
  const sources = {};
  for (const f of readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.sol'))
    .sort()) {
    sources[`${prefix}/${f}`] = { content: readFileSync(join(dir, f), 'utf8') };
  }
  return sources;
}

/** Resolves imports (`@openzeppelin/...`) from node_modules. */
function findImports(path) {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') };
  } catch {
    return { error: `not found: ${path}` };
  }
}

/**
 * Compiles `sources` (standard-JSON `sources`) and returns the output's `contracts`; writes every
 * diagnostic to stderr and throws when one is an error.
 */
export function compileSolidity(sources) {
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: 'prague',
      viaIR: true,
      optimizer: { enabled: true, runs: 200 },
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  for (const e of output.errors ?? []) process.stderr.write(`${e.formattedMessage}\n`);
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.length} error(s)`);
  return output.contracts;
}
