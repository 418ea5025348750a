import {
  common,
  type DestinationStream,
  type Logger,
  parseConfig,
  secret,
  serviceConfigSchema,
  serviceLogger,
} from '@whitepay/base';
import { keeperNamespace, natsConfigSchema, queuePrefix } from '@whitepay/bus';
import { chainConfigSchema } from '@whitepay/chain';
import { accountKeyConfigSchema } from '@whitepay/ecdsa';
import { redisConfigSchema } from '@whitepay/redis';
import { z } from 'zod';

export const SERVICE = 'chain-submitter';
export const CONFIG_PREFIX = 'CHAIN_SUBMITTER';

const _hex32 = /^0x[0-9a-fA-F]{64}$/;
const address = /^0x[0-9a-fA-F]{40}$/;

/**
 * Every variable the chain-submitter reads (prefix `CHAIN_SUBMITTER_`): the
 * pieces of the packages that own each connection, then its own. The README's
 * table is generated from this shape (`describeConfig`).
 */
export const configShape = {
  ...serviceConfigSchema,
  keeperId: common.keeperId,
  ...natsConfigSchema,
  ...redisConfigSchema,
  ...chainConfigSchema,
  // The transaction key: hex (env or _FILE), a V3 keystore, or a remote signer (exactly one; src/signer.ts).
  ...accountKeyConfigSchema,
  signerUrl: z
    .string()
    .url()
    .optional()
    .describe(
      'JSON-RPC endpoint of a remote signer holding the transaction key (eth_signTransaction, e.g. Web3Signer eth1 mode); instead of PRIVATE_KEY / KEYSTORE_FILE',
    ),
  signerAddress: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address')
    .optional()
    .describe('the account the remote signer signs for (every signature is checked against it)'),
  signerToken: secret(z.string().min(1).optional(), 'bearer token of the remote signer, if it requires one'),
  confirmations: z.coerce
    .number()
    .int()
    .min(0)
    .default(2)
    .describe('blocks on top of a block before it is published / a receipt is final (0 on a devnet)'),
  pollIntervalMs: z.coerce.number().int().positive().default(1000).describe('chain head polling interval'),
  reorgWindow: z.coerce
    .number()
    .int()
    .min(2)
    .default(128)
    .describe('published headers kept to find the common ancestor of a reorganisation'),
  startBlock: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('first block to publish when no cursor is stored; unset means the current confirmed head'),
  maxBlocksPerTick: z.coerce
    .number()
    .int()
    .positive()
    .default(500)
    .describe('blocks fetched per polling tick when catching up'),
  factoryAddress: z
    .string()
    .regex(address, 'expected a 0x-prefixed address')
    .optional()
    .describe('UpkeepingFactory address; unset disables discovery'),
  factoryFromBlock: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('block the factory was deployed at (discovery starts there)'),
  logChunkBlocks: z.coerce
    .number()
    .int()
    .positive()
    .default(5000)
    .describe('blocks per eth_getLogs request during discovery'),
  lockTtlMs: z.coerce
    .number()
    .int()
    .min(1000)
    .default(15_000)
    .describe('TTL of the per-account sender lock; a standby replica takes over after it expires'),
  bumpAfterBlocks: z.coerce
    .number()
    .int()
    .positive()
    .default(3)
    .describe('blocks a sent transaction may stay unmined before its fees are bumped'),
  feeBumpBps: z.coerce
    .number()
    .int()
    .min(1125)
    .default(1250)
    .describe('fee increase of a replacement transaction, in basis points (1250 = +12.5%)'),
  maxFeePerGasWei: z
    .string()
    .regex(/^\d+$/)
    .optional()
    .describe('cap on maxFeePerGas in wei; unset means no cap'),
  gasLimitMarginBps: z.coerce
    .number()
    .int()
    .min(0)
    .default(2000)
    .describe('margin added to estimateGas, in basis points'),
  rpcRetries: z.coerce.number().int().min(0).default(5).describe('retries of a transient RPC error'),
  paymentsKept: z.coerce
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('recent payment results kept for GET /v1/payments'),
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

export function redisPrefixOf(cfg: Pick<Config, 'natsNamespace' | 'keeperId' | 'redisPrefix'>): string {
  return cfg.redisPrefix ?? `whitepay:${namespaceOf(cfg)}:chain`;
}

/** BullMQ prefix: per keeper namespace, so keepers sharing one Redis (the local network) keep apart queues. */
export function queuePrefixOf(cfg: Pick<Config, 'natsNamespace' | 'keeperId' | 'queuePrefix'>): string {
  return queuePrefix(namespaceOf(cfg), cfg.queuePrefix);
}
