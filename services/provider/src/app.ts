import {
  buildHttpServer,
  Counter,
  Gauge,
  httpOptionsOf,
  type Logger,
  type Registry,
  rejectedCounter,
} from '@whitepay/base';
import { type GrpcServerHandle, listenGrpc } from '@whitepay/rpc';
import type { FastifyInstance } from 'fastify';
import type { ProviderConfig } from './config.js';
import { Faults } from './faults.js';
import { registerProviderService } from './grpc/service.js';
import { registerRoutes } from './http/routes.js';
import { PieceStore } from './store/pieces.js';

export interface ProviderDeps {
  config: ProviderConfig;
  log: Logger;
  registry: Registry;
}

export interface ProviderApp {
  /** The operator HTTP API, built, not listening. */
  http: FastifyInstance;
  store: PieceStore;
  faults: Faults;
  /** Opens the piece store and binds the gRPC ProviderService; resolves with its port. */
  start(): Promise<{ grpcPort: number }>;
  /** `host:port` of the gRPC service once started. */
  grpcAddress(): string;
  stop(): Promise<void>;
}

export async function createApp(deps: ProviderDeps): Promise<ProviderApp> {
  const { config, log, registry } = deps;
  const store = new PieceStore(config.dataDir, log, { maxOpenFiles: config.maxOpenFiles });
  const faults = new Faults(config.faultMode, config.faultDelayMs);
  const stopping = new AbortController();
  let grpc: GrpcServerHandle | undefined;
  let opened = false;

  const challenges = new Counter({
    name: 'whitepay_provider_challenges_total',
    help: 'Challenges received by the provider node, by outcome and by the keeper that challenged',
    labelNames: ['outcome', 'keeper'],
    registers: [registry],
  });
  new Gauge({
    name: 'whitepay_provider_pieces',
    help: 'Pieces held',
    registers: [registry],
    collect() {
      this.set(store.stats().pieces);
    },
  });
  new Gauge({
    name: 'whitepay_provider_bytes',
    help: 'Bytes of pieces held',
    registers: [registry],
    collect() {
      this.set(store.stats().bytes);
    },
  });

  const http = await buildHttpServer({
    service: 'provider',
    log,
    registry,
    ...httpOptionsOf(config),
    readiness: [
      {
        name: 'grpc',
        check: async () => {
          if (!grpc || !opened) throw new Error('gRPC service not started');
        },
      },
    ],
  });
  registerRoutes(http, { store, faults });

  return {
    http,
    store,
    faults,
    async start() {
      await store.open();
      opened = true;
      grpc = await listenGrpc(
        (server) =>
          registerProviderService(
            server,
            {
              log,
              store,
              faults,
              served: config.served,
              defaultLeafSize: config.defaultLeafSize,
              maxPieceBytes: config.maxPieceBytes,
              maxLeavesPerChallenge: config.maxLeavesPerChallenge,
              rejected: rejectedCounter(registry),
              challenges,
            },
            stopping.signal,
          ),
        config.grpcHost,
        config.grpcPort,
      );
      log.info(
        {
          grpcPort: grpc.port,
          faults: faults.snapshot(),
          pids: config.served.length === 0 ? 'any' : config.served.length,
        },
        'provider gRPC listening',
      );
      return { grpcPort: grpc.port };
    },
    grpcAddress() {
      if (!grpc) throw new Error('provider not started');
      const host = config.grpcHost === '0.0.0.0' ? '127.0.0.1' : config.grpcHost;
      return `${host}:${grpc.port}`;
    },
    async stop() {
      stopping.abort();
      await grpc?.stop(2_000);
      grpc = undefined;
      await http.close();
      store.close();
    },
  };
}
