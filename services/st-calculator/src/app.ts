import { buildHttpServer, httpOptionsOf, type Logger, type Registry } from '@whitepay/base';
import type { grpc } from '@whitepay/rpc';
import { type Pool, ping } from '@whitepay/store';
import type { FastifyInstance } from 'fastify';
import { type Calculator, createCalculator } from './calculator.js';
import type { Config } from './config.js';
import { registerGrpc } from './grpc/service.js';
import { registerRoutes } from './http/routes.js';
import { createMetrics, type Metrics } from './metrics.js';

export type { Calculator, Engine, StAnswer, StQuery } from './calculator.js';
export { type Config, configShape, loadConfig } from './config.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  registry: Registry;
  /** The challenge-store's database (read-only is enough), owned by the caller. */
  pool: Pool;
}

export interface App {
  /** Built, not listening. */
  http: FastifyInstance;
  /** Adds StCalculatorService to a gRPC server (`listenGrpc(app.registerGrpc, …)`). */
  registerGrpc: (server: grpc.Server) => void;
  calculator: Calculator;
  metrics: Metrics;
  /** Nothing to start (stateless); kept for the common service shape. */
  start(): Promise<void>;
  /** Closes HTTP. */
  stop(): Promise<void>;
}

/** Wires the st-calculator. Never listens: `main.ts` does, tests `inject`. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, registry, pool } = deps;
  const log = deps.log.child({ keeperId: config.keeperId });
  const metrics = createMetrics(registry);
  const calculator = createCalculator({
    pool,
    log,
    metrics,
    keeperId: config.keeperId,
    maxStaleness: config.maxStaleness,
    engine: config.engine,
    groupKeepers: config.groupKeepers,
    settleWaitMs: config.settleWaitMs,
    peerSettleWaitMs: config.peerSettleWaitMs,
    challengeEvery: config.challengeEvery,
    limits: {
      maxAuditKeepers: config.maxAuditKeepers,
      maxIntervalBlocks: config.maxIntervalBlocks,
      maxCallBlocks: config.maxCallBlocks,
      maxConcurrent: config.maxConcurrent,
      maxConcurrentPerClient: config.maxConcurrentPerClient,
      maxQueuedPerClient: config.maxQueuedPerClient,
    },
  });
  const http = await buildHttpServer({
    service: 'st-calculator',
    log,
    registry,
    ...httpOptionsOf(config),
    readiness: [{ name: 'postgres', check: () => ping(pool) }],
  });
  registerRoutes(http, { calculator });
  return {
    http,
    registerGrpc: (server) =>
      registerGrpc(server, { calculator, log, rejected: metrics.rejected, token: config.internalToken }),
    calculator,
    metrics,
    async start() {
      log.info({ engine: config.engine, maxStaleness: String(config.maxStaleness) }, 'st-calculator started');
    },
    async stop() {
      await http.close();
    },
  };
}
