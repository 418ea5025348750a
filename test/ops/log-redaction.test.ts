// Every service's root logger, built exactly as its main.ts builds it
// (`createLog` of its config.ts, from its own schema's `secret()` markers), with
// every secret set: nothing secret reaches the output — not the keys and the
// admin token, not the credentials inside the database, Redis, NATS and RPC
// URLs — whether a line carries the raw config, a redacted one, an error whose
// message quotes a URL, or a secret under a nested field.
import {
  type ConfigShape,
  type DestinationStream,
  type Logger,
  parseConfig,
  redactConfig,
  serviceLogger,
} from '@whitepay/base';
import * as submitter from '@whitepay/chain-submitter/config';
import * as store from '@whitepay/challenge-store/config';
import * as challenger from '@whitepay/challenger/config';
import * as coordinator from '@whitepay/consensus-coordinator/config';
import * as provider from '@whitepay/provider/config';
import * as st from '@whitepay/st-calculator/config';
import { CLI_PREFIX, cliConfigShape } from '@whitepay/store/cli-config';
import { describe, expect, it } from 'vitest';

const ACCOUNT_KEY = `0x${'a1'.repeat(32)}`;
const BLS_KEY = `0x${'b2'.repeat(32)}`;
const ADMIN_TOKEN = 'admin-token-s3cr3t-0123456789';
const PG_PASSWORD = 'pgPassw0rd-s3cr3t';
const REDIS_PASSWORD = 'r3disPass-s3cr3t';
const NATS_PASSWORD = 'natsPass-s3cr3t';
/** NATS credentials outside the URL (the config parses both; one kind is chosen at connect). */
const NATS_FILE_PASSWORD = 'natsFilePass-s3cr3t';
const NATS_TOKEN = 'natsT0ken-s3cr3t';
/** A dedicated bus key (packages/bus, `NATS_SIGNING_KEY`). */
const BUS_KEY = `0x${'b5'.repeat(32)}`;
/** The data-plane MAC key (`NATS_MAC_KEY`). */
const BUS_MAC_KEY = `0x${'b6'.repeat(32)}`;
const RPC_PATH_KEY = 'c0ffee1234567890abcdef1234567890';
const RPC_QUERY_KEY = 'q3ryK3y-s3cr3t';

const DATABASE_URL = `postgres://whitepay:${PG_PASSWORD}@pg.db:5432/whitepay`;
const REDIS_URL = `redis://default:${REDIS_PASSWORD}@redis.cache:6379/0`;
const NATS_URL = `nats://keeper:${NATS_PASSWORD}@nats.bus:4222`;
const RPC_URL = `https://mainnet.rpc.example/v3/${RPC_PATH_KEY}?apikey=${RPC_QUERY_KEY}`;

/** What must never be written, in any form a line could carry it. */
const FORBIDDEN = [
  ACCOUNT_KEY,
  ACCOUNT_KEY.slice(2),
  BLS_KEY,
  BLS_KEY.slice(2),
  ADMIN_TOKEN,
  PG_PASSWORD,
  REDIS_PASSWORD,
  NATS_PASSWORD,
  NATS_FILE_PASSWORD,
  NATS_TOKEN,
  BUS_KEY,
  BUS_KEY.slice(2),
  BUS_MAC_KEY,
  BUS_MAC_KEY.slice(2),
  RPC_PATH_KEY,
  RPC_QUERY_KEY,
];

interface Service {
  shape: ConfigShape;
  env: Record<string, string>;
  log(destination: DestinationStream): { log: Logger; config: Record<string, unknown> };
}

