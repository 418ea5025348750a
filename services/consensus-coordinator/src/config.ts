import {
  common,
  type DestinationStream,
  type Logger,
  parseConfig,
  serviceConfigSchema,
  serviceLogger,
} from '@whitepay/base';
import { blsKeyConfigSchema } from '@whitepay/bls';
import { keeperNamespace, natsConfigSchema, queuePrefix } from '@whitepay/bus';
import { chainConfigSchema } from '@whitepay/chain';
import { MAX_ROUND_ENTRIES } from '@whitepay/core';
import { accountKeyConfigSchema } from '@whitepay/ecdsa';
import { redisConfigSchema } from '@whitepay/redis';
import { internalTokenConfigSchema, peerTlsConfigSchema } from '@whitepay/rpc';
import { z } from 'zod';
import { FAULT_GRAMMAR, isFault } from './faults.js';

export const SERVICE = 'consensus-coordinator';
export const PREFIX = 'CONSENSUS_COORDINATOR';

const _HEX32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HOST_PORT = /^[^\s:,=]+:\d{1,5}$/;

/** `101=host:port,102=host:port` → `{ 101: 'host:port' }`. */
const peerMap = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const out: Record<number, string> = {};
    for (const entry of raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [id, addr] = entry.split('=').map((p) => p.trim());
      if (!id || !/^\d+$/.test(id) || Number(id) > 0xffffffff || !addr || !HOST_PORT.test(addr)) {
        ctx.addIssue({ code: 'custom', message: `bad peer entry "${entry}" (want keeperId=host:port)` });
        return z.NEVER;
      }
      out[Number(id)] = addr;
    }
    return out;
  })
  .describe('gRPC addresses of the peer keepers: comma-separated keeperId=host:port');

const addressList = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const out: `0x${string}`[] = [];
    for (const a of raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      if (!ADDRESS.test(a)) {
        ctx.addIssue({ code: 'custom', message: `bad address "${a}"` });
        return z.NEVER;
      }
      out.push(a.toLowerCase() as `0x${string}`);
    }
    return out;
  })
  .describe('Upkeeping contracts served, comma-separated (added to those found through the factory)');

/**
 * Test-only fault injection (the local network and the cross-keeper suite):
 * the value is checked at boot with the one grammar of `faults.ts`
 * (`parseFault`); it takes effect only with `testFaults` on. Never set either
 * in production.
 */
export const faultSchema = z
  .string()
  .default('none')
  .refine(isFault, { message: `expected ${FAULT_GRAMMAR}` })
  .describe(`TEST ONLY, with TEST_FAULTS=on: the fault injected from boot — ${FAULT_GRAMMAR}`);

/**
 * Every variable the coordinator reads (prefix `CONSENSUS_COORDINATOR_`): the
 * pieces of the packages that own each connection, then its own; the README
 * table is generated from it.
 */
