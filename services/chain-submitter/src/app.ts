import { randomUUID } from 'node:crypto';
import type { Logger, Registry } from '@whitepay/base';
import { buildHttpServer, ConfigError, httpOptionsOf } from '@whitepay/base';
import { type BusIdentity, ensureStreams, natsReady, streamLimitsOf, subjects } from '@whitepay/bus';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem';
import { CursorStore } from './chain/cursor.js';
import { Discovery } from './chain/discovery.js';
import { Follower } from './chain/follower.js';
import { SenderLock } from './chain/lock.js';
import { Outbox } from './chain/outbox.js';
import { Submitter } from './chain/submitter.js';
import { type Config, namespaceOf, queuePrefixOf, redisPrefixOf } from './config.js';
import { registerRoutes } from './http/routes.js';
import { ElectionQueue } from './jobs/election.js';
import { createMetrics, type Metrics } from './metrics.js';
import { BlockPublisher } from './nats/blocks.js';
import { PaymentPublisher } from './nats/payments.js';
import { serveSubmit } from './nats/submit.js';

export type SenderWallet = WalletClient<Transport, Chain | undefined, Account>;

export interface AppDeps {
  config: Config;
  log: Logger;
  registry: Registry;
  publicClient: PublicClient;
  /** Signs with the keeper account (a local account from the configured key). */
  walletClient: SenderWallet;
  /** The keeper's bus key (signs headers, reorg notices and payment results) and the check of submit requests. */
  bus: BusIdentity;
  nc: NatsConnection;
  /** Owned by the caller; the app duplicates it for BullMQ and closes only its duplicates. */
  redis: Redis;
  /** Distinguishes replicas in the sender lock (default: random). */
  replicaId?: string;
  /** Test seam, see `SubmitterOptions.afterBroadcast`. */
  afterBroadcast?: (bid: Hex, hash: Hex) => Promise<void>;
}

export interface App {
  http: FastifyInstance;
  follower: Follower;
  submitter: Submitter;
  discovery: Discovery | null;
  outbox: Outbox;
  metrics: Metrics;
  start(): Promise<void>;
  /** Graceful stop; `release: false` keeps the sender lock until its TTL (as a crash would). */
  stop(opts?: { release?: boolean }): Promise<void>;
}

/** Wires the chain-submitter. Never listens: `main.ts` does, tests `inject`. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, log, registry, publicClient, nc, redis } = deps;
  const ns = namespaceOf(config);
  const prefix = redisPrefixOf(config);
  const s = subjects(ns);
  const metrics = createMetrics(registry);
  const busSigner = deps.bus.signer;
  if (!busSigner)
    throw new ConfigError(
      'invalid configuration: the chain-submitter needs a bus key to sign block headers',
      {
        problems: ['CHAIN_SUBMITTER_NATS_SIGNING_KEY'],
      },
    );

  const bullConnection = redis.duplicate({ maxRetriesPerRequest: null });
  const jobs = new ElectionQueue(bullConnection, log.child({ component: 'jobs' }), queuePrefixOf(config));
  const follower = new Follower({
    client: publicClient,
    publisher: new BlockPublisher(nc.jetstream(), s, busSigner),
    jobs,
    cursor: new CursorStore(redis, prefix, config.reorgWindow),
    metrics,
    log,
    confirmations: config.confirmations,
    pollIntervalMs: config.pollIntervalMs,
    reorgWindow: config.reorgWindow,
    maxBlocksPerTick: config.maxBlocksPerTick,
    rpcRetries: config.rpcRetries,
    startBlock: config.startBlock,
  });

  const account = deps.walletClient.account.address;
  const outbox = new Outbox(redis, prefix, account, config.paymentsKept);
  const submitter = new Submitter({
    publicClient,
    walletClient: deps.walletClient,
    outbox,
    lock: new SenderLock(redis, prefix, account, deps.replicaId ?? randomUUID(), config.lockTtlMs),
    payments: new PaymentPublisher(nc.jetstream(), s, busSigner),
    metrics,
    log,
    confirmations: config.confirmations,
    pollIntervalMs: config.pollIntervalMs,
    bumpAfterBlocks: config.bumpAfterBlocks,
    feeBumpBps: config.feeBumpBps,
    maxFeePerGasWei: config.maxFeePerGasWei === undefined ? undefined : BigInt(config.maxFeePerGasWei),
    gasLimitMarginBps: config.gasLimitMarginBps,
    rpcRetries: config.rpcRetries,
    ...(deps.afterBroadcast ? { afterBroadcast: deps.afterBroadcast } : {}),
  });
  const discovery = config.factoryAddress
    ? new Discovery({
        client: publicClient,
        factory: config.factoryAddress as Address,
        fromBlock: config.factoryFromBlock,
        chunk: config.logChunkBlocks,
        account,
        log,
        metrics,
        rpcRetries: config.rpcRetries,
        confirmedHead: () => follower.state().lastPublished?.number ?? null,
      })
    : null;
  let discoveryTimer: NodeJS.Timeout | undefined;
  let discovering: Promise<unknown> = Promise.resolve();
  const discoveryLog = log.child({ component: 'discovery' });

  const http = await buildHttpServer({
    service: 'chain-submitter',
    log,
    registry,
    ...httpOptionsOf(config),
    readiness: [
      { name: 'nats', check: () => natsReady(nc) },
      {
        name: 'redis',
        check: async () => {
          await redis.ping();
        },
      },
      {
        name: 'chain',
        check: async () => {
          await publicClient.getBlockNumber({ cacheTime: 0 });
        },
      },
    ],
  });
  registerRoutes(http, { follower, discovery, outbox, submitter });

  let started = false;
  let submitSub: ReturnType<typeof serveSubmit> | undefined;
  return {
    http,
    follower,
    submitter,
    discovery,
    outbox,
    metrics,
    async start() {
      if (config.chainId !== undefined) {
        const id = await publicClient.getChainId();
        if (id !== config.chainId) throw new Error(`chain id ${id} != configured ${config.chainId}`);
      }
      await ensureStreams(await nc.jetstreamManager(), s, streamLimitsOf(config));
      await outbox.checkLayout(); // refuses a Redis with pending payments of an older layout
      await follower.start();
      submitter.start();
      submitSub = serveSubmit(nc, s, submitter, log, {
        verifier: deps.bus.verifier,
        rejected: metrics.rejected,
      });
      if (discovery) {
        discoveryTimer = setInterval(() => {
          discovering = discovering
            .then(() => discovery.sync())
            .catch((err: unknown) => discoveryLog.warn({ err }, 'discovery sync failed'));
        }, config.pollIntervalMs);
      }
      started = true;
    },
    async stop(opts = {}) {
      if (discoveryTimer) clearInterval(discoveryTimer);
      submitSub?.unsubscribe();
      if (started) {
        await Promise.all([follower.stop(), submitter.stop(opts), discovering]);
      }
      await jobs.close();
      bullConnection.disconnect();
      await http.close();
    },
  };
}
