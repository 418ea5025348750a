import {
  type ClientTlsMaterial,
  ConfigError,
  isTlsHandshakeError,
  readClientTls,
  TlsError,
  WhitePayError,
} from '@whitepay/base';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';

/**
 * The Redis piece of a service's config, spread into its shape and read under
 * its prefix (`CHAIN_SUBMITTER_REDIS_URL`). Credentials in the URL
 * (`redis://user:pass@host`) are hidden from logs.
 *
 * TLS: a `rediss://` URL. The server's certificate must chain to
 * `REDIS_TLS_CA_FILE` (else the system trust store) and name the URL's host;
 * `REDIS_TLS_CERT_FILE` and `REDIS_TLS_KEY_FILE` present a client certificate
 * (a server with `tls-auth-clients yes`). A `REDIS_TLS_*` file with a
 * `redis://` URL is a config error, not a silent plaintext connection.
 */
export const redisConfigSchema = {
  redisUrl: z
    .string()
    .url()
    .refine((u) => /^rediss?:\/\//.test(u), 'expected a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379')
    .describe('Redis URL (`redis://[user:password@]host:port[/db]`; `rediss://` for TLS)'),
  redisTlsCaFile: z
    .string()
    .optional()
    .describe(
      "PEM bundle of the CAs the Redis server's certificate must chain to (`rediss://` only); unset: the system trust store",
    ),
  redisTlsCertFile: z
    .string()
    .optional()
    .describe('PEM client certificate presented to Redis (mutual TLS); with `REDIS_TLS_KEY_FILE`'),
  redisTlsKeyFile: z.string().optional().describe('PEM private key of `REDIS_TLS_CERT_FILE`'),
  redisPrefix: z
    .string()
    .optional()
    .describe('prefix of every Redis key this service writes; unset means `whitepay:<namespace>:<service>`'),
  queuePrefix: z
    .string()
    .optional()
    .describe(
      'BullMQ key prefix, shared by the coordinator and the chain-submitter; unset means `whitepay:<namespace>:bull`',
    ),
};

export interface RedisConfig {
  redisUrl: string;
  redisTlsCaFile?: string | undefined;
  redisTlsCertFile?: string | undefined;
  redisTlsKeyFile?: string | undefined;
}

/**
 * The TLS of a Redis config: material read from its files (`TLS_FILE_INVALID`
 * when one cannot be read), `{}` for `rediss://` without files (the system
 * trust store), undefined for plaintext; files with a `redis://` URL are a
 * `ConfigError`.
 */
export function redisTlsOf(cfg: RedisConfig, prefix = ''): ClientTlsMaterial | undefined {
  const v = (name: string) => (prefix ? `${prefix}_${name}` : name);
  const material = readClientTls(
    { caFile: cfg.redisTlsCaFile, certFile: cfg.redisTlsCertFile, keyFile: cfg.redisTlsKeyFile },
    { ca: v('REDIS_TLS_CA_FILE'), cert: v('REDIS_TLS_CERT_FILE'), key: v('REDIS_TLS_KEY_FILE') },
  );
  const tls = cfg.redisUrl.startsWith('rediss://');
  if (material && !tls) {
    const problem = `${v('REDIS_URL')}: redis:// is plaintext while ${v('REDIS_TLS_*')} files are set (use rediss://)`;
    throw new ConfigError(`invalid configuration: ${problem}`, { problems: [problem] });
  }
  return tls ? (material ?? {}) : undefined;
}

/**
 * The one way a service connects to Redis: at most 3 retries per command,
 * then the command fails. BullMQ queues and workers take `duplicate()`s of
 * this client, which keep its TLS. `prefix` names the variables in errors.
 */
export function createRedis(cfg: RedisConfig, prefix = ''): Redis {
  const tls = redisTlsOf(cfg, prefix);
  return new Redis(cfg.redisUrl, { maxRetriesPerRequest: 3, ...(tls ? { tls: redisTlsOptions(tls) } : {}) });
}

/** ioredis `tls` options (node `tls.connect`): the host name is checked against the server certificate. */
export function redisTlsOptions(tls: ClientTlsMaterial): NonNullable<RedisOptions['tls']> {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
  };
}

/**
 * Waits until `redis` is ready (start and readiness), failing typed: a TLS
 * handshake this client or the server refuses is `REDIS_TLS_REFUSED` at once
 * (retrying cannot cure it), no answer within `timeoutMs` is
 * `REDIS_UNAVAILABLE`.
 */
export async function redisReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let last: unknown;
    const done = (err?: unknown) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onReady = () => done();
    const onError = (err: unknown) => {
      last = err;
      if (isTlsHandshakeError(err))
        done(
          new TlsError('REDIS_TLS_REFUSED', `TLS with Redis refused: ${(err as Error).message}`, {
            kind: 'failed_precondition',
            cause: err,
          }),
        );
    };
    const timer = setTimeout(
      () =>
        done(
          new WhitePayError(
            'REDIS_UNAVAILABLE',
            `Redis not ready after ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no answer'}`,
            {
              kind: 'unavailable',
              cause: last,
            },
          ),
        ),
      timeoutMs,
    );
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
