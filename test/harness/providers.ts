import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, type Logger, silentLogger } from '@whitepay/base';
import { providerV1 } from '@whitepay/proto';
import { createApp as createProviderApp, type ProviderApp } from '@whitepay/provider/app';
import { loadConfig as providerConfig } from '@whitepay/provider/config';
import { call, insecure } from '@whitepay/rpc';
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

/** A piece stored in a provider node, as the user registers it with the keepers. */
export interface StoredPiece {
  pieceId: Hex;
  size: bigint;
  root: Hex;
  leafSize: number;
}

export interface ProviderHandle {
  /** The provider id: the address of its payout account. */
  pid: Address;
  /** Its account key (payouts, withdrawals). */
  privateKey: Hex;
  /** `host:port` of its gRPC ProviderService. */
  grpcAddress: string;
  app: ProviderApp;
  /** Stores pieces of deterministic data for `user`; returns what to register. */
  put(user: Address, sizes: readonly number[]): Promise<StoredPiece[]>;
  stop(): Promise<void>;
}

/**
 * Starts `n` reference provider nodes in-process (services/provider
 * `createApp`), each with its own data directory and account, gRPC on
 * 127.0.0.1 with an ephemeral port.
 */
export async function startProviders(
  n: number,
  opts: { log?: Logger; env?: Record<string, string> } = {},
): Promise<ProviderHandle[]> {
  const out: ProviderHandle[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await startProvider(opts));
    return out;
  } catch (err) {
    await Promise.allSettled(out.map((p) => p.stop()));
    throw err;
  }
}

async function startProvider(opts: { log?: Logger; env?: Record<string, string> }): Promise<ProviderHandle> {
  const privateKey = generatePrivateKey();
  const pid = privateKeyToAccount(privateKey).address.toLowerCase() as Address;
  const dir = await mkdtemp(join(tmpdir(), 'whitepay-provider-'));
  const app = await createProviderApp({
    config: providerConfig({
      PROVIDER_DATA_DIR: dir,
      PROVIDER_ADDRESS: pid,
      PROVIDER_GRPC_HOST: '127.0.0.1',
      PROVIDER_GRPC_PORT: '0',
      ...opts.env,
    }),
    log: (opts.log ?? silentLogger()).child({ pid }),
    registry: createRegistry('provider'),
  });
  await app.start();
  const client = new providerV1.ProviderServiceClient(app.grpcAddress(), insecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  let seq = 0;
  return {
    pid,
    privateKey,
    grpcAddress: app.grpcAddress(),
    app,
    async put(user, sizes) {
      const pieces: StoredPiece[] = [];
      for (const size of sizes) {
        const seed = seq++;
        const data = new Uint8Array(size).map((_, i) => (i * 31 + seed * 17 + 3) & 255);
        const res = await call(
          client,
          client.putPiece,
          { user: hexToBytes(user), pieceId: new Uint8Array(), data, leafSize: 0, pid: hexToBytes(pid) },
          { deadlineMs: 30_000, name: 'PutPiece' },
        );
        pieces.push({
          pieceId: bytesToHex(res.pieceId),
          size: res.size,
          root: bytesToHex(res.root),
          leafSize: res.leafSize,
        });
      }
      return pieces;
    },
    async stop() {
      client.close();
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
