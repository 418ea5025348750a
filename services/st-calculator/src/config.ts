import {
  ConfigError,
  common,
  type DestinationStream,
  type Logger,
  parseConfig,
  secret,
  serviceConfigSchema,
  serviceLogger,
} from '@whitepay/base';
import { internalTokenConfigSchema } from '@whitepay/rpc';
import { storeConfigSchema } from '@whitepay/store/config';
import { z } from 'zod';

export const SERVICE = 'st-calculator';
export const CONFIG_PREFIX = 'ST_CALCULATOR';

const INT8_MAX = 9_223_372_036_854_775_807n;

/**
 * Every variable the st-calculator reads (prefix `ST_CALCULATOR_`). The
 * README's table is generated from this shape (`describeConfig`).
 */
export const configShape = {
  ...serviceConfigSchema,
  ...internalTokenConfigSchema,
  keeperId: common.keeperId,
  grpcHost: z.string().default('0.0.0.0').describe('address of the gRPC API'),
  grpcPort: z.coerce.number().int().min(0).max(65535).default(9090).describe('port of the gRPC API'),
  ...storeConfigSchema,
  databaseUrl: secret(
    storeConfigSchema.databaseUrl,
    "the challenge-store's PostgreSQL, read-only: a role with SELECT suffices (sessions are set read-only anyway)",
  ),
  statementTimeoutMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .describe('per-query timeout in ms (0: none)'),
  settleWaitMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(500)
    .describe(
      "before an own st, wait up to this long (ms) for the record due in the last 2 blocks before te to be ingested, and at most half of what the caller's deadline leaves; 0: do not wait",
    ),
  peerSettleWaitMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(2000)
    .describe(
      "before vouching (SPEC 3 item 5), wait up to this long (ms) for the peers' records of an interval's last challenged block to arrive through the broadcast, and at most half of what the caller's deadline leaves; a peer with no record in the interval is not waited for; 0: do not wait",
    ),
  challengeEvery: z.coerce
    .number()
    .int()
    .min(1)
    .default(1)
    .describe(
      "the challengers' cadence K in blocks (CHALLENGER_CHALLENGE_EVERY): the newest record before te is due at te - K or later",
    ),
  maxStaleness: z
    .string()
    .regex(/^[0-9]{1,19}$/, 'expected a decimal integer')
    .default('1000')
    .transform((v, ctx) => {
      const n = BigInt(v);
      if (n < 1n || n > INT8_MAX) {
        ctx.addIssue({ code: 'custom', message: 'must be in [1, 2^63)' });
        return z.NEVER;
      }
      return n;
    })
    .describe(
      'blocks after its own block that a record stops counting (SPEC 4); every keeper of a group must use the same value',
    ),
  engine: z
    .enum(['sql', 'core'])
    .default('sql')
    .describe(
      '`sql`: the integral computed in PostgreSQL (window function); `core`: records fetched and integrated by `spaceTime` of @whitepay/core (same result, a test proves it)',
    ),
  groupKeepers: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected id[,id…]')
    .optional()
    .transform((v) => (v ? [...new Set(v.split(',').map(Number))] : []))
    .describe('keeper ids of the group that AuditGroup reports even when they sent no record (idle)'),
  maxAuditKeepers: z.coerce
    .number()
    .int()
    .min(1)
    .default(256)
    .describe('most keeper ids one AuditGroup may name (ST_AUDIT_TOO_MANY_KEEPERS)'),
  maxIntervalBlocks: z.coerce
    .bigint()
    .min(1n)
    .default(1_000_000n)
    .describe('longest interval (te - ts) of one query or batch entry, in blocks (ST_INTERVAL_TOO_LONG)'),
  maxCallBlocks: z.coerce
    .bigint()
    .min(1n)
    .default(20_000_000n)
    .describe('most blocks one ComputeStBatch covers, summed over its entries (ST_CALL_TOO_LARGE)'),
  maxConcurrent: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "queries that run at once on this replica (default and most: DB_POOL_SIZE, so an admitted query never waits for a connection); beyond it calls wait in their client's queue and take free slots in turn",
    ),
  maxConcurrentPerClient: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'queries one client (the keeper its certificate names, else its IP address) runs at once (default: half of MAX_CONCURRENT, rounded up), so that one caller leaves slots to the others',
    ),
  maxQueuedPerClient: z.coerce
    .number()
    .int()
    .min(0)
    .default(16)
    .describe(
      "calls of one client that wait for a slot (until their deadline); one more is refused with RPC_BUSY. At least the coordinator's ST_CONCURRENCY (16) minus MAX_CONCURRENT_PER_CLIENT",
    ),
};

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseConfig(configShape, CONFIG_PREFIX, env);
  const maxConcurrent = cfg.maxConcurrent ?? cfg.dbPoolSize;
  if (maxConcurrent > cfg.dbPoolSize)
    throw new ConfigError(
      `invalid configuration: ${CONFIG_PREFIX}_MAX_CONCURRENT (${maxConcurrent}) exceeds ${CONFIG_PREFIX}_DB_POOL_SIZE (${cfg.dbPoolSize}): admitted queries would wait for a connection`,
      { problems: ['maxConcurrent'] },
    );
  return {
    ...cfg,
    maxConcurrent,
    maxConcurrentPerClient: cfg.maxConcurrentPerClient ?? Math.ceil(maxConcurrent / 2),
  };
}

/** The root logger of this service: its redaction comes from the `secret()` fields of `configShape`. */
export function createLog(config: Config, destination?: DestinationStream): Logger {
  return serviceLogger(
    { service: SERVICE, shape: configShape, config, base: { keeperId: config.keeperId } },
    destination,
  );
}