export const configShape = {
  ...serviceConfigSchema,
  keeperId: common.keeperId,
  ...natsConfigSchema,
  ...redisConfigSchema,
  ...chainConfigSchema,
  grpcHost: z.string().default('0.0.0.0').describe('address of the keeper-to-keeper gRPC server'),
  ...peerTlsConfigSchema,
  ...internalTokenConfigSchema,
  grpcPort: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(7300)
    .describe('port of the keeper-to-keeper gRPC server (KeeperPeerService)'),
  peers: peerMap,
  factoryAddress: z
    .string()
    .regex(ADDRESS, 'expected a 0x-prefixed address')
    .optional()
    .describe('UpkeepingFactory address: Upkeeping contracts whose group holds this keeper are served'),
  factoryFromBlock: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('block the factory was deployed at (discovery starts there)'),
  upkeepings: addressList,
  // The keeper account key (signs every envelope) and the BLS key (signs payment messages):
  // each as hex (env or _FILE) or as a keystore with a passphrase file; resolved once at start (keys.ts).
  ...accountKeyConfigSchema,
  ...blsKeyConfigSchema,
  stCalculatorUrl: z.string().regex(HOST_PORT).describe('st-calculator gRPC address (host:port)'),
  challengeStoreUrl: z
    .string()
    .regex(HOST_PORT)
    .optional()
    .describe('challenge-store gRPC address (host:port) for the full sync; unset disables record exchange'),
  tolBps: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(100)
    .describe('tolerance of a proposal against the own st, basis points (SPEC 6.3)'),
  maxAttempts: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(3)
    .describe('commit/propose attempts per round (the first included)'),
  peerDeadlineMs: z.coerce
    .number()
    .int()
    .positive()
    .default(3_000)
    .describe('deadline of one keeper-to-keeper call (ms); a late answer counts as missing'),
  peerDeadlineGrowth: z.coerce
    .number()
    .min(1)
    .max(4)
    .default(2)
    .describe(
      'attempt n of a round waits PEER_DEADLINE_MS (+ the per-entry allowance) × growth^(n−1) for its followers, at most PEER_DEADLINE_MAX_MS: a round retried because followers were slow waits longer, as consensus timeouts grow per round; 1 keeps it fixed',
    ),
  peerDeadlineMaxMs: z.coerce
    .number()
    .int()
    .positive()
    .default(60_000)
    .describe('upper bound of a grown peer deadline (ms); never below the first attempt`s'),
  peerDeadlinePerEntryMs: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000)
    .default(10)
    .describe(
      'added to the peer deadline per entry of a round (ms): followers compute every entry`s st before answering (500 entries: +5 s)',
    ),
  syncDeadlineMs: z.coerce
    .number()
    .int()
    .positive()
    .default(20_000)
    .describe('deadline of a full-sync request (ms): the peer pulls and stores records meanwhile'),
  stDeadlineMs: z.coerce
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe('deadline of st-calculator and challenge-store calls (ms)'),
  stConcurrency: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_024)
    .default(16)
    .describe('st-calculator calls in flight per replica (a round asks for every entry at once)'),
  submitTimeoutMs: z.coerce
    .number()
    .int()
    .positive()
    .default(120_000)
    .describe('how long the leader waits for the payment result after submitting (ms)'),
  roundLockMs: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe('BullMQ lock of a running round job; a crashed replica`s round is resumed after it'),
  roundConcurrency: z.coerce.number().int().min(1).default(16).describe('rounds run at once per replica'),
  roundsKept: z.coerce.number().int().min(1).default(1_000).describe('rounds listed by GET /v1/rounds'),
  batchMax: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_ROUND_ENTRIES)
    .default(500)
    .describe(
      `most entries in one round (one payBatch), at most ${MAX_ROUND_ENTRIES} (core's MAX_ROUND_ENTRIES, what every member accepts); more due providers at one position are split into several rounds. ~25k gas per entry: 500 ≈ 12.5M gas`,
    ),
  forwardRecords: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(
      'forward this keeper`s signed records from `<ns>.peer-out` to the peers (PushRecords, SPEC 3 step 4)',
    ),
  forwardBatchMax: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(256)
    .describe(
      'most records fetched from `<ns>.peer-out` at once, and in one PushRecords: each peer`s window starts there, halves on a late push and grows back by a sixteenth of it per answered one',
    ),
  forwardBatchMaxBytes: z.coerce
    .number()
    .int()
    .min(16 * 1024)
    .max(8 * 1024 * 1024)
    .default(4 * 1024 * 1024)
    .describe(
      'byte budget of one PushRecords (the encoded records): a fetched batch is split into pushes of at most this many bytes and the peer`s current window of records; gRPC messages are capped at 16 MiB',
    ),
  forwardFlushMs: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(30_000)
    .default(1_000)
    .describe(
      'longest a batch of `<ns>.peer-out` waits to fill (ms): the records fetched by then are forwarded even when fewer than FORWARD_BATCH_MAX; at least 1000 (the shortest pull request the NATS client makes)',
    ),
  forwardDeadlineMs: z.coerce
    .number()
    .int()
    .positive()
    .default(3_000)
    .describe(
      'base deadline of one PushRecords (ms); the call waits this plus FORWARD_DEADLINE_PER_RECORD_MS per record it carries. The receiver gives its challenge-store call the same',
    ),
  forwardDeadlinePerRecordMs: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000)
    .default(40)
    .describe(
      'added to the PushRecords deadline per record (ms): the receiving challenge-store re-verifies each new record (~33 ms measured under load, docs/benchmarks.md "Peer records"); 256 records: 3 s + 10.2 s',
    ),
  forwardLagMaxBlocks: z.coerce
    .number()
    .int()
    .min(1)
    .default(100)
    .describe(
      'a peer whose oldest unanswered record is more than this many blocks behind the head is reported by /readyz (check `broadcast`, severity degraded: the answer stays 200)',
    ),
  forwardBackoffMs: z.coerce
    .number()
    .int()
    .positive()
    .default(500)
    .describe(
      'first redelivery delay of a record a peer did not take (unreachable or past its deadline); doubles per delivery, and that peer gets no push before its own delay (doubling per consecutive failure) has passed',
    ),
  forwardBackoffMaxMs: z.coerce
    .number()
    .int()
    .positive()
    .default(60_000)
    .describe('largest redelivery delay of a record for an unreachable peer (ms)'),
  forwardMaxDeliver: z.coerce
    .number()
    .int()
    .min(1)
    .default(100)
    .describe('deliveries of a record before it is left to the full sync (peers unreachable all along)'),
  testFaults: z
    .enum(['off', 'on'])
    .default('off')
    .transform((v) => v === 'on')
    .describe(
      'TEST ONLY: on wraps the st source and the BLS signer with the fault injection of FAULT and registers PUT /v1/admin/fault; off (production) has neither',
    ),
  fault: faultSchema,
};

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return parseConfig(configShape, PREFIX, env);
}

/** The root logger of this service: its redaction comes from the `secret()` fields of `configShape`. */
export function createLog(config: Config, destination?: DestinationStream): Logger {
  return serviceLogger(
    { service: SERVICE, shape: configShape, config, base: { keeperId: config.keeperId } },
    destination,
  );
}

export function namespaceOf(cfg: Pick<Config, 'natsNamespace' | 'keeperId'>): string {
  return keeperNamespace(cfg.natsNamespace, cfg.keeperId);
}

export function redisPrefixOf(cfg: Pick<Config, 'natsNamespace' | 'keeperId' | 'redisPrefix'>): string {
  return cfg.redisPrefix ?? `whitepay:${namespaceOf(cfg)}:coord`;
}

export function queuePrefixOf(cfg: Pick<Config, 'natsNamespace' | 'keeperId' | 'queuePrefix'>): string {
  return queuePrefix(namespaceOf(cfg), cfg.queuePrefix);
}
