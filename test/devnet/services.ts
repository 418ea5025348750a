import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './options.js';
import type { DevnetState, KeeperState, ProviderState, ServiceName } from './state.js';
import type { ProcSpec } from './supervisor.js';

/** Where the network's servers listen (loopback). */
export interface Endpoints {
  natsUrl: string;
  redisUrl: string;
  postgresPort: number;
  rpcUrl: string;
}

/** The network's internal service-to-service token, derived from its state (distinct from the admin token). */
const internalToken = (state: DevnetState) =>
  createHash('sha256').update(`internal:${state.adminToken}`).digest('hex');

const serviceDir = (name: string) => join(REPO_ROOT, 'services', name);

/** Whether a service can run yet (the consensus-coordinator lands later than the others). */
export function serviceExists(name: ServiceName | 'provider'): boolean {
  return existsSync(join(serviceDir(name), 'src', 'main.ts'));
}

/** A service process exactly as its package's `start` script runs it. */
function nodeProc(name: string, group: string, service: string, env: Record<string, string>): ProcSpec {
  return {
    name,
    group,
    cmd: process.execPath,
    args: ['--conditions=development', '--import', 'tsx', 'src/main.ts'],
    cwd: serviceDir(service),
    env: { ...env, NODE_ENV: 'development' },
    restart: true,
  };
}

export const procName = (k: KeeperState | number, s: ServiceName) =>
  `k${typeof k === 'number' ? k : k.id}-${s}`;

/** The HTTP port of one keeper service (each has /healthz, /readyz, /metrics). */
export function httpPort(k: KeeperState, s: ServiceName): number {
  switch (s) {
    case 'challenger':
      return k.ports.challengerHttp;
    case 'challenge-store':
      return k.ports.storeHttp;
    case 'st-calculator':
      return k.ports.stHttp;
    case 'chain-submitter':
      return k.ports.submitterHttp;
    case 'consensus-coordinator':
      return k.ports.coordinatorHttp;
  }
}