const SERVICES: Record<string, Service> = {
  challenger: {
    shape: challenger.configShape,
    env: {
      CHALLENGER_KEEPER_ID: '1',
      CHALLENGER_NATS_URL: NATS_URL,
      CHALLENGER_NATS_USER: 'keeper',
      CHALLENGER_NATS_PASSWORD: NATS_FILE_PASSWORD,
      CHALLENGER_NATS_TOKEN: NATS_TOKEN,
      CHALLENGER_NATS_SIGNING_KEY: BUS_KEY,
      CHALLENGER_NATS_MAC_KEY: BUS_MAC_KEY,
      CHALLENGER_STORE_GRPC_URL: 'store:9090',
      CHALLENGER_RPC_URL: 'http://anvil:8545',
      CHALLENGER_KEEPER_PRIVATE_KEY: ACCOUNT_KEY,
      CHALLENGER_ADMIN_TOKEN: ADMIN_TOKEN,
      CHALLENGER_INTERNAL_TOKEN: ADMIN_TOKEN,
    },
    log(d) {
      const config = challenger.loadConfig(this.env);
      return { log: challenger.createLog(config, d), config };
    },
  },
  'challenge-store': {
    shape: store.configShape,
    env: {
      CHALLENGE_STORE_KEEPER_ID: '1',
      CHALLENGE_STORE_DATABASE_URL: DATABASE_URL,
      CHALLENGE_STORE_NATS_URL: NATS_URL,
      CHALLENGE_STORE_NATS_USER: 'keeper',
      CHALLENGE_STORE_NATS_PASSWORD: NATS_FILE_PASSWORD,
      CHALLENGE_STORE_NATS_TOKEN: NATS_TOKEN,
      CHALLENGE_STORE_NATS_SIGNING_KEY: BUS_KEY,
      CHALLENGE_STORE_NATS_MAC_KEY: BUS_MAC_KEY,
      CHALLENGE_STORE_ADMIN_TOKEN: ADMIN_TOKEN,
      CHALLENGE_STORE_INTERNAL_TOKEN: ADMIN_TOKEN,
    },
    log(d) {
      const config = store.loadConfig(this.env);
      return { log: store.createLog(config, d), config };
    },
  },
  'st-calculator': {
    shape: st.configShape,
    env: {
      ST_CALCULATOR_KEEPER_ID: '1',
      ST_CALCULATOR_DATABASE_URL: DATABASE_URL,
      ST_CALCULATOR_ADMIN_TOKEN: ADMIN_TOKEN,
      ST_CALCULATOR_INTERNAL_TOKEN: ADMIN_TOKEN,
    },
    log(d) {
      const config = st.loadConfig(this.env);
      return { log: st.createLog(config, d), config };
    },
  },
  'consensus-coordinator': {
    shape: coordinator.configShape,
    env: {
      CONSENSUS_COORDINATOR_KEEPER_ID: '1',
      CONSENSUS_COORDINATOR_NATS_URL: NATS_URL,
      CONSENSUS_COORDINATOR_NATS_USER: 'keeper',
      CONSENSUS_COORDINATOR_NATS_PASSWORD: NATS_FILE_PASSWORD,
      CONSENSUS_COORDINATOR_NATS_TOKEN: NATS_TOKEN,
      CONSENSUS_COORDINATOR_NATS_SIGNING_KEY: BUS_KEY,
      CONSENSUS_COORDINATOR_NATS_MAC_KEY: BUS_MAC_KEY,
      CONSENSUS_COORDINATOR_REDIS_URL: REDIS_URL,
      CONSENSUS_COORDINATOR_RPC_URL: RPC_URL,
      CONSENSUS_COORDINATOR_PRIVATE_KEY: ACCOUNT_KEY,
      CONSENSUS_COORDINATOR_BLS_SECRET_KEY: BLS_KEY,
      CONSENSUS_COORDINATOR_ST_CALCULATOR_URL: 'st:9090',
      CONSENSUS_COORDINATOR_ADMIN_TOKEN: ADMIN_TOKEN,
      CONSENSUS_COORDINATOR_INTERNAL_TOKEN: ADMIN_TOKEN,
    },
    log(d) {
      const config = coordinator.loadConfig(this.env);
      return { log: coordinator.createLog(config, d), config };
    },
  },
  'chain-submitter': {
    shape: submitter.configShape,
    env: {
      CHAIN_SUBMITTER_KEEPER_ID: '1',
      CHAIN_SUBMITTER_NATS_URL: NATS_URL,
      CHAIN_SUBMITTER_NATS_USER: 'keeper',
      CHAIN_SUBMITTER_NATS_PASSWORD: NATS_FILE_PASSWORD,
      CHAIN_SUBMITTER_NATS_TOKEN: NATS_TOKEN,
      CHAIN_SUBMITTER_NATS_SIGNING_KEY: BUS_KEY,
      CHAIN_SUBMITTER_NATS_MAC_KEY: BUS_MAC_KEY,
      CHAIN_SUBMITTER_REDIS_URL: REDIS_URL,
      CHAIN_SUBMITTER_RPC_URL: RPC_URL,
      CHAIN_SUBMITTER_PRIVATE_KEY: ACCOUNT_KEY,
      CHAIN_SUBMITTER_ADMIN_TOKEN: ADMIN_TOKEN,
      CHAIN_SUBMITTER_SIGNER_TOKEN: ADMIN_TOKEN,
    },
    log(d) {
      const config = submitter.loadConfig(this.env);
      return { log: submitter.createLog(config, d), config };
    },
  },
  provider: {
    shape: provider.configShape,
    env: { PROVIDER_DATA_DIR: '/data', PROVIDER_ADMIN_TOKEN: ADMIN_TOKEN },
    log(d) {
      const config = provider.loadConfig(this.env);
      return { log: provider.createLog(config, d), config };
    },
  },
  'store-migrate': {
    shape: cliConfigShape,
    env: { STORE_DATABASE_URL: DATABASE_URL },
    log(d) {
      const config = parseConfig(cliConfigShape, CLI_PREFIX, this.env);
      return { log: serviceLogger({ service: 'store-migrate', shape: cliConfigShape, config }, d), config };
    },
  },
};

