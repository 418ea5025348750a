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
import { keeperNamespace, natsConfigSchema } from '@whitepay/bus';
import { chainConfigSchema } from '@whitepay/chain';
import { internalTokenConfigSchema } from '@whitepay/rpc';
import { z } from 'zod';

export const SERVICE = 'challenger';
export const PREFIX = 'CHALLENGER';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * `0xpid=host:port,0xpid=host:port` → `{ pid: 'host:port' }` (pids lower-cased);
 * `*=host:port` is the address of every pid not listed (a multi-tenant provider node).
 */
const providerMap = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const out: Record<string, string> = {};
    for (const entry of raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [pid, addr] = entry.split('=').map((p) => p.trim());
      if (!pid || !(pid === '*' || ADDRESS.test(pid)) || !addr || !/^[^\s:]+:\d{1,5}$/.test(addr)) {
        ctx.addIssue({
          code: 'custom',
          message: `bad provider entry "${entry}" (want 0xpid=host:port or *=host:port)`,
        });
        return z.NEVER;
      }
      out[pid.toLowerCase()] = addr;
    }
    return out;
  })
  .describe(
    'provider gRPC addresses: comma-separated 0xpid=host:port; *=host:port for every pid not listed (a multi-tenant node)',
  );

/**
 * Every variable the challenger reads (prefix `CHALLENGER_`): the pieces of the
 * packages that own each connection, then its own; the README table is
 * generated from it.
 */
export const configShape = {
  ...serviceConfigSchema,
  ...internalTokenConfigSchema,
  keeperId: common.keeperId,
  ...natsConfigSchema,
  // This keeper's own chain node: every block header from `<ns>.blocks` is checked against it.
  ...chainConfigSchema,
  storeGrpcUrl: z.string().min(1).describe('challenge-store gRPC address (host:port): the piece registry'),
  storeDeadlineMs: z.coerce
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe('deadline of registry calls (ms)'),
  providers: providerMap,
  deadlineMs: z.coerce
    .number()
    .int()
    .positive()
    .default(2_000)
    .describe('deadline of a provider Challenge call (ms); later answers are TIMEOUT records'),
  leavesPerPiece: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(2)
    .describe('leaf indices drawn per piece per challenge'),
  challengeEvery: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1)
    .describe(
      'cadence K in blocks: each (user, pid) is challenged once every K blocks, at b where (uint(keccak256(user ‖ pid)) + b) mod K == 0; the group maxStaleness must be >= K',
    ),
  taskPiecesMax: z.coerce
    .number()
    .int()
    .min(0)
    .max(1024)
    .default(64)
    .describe(
      'the fan-out reads the pieces of a block in bulk (ListPiecesBulk) and puts them in the task when an account has at most this many; 0: every task reads its own',
    ),
  publishWindow: z.coerce
    .number()
    .int()
    .min(1)
    .max(65_536)
    .default(1024)
    .describe('task publishes of the fan-out awaiting their JetStream ack at once'),
  concurrency: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(32)
    .describe('challenges in flight per replica'),
  ackWaitMs: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe(
      'JetStream ack wait of blocks and tasks: an unacked message is redelivered after it (> 2 × deadlineMs)',
    ),
  blocksStart: z
    .enum(['new', 'all'])
    .default('new')
    .describe('where the shared blocks consumer starts when first created: new blocks only, or all kept'),
  keeperPrivateKey: secret(
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/)
      .optional(),
    "keeper secp256k1 account key (the address registered in Upkeeping); signs records for peers and, unless NATS_SIGNING_KEY is set, the bus messages (records, tasks) and checks the chain-submitter's block headers; required unless KEEPER_KEYSTORE_FILE or NATS_SIGNING_KEY",
  ),
  keeperKeystoreFile: z
    .string()
    .optional()
    .describe(
      'V3 keystore of the keeper account key instead of KEEPER_PRIVATE_KEY (`whitepay keeper keygen --account` writes one); decrypted once at start',
    ),
  keeperKeystorePasswordFile: z.string().optional().describe("file holding the keeper keystore's passphrase"),
};

export type ChallengerConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const cfg = parseConfig(configShape, PREFIX, env);
  if (cfg.ackWaitMs <= 2 * cfg.deadlineMs) {
    throw new ConfigError(
      `invalid configuration: ${PREFIX}_ACK_WAIT_MS must exceed 2 × ${PREFIX}_DEADLINE_MS`,
      {
        problems: ['ackWaitMs'],
      },
    );
  }
  const { natsNamespace, ...rest } = cfg;
  return { ...rest, namespace: keeperNamespace(natsNamespace, cfg.keeperId) };
}

/** The root logger of this service: its redaction comes from the `secret()` fields of `configShape`. */
export function createLog(config: ChallengerConfig, destination?: DestinationStream): Logger {
  return serviceLogger(
    { service: SERVICE, shape: configShape, config, base: { keeperId: config.keeperId } },
    destination,
  );
}
