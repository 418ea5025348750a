import { readFileSync } from 'node:fs';
import { type ClientTlsMaterial, ConfigError, readClientTls, secret } from '@whitepay/base';
import { z } from 'zod';

/** The keeper's JetStream streams, by the name their limits are configured under. */
export const STREAM_KINDS = [
  'records',
  'peer-out',
  'blocks',
  'payments',
  'reorgs',
  'challenge-tasks',
] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

export interface StreamLimit {
  maxBytes: number;
  maxAgeSeconds: number;
}
export type StreamLimits = Record<StreamKind, StreamLimit>;

const MiB = 1024 * 1024;
const DAY = 24 * 3600;

/**
 * Default caps. A record is needed in its stream only until the
 * challenge-store has it (and a peer-out record until the forwarder sent it),
 * so these are outage buffers: ~310 MB per 80 minutes with 3 providers
 * (issue 20) makes the 1 GiB records stream about 4 hours of a stopped
 * challenge-store. JetStream reserves every stream's byte cap against the
 * server's `max_file_store` when it creates the stream, so the caps of every
 * keeper sharing a server must fit it (~1.9 GiB per keeper with these).
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  records: { maxBytes: 1024 * MiB, maxAgeSeconds: 7 * DAY },
  'peer-out': { maxBytes: 512 * MiB, maxAgeSeconds: DAY },
  blocks: { maxBytes: 64 * MiB, maxAgeSeconds: DAY },
  payments: { maxBytes: 64 * MiB, maxAgeSeconds: 30 * DAY },
  reorgs: { maxBytes: 16 * MiB, maxAgeSeconds: 30 * DAY },
  'challenge-tasks': { maxBytes: 256 * MiB, maxAgeSeconds: DAY },
};

function defaultsText(field: keyof StreamLimit): string {
  return STREAM_KINDS.map((k) => `${k}=${DEFAULT_STREAM_LIMITS[k][field]}`).join(', ');
}

function streamLimitMap(unit: string) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const out: Partial<Record<StreamKind, number>> = {};
      for (const entry of (raw ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)) {
        const [name, value] = entry.split('=').map((p) => p.trim());
        if (!STREAM_KINDS.includes(name as StreamKind) || !value || !/^[1-9][0-9]{0,15}$/.test(value)) {
          ctx.addIssue({
            code: 'custom',
            message: `bad entry "${entry}" (want name=${unit} with name one of ${STREAM_KINDS.join(', ')})`,
          });
          return z.NEVER;
        }
        out[name as StreamKind] = Number(value);
      }
      return out;
    });
}

/**
 * The NATS piece of a service's config (dYdX's `...kafkaConfigSchema`): spread
 * into the service's shape, read under its prefix (`CHALLENGER_NATS_URL`).
 * Credentials in the URL (`nats://user:pass@host`) are hidden from logs.
 *
 * TLS is on when the URL is `tls://…` or any `NATS_TLS_*` file is set; the
 * server's certificate must then chain to `NATS_TLS_CA_FILE` (else the system
 * trust store) and name the URL's host. `NATS_TLS_CERT_FILE` and
 * `NATS_TLS_KEY_FILE` present a client certificate (servers with
 * `verify: true`). At most one kind of credentials: user and password (in
 * the URL or `NATS_USER` + `NATS_PASSWORD[_FILE]`), a token
 * (`NATS_TOKEN[_FILE]`), or a creds file (JWT and NKey seed, `NATS_CREDS_FILE`).
 */
