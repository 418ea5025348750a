import { readFileSync } from 'node:fs';
import { type ClientTlsMaterial, ConfigError, readClientTls, secret } from '@whitepay/base';
import { z } from 'zod';

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
};

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
