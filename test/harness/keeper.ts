import type { AddressInfo } from 'node:net';
import { createRegistry, type Logger, silentLogger, WhitePayError } from '@whitepay/base';
import { busIdentityOf, connectBus } from '@whitepay/bus';
import { chainTransport } from '@whitepay/chain';
import { createApp as createSubmitter } from '@whitepay/chain-submitter/app';
import { loadConfig as submitterConfig } from '@whitepay/chain-submitter/config';
import { createApp as createStore } from '@whitepay/challenge-store/app';
import { loadConfig as storeConfig } from '@whitepay/challenge-store/config';
import { createApp as createChallenger, GrpcPieceRegistry } from '@whitepay/challenger/app';
import { loadConfig as challengerConfig } from '@whitepay/challenger/config';
import {
  type App as CoordinatorApp,
  createApp as createCoordinator,
} from '@whitepay/consensus-coordinator/app';
import { loadConfig as coordinatorConfig } from '@whitepay/consensus-coordinator/config';
import { listenGrpc } from '@whitepay/rpc';
import { createApp as createStCalculator } from '@whitepay/st-calculator/app';
import { loadConfig as stConfig } from '@whitepay/st-calculator/config';
import { closePool, createPool, migrate, readOnlyUrl } from '@whitepay/store';
import { type PostgresServer, sharedGroupPki } from '@whitepay/testkit';
import { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { type Address, createPublicClient, createWalletClient, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** The services of one keeper cluster (SPEC 9), in start order. */
export type ServiceName =
  | 'challenge-store'
  | 'st-calculator'
  | 'challenger'
  | 'chain-submitter'
  | 'consensus-coordinator';

export const SERVICE_ORDER: readonly ServiceName[] = [
  'challenge-store',
  'st-calculator',
  'challenger',
  'chain-submitter',
  'consensus-coordinator',
];

/** Services the harness can start (every one). */
export const AVAILABLE_SERVICES: readonly ServiceName[] = SERVICE_ORDER;

export class HarnessError extends WhitePayError {
  override readonly name = 'HarnessError';
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { kind: 'failed_precondition', details });
  }
}

export interface KeeperInfra {
  natsUrl: string;
  redisUrl: string;
  /** testkit PostgreSQL: the keeper gets its own database on it. */
  pgServer: PostgresServer;
  rpcUrl: string;
  chainId?: number;
}

export interface PeerKeeper {
  keeperId: number;
  /** Its secp256k1 account address (registered in Upkeeping). */
  account: Address;
  /** Its consensus-coordinator gRPC `host:port` (KeeperPeerService), once known. */
  coordinatorUrl?: string;
}

export interface KeeperOptions {
  keeperId: number;
  infra: KeeperInfra;
  /** secp256k1 key of the keeper account: signs records for peers and sends its transactions. */
  accountKey: Hex;
  /**
   * Issue this keeper's peer certificate for another identity (a keeper holding someone else's
   * certificate): its peers must refuse it. Default: its own identity.
   */
  peerIdentity?: { keeperId: number; account: string };
  /** BLS12-381 secret key (hex), for the consensus-coordinator. */
  blsSecretKey?: Hex;
  /** UpkeepingFactory to discover Upkeeping contracts from (chain-submitter). */
  upkeeping?: { factory: Address; fromBlock?: bigint };
  /** The other keepers of the group (their coordinator URLs may come later, through `setPeers`). */
  peers?: readonly PeerKeeper[];
  /** Ports to bind instead of ephemeral ones (e.g. a coordinator gRPC port from testkit's `freePort`, known to peers in advance). */
  ports?: Partial<Record<ServiceName, { http?: number; grpc?: number }>>;
  /** Provider nodes to challenge: pid → gRPC `host:port`. */
  providers?: Readonly<Record<string, string>>;
  /** Which services to start (default: every available one). */
  services?: readonly ServiceName[];
  /** Extra environment per service, in the service's own variables (`ST_CALCULATOR_MAX_STALENESS`, …). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  log?: Logger;
}

export interface ServiceUrls {
  /** `http://127.0.0.1:<port>` of the operator API. */
  http: string;
  /** `127.0.0.1:<port>` of its gRPC API, for services that have one. */
  grpc?: string;
}

