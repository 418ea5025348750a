import { buildHttpServer, httpOptionsOf, type Logger, type Registry } from '@whitepay/base';
import { blsBackendInfo, fromHex } from '@whitepay/bls';
import { busIdentityOf, natsReady, subjects } from '@whitepay/bus';
import { canonicalBlocks } from '@whitepay/chain';
import type { RoundItem } from '@whitepay/core';
import { ReplayGuard, SequenceClock, type Signer } from '@whitepay/peer';
import type { challengeV1 } from '@whitepay/proto';
import { keeperV1 } from '@whitepay/proto';
import {
  decodeTolerant,
  type GrpcServerHandle,
  listenGrpc,
  peerTlsOf,
  serverCredentials,
} from '@whitepay/rpc';
import type { Queue, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import { type Address, hexToBytes, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ChainView, groupOf, type UpkeepingView } from './chain/view.js';
import { type Config, namespaceOf, PREFIX, queuePrefixOf, redisPrefixOf } from './config.js';
import { CoordinatorError } from './errors.js';
import { type Fault, faultyIdle, faultySigner, faultySt, parseFault } from './faults.js';
import { registerFaultRoutes, registerRoutes } from './http/routes.js';
import { checkElection, type ElectionCheckJob, electionWorker } from './jobs/election.js';
import { roundsQueue, roundsWorker } from './jobs/rounds.js';
import { resolvedKeys } from './keys.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PeerClients } from './peer/client.js';
import { pushDeadlineMs, RecordForwarder } from './peer/forwarder.js';
import type { RoundInfo } from './peer/messages.js';
import { canonicalRecords } from './peer/record-blocks.js';
import { RedisSeenSet } from './peer/seen.js';
import { peerService } from './peer/server.js';
import { GrpcRecordStore, type RecordStore } from './records.js';
import { blsSigner, Follower, type LeaderDeps, type RecordFetcher, type RoundJob } from './round/driver.js';
import { IdleLog } from './round/idle-log.js';
import { receiptSettlements } from './round/settlement.js';
import { RoundStore } from './round/store.js';
import { PaymentClient } from './round/submit.js';
import { GrpcStSource, type StSource } from './st.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  registry: Registry;
  publicClient: PublicClient;
  nc: NatsConnection;
  /** Owned by the caller; the app duplicates it for BullMQ and closes only its duplicates. */
  redis: Redis;
  /** Default: the st-calculator at `stCalculatorUrl`. */
  st?: StSource;
  /** Default: the challenge-store at `challengeStoreUrl` (none when unset). */
  records?: RecordStore | null;
}

export interface App {
  http: FastifyInstance;
  metrics: Metrics;
  store: RoundStore;
  chain: ChainView;
  follower: Follower;
  /** The KeeperPeerService port once started (useful with `grpcPort` 0). */
  grpcPort(): number;
  /** Sets or changes a peer's address (tests that bind port 0 learn them after start). */
  setPeerAddress(keeperId: number, address: string): void;
  /** Runs the election for one block now (what an `election-check` job does). */
  checkElection(block: bigint): Promise<string[]>;
  /** The injected fault (always `none` unless `testFaults` is on). */
  fault(): Fault;
  /** Switches the injected fault; refused unless `testFaults` is on. */
  setFault(f: Fault): void;
  roundsQueue: Queue<RoundJob>;
  start(): Promise<void>;
  /** Graceful stop: running round jobs finish their current step; their state stays persisted. */
  stop(): Promise<void>;
  /**
   * Abrupt stop, as a crash (tests): every connection of the app is cut
   * without waiting for running jobs, so their locks expire and another
   * replica (or this one restarted) resumes them from Redis.
   */
  kill(): Promise<void>;
}