export const natsConfigSchema = {
  natsUrl: z
    .string()
    .url()
    .refine((u) => /^(nats|tls):\/\//.test(u), 'expected a nats:// or tls:// URL')
    .default('nats://127.0.0.1:4222')
    .describe('NATS server URL (`nats://[user:password@]host:port`; `tls://host:port` requires TLS)'),
  natsNamespace: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .describe('NATS subject namespace of this keeper; unset means `k<keeperId>`'),
  natsTlsCaFile: z
    .string()
    .optional()
    .describe(
      "PEM bundle of the CAs the NATS server's certificate must chain to (turns TLS on); unset: the system trust store",
    ),
  natsTlsCertFile: z
    .string()
    .optional()
    .describe('PEM client certificate presented to NATS (mutual TLS); with `NATS_TLS_KEY_FILE`'),
  natsTlsKeyFile: z.string().optional().describe('PEM private key of `NATS_TLS_CERT_FILE`'),
  natsUser: z.string().min(1).optional().describe('NATS user (with `NATS_PASSWORD`); or in the URL'),
  natsPassword: secret(z.string().min(1).optional(), 'password of `NATS_USER`'),
  natsToken: secret(z.string().min(1).optional(), 'NATS authentication token'),
  natsCredsFile: z
    .string()
    .optional()
    .describe('NATS credentials file (user JWT and NKey seed, from `nsc`): decentralised auth'),
  natsSigningKey: secret(
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte hex key')
      .optional(),
    "secp256k1 key that signs this keeper's state-changing bus messages (records, tasks, blocks, submit requests); unset: the service's account key. Every service of a keeper must use the same one",
  ),
  natsMacKey: secret(
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 32 bytes of 0x-prefixed hex')
      .optional(),
    "HMAC-SHA256 key of this keeper's data plane, shared by its challenger and challenge-store only: with it the challenger MACs records and tasks instead of signing them (~50x cheaper; a challenge-store replica checks ~0.12 ms of signature per record otherwise) and the challenge-store accepts the MAC; unset: signatures only",
  ),
  natsSigner: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address')
    .optional()
    .describe(
      "address of this keeper's bus key: a signed bus message by any other key is refused; unset: the address of this service's own bus key (the challenge-store: its own entry of PEER_KEEPERS)",
    ),
  natsStreamMaxBytes: streamLimitMap('bytes').describe(
    `byte cap of each JetStream stream, \`name=bytes,…\` over the defaults (${defaultsText('maxBytes')}); the oldest messages go first (the task queue refuses new ones)`,
  ),
  natsStreamMaxAgeSeconds: streamLimitMap('seconds').describe(
    `age cap of each JetStream stream, \`name=seconds,…\` over the defaults (${defaultsText('maxAgeSeconds')})`,
  ),
};

/** The limits of every stream: the defaults, overridden by the config's maps. */
export function streamLimitsOf(config: {
  natsStreamMaxBytes?: Partial<Record<StreamKind, number>> | undefined;
  natsStreamMaxAgeSeconds?: Partial<Record<StreamKind, number>> | undefined;
}): StreamLimits {
  const out = {} as StreamLimits;
  for (const k of STREAM_KINDS)
    out[k] = {
      maxBytes: config.natsStreamMaxBytes?.[k] ?? DEFAULT_STREAM_LIMITS[k].maxBytes,
      maxAgeSeconds: config.natsStreamMaxAgeSeconds?.[k] ?? DEFAULT_STREAM_LIMITS[k].maxAgeSeconds,
    };
  return out;
}

export interface NatsConfig {
  natsUrl: string;
  natsTlsCaFile?: string | undefined;
  natsTlsCertFile?: string | undefined;
  natsTlsKeyFile?: string | undefined;
  natsUser?: string | undefined;
  natsPassword?: string | undefined;
  natsToken?: string | undefined;
  natsCredsFile?: string | undefined;
}

/** How to authenticate to NATS, when not by the URL's userinfo. */
export type NatsAuth =
  | { kind: 'password'; user: string; password: string }
  | { kind: 'token'; token: string }
  | { kind: 'creds'; creds: Uint8Array };

/** What `connectBus` needs besides a name and a logger. */
export interface NatsEndpoint {
  url: string;
  /** TLS required (with this material; `{}`: the system trust store), or undefined for plaintext. */
  tls?: ClientTlsMaterial | undefined;
  auth?: NatsAuth | undefined;
}

/**
 * The NATS connection of a config: TLS material read from its files (a
 * missing or unreadable file is a `TLS_FILE_INVALID`), credentials checked
 * for contradictions (a `ConfigError` naming the variables).
 */
export function natsEndpointOf(config: NatsConfig, prefix: string): NatsEndpoint {
  const v = (name: string) => (prefix ? `${prefix}_${name}` : name);
  const problems: string[] = [];
  const url = new URL(config.natsUrl);
  const inUrl = url.username !== '' || url.password !== '';
  const kinds = [
    inUrl && 'credentials in NATS_URL',
    (config.natsUser !== undefined || config.natsPassword !== undefined) && 'NATS_USER/NATS_PASSWORD',
    config.natsToken !== undefined && 'NATS_TOKEN',
    config.natsCredsFile !== undefined && config.natsCredsFile !== '' && 'NATS_CREDS_FILE',
  ].filter((k): k is string => typeof k === 'string');
  if (kinds.length > 1)
    problems.push(`${v('NATS_*')}: one kind of NATS credentials, not ${kinds.join(' and ')}`);
  if ((config.natsUser === undefined) !== (config.natsPassword === undefined))
    problems.push(
      `${v(config.natsUser === undefined ? 'NATS_USER' : 'NATS_PASSWORD')}: unset while the other is set`,
    );
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  const material = readClientTls(
    { caFile: config.natsTlsCaFile, certFile: config.natsTlsCertFile, keyFile: config.natsTlsKeyFile },
    { ca: v('NATS_TLS_CA_FILE'), cert: v('NATS_TLS_CERT_FILE'), key: v('NATS_TLS_KEY_FILE') },
  );
  const tls = material ?? (url.protocol === 'tls:' ? {} : undefined);
  let auth: NatsAuth | undefined;
  if (config.natsUser !== undefined && config.natsPassword !== undefined)
    auth = { kind: 'password', user: config.natsUser, password: config.natsPassword };
  else if (config.natsToken !== undefined) auth = { kind: 'token', token: config.natsToken };
  else if (config.natsCredsFile)
    auth = { kind: 'creds', creds: readCreds(config.natsCredsFile, v('NATS_CREDS_FILE')) };
  return { url: config.natsUrl, ...(tls ? { tls } : {}), ...(auth ? { auth } : {}) };
}

/** A creds file: a user JWT and an NKey seed between their `-----BEGIN … -----` lines. */
function readCreds(path: string, variable: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw credsError(path, variable, (err as NodeJS.ErrnoException).code ?? 'error');
  }
  if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text))
    throw credsError(path, variable, 'not a NATS creds file (a user JWT and an NKey seed)');
  return new TextEncoder().encode(text);
}

function credsError(path: string, variable: string, reason: string): ConfigError {
  const problem = `${variable}: cannot read the NATS credentials ${path}: ${reason}`;
  return new ConfigError(`invalid configuration: ${problem}`, { problems: [problem] });
}