export interface KeeperHandle {
  keeperId: number;
  /** The keeper's NATS namespace (`k<id>`). */
  namespace: string;
  account: Address;
  /** Its own database (challenge-store owns the schema; migrated at start). */
  databaseUrl: string;
  /** URLs of the running services. */
  urls: Partial<Record<ServiceName, ServiceUrls>>;
  running(): ServiceName[];
  startService(name: ServiceName): Promise<ServiceUrls>;
  /** Graceful stop of one service (its resources closed); `startService` brings it back on the same ports. */
  stopService(name: ServiceName): Promise<void>;
  /**
   * Abrupt stop of one service, as a crash: for the consensus-coordinator its
   * connections are cut without waiting for running rounds (their BullMQ
   * locks expire); other services stop as in `stopService`.
   */
  killService(name: ServiceName): Promise<void>;
  /** Replaces the peers' descriptions: running coordinators learn the new gRPC URLs at once. */
  setPeers(peers: readonly PeerKeeper[]): void;
  /** A second replica of this keeper's consensus-coordinator (same Redis, queues and NATS namespace; its own ports). */
  startCoordinatorReplica(): Promise<{ urls: ServiceUrls; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

interface Running {
  urls: ServiceUrls;
  stop(): Promise<void>;
  kill?(): Promise<void>;
}

/** The release's internal token every harness keeper's services share (service-to-service gRPC). */
export const HARNESS_INTERNAL_TOKEN = 'harness-internal-token-0123456789';

/** The admin token every harness coordinator accepts (`PUT /v1/admin/fault`) unless the env overrides it. */
export const HARNESS_ADMIN_TOKEN = 'harness-admin-token-0123456789';

/** Any service's operator API (fastify), built and not yet listening. */
interface HttpApp {
  listen(opts: { host: string; port: number }): Promise<unknown>;
  server: { address(): unknown };
}

const listenHttp = async (http: HttpApp, port = 0): Promise<string> => {
  await http.listen({ host: '127.0.0.1', port });
  return `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
};

/**
 * Starts one keeper cluster in-process: one database on the shared
 * PostgreSQL (migrated), then each service through its own `loadConfig` (the
 * same variables as in production) and `createApp`, listening on 127.0.0.1
 * with ephemeral ports. Services are started in `SERVICE_ORDER` and stopped in
 * reverse.
 */
export async function startKeeper(opts: KeeperOptions): Promise<KeeperHandle> {
  const { keeperId, infra } = opts;
  const log = (opts.log ?? silentLogger()).child({ keeperId });
  const namespace = `k${keeperId}`;
  const account = privateKeyToAccount(opts.accountKey).address;
  const databaseUrl = await infra.pgServer.createDatabase(`keeper${keeperId}_${Date.now().toString(36)}`);
  {
    const pool = createPool({ url: databaseUrl, log, max: 1 });
    try {
      await migrate(pool);
    } finally {
      await closePool(pool);
    }
  }
  let peers: readonly PeerKeeper[] = opts.peers ?? [];
  const group = [{ keeperId, account }, ...peers];
  const coordinators = new Set<CoordinatorApp>();
  const replicas = new Set<Running>();
  const env = (name: ServiceName, base: Record<string, string>) => ({ ...base, ...opts.env?.[name] });
  const running = new Map<ServiceName, Running>();
  const urls: Partial<Record<ServiceName, ServiceUrls>> = {};
  // A restarted service comes back on the ports it had, as behind a
  // Kubernetes Service: its clients keep their addresses.
  const ports: Partial<Record<ServiceName, { http?: number; grpc?: number }>> = { ...opts.ports };
  const portOf = (name: ServiceName, kind: 'http' | 'grpc'): number => ports[name]?.[kind] ?? 0;

  const starters: Record<ServiceName, () => Promise<Running>> = {
    async 'challenge-store'() {
      const config = storeConfig(
        env('challenge-store', {
          CHALLENGE_STORE_KEEPER_ID: String(keeperId),
          CHALLENGE_STORE_INTERNAL_TOKEN: HARNESS_INTERNAL_TOKEN,
          CHALLENGE_STORE_DATABASE_URL: databaseUrl,
          CHALLENGE_STORE_DB_POOL_SIZE: '4',
          CHALLENGE_STORE_MIGRATE: 'false',
          CHALLENGE_STORE_NATS_URL: infra.natsUrl,
          CHALLENGE_STORE_NATS_NAMESPACE: namespace,
          CHALLENGE_STORE_PEER_KEEPERS: group.map((k) => `${k.keeperId}=${k.account}`).join(','),
          CHALLENGE_STORE_LAG_POLL_MS: '500',
        }),
      );
      const slog = log.child({ service: 'challenge-store' });
      const pool = createPool({ url: config.databaseUrl, log: slog, max: config.dbPoolSize });
      const nc = await connectBus({ url: config.natsUrl, name: `challenge-store-${keeperId}`, log: slog });
      const app = await createStore({
        config,
        log: slog,
        registry: createRegistry('challenge-store', { keeper: String(keeperId) }),
        pool,
        nc,
      });
      await app.start();
      const grpc = await listenGrpc(app.registerGrpc, '127.0.0.1', portOf('challenge-store', 'grpc'));
      const httpUrl = await listenHttp(app.http, portOf('challenge-store', 'http'));
      return {
        urls: { http: httpUrl, grpc: `127.0.0.1:${grpc.port}` },
        async stop() {
          await grpc.stop(1000);
          await app.stop();
          await nc.drain().catch(() => nc.close());
          await closePool(pool);
        },
      };
    },

    async 'st-calculator'() {
      const config = stConfig(
        env('st-calculator', {
          ST_CALCULATOR_KEEPER_ID: String(keeperId),
          ST_CALCULATOR_INTERNAL_TOKEN: HARNESS_INTERNAL_TOKEN,
          ST_CALCULATOR_DATABASE_URL: databaseUrl,
          ST_CALCULATOR_DB_POOL_SIZE: '4',
          ST_CALCULATOR_GROUP_KEEPERS: group.map((k) => k.keeperId).join(','),
        }),
      );
      const slog = log.child({ service: 'st-calculator' });
      const pool = createPool({ url: readOnlyUrl(config.databaseUrl), log: slog, max: config.dbPoolSize });
      const app = await createStCalculator({
        config,
        log: slog,
        registry: createRegistry('st-calculator', { keeper: String(keeperId) }),
        pool,
      });
      await app.start();
      const grpc = await listenGrpc(app.registerGrpc, '127.0.0.1', portOf('st-calculator', 'grpc'));
      const httpUrl = await listenHttp(app.http, portOf('st-calculator', 'http'));
      return {
        urls: { http: httpUrl, grpc: `127.0.0.1:${grpc.port}` },
        async stop() {
          await grpc.stop(1000);
          await app.stop();
          await closePool(pool);
        },
      };
    },

    async challenger() {
      const storeGrpc = urls['challenge-store']?.grpc;
      if (!storeGrpc)
        throw new HarnessError('HARNESS_DEPENDENCY_DOWN', 'the challenger needs the challenge-store running');
      const config = challengerConfig(
        env('challenger', {
          CHALLENGER_KEEPER_ID: String(keeperId),
          CHALLENGER_INTERNAL_TOKEN: HARNESS_INTERNAL_TOKEN,
          CHALLENGER_NATS_URL: infra.natsUrl,
          CHALLENGER_NATS_NAMESPACE: namespace,
          CHALLENGER_STORE_GRPC_URL: storeGrpc,
          CHALLENGER_RPC_URL: infra.rpcUrl,
          CHALLENGER_PROVIDERS: Object.entries(opts.providers ?? {})
            .map(([pid, addr]) => `${pid}=${addr}`)
            .join(','),
          CHALLENGER_DEADLINE_MS: '1500',
          CHALLENGER_ACK_WAIT_MS: '10000',
          CHALLENGER_CONCURRENCY: '16',
          CHALLENGER_KEEPER_PRIVATE_KEY: opts.accountKey,
        }),
      );
      const slog = log.child({ service: 'challenger' });
      const nc: NatsConnection = await connectBus({
        url: config.natsUrl,
        name: `challenger-${keeperId}`,
        log: slog,
      });
      const pieces = new GrpcPieceRegistry(config.storeGrpcUrl, config.storeDeadlineMs, config.internalToken);
      const app = await createChallenger({
        config,
        log: slog,
        registry: createRegistry('challenger', { keeper: String(keeperId) }),
        nc,
        pieces,
      });
      await app.start();
      const httpUrl = await listenHttp(app.http, portOf('challenger', 'http'));
      return {
        urls: { http: httpUrl },
        async stop() {
          await app.stop();
          pieces.close();
          await nc.drain().catch(() => nc.close());
        },
      };
    },

    async 'chain-submitter'() {
      const config = submitterConfig(
        env('chain-submitter', {
          CHAIN_SUBMITTER_KEEPER_ID: String(keeperId),
          CHAIN_SUBMITTER_NATS_URL: infra.natsUrl,
          CHAIN_SUBMITTER_NATS_NAMESPACE: namespace,
          CHAIN_SUBMITTER_REDIS_URL: infra.redisUrl,
          CHAIN_SUBMITTER_RPC_URL: infra.rpcUrl,
          ...(infra.chainId !== undefined ? { CHAIN_SUBMITTER_CHAIN_ID: String(infra.chainId) } : {}),
          CHAIN_SUBMITTER_PRIVATE_KEY: opts.accountKey,
          CHAIN_SUBMITTER_CONFIRMATIONS: '0',
          CHAIN_SUBMITTER_POLL_INTERVAL_MS: '200',
          ...(opts.upkeeping
            ? {
                CHAIN_SUBMITTER_FACTORY_ADDRESS: opts.upkeeping.factory,
                CHAIN_SUBMITTER_FACTORY_FROM_BLOCK: String(opts.upkeeping.fromBlock ?? 0n),
              }
            : {}),
        }),
      );
      const slog = log.child({ service: 'chain-submitter' });
      const registry = createRegistry('chain-submitter', { keeper: String(keeperId) });
      // As main.ts builds it: the chain client instrumented on the service's registry.
      const transport = chainTransport(config, { retryCount: 0, timeoutMs: 10_000, registry });
      const publicClient = createPublicClient({ transport, pollingInterval: 200 }) as PublicClient;
      const walletClient = createWalletClient({
        account: privateKeyToAccount(config.privateKey as Hex),
        transport,
      });
      const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
      const nc = await connectBus({ url: config.natsUrl, name: `chain-submitter-${keeperId}`, log: slog });
      const app = await createSubmitter({
        config,
        log: slog,
        registry,
        publicClient,
        walletClient,
        bus: busIdentityOf(config, { accountKey: config.privateKey as Hex, prefix: 'CHAIN_SUBMITTER' }),
        nc,
        redis,
      });
      await app.start();
      const httpUrl = await listenHttp(app.http, portOf('chain-submitter', 'http'));
      return {
        urls: { http: httpUrl },
        async stop() {
          await app.stop();
          await nc.drain().catch(() => nc.close());
          redis.disconnect();
        },
      };
    },

    'consensus-coordinator': () =>
      startCoordinatorApp(portOf('consensus-coordinator', 'grpc'), portOf('consensus-coordinator', 'http')),
  };

  /** One coordinator replica: its own NATS and Redis connections, on the given ports (0: ephemeral). */
  async function startCoordinatorApp(grpcPort: number, httpPort: number): Promise<Running> {
    const stGrpc = urls['st-calculator']?.grpc;
    if (!stGrpc)
      throw new HarnessError(
        'HARNESS_DEPENDENCY_DOWN',
        'the consensus-coordinator needs the st-calculator running',
      );
    if (!opts.blsSecretKey)
      throw new HarnessError('HARNESS_MISSING_KEY', 'the consensus-coordinator needs blsSecretKey', {
        keeperId,
      });
    const storeGrpc = urls['challenge-store']?.grpc;
    const config = coordinatorConfig(
      env('consensus-coordinator', {
        CONSENSUS_COORDINATOR_KEEPER_ID: String(keeperId),
        CONSENSUS_COORDINATOR_INTERNAL_TOKEN: HARNESS_INTERNAL_TOKEN,
        CONSENSUS_COORDINATOR_RPC_URL: infra.rpcUrl,
        CONSENSUS_COORDINATOR_NATS_URL: infra.natsUrl,
        CONSENSUS_COORDINATOR_NATS_NAMESPACE: namespace,
        CONSENSUS_COORDINATOR_REDIS_URL: infra.redisUrl,
        CONSENSUS_COORDINATOR_PRIVATE_KEY: opts.accountKey,
        CONSENSUS_COORDINATOR_BLS_SECRET_KEY: opts.blsSecretKey,
        CONSENSUS_COORDINATOR_ST_CALCULATOR_URL: stGrpc,
        ...(storeGrpc ? { CONSENSUS_COORDINATOR_CHALLENGE_STORE_URL: storeGrpc } : {}),
        ...(opts.upkeeping
          ? {
              CONSENSUS_COORDINATOR_FACTORY_ADDRESS: opts.upkeeping.factory,
              CONSENSUS_COORDINATOR_FACTORY_FROM_BLOCK: String(opts.upkeeping.fromBlock ?? 0n),
            }
          : {}),
        CONSENSUS_COORDINATOR_GRPC_HOST: '127.0.0.1',
        CONSENSUS_COORDINATOR_GRPC_PORT: String(grpcPort),
        // Peers over mTLS, as across organisations: one group CA, a certificate per keeper.
        ...(await (
          await sharedGroupPki()
        ).env('CONSENSUS_COORDINATOR', keeperId, account, opts.peerIdentity)),
        CONSENSUS_COORDINATOR_PEERS: peers
          .filter((p) => p.coordinatorUrl)
          .map((p) => `${p.keeperId}=${p.coordinatorUrl}`)
          .join(','),
        CONSENSUS_COORDINATOR_PEER_DEADLINE_MS: '5000',
        CONSENSUS_COORDINATOR_ROUND_LOCK_MS: '3000',
        CONSENSUS_COORDINATOR_FORWARD_BACKOFF_MS: '200',
        CONSENSUS_COORDINATOR_FORWARD_BACKOFF_MAX_MS: '2000',
        CONSENSUS_COORDINATOR_ADMIN_TOKEN: HARNESS_ADMIN_TOKEN,
        // The cross-keeper suites inject faults (st source and signer wrappers, PUT /v1/admin/fault).
        CONSENSUS_COORDINATOR_TEST_FAULTS: 'on',
      }),
    );
    const slog = log.child({ service: 'consensus-coordinator' });
    const registry = createRegistry('consensus-coordinator', { keeper: String(keeperId) });
    const publicClient = createPublicClient({
      transport: chainTransport(config, { retryCount: 2, timeoutMs: 10_000, registry }),
      pollingInterval: 200,
    }) as PublicClient;
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
    const nc = await connectBus({
      url: config.natsUrl,
      name: `consensus-coordinator-${keeperId}`,
      log: slog,
    });
    let app: CoordinatorApp;
    try {
      app = await createCoordinator({
        config,
        log: slog,
        registry,
        publicClient,
        nc,
        redis,
      });
      await app.start();
    } catch (err) {
      await nc.close();
      redis.disconnect();
      throw err;
    }
    coordinators.add(app);
    const httpUrl = await listenHttp(app.http, httpPort);
    return {
      urls: { http: httpUrl, grpc: `127.0.0.1:${app.grpcPort()}` },
      async stop() {
        coordinators.delete(app);
        await app.stop();
        await nc.drain().catch(() => nc.close());
        redis.disconnect();
      },
      async kill() {
        // Connections die first, as in a crash: the round still running here can persist nothing more.
        coordinators.delete(app);
        redis.disconnect();
        await nc.close().catch(() => undefined);
        await app.kill();
      },
    };
  }

  async function startService(name: ServiceName): Promise<ServiceUrls> {
    const existing = running.get(name);
    if (existing) return existing.urls;
    const r = await starters[name]();
    running.set(name, r);
    urls[name] = r.urls;
    ports[name] = {
      http: Number(new URL(r.urls.http).port),
      grpc: r.urls.grpc ? Number(r.urls.grpc.split(':').pop()) : 0,
    };
    log.debug({ service: name, ...r.urls }, 'service started');
    return r.urls;
  }

  async function stopService(name: ServiceName): Promise<void> {
    const r = running.get(name);
    if (!r) return;
    running.delete(name);
    delete urls[name];
    await r.stop();
  }

  async function killService(name: ServiceName): Promise<void> {
    const r = running.get(name);
    if (!r) return;
    running.delete(name);
    delete urls[name];
    await (r.kill ?? r.stop)();
  }

  const handle: KeeperHandle = {
    keeperId,
    namespace,
    account,
    databaseUrl,
    urls,
    running: () => SERVICE_ORDER.filter((s) => running.has(s)),
    startService,
    stopService,
    killService,
    setPeers(next) {
      peers = next;
      for (const app of coordinators)
        for (const p of next) if (p.coordinatorUrl) app.setPeerAddress(p.keeperId, p.coordinatorUrl);
    },
    async startCoordinatorReplica() {
      const r = await startCoordinatorApp(0, 0);
      replicas.add(r);
      return {
        urls: r.urls,
        async stop() {
          replicas.delete(r);
          await r.stop();
        },
      };
    },
    async stop() {
      for (const r of [...replicas]) await r.stop().catch(() => undefined);
      replicas.clear();
      for (const s of [...SERVICE_ORDER].reverse()) await stopService(s).catch(() => undefined);
    },
  };
  try {
    const wanted = opts.services ?? AVAILABLE_SERVICES;
    for (const s of SERVICE_ORDER) if (wanted.includes(s)) await startService(s);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** Tells every keeper's coordinator where the others' KeeperPeerService listens (after they started). */
export function linkCoordinators(keepers: readonly KeeperHandle[]): void {
  for (const k of keepers) {
    k.setPeers(
      keepers
        .filter((o) => o !== k)
        .map((o) => ({
          keeperId: o.keeperId,
          account: o.account,
          ...(o.urls['consensus-coordinator']?.grpc
            ? { coordinatorUrl: o.urls['consensus-coordinator'].grpc }
            : {}),
        })),
    );
  }
}
