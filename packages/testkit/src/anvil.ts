import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, waitFor } from './ports.js';
import { exitedEarly, spawnManaged } from './process.js';

export interface AnvilServer {
  rpcUrl: string;
  port: number;
  chainId: number;
  stop(): Promise<void>;
}

/** The anvil binary shipped inside the npm package `@foundry-rs/anvil-<platform>`. */
export function anvilBinary(): string {
  if (process.env.WHITEPAY_ANVIL) return process.env.WHITEPAY_ANVIL;
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@foundry-rs/anvil/package.json'));
  const platform = `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const req2 = createRequire(join(pkgDir, 'package.json'));
  const binPkg = dirname(req2.resolve(`@foundry-rs/anvil-${platform}/package.json`));
  const bin = join(binPkg, 'bin', 'anvil');
  if (!existsSync(bin)) throw new Error(`anvil binary not found at ${bin}`);
  return bin;
}

/** The well-known anvil dev mnemonic's first ten private keys are funded with 10k ETH each. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

export async function startAnvil(
  opts: {
    port?: number;
    chainId?: number;
    blockTime?: number;
    accounts?: number;
    gasLimit?: bigint;
    /** Load the chain from this file if it exists and dump it there on exit (the local network resumes). */
    statePath?: string;
    /** Address to listen on (default loopback; e.g. a podman network's gateway, for containers). */
    host?: string;
  } = {},
): Promise<AnvilServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = [
    '--hardfork',
    'prague',
    '--host',
    host,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    '--accounts',
    String(opts.accounts ?? 20),
    '--mnemonic',
    ANVIL_MNEMONIC,
    '--silent',
  ];
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.gasLimit !== undefined) args.push('--gas-limit', String(opts.gasLimit));
  if (opts.statePath !== undefined) args.push('--state', opts.statePath, '--state-interval', '5');
  const proc = spawnManaged(anvilBinary(), args);
  const rpcUrl = `http://${host}:${port}`;
  await waitFor(`anvil on port ${port}`, async () => {
    if (exitedEarly(proc)) throw new Error(`anvil exited: ${proc.output()}`);
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return res.ok;
  });
  return { rpcUrl, port, chainId, stop: () => proc.stop('SIGINT') };
}
