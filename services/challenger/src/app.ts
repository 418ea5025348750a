import { randomUUID } from 'node:crypto';
import {
  buildHttpServer,
  ConfigError,
  Counter,
  Histogram,
  httpOptionsOf,
  type Logger,
  type Registry,
  rejectedCounter,
} from '@whitepay/base';
import { busIdentityOf, ensureStreams, natsReady, streamLimitsOf, subjects } from '@whitepay/bus';
import { type CanonicalBlocks, canonicalBlocks, createChainClient } from '@whitepay/chain';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from 'nats';
import { type ChallengerConfig, PREFIX } from './config.js';
import { ProviderClients } from './grpc/providers.js';
import { type ChallengerStatus, registerRoutes } from './http/routes.js';
import { blockHandler } from './nats/fanout.js';
import { NatsPeerOut, type PeerBroadcaster } from './nats/peer-out.js';
import { type PullLoop, pullLoop } from './nats/pull.js';
import { challengerSubjects, ensureChallengerStreams } from './nats/streams.js';
import { taskHandler } from './nats/worker.js';
import type { PieceRegistry } from './registry/registry.js';

export interface ChallengerDeps {
  config: ChallengerConfig;
  log: Logger;
  registry: Registry;
  nc: NatsConnection;
  /** The piece registry (gRPC to the challenge-store in production). */
  pieces: PieceRegistry;
  /** Where signed records go for peers; default: `<ns>.peer-out` when a keeper key is configured. */
  peers?: PeerBroadcaster;
  /** This keeper's chain node, which every block header is checked against; default: `RPC_URL`'s. */
  chain?: Pick<CanonicalBlocks, 'check'>;
  /** Fan-out test seams: how long a header the node does not have yet is waited for. */
  futureRetries?: number;
  futureDelayMs?: number;
}

export interface ChallengerApp {
  http: FastifyInstance;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function createApp(deps: ChallengerDeps): Promise<ChallengerApp> {
  const { config, registry, nc } = deps;
  const replica = randomUUID().slice(0, 8);
  const log = deps.log.child({ replica });
  const s = subjects(config.namespace);
  const c = challengerSubjects(s);
  const js = nc.jetstream();
  const providers = new ProviderClients(config.providers);
  const peers = deps.peers ?? (config.keeperPrivateKey ? new NatsPeerOut(js, c.peerOut) : undefined);
  // The keeper's bus key signs records and tasks; headers and tasks must carry it.
  const bus = busIdentityOf(config, {
    accountKey: config.keeperPrivateKey as `0x${string}` | undefined,
    prefix: PREFIX,
  });
  const busSigner = bus.signer;
  if (!busSigner)
    throw new ConfigError(
      `invalid configuration: ${PREFIX}_KEEPER_PRIVATE_KEY (or ${PREFIX}_NATS_SIGNING_KEY) is required: records are signed for the challenge-store`,
      { problems: [`${PREFIX}_KEEPER_PRIVATE_KEY`] },
    );
  const chain =
    deps.chain ?? canonicalBlocks(createChainClient(config, { registry, retryCount: 2, timeoutMs: 5_000 }));

  const rejected = rejectedCounter(registry);
  const challenges = new Counter({
    name: 'whitepay_challenges_total',
    help: 'Challenges completed (record published), by verdict',
    labelNames: ['verdict'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'whitepay_challenge_duration_seconds',
    help: 'Time from task pickup to record published, by verdict',
    labelNames: ['verdict'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const published = new Counter({
    name: 'whitepay_challenge_records_published_total',
    help: 'Records published; duplicate="true" when the stream already had it (a redelivered task)',
    labelNames: ['duplicate'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'whitepay_challenger_task_retries_total',
    help: 'Tasks nak-ed for redelivery, by error code',
    labelNames: ['reason'],
    registers: [registry],
  });
  const blocks = new Counter({
    name: 'whitepay_challenger_blocks_total',
    help: 'Block messages handled, by outcome (fanned_out, rejected, retried, waiting: the node does not have it yet)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const tasks = new Counter({
    name: 'whitepay_challenger_tasks_published_total',
    help: 'Challenge tasks published by the fan-out',
    registers: [registry],
  });
  const fanoutSeconds = new Histogram({
    name: 'whitepay_challenger_fanout_seconds',
    help: 'Time from a block pickup to every task of it stored (registry reads included)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const status: ChallengerStatus = {
    keeperId: config.keeperId,
    namespace: config.namespace,
    replica,
    lastBlock: null,
    blocksFannedOut: 0,
    recordsPublished: 0,
    peerBroadcast: peers !== undefined && config.keeperPrivateKey !== undefined,
  };

  const http = await buildHttpServer({
    service: 'challenger',
    log,
    registry,
    ...httpOptionsOf(config),
    readiness: [{ name: 'nats', check: () => natsReady(nc) }],
  });
  registerRoutes(http, { status: () => status, providers: config.providers });

  let loops: PullLoop[] = [];

  return {
    http,
    async start() {
      const jsm = await nc.jetstreamManager();
      const limits = streamLimitsOf(config);
      await ensureStreams(jsm, s, limits);
      await ensureChallengerStreams(jsm, s, c, {
        ackWaitMs: config.ackWaitMs,
        blocksStart: config.blocksStart,
        limits,
      });
      if (!status.peerBroadcast) log.warn('no keeper key configured: records are not signed for peers');
      loops = [
        pullLoop({
          js,
          stream: s.streams.blocks,
          durable: c.consumers.blocks,
          batch: 1,
          log,
          handle: blockHandler({
            js,
            c,
            registry: deps.pieces,
            log,
            rejected,
            blocks,
            tasks,
            verifier: bus.verifier,
            signer: busSigner,
            chain,
            ...(deps.futureRetries === undefined ? {} : { futureRetries: deps.futureRetries }),
            ...(deps.futureDelayMs === undefined ? {} : { futureDelayMs: deps.futureDelayMs }),
            fanoutSeconds,
            challengeEvery: config.challengeEvery,
            taskPiecesMax: config.taskPiecesMax,
            publishWindow: config.publishWindow,
            onBlock: (b, n) => {
              status.lastBlock = { number: b.number, hash: b.hash, tasks: n };
              status.blocksFannedOut++;
            },
          }),
        }),
        pullLoop({
          js,
          stream: c.streams.tasks,
          durable: c.consumers.tasks,
          batch: config.concurrency,
          log,
          handle: taskHandler({
            js,
            s,
            keeperId: config.keeperId,
            registry: deps.pieces,
            providers,
            deadlineMs: config.deadlineMs,
            leavesPerPiece: config.leavesPerPiece,
            log,
            keeperKey: config.keeperPrivateKey as `0x${string}` | undefined,
            verifier: bus.verifier,
            signer: busSigner,
            peers,
            rejected,
            challenges,
            duration,
            published,
            retries,
            onRecord: () => {
              status.recordsPublished++;
            },
          }),
        }),
      ];
      log.info(
        {
          namespace: config.namespace,
          providers: Object.keys(config.providers).length,
          challengeEvery: config.challengeEvery,
        },
        'challenger started',
      );
    },
    async stop() {
      for (const l of loops) l.stop();
      await Promise.all(loops.map((l) => l.done));
      loops = [];
      providers.close();
      await http.close();
    },
  };
}
export { GrpcPieceRegistry } from './registry/grpc.js';
