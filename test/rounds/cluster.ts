// The round benchmark's fixture (test/bench/rounds.bench.ts): n keepers in one
// process with only what a round needs — real anvil (Upkeeping deployed
// through the factory), NATS and Redis; per keeper a real chain-submitter and
// consensus-coordinator (createApp). Each keeper's st comes from a tiny gRPC
// StCalculatorService answering a fixed value (and vouching for every keeper), so the bench measures the
// round protocol alone, without the challenge pipeline's load. The
// cross-keeper suite (rounds.int.test.ts) runs full keepers from test/harness
// instead.
import { createRegistry, type Logger, silentLogger } from '@whitepay/base';
import { toHex } from '@whitepay/bls';
import { connectBus } from '@whitepay/bus';
import { balanceOf, upkeepingAbi } from '@whitepay/contracts';
import { rankKeepers } from '@whitepay/core';
import { stV1 } from '@whitepay/proto';
import { type GrpcServerHandle, listenGrpc, unary } from '@whitepay/rpc';
import { sharedGroupPki, startAnvil, startNats, startRedis, waitFor } from '@whitepay/testkit';
import { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { type Address, createPublicClient, http, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  anvilKey,
  type Harness,
  type Servers,
  startApp,
} from '../../services/chain-submitter/src/testing/harness.js';
import {
  deployUpkeeping,
  type TestKeeper,
  type TestUpkeeping,
} from '../../services/chain-submitter/src/testing/upkeeping.js';
import { type App, createApp } from '../../services/consensus-coordinator/src/app.js';
import { loadConfig } from '../../services/consensus-coordinator/src/config.js';

/** What one keeper's StCalculatorService answers: `own` normally, `withPeers` with include_peers. */
export interface StAnswers {
  own: bigint;
  withPeers?: bigint;
}

export interface Keeper {
  id: number;
  key: TestKeeper;
  answers: StAnswers;
  stServer: GrpcServerHandle;
  submitter: Harness;
  coord: App | null;
  coordConn: { nc: NatsConnection; redis: Redis } | null;
  registry: ReturnType<typeof createRegistry>;
}

export interface Cluster {
  srv: Servers;
  u: TestUpkeeping;
  keepers: Keeper[];
  byId(id: number): Keeper;
  /** Keepers in rank order for the payment starting at `ts`. */
  ranking(ts: bigint): Keeper[];
  startCoordinator(k: Keeper, env?: Record<string, string>): Promise<App>;
  stopCoordinator(k: Keeper): Promise<void>;
  lastPayment(): Promise<{
    ts: bigint;
    te: bigint;
    st: bigint;
    amount: bigint;
    signers: bigint;
    leaderId: number;
  }>;
  /** The provider's next ts (the last payment's te, or the add block). */
  nextTs(): Promise<bigint>;
  balances(): Promise<{ provider: bigint; keepers: Map<number, bigint> }>;
  head(): Promise<bigint>;
  mineTo(block: bigint): Promise<void>;
  /** Waits until `leader` records a final outcome for its round of `ts`; returns the round summary. */
  roundOf(leader: Keeper, ts: bigint, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Waits until the provider's next ts moves past `ts` (a payment landed). */
  waitPaid(ts: bigint, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function startStServer(answers: StAnswers): Promise<GrpcServerHandle> {
  const log = silentLogger();
  return listenGrpc(
    (server) =>
      server.addService(stV1.StCalculatorServiceService, {
        // Every round asks for its entries' st in one batch call (a round of one too).
        computeStBatch: unary<stV1.ComputeStBatchRequest, stV1.ComputeStBatchResponse>(
          'ComputeStBatch',
          { log },
          async (req) => ({
            results: req.entries.map(() => ({
              st: String(req.includePeers ? (answers.withPeers ?? answers.own) : answers.own),
              recordsUsed: 1,
            })),
            maxStaleness: 0n,
          }),
        ),
        // Every keeper holds a verified record of every other at ts (SPEC 3 item 5): nobody idle.
        listVouches: unary<stV1.ListVouchesRequest, stV1.ListVouchesResponse>(
          'ListVouches',
          { log },
          async (req) => ({
            entries: req.entries.map((e) => ({
              refs: req.keeperIds.map((keeperId) => ({ keeperId, block: e.ts })),
            })),
          }),
        ),
      } as unknown as stV1.StCalculatorServiceServer),
    '127.0.0.1',
    0,
  );
}

export async function startCluster(
  o: { n?: number; st?: bigint; log?: Logger; coordEnv?: Record<string, string> } = {},
): Promise<Cluster> {
  const n = o.n ?? 4;
  const log = o.log ?? silentLogger();
  const [anvil, nats, redis] = await Promise.all([startAnvil(), startNats(), startRedis()]);
  const srv: Servers = { anvil, nats, redis };
  const u = await deployUpkeeping(anvil, n);
  const pub = createPublicClient({ transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient;
  const keepers: Keeper[] = [];

  for (const key of u.keepers) {
    const answers: StAnswers = { own: o.st ?? 1_000_000n };
    const stServer = await startStServer(answers);
    const submitter = await startApp(srv, {
      CHAIN_SUBMITTER_KEEPER_ID: String(key.keeperId),
      CHAIN_SUBMITTER_PRIVATE_KEY: anvilKey(key.index),
      CHAIN_SUBMITTER_POLL_INTERVAL_MS: '50',
    });
    keepers.push({
      id: key.keeperId,
      key,
      answers,
      stServer,
      submitter,
      coord: null,
      coordConn: null,
      registry: createRegistry('consensus-coordinator'),
    });
  }

  const addressOf = (k: Keeper) => `127.0.0.1:${k.coord?.grpcPort() ?? 1}`;

  const startCoordinator = async (k: Keeper, env: Record<string, string> = {}): Promise<App> => {
    const config = loadConfig({
      CONSENSUS_COORDINATOR_KEEPER_ID: String(k.id),
      CONSENSUS_COORDINATOR_RPC_URL: anvil.rpcUrl,
      CONSENSUS_COORDINATOR_NATS_URL: nats.url,
      CONSENSUS_COORDINATOR_REDIS_URL: redis.url,
      CONSENSUS_COORDINATOR_PRIVATE_KEY: anvilKey(k.key.index),
      CONSENSUS_COORDINATOR_BLS_SECRET_KEY: toHex(k.key.sk),
      CONSENSUS_COORDINATOR_ST_CALCULATOR_URL: `127.0.0.1:${k.stServer.port}`,
      CONSENSUS_COORDINATOR_FACTORY_ADDRESS: u.factory,
      CONSENSUS_COORDINATOR_FACTORY_FROM_BLOCK: String(u.factoryBlock),
      CONSENSUS_COORDINATOR_GRPC_HOST: '127.0.0.1',
      CONSENSUS_COORDINATOR_GRPC_PORT: '0',
      // Peers over mTLS: one group CA, a certificate naming each keeper and its account.
      ...(await (
        await sharedGroupPki()
      ).env('CONSENSUS_COORDINATOR', k.id, privateKeyToAccount(anvilKey(k.key.index)).address)),
      CONSENSUS_COORDINATOR_PEER_DEADLINE_MS: '2000',
      CONSENSUS_COORDINATOR_ROUND_LOCK_MS: '5000',
      CONSENSUS_COORDINATOR_ADMIN_TOKEN: 'test-admin-token-0123456789',
      CONSENSUS_COORDINATOR_LOG_LEVEL: 'silent',
      ...o.coordEnv,
      ...env,
    });
    const cRedis = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    const nc = await connectBus({ url: nats.url, name: `coord-${k.id}`, log });
    k.registry = createRegistry('consensus-coordinator');
    const app = await createApp({
      config,
      log: log.child({ keeper: k.id }),
      registry: k.registry,
      publicClient: pub,
      nc,
      redis: cRedis,
    });
    await app.start();
    k.coord = app;
    k.coordConn = { nc, redis: cRedis };
    // Everyone learns everyone's (possibly new) address.
    for (const other of keepers) {
      if (other.coord) {
        for (const peer of keepers) other.coord.setPeerAddress(peer.id, addressOf(peer));
      }
    }
    return app;
  };

  const stopCoordinator = async (k: Keeper) => {
    if (!k.coord) return;
    await k.coord.stop();
    await k.coordConn?.nc.close();
    k.coordConn?.redis.disconnect();
    k.coord = null;
    k.coordConn = null;
  };

  for (const k of keepers) await startCoordinator(k);

  const read = <T>(functionName: string, args: unknown[] = []) =>
    pub.readContract({
      address: u.upkeeping,
      abi: upkeepingAbi,
      functionName: functionName as 'lastPayment',
      args: args as [Address],
    }) as Promise<T>;

  const cluster: Cluster = {
    srv,
    u,
    keepers,
    byId: (id) => keepers.find((k) => k.id === id)!,
    ranking(ts) {
      return rankKeepers({
        user: u.user.account.address,
        pid: u.pid,
        ts,
        keepers: keepers.map((k) => k.id),
      }).map((id) => cluster.byId(id));
    },
    startCoordinator,
    stopCoordinator,
    async lastPayment() {
      const p = await read<{
        ts: bigint;
        te: bigint;
        st: bigint;
        amount: bigint;
        signers: bigint;
        leaderId: number;
      }>('lastPayment', [u.pid]);
      return p;
    },
    async nextTs() {
      const [, , nextTs] = await read<[boolean, bigint, bigint]>('provider', [u.pid]);
      return nextTs;
    },
    async balances() {
      const provider = await balanceOf(u.user, { upkeeping: u.upkeeping, account: u.pid });
      const ks = new Map<number, bigint>();
      for (const k of keepers)
        ks.set(k.id, await balanceOf(u.user, { upkeeping: u.upkeeping, account: k.key.account }));
      return { provider, keepers: ks };
    },
    head: () => pub.getBlockNumber({ cacheTime: 0 }),
    async mineTo(block) {
      const head = await cluster.head();
      if (block > head) await u.test.mine({ blocks: Number(block - head) });
    },
    async roundOf(leader, ts, timeoutMs = 30_000) {
      let found: Record<string, unknown> | undefined;
      await waitFor(
        `round of ts ${ts} at keeper ${leader.id}`,
        async () => {
          // The first page deliberately: the newest 1000 rounds, newest first.
          const res = await leader.coord!.http.inject({ method: 'GET', url: '/v1/rounds?limit=1000' });
          // This fixture's provider is paid in rounds of one: its entry's pid/ts/te and st are lifted.
          const rounds = (
            res.json().rounds as Array<
              Record<string, unknown> & { items: Array<Record<string, string>>; sts: string[] | null }
            >
          ).map((r): Record<string, unknown> => ({ ...r, ...r.items[0], st: r.sts?.[0] ?? null }));
          found = rounds.find(
            (r) =>
              r.ts === String(ts) &&
              ['confirmed', 'reverted', 'rejected', 'failed'].includes(String(r.outcome)),
          );
          return found !== undefined;
        },
        timeoutMs,
        50,
      );
      return found!;
    },
    async waitPaid(ts, timeoutMs = 30_000) {
      await waitFor(`payment of ts ${ts}`, async () => (await cluster.nextTs()) > ts, timeoutMs, 50);
    },
    async stop() {
      for (const k of keepers) await stopCoordinator(k);
      for (const k of keepers) {
        await k.submitter.close();
        await k.stServer.stop(100);
      }
      await Promise.all([anvil.stop(), nats.stop(), redis.stop()]);
    },
  };
  return cluster;
}
