/**
 * Test-only contracts (test/sol/): compiled here with the product's compiler settings (scripts/solc.mjs),
 * never by scripts/compile.mjs, so they are in no generated ABI; deployed on the suite's anvil.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Address, Hex } from 'viem';
import { waitForTransactionReceipt } from 'viem/actions';
import { compileSolidity } from '../scripts/solc.mjs';
import type { UpkeepingClient } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Compiles `test/sol/<name>.sol` with the product sources it imports (`imports`, paths from contracts/, e.g.
 * `src/BLS12381.sol`) and deploys contract `name` from `client`.
 */
export async function deployTestContract(
  client: UpkeepingClient,
  name: string,
  imports: readonly string[],
): Promise<{ address: Address; abi: Abi }> {
  const paths = [`test/sol/${name}.sol`, ...imports];
  const sources = Object.fromEntries(paths.map((p) => [p, { content: readFileSync(join(root, p), 'utf8') }]));
  const artifact = compileSolidity(sources)[`test/sol/${name}.sol`]?.[name];
  if (!artifact) throw new Error(`no output for ${name}`);
  const hash = await client.deployContract({
    abi: artifact.abi as Abi,
    bytecode: `0x${artifact.evm.bytecode.object}` as Hex,
  });
  const receipt = await waitForTransactionReceipt(client, { hash });
  if (!receipt.contractAddress) throw new Error(`${name} was not deployed`);
  return { address: receipt.contractAddress, abi: artifact.abi as Abi };
}
