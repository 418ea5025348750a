import type { Logger, Registry } from '@whitepay/base';
import { buildHttpServer } from '@whitepay/base';
import { ensureStreams, natsReady, subjects } from '@whitepay/bus';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import type { Account, Chain, PublicClient, Transport, WalletClient } from 'viem';
import { CursorStore } from './chain/cursor.js';
import { Follower } from './chain/follower.js';
import { type Config, namespaceOf, redisPrefixOf } from './config.js';
import { registerRoutes } from './http/routes.js';
import { ElectionQueue } from './jobs/election.js';
import { createMetrics, type Metrics } from './metrics.js';
import { BlockPublisher } from './nats/blocks.js';

export type SenderWallet = WalletClient<Transport, Chain | undefined, Account>;

export interface AppDeps {
  config: Config;
  log: Logger;
  registry: Registry;
  publicClient: PublicClient;
  /** Signs with the keeper account (a local account from the configured key). */
  walletClient: SenderWallet;
  nc: NatsConnection;
  /** Owned by the caller; the app duplicates it for BullMQ and closes only its duplicates. */
  redis: Redis;
}

export interface App {
  http: FastifyInstance;
  follower: Follower;
  metrics: Metrics;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires the chain-submitter. Never listens: `main.ts` does, tests `inject`. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, log, registry, publicClient, nc, redis } = deps;
  const ns = namespaceOf(config);
  const prefix = redisPrefixOf(config);
  const s = subjects(ns);
  const metrics = createMetrics(registry);

  const bullConnection = redis.duplicate({ maxRetriesPerRequest: null });
  const jobs = new ElectionQueue(bullConnection, log.child({ component: 'jobs' }));
  const follower = new Follower({
    client: publicClient,
    publisher: new BlockPublisher(nc.jetstream(), s),
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

  const http = await buildHttpServer({
    service: 'chain-submitter',
    log,
    registry,
    adminToken: config.adminToken,
    readOpen: config.readOpen,
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
  registerRoutes(http, { follower });

  let started = false;
  return {
    http,
    follower,
    metrics,
    async start() {
      if (config.chainId !== undefined) {
        const id = await publicClient.getChainId();
        if (id !== config.chainId) throw new Error(`chain id ${id} != configured ${config.chainId}`);
      }
      await ensureStreams(await nc.jetstreamManager(), s);
      await follower.start();
      started = true;
    },
    async stop() {
      if (started) await follower.stop();
      await jobs.close();
      bullConnection.disconnect();
      await http.close();
    },
  };
}
