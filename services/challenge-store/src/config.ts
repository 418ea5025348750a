import {
  common,
  type DestinationStream,
  type Logger,
  parseConfig,
  serviceConfigSchema,
  serviceLogger,
} from '@whitepay/base';
import { keeperNamespace, natsConfigSchema } from '@whitepay/bus';
import { internalTokenConfigSchema } from '@whitepay/rpc';
import { storeConfigSchema } from '@whitepay/store/config';
import { z } from 'zod';

export const SERVICE = 'challenge-store';
export const CONFIG_PREFIX = 'CHALLENGE_STORE';

/**
 * Every variable the challenge-store reads (prefix `CHALLENGE_STORE_`). The
 * README's table is generated from this shape (`describeConfig`).
 */
export const configShape = {
  ...serviceConfigSchema,
  ...internalTokenConfigSchema,
  keeperId: common.keeperId,
  grpcHost: z.string().default('0.0.0.0').describe('address of the gRPC API'),
  grpcPort: z.coerce.number().int().min(0).max(65535).default(9090).describe('port of the gRPC API'),
  grpcMaxPageBytes: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(16 * 1024 * 1024)
    .default(2 * 1024 * 1024)
    .describe(
      'QueryRecords ends a page before its records exceed this many bytes (the page token continues it), so a page always fits the 16 MiB message limit of the callers',
    ),
  ...storeConfigSchema,
  migrate: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe('apply migrations at start (safe with several replicas; the Helm hook Job also runs them)'),
  ...natsConfigSchema,
  consumerName: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('challenge-store')
    .describe('durable JetStream consumer shared by the replicas'),
  batchMax: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(1000)
    .describe('records written per transaction, at most'),
  batchWaitMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(5)
    .describe('how long a partial batch waits for more records before it is written'),
  writers: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe(
      'batches written concurrently, each in its own transaction on its own pooled connection (keep below `DB_POOL_SIZE`, which the queries share)',
    ),
  pipelineDepth: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe(
      'sealed batches that wait for a free writer while the consumer fills the next one; the consumer pauses when this many wait. `MAX_ACK_PENDING` should exceed (`WRITERS` + `PIPELINE_DEPTH` + 1) × `BATCH_MAX`',
    ),
  maxAckPending: z.coerce
    .number()
    .int()
    .positive()
    .default(20_000)
    .describe('unacknowledged records the server hands this consumer at most'),
  ackWaitMs: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30_000)
    .describe('redelivery delay of an unacknowledged record'),
  lagPollMs: z.coerce.number().int().positive().default(2000).describe('interval of the ingest-lag metrics'),
  peerKeepers: z
    .string()
    .regex(/^(\d+=0x[0-9a-fA-F]{40})(,\d+=0x[0-9a-fA-F]{40})*$/, 'expected id=0xaddress[,id=0xaddress…]')
    .optional()
    .describe(
      'keepers of the group as `id=0xaddress,…` (peer records are verified against them); unset refuses peer records',
    ),
};

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return parseConfig(configShape, CONFIG_PREFIX, env);
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

/** `1=0xabc,2=0xdef` → Map(1 → 0xabc, …). */
export function parsePeerKeepers(v: string | undefined): Map<number, `0x${string}`> {
  const out = new Map<number, `0x${string}`>();
  if (!v) return out;
  for (const part of v.split(',')) {
    const [id, addr] = part.split('=');
    out.set(Number(id), addr!.toLowerCase() as `0x${string}`);
  }
  return out;
}
