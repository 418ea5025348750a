import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './ports.js';
import { exitedEarly, spawnManaged } from './process.js';

export interface TxSignerServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `bin/tx-signer.mjs`, a separate process holding `key` and answering
 * `eth_signTransaction` as Web3Signer's eth1 mode does, on a free loopback port.
 */
export async function startTxSigner(opts: {
  key: string;
  token?: string;
  tamper?: 'value' | 'key';
}): Promise<TxSignerServer> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../bin/tx-signer.mjs', import.meta.url));
  const proc = spawnManaged(process.execPath, [script], {
    env: {
      ...process.env,
      SIGNER_KEY: opts.key,
      SIGNER_PORT: String(port),
      ...(opts.token ? { SIGNER_TOKEN: opts.token } : {}),
      ...(opts.tamper ? { SIGNER_TAMPER: opts.tamper } : {}),
    },
  });
  await waitFor(`tx signer on port ${port}`, async () => {
    if (exitedEarly(proc)) throw new Error(`tx signer exited: ${proc.output()}`);
    return proc.output().includes('listening');
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.stop() };
}