/** The environment of one keeper service: each keeper its own namespace, database, account and ports. */
export function keeperServiceSpec(
  state: DevnetState,
  k: KeeperState,
  s: ServiceName,
  ep: Endpoints,
  logLevel: string,
  /** The coordinator's PEER_TLS_* variables (its certificate, the group CA). */
  peerTls: Record<string, string>,
): ProcSpec {
  const dbUrl = `postgres://whitepay@127.0.0.1:${ep.postgresPort}/${k.database}`;
  const common = (prefix: string, port: number) => ({
    [`${prefix}_KEEPER_ID`]: String(k.id),
    [`${prefix}_HTTP_HOST`]: '127.0.0.1',
    [`${prefix}_HTTP_PORT`]: String(port),
    [`${prefix}_LOG_LEVEL`]: logLevel,
    [`${prefix}_ADMIN_TOKEN`]: state.adminToken,
  });
  const group = `keeper-${k.id}`;
  const name = procName(k, s);
  const peers = state.keepers.filter((p) => p.id !== k.id);
  switch (s) {
    case 'challenge-store':
      return nodeProc(name, group, s, {
        ...common('CHALLENGE_STORE', k.ports.storeHttp),
        CHALLENGE_STORE_INTERNAL_TOKEN: internalToken(state),
        CHALLENGE_STORE_GRPC_HOST: '127.0.0.1',
        CHALLENGE_STORE_GRPC_PORT: String(k.ports.storeGrpc),
        CHALLENGE_STORE_DATABASE_URL: dbUrl,
        CHALLENGE_STORE_DB_POOL_SIZE: '4',
        CHALLENGE_STORE_NATS_URL: ep.natsUrl,
        CHALLENGE_STORE_NATS_NAMESPACE: k.ns,
        CHALLENGE_STORE_PEER_KEEPERS: state.keepers.map((p) => `${p.id}=${p.account}`).join(','),
      });
    case 'st-calculator':
      return nodeProc(name, group, s, {
        ...common('ST_CALCULATOR', k.ports.stHttp),
        ST_CALCULATOR_INTERNAL_TOKEN: internalToken(state),
        ST_CALCULATOR_GRPC_HOST: '127.0.0.1',
        ST_CALCULATOR_GRPC_PORT: String(k.ports.stGrpc),
        ST_CALCULATOR_DATABASE_URL: dbUrl,
        ST_CALCULATOR_DB_POOL_SIZE: '4',
        ST_CALCULATOR_GROUP_KEEPERS: state.keepers.map((p) => p.id).join(','),
      });
    case 'chain-submitter':
      return nodeProc(name, group, s, {
        ...common('CHAIN_SUBMITTER', k.ports.submitterHttp),
        CHAIN_SUBMITTER_NATS_URL: ep.natsUrl,
        CHAIN_SUBMITTER_NATS_NAMESPACE: k.ns,
        CHAIN_SUBMITTER_REDIS_URL: ep.redisUrl,
        CHAIN_SUBMITTER_RPC_URL: ep.rpcUrl,
        CHAIN_SUBMITTER_CHAIN_ID: String(state.chain.chainId),
        CHAIN_SUBMITTER_PRIVATE_KEY: k.privateKey,
        CHAIN_SUBMITTER_CONFIRMATIONS: '0',
        CHAIN_SUBMITTER_POLL_INTERVAL_MS: String(Math.max(100, Math.round(state.chain.blockTime * 250))),
        CHAIN_SUBMITTER_BUMP_AFTER_BLOCKS: '3',
        CHAIN_SUBMITTER_FACTORY_ADDRESS: state.chain.factory!,
        CHAIN_SUBMITTER_FACTORY_FROM_BLOCK: state.chain.factoryBlock ?? '0',
      });
    case 'challenger':
      return nodeProc(name, group, s, {
        ...common('CHALLENGER', k.ports.challengerHttp),
        CHALLENGER_INTERNAL_TOKEN: internalToken(state),
        CHALLENGER_NATS_URL: ep.natsUrl,
        CHALLENGER_NATS_NAMESPACE: k.ns,
        CHALLENGER_STORE_GRPC_URL: `127.0.0.1:${k.ports.storeGrpc}`,
        CHALLENGER_RPC_URL: ep.rpcUrl,
        CHALLENGER_PROVIDERS: state.providers.map((p) => `${p.pid}=127.0.0.1:${p.grpcPort}`).join(','),
        // Every block: the status view and the e2e suite expect one record per block and provider.
        CHALLENGER_CHALLENGE_EVERY: '1',
        CHALLENGER_DEADLINE_MS: '1500',
        CHALLENGER_ACK_WAIT_MS: '10000',
        CHALLENGER_CONCURRENCY: '16',
        CHALLENGER_KEEPER_PRIVATE_KEY: k.privateKey,
      });
    case 'consensus-coordinator':
      return nodeProc(name, group, s, {
        ...common('CONSENSUS_COORDINATOR', k.ports.coordinatorHttp),
        CONSENSUS_COORDINATOR_INTERNAL_TOKEN: internalToken(state),
        CONSENSUS_COORDINATOR_GRPC_HOST: '127.0.0.1',
        CONSENSUS_COORDINATOR_GRPC_PORT: String(k.ports.coordinatorGrpc),
        CONSENSUS_COORDINATOR_PEERS: peers
          .map((p) => `${p.id}=127.0.0.1:${p.ports.coordinatorGrpc}`)
          .join(','),
        CONSENSUS_COORDINATOR_NATS_URL: ep.natsUrl,
        CONSENSUS_COORDINATOR_NATS_NAMESPACE: k.ns,
        CONSENSUS_COORDINATOR_REDIS_URL: ep.redisUrl,
        CONSENSUS_COORDINATOR_RPC_URL: ep.rpcUrl,
        CONSENSUS_COORDINATOR_FACTORY_ADDRESS: state.chain.factory!,
        CONSENSUS_COORDINATOR_FACTORY_FROM_BLOCK: state.chain.factoryBlock ?? '0',
        CONSENSUS_COORDINATOR_PRIVATE_KEY: k.privateKey,
        CONSENSUS_COORDINATOR_BLS_SECRET_KEY: k.blsSecretKey,
        CONSENSUS_COORDINATOR_ST_CALCULATOR_URL: `127.0.0.1:${k.ports.stGrpc}`,
        CONSENSUS_COORDINATOR_CHALLENGE_STORE_URL: `127.0.0.1:${k.ports.storeGrpc}`,
        ...peerTls,
        // The local network is a test network: its fault scenarios switch faults through the admin route.
        CONSENSUS_COORDINATOR_TEST_FAULTS: 'on',
      });
  }
}

export function providerSpec(
  state: DevnetState,
  p: ProviderState,
  dataDir: string,
  logLevel: string,
): ProcSpec {
  return nodeProc(p.name, 'providers', 'provider', {
    PROVIDER_DATA_DIR: dataDir,
    PROVIDER_ADDRESS: p.pid,
    PROVIDER_GRPC_HOST: '127.0.0.1',
    PROVIDER_GRPC_PORT: String(p.grpcPort),
    PROVIDER_HTTP_HOST: '127.0.0.1',
    PROVIDER_HTTP_PORT: String(p.httpPort),
    PROVIDER_LOG_LEVEL: logLevel,
    PROVIDER_ADMIN_TOKEN: state.adminToken,
  });
}
