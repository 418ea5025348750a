import {
  type DestinationStream,
  type Logger,
  parseConfig,
  serviceConfigSchema,
  serviceLogger,
} from '@whitepay/base';
import { DEFAULT_LEAF_SIZE } from '@whitepay/challenge';
import { z } from 'zod';

export const SERVICE = 'provider';
export const PREFIX = 'PROVIDER';

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address')
  .transform((a) => a.toLowerCase() as `0x${string}`);

/** `0xa,0xb,…` → lower-cased addresses. */
const addressList = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const out: `0x${string}`[] = [];
    for (const a of raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      if (!/^0x[0-9a-fA-F]{40}$/.test(a)) {
        ctx.addIssue({ code: 'custom', message: `bad provider address "${a}"` });
        return z.NEVER;
      }
      out.push(a.toLowerCase() as `0x${string}`);
    }
    return out;
  });

export const configShape = {
  dataDir: z.string().min(1).describe('directory holding the pieces (data, Merkle levels, metadata)'),
  address: address
    .optional()
    .describe('this provider id (payout address); when set, challenges for another pid are refused'),
  addresses: addressList.describe(
    'more provider ids served by this node (comma-separated; multi-tenant); with neither this nor PROVIDER_ADDRESS set, any pid is served',
  ),
  grpcHost: z.string().default('0.0.0.0').describe('address of the gRPC ProviderService'),
  grpcPort: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(7070)
    .describe('port of the gRPC ProviderService'),
  ...serviceConfigSchema,
  defaultLeafSize: z.coerce
    .number()
    .int()
    .default(DEFAULT_LEAF_SIZE)
    .describe('leaf size in bytes for pieces stored without one'),
  maxPieceBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(48 * 1024 * 1024)
    .describe('largest piece accepted by PutPiece (gRPC messages are capped at 64 MiB)'),
  maxLeavesPerChallenge: z.coerce
    .number()
    .int()
    .positive()
    .default(65_536)
    .describe('most leaves one Challenge may ask for'),
  maxOpenFiles: z.coerce
    .number()
    .int()
    .min(2)
    .default(256)
    .describe('files kept open for answering challenges (LRU; two per recently challenged piece)'),
  faultMode: z
    .enum(['none', 'offline', 'slow'])
    .default('none')
    .describe('fault injected at start: offline refuses challenges, slow delays answers by faultDelayMs'),
  faultDelayMs: z.coerce.number().int().min(0).default(30_000).describe('delay of the slow fault mode (ms)'),
};

export type ProviderConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseConfig(configShape, PREFIX, env);
  const served = new Set<`0x${string}`>(cfg.addresses);
  if (cfg.address) served.add(cfg.address);
  /** The pids this node answers for; empty: any pid. */
  return { ...cfg, served: [...served] };
}

/** The root logger of this service: its redaction comes from the `secret()` fields of `configShape`. */
export function createLog(config: ProviderConfig, destination?: DestinationStream): Logger {
  return serviceLogger(
    { service: SERVICE, shape: configShape, config, base: { pid: config.address } },
    destination,
  );
}