function capture(): { destination: DestinationStream; lines: string[] } {
  const lines: string[] = [];
  return { destination: { write: (s: string) => void lines.push(s) }, lines };
}

describe('no secret reaches a service log', () => {
  it.each(Object.keys(SERVICES))('%s', (name) => {
    const svc = SERVICES[name]!;
    const { destination, lines } = capture();
    const { log, config } = svc.log(destination);
    // What main.ts writes at start.
    log.info({ config: redactConfig(svc.shape, config) }, 'configuration');
    // A careless line: the whole parsed config, and each value at the top level and nested.
    log.info({ config }, 'raw configuration');
    for (const [key, value] of Object.entries(config)) {
      log.info({ [key]: value, part: { [key]: value } }, `value of ${key}`);
      if (typeof value === 'string') log.warn(`${key} is ${value}`);
    }
    // Errors whose messages quote connection strings and keys, as drivers do.
    for (const url of [DATABASE_URL, REDIS_URL, NATS_URL, RPC_URL]) {
      log.error({ err: new Error(`cannot connect to ${url}: ECONNREFUSED`) }, 'connection failed');
      log.child({ component: 'client' }).warn({ url }, `HTTP request failed. URL: ${url}`);
    }
    const out = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    for (const s of FORBIDDEN) expect(out, `${name} wrote ${s}`).not.toContain(s);
    // Redaction keeps what an operator needs: the hosts, and the non-secret settings.
    expect(out).toContain('[redacted]');
    if ('natsUrl' in config) expect(out).toContain('nats://[redacted]@nats.bus:4222');
    if ('redisUrl' in config) expect(out).toContain('redis://[redacted]@redis.cache:6379/0');
    if ('rpcUrl' in config)
      expect(out).toContain('https://mainnet.rpc.example/v3/[redacted]?apikey=[redacted]');
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 'info', service: name, msg: 'configuration' });
  });

  it('every secret of every schema is one of the values set above', () => {
    for (const [name, svc] of Object.entries(SERVICES)) {
      const { config } = svc.log(capture().destination);
      for (const [key, schema] of Object.entries(svc.shape)) {
        if (!(schema.description ?? '').startsWith('[secret]')) continue;
        expect(config[key], `${name}.${key} is set by this test`).toBeDefined();
      }
    }
  });
});
