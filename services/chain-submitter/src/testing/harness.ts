import { createRegistry, silentLogger } from '@whitepay/base';
import { busSigner, connectBus, subjects } from '@whitepay/bus';
import { ANVIL_MNEMONIC, type AnvilServer, type NatsServer, type RedisServer } from '@whitepay/testkit';
import { Redis } from 'ioredis';
import type { Msg, NatsConnection } from 'nats';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  type TestClient,
  type Transport,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { type App, type AppDeps, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { loadKeys } from '../signer.js';

/** The private key of the standard anvil mnemonic's account `index`. */
export function anvilKey(index: number): Hex {
  const hd = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }).getHdKey();
  return `0x${Buffer.from(hd.privateKey!).toString('hex')}`;
}

export interface Servers {
  anvil: AnvilServer;
  nats: NatsServer;
  redis: RedisServer;
}

export interface Harness {
  app: App;
  nc: NatsConnection;
  redis: Redis;
  publicClient: PublicClient;
  close(opts?: { release?: boolean }): Promise<void>;
}

/**
 * Builds and starts an app on real servers, with `CHAIN_SUBMITTER_*` overrides.
 * `wrapPublicClient` lets a test stand between the app and the node (e.g. a node that lags).
 */
export async function startApp(
  srv: Servers,
  env: Record<string, string>,
  extra: Pick<AppDeps, 'replicaId' | 'afterBroadcast'> & {
    wrapPublicClient?: (client: PublicClient) => PublicClient;
    /** Sees every JSON-RPC request the app makes (public and wallet client), before it is sent. */
    onRpc?: (method: string) => void;
  } = {},
): Promise<Harness> {
  const { wrapPublicClient, onRpc, ...deps } = extra;
  const config = loadConfig({
    CHAIN_SUBMITTER_KEEPER_ID: '1',
    CHAIN_SUBMITTER_RPC_URL: srv.anvil.rpcUrl,
    CHAIN_SUBMITTER_NATS_URL: srv.nats.url,
    CHAIN_SUBMITTER_REDIS_URL: srv.redis.url,
    // A default key unless the test keeps it another way (keystore, remote signer).
    ...(env.CHAIN_SUBMITTER_KEYSTORE_FILE || env.CHAIN_SUBMITTER_SIGNER_URL
      ? {}
      : { CHAIN_SUBMITTER_PRIVATE_KEY: anvilKey(0) }),
    CHAIN_SUBMITTER_CONFIRMATIONS: '0',
    CHAIN_SUBMITTER_POLL_INTERVAL_MS: '50',
    CHAIN_SUBMITTER_LOG_LEVEL: 'silent',
    ...env,
  });
  const log = silentLogger();
  const node_ = http(srv.anvil.rpcUrl, { retryCount: 0 });
  const transport: Transport = onRpc
    ? (opts) => {
        const t = node_(opts);
        return {
          ...t,
          request: ((args: { method: string }, o?: unknown) => {
            onRpc(args.method);
            return (t.request as (a: unknown, o?: unknown) => Promise<unknown>)(args, o);
          }) as typeof t.request,
        };
      }
    : node_;
  const node = createPublicClient({ transport, pollingInterval: 50 }) as PublicClient;
  const publicClient = wrapPublicClient ? wrapPublicClient(node) : node;
  const { account, bus } = await loadKeys(config);
  const walletClient = createWalletClient({ account, transport });
  const redis = new Redis(srv.redis.url, { maxRetriesPerRequest: 3 });
  const nc = await connectBus({ url: srv.nats.url, name: 'test', log });
  const app = await createApp({
    config,
    log,
    registry: createRegistry('chain-submitter'),
    publicClient,
    walletClient,
    bus,
    nc,
    redis,
    ...deps,
  });
  try {
    await app.start();
  } catch (err) {
    await app.stop();
    await nc.close();
    redis.disconnect();
    throw err;
  }
  return {
    app,
    nc,
    redis,
    publicClient,
    async close(opts: { release?: boolean } = {}) {
      await app.stop(opts);
      await nc.close();
      redis.disconnect();
    },
  };
}

export function testClient(anvil: AnvilServer): TestClient<'anvil'> {
  return createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) });
}

export interface StoredMessage<T> {
  seq: number;
  data: T;
  headers: Record<string, string>;
}

/** Every message of a stream, in order. */
export async function readStream<T>(nc: NatsConnection, stream: string): Promise<StoredMessage<T>[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const out: StoredMessage<T>[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    const headers: Record<string, string> = {};
    if (m.header) for (const [k, v] of m.header) headers[k] = v.join(',');
    out.push({ seq, data: m.json<T>(), headers });
  }
  return out;
}

export { subjects };

/**
 * A request on `<ns>.submit` as the keeper's coordinator sends it: bus-signed with `key` (the
 * keeper's account key; another key: a forgery; `null`: unsigned).
 */
export async function submitRequest(
  nc: NatsConnection,
  subject: string,
  body: string,
  key: Hex | null,
): Promise<Msg> {
  const data = new TextEncoder().encode(body);
  return nc.request(subject, data, {
    timeout: 10_000,
    ...(key ? { headers: busSigner(key).headers(subject, data) } : {}),
  });
}