/** Wires the consensus-coordinator. Never listens on HTTP: `main.ts` does, tests `inject`. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, log, registry, publicClient, nc, redis } = deps;
  const metrics = createMetrics(registry);
  const ns = namespaceOf(config);
  const prefix = redisPrefixOf(config);
  const keys = resolvedKeys(config);
  const account = privateKeyToAccount(keys.privateKey);
  const signer: Signer = { keeperId: config.keeperId, account };
  const clock = new SequenceClock();
  let fault: Fault = config.testFaults ? parseFault(config.fault) : { kind: 'none' };
  if (config.testFaults) log.warn({ fault: config.fault }, 'TEST-ONLY fault injection is on');
  else if (config.fault !== 'none') log.warn({ fault: config.fault }, 'FAULT ignored: TEST_FAULTS is off');
  log.info(blsBackendInfo(), 'bls backend');

  const chain = new ChainView({
    client: publicClient,
    account: account.address,
    factory: config.factoryAddress as Address | undefined,
    factoryFromBlock: config.factoryFromBlock,
    upkeepings: config.upkeepings,
    log,
  });
  const realSt =
    deps.st ??
    new GrpcStSource(config.stCalculatorUrl, config.stDeadlineMs, config.stConcurrency, config.internalToken);
  const realSigner = blsSigner(fromHex(keys.blsSecretKey));
  // Test faults are wrappers around what the driver reads and signs with, and only when asked for.
  // As a member this keeper's st may be late (`slow`); as a leader its own value is not delayed.
  const memberSt = config.testFaults ? faultySt(realSt, () => fault, { delays: true }) : realSt;
  const st = config.testFaults ? faultySt(realSt, () => fault, { delays: false }) : realSt;
  const blsSign = config.testFaults ? faultySigner(realSigner, () => fault) : realSigner;
  const forwardDeadlines = {
    deadlineMs: config.forwardDeadlineMs,
    deadlinePerRecordMs: config.forwardDeadlinePerRecordMs,
  };
  const records =
    deps.records !== undefined
      ? deps.records
      : config.challengeStoreUrl
        ? new GrpcRecordStore(
            config.challengeStoreUrl,
            config.stDeadlineMs,
            keys.privateKey,
            config.internalToken,
            // A pushed batch gets the time its sender gives it (the challenge-store re-verifies each new record).
            (n) => Math.max(config.stDeadlineMs, pushDeadlineMs(n, forwardDeadlines)),
          )
        : null;
  const store = new RoundStore(redis, prefix, config.roundsKept);
  const addresses: Record<number, string> = { ...config.peers };
  // Peers over mTLS (certificates bound to the keepers' on-chain identities); plaintext only when asked for.
  const peerTls = peerTlsOf(config, PREFIX);
  if (!peerTls) log.warn('peer gRPC is PLAINTEXT (PEER_PLAINTEXT=true): no peer identity, no encryption');
  // Envelopes accepted (requests and replies), remembered in Redis until they expire: across restarts and replicas.
  const replay = new ReplayGuard(new RedisSeenSet(redis, prefix));
  const peers = new PeerClients({ signer, addresses, clock, replay, tls: peerTls });

  // The block hashes peers' records claim, against this keeper's own node (SPEC 3: the seed is the block hash).
  const recordBlocks = { blocks: canonicalBlocks(publicClient), head: () => chain.headBlock(1_000) };
  const pullFromPeers = async (info: RoundInfo, item: RoundItem, view: UpkeepingView) => {
    const group = groupOf(view);
    const others = view.members.filter((m) => m.keeperId !== config.keeperId);
    const pulled = await Promise.all(
      others.map(async (m) => {
        try {
          return await peers.pullRecords(
            m.keeperId,
            group,
            { user: hexToBytes(info.user), pid: hexToBytes(item.pid), from: item.ts, to: item.te },
            config.peerDeadlineMs,
          );
        } catch (err) {
          // An unreachable peer is expected (the sync goes on with the others); a peer that answers
          // out of protocol (too many records, an empty page that is not the last) is counted.
          const code = (err as { code?: string }).code;
          if (code === 'ROUND_MALFORMED' || code === 'ROUND_UNEXPECTED_MESSAGE') {
            metrics.rejected.inc({ boundary: 'grpc:PullRecords', reason: code });
            log.warn(
              { tid: info.tid, member: m.keeperId, code, reason: (err as Error).message },
              'peer records refused',
            );
          } else log.debug({ tid: info.tid, member: m.keeperId, err }, 'pull records failed');
          return [] as challengeV1.SignedRecord[];
        }
      }),
    );
    // What a peer sends for a full sync meets the same block check as what it pushes.
    const { kept, refused } = await canonicalRecords(recordBlocks, pulled.flat());
    for (const reason of refused) metrics.rejected.inc({ boundary: 'grpc:PullRecords', reason });
    return kept;
  };

  // A referenced record this keeper does not hold (SPEC 3 item 5): pulled from the keeper it belongs to,
  // block-checked as any pulled record, and held once the challenge-store has re-verified it.
  const fetchRecord: RecordFetcher = async (info, pid, ref, view) => {
    if (!records) return false;
    const group = groupOf(view);
    try {
      const pulled = await peers.pullRecords(
        ref.keeperId,
        group,
        { user: hexToBytes(info.user), pid: hexToBytes(pid), from: ref.block, to: ref.block + 1n },
        config.peerDeadlineMs,
      );
      const wanted = pulled.filter(
        (r) => r.record?.keeperId === ref.keeperId && r.record.block === ref.block && r.record.space > 0n,
      );
      const { kept, refused } = await canonicalRecords(recordBlocks, wanted);
      for (const reason of refused) metrics.rejected.inc({ boundary: 'grpc:PullRecords', reason });
      if (kept.length === 0) return false;
      const res = await records.putPeerRecords(kept);
      return res.accepted + res.duplicates > 0;
    } catch (err) {
      log.debug(
        { tid: info.tid, keeper: ref.keeperId, block: String(ref.block), err },
        'vouched record not fetched',
      );
      return false;
    }
  };
  const idleLog = new IdleLog(redis, prefix, config.keeperId, metrics);

  const follower = new Follower({
    keeperId: config.keeperId,
    chain,
    st: memberSt,
    store,
    records,
    signer: blsSign,
    tolBps: BigInt(config.tolBps),
    log: log.child({ component: 'follower' }),
    pullFromPeers,
    fetchRecord,
    metrics,
    idleLog,
  });

  const payments = new PaymentClient(nc, subjects(ns), log, config.submitTimeoutMs, {
    ...busIdentityOf(config, { accountKey: keys.privateKey, prefix: PREFIX }),
    rejected: metrics.rejected,
  });
  const bullConnection = redis.duplicate({ maxRetriesPerRequest: null });
  const queue = roundsQueue(bullConnection, queuePrefixOf(config));
  const leaderDeps = (): LeaderDeps => ({
    keeperId: config.keeperId,
    chain,
    st,
    store,
    peers,
    follower,
    payments,
    metrics,
    settlement: receiptSettlements(publicClient),
    log: log.child({ component: 'leader' }),
    peerDeadlineMs: config.peerDeadlineMs,
    peerDeadlineGrowth: config.peerDeadlineGrowth,
    peerDeadlineMaxMs: config.peerDeadlineMaxMs,
    peerDeadlinePerEntryMs: config.peerDeadlinePerEntryMs,
    syncDeadlineMs: config.syncDeadlineMs,
    maxAttempts: config.maxAttempts,
    fetchRecord,
    ...(config.testFaults ? { idleFault: faultyIdle(() => fault) } : {}),
  });
  const forwarder = config.forwardRecords
    ? new RecordForwarder({
        nc,
        ns,
        keeperId: config.keeperId,
        chain,
        peers,
        ...forwardDeadlines,
        batchMax: config.forwardBatchMax,
        batchMaxBytes: config.forwardBatchMaxBytes,
        flushMs: config.forwardFlushMs,
        backoffMs: config.forwardBackoffMs,
        backoffMaxMs: config.forwardBackoffMaxMs,
        maxDeliver: config.forwardMaxDeliver,
        // Pushes extend it (`working`) while they wait; this covers one push of a full batch.
        ackWaitMs: Math.max(30_000, 2 * pushDeadlineMs(config.forwardBatchMax, forwardDeadlines)),
        lagMaxBlocks: config.forwardLagMaxBlocks,
        metrics,
        log,
      })
    : null;
  const electionDeps = {
    keeperId: config.keeperId,
    chain,
    store,
    rounds: queue,
    metrics,
    log,
    batchMax: config.batchMax,
  };

  const http = await buildHttpServer({
    service: 'consensus-coordinator',
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
          await chain.headBlock();
        },
      },
      { name: 'st-calculator', check: () => st.ready() },
      // A lagging broadcast is shown, not cured by leaving the Service: peers must still reach this keeper.
      ...(forwarder
        ? [{ name: 'broadcast', severity: 'degraded' as const, check: () => forwarder.checkLag() }]
        : []),
    ],
  });
  const setFault = (f: Fault) => {
    if (!config.testFaults)
      throw new CoordinatorError('COORD_INVALID_ARGUMENT', 'fault injection needs TEST_FAULTS=on');
    fault = f;
    log.warn({ fault: f }, 'TEST-ONLY fault injection switched');
  };
  registerRoutes(http, { store, chain, idle: idleLog });
  if (config.testFaults) registerFaultRoutes(http, { getFault: () => fault, setFault });

  let grpcServer: GrpcServerHandle | undefined;
  let workers: Array<Worker<ElectionCheckJob> | Worker<RoundJob>> = [];
  const workerConnections: Redis[] = [];

  return {
    http,
    metrics,
    store,
    chain,
    follower,
    roundsQueue: queue,
    grpcPort: () => grpcServer?.port ?? 0,
    setPeerAddress(keeperId, address) {
      addresses[keeperId] = address;
    },
    checkElection: (block) => checkElection(block, electionDeps),
    fault: () => fault,
    setFault,
    async start() {
      await chain.chainId();
      grpcServer = await listenGrpc(
        (server) =>
          server.addService(
            decodeTolerant(keeperV1.KeeperPeerServiceService),
            peerService({
              signer,
              clock,
              replay,
              chain,
              follower,
              records,
              log,
              rejected: metrics.rejected,
              requireIdentity: peerTls !== undefined,
              recordBlocks,
            }),
          ),
        config.grpcHost,
        config.grpcPort,
        {},
        serverCredentials(peerTls),
      );
      payments.start();
      forwarder?.start();
      const c1 = redis.duplicate({ maxRetriesPerRequest: null });
      const c2 = redis.duplicate({ maxRetriesPerRequest: null });
      workerConnections.push(c1, c2);
      workers = [
        electionWorker(c1, queuePrefixOf(config), electionDeps),
        roundsWorker(c2, queuePrefixOf(config), {
          lockMs: config.roundLockMs,
          concurrency: config.roundConcurrency,
          store,
          metrics,
          log,
          deps: leaderDeps,
        }),
      ];
      for (const w of workers) {
        w.on('error', (err) => log.warn({ err }, 'worker error'));
        void w.run();
      }
      log.info({ grpcPort: grpcServer.port, namespace: ns }, 'coordinator started');
    },
    async stop() {
      await Promise.all([...workers.map((w) => w.close()), forwarder?.stop()]);
      payments.stop();
      await grpcServer?.stop(1_000);
      peers.close();
      if (!deps.st) realSt.close();
      if (deps.records === undefined) records?.close();
      await queue.close();
      bullConnection.disconnect();
      for (const c of workerConnections) c.disconnect();
      await http.close();
    },
    async kill() {
      // Cut the job connections first: a round still running in this process can no longer renew its lock.
      for (const c of workerConnections) c.disconnect();
      bullConnection.disconnect();
      await Promise.race([
        Promise.allSettled(workers.map((w) => w.close(true))),
        new Promise((r) => setTimeout(r, 1_000)),
      ]);
      void forwarder?.stop();
      try {
        payments.stop();
      } catch {
        // its NATS connection may already be gone
      }
      grpcServer?.server.forceShutdown();
      peers.close();
      if (!deps.st) realSt.close();
      if (deps.records === undefined) records?.close();
      await http.close();
    },
  };
}

// The full sync's two halves (pulling a peer's pages, handing them to the challenge-store), for the suites that drive them.
export { PeerClients } from './peer/client.js';
export { GrpcRecordStore } from './records.js';
