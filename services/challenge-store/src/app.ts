import { buildHttpServer, httpOptionsOf, type Logger, type Registry } from '@whitepay/base';
import { busIdentityOf, ensureStreams, natsReady, streamLimitsOf, subjects } from '@whitepay/bus';
import type { grpc } from '@whitepay/rpc';
import { type PeerRecordVerifier, type Pool, ping } from '@whitepay/store';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from 'nats';
import { CONFIG_PREFIX, type Config, namespaceOf, parsePeerKeepers } from './config.js';
import { registerGrpc } from './grpc/service.js';
import { registerRoutes } from './http/routes.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Ingestor } from './nats/ingest.js';
import { createPeerVerifier, refuseAllPeers } from './peer-verifier.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  registry: Registry;
  /** Owned by the caller (migrated before `start`). */
  pool: Pool;
  /** Owned by the caller. */
  nc: NatsConnection;
  /** Verifier of peer records; by default built from `peerKeepers` (refuse all when unset). */
  verifyPeerRecord?: PeerRecordVerifier;
}

export interface App {
  /** Built, not listening. */
  http: FastifyInstance;
  /** Adds ChallengeStoreService to a gRPC server (`listenGrpc(app.registerGrpc, …)`). */
  registerGrpc: (server: grpc.Server) => void;
  ingestor: Ingestor;
  metrics: Metrics;
  /** Ensures the streams and the durable consumer, and starts ingesting. */
  start(): Promise<void>;
  /** Stops ingesting (what was received is written and acked) and closes HTTP. */
  stop(): Promise<void>;
}

/** Wires the challenge-store. Never listens: `main.ts` does, tests `inject`. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, log, registry, pool, nc } = deps;
  const s = subjects(namespaceOf(config));
  const metrics = createMetrics(registry);
  const keepers = parsePeerKeepers(config.peerKeepers);
  const verifyPeerRecord =
    deps.verifyPeerRecord ??
    (keepers.size > 0 ? createPeerVerifier({ ownKeeperId: config.keeperId, keepers, pool }) : refuseAllPeers);
  // Records must carry this keeper's bus signature: `NATS_SIGNER`, else its own PEER_KEEPERS entry.
  const bus = busIdentityOf(config, { fallbackSigner: keepers.get(config.keeperId), prefix: CONFIG_PREFIX });
  const ingestor = new Ingestor({
    nc,
    verifier: bus.verifier,
    pool,
    subjects: s,
    consumerName: config.consumerName,
    keeperId: config.keeperId,
    batchMax: config.batchMax,
    batchWaitMs: config.batchWaitMs,
    writers: config.writers,
    pipelineDepth: config.pipelineDepth,
    maxAckPending: config.maxAckPending,
    ackWaitMs: config.ackWaitMs,
    lagPollMs: config.lagPollMs,
    metrics,
    log,
  });
  const http = await buildHttpServer({
    service: 'challenge-store',
    log,
    registry,
    ...httpOptionsOf(config),
    readiness: [
      { name: 'postgres', check: () => ping(pool) },
      { name: 'nats', check: () => natsReady(nc) },
    ],
  });
  registerRoutes(http, { pool });
  let started = false;
  return {
    http,
    registerGrpc: (server) =>
      registerGrpc(server, {
        pool,
        log,
        rejected: metrics.rejected,
        verifyPeerRecord,
        maxPageBytes: config.grpcMaxPageBytes,
        token: config.internalToken,
      }),
    ingestor,
    metrics,
    async start() {
      await ensureStreams(await nc.jetstreamManager(), s, streamLimitsOf(config));
      await ingestor.start();
      started = true;
    },
    async stop() {
      if (started) await ingestor.stop();
      await http.close();
    },
  };
}
