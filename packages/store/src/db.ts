import type { ConnectionOptions } from 'node:tls';
import { type ClientTlsMaterial, ConfigError, type Logger } from '@whitepay/base';
import pg from 'pg';
import { fromPg } from './errors.js';

/** What every table module takes: a pool or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;
export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  url: string;
  log: Logger;
  /** CA bundle and client certificate (`databaseTlsOf`); the URL's `sslmode` says how they are used. */
  tls?: ClientTlsMaterial | undefined;
  max?: number;
  /** ms to wait for a connection before failing with `unavailable`. */
  connectTimeoutMs?: number;
  /** Per-statement timeout, ms (0: none). */
  statementTimeoutMs?: number;
  applicationName?: string;
}

/**
 * A pool whose idle-client errors (server restart, network loss) are logged
 * instead of crashing the process; the next query reconnects.
 */
export function createPool(opts: PoolOptions): pg.Pool {
  const log = opts.log.child({ component: 'pg' });
  const { connectionString, ssl } = pgConnection(opts.url, opts.tls);
  const pool = new pg.Pool({
    connectionString,
    ...(ssl !== undefined ? { ssl } : {}),
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'whitepay',
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle postgres client failed'));
  return pool;
}

/** libpq's `sslmode` values. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly string[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
/** URL parameters pg would otherwise read itself (files read by the driver, untyped errors): refused. */
const SSL_FILE_PARAMS = ['sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'ssl', 'uselibpqcompat'];

function tlsConfigError(problem: string): ConfigError {
  return new ConfigError(`invalid configuration: ${problem}`, { problems: [problem] });
}

/**
 * The pg connection of a URL and TLS material: the URL without its TLS
 * parameters (pg lets the string override `ssl`), and the `ssl` option its
 * `sslmode` means (see `storeConfigSchema`). A contradiction (a CA with
 * `sslmode=disable`) or a TLS parameter pg would read itself
 * (`sslrootcert=`: use `DATABASE_TLS_CA_FILE`) is a `ConfigError`.
 */
export function pgConnection(
  url: string,
  tls?: ClientTlsMaterial,
): { connectionString: string; ssl: false | ConnectionOptions | undefined; sslmode: SslMode | undefined } {
  const material = tls !== undefined && (tls.ca !== undefined || tls.cert !== undefined);
  // Nothing about TLS: the URL goes to pg untouched (its own parsing, PGSSLMODE).
  if (!material && !/[?&](sslmode|ssl|sslrootcert|sslcert|sslkey|sslpassword|uselibpqcompat)=/.test(url))
    return { connectionString: url, ssl: undefined, sslmode: undefined };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw tlsConfigError('DATABASE_URL: not a URL');
  }
  for (const p of SSL_FILE_PARAMS)
    if (u.searchParams.has(p))
      throw tlsConfigError(
        `DATABASE_URL: the ${p} parameter is not supported; use sslmode= and the DATABASE_TLS_*_FILE variables`,
      );
  const given = u.searchParams.get('sslmode');
  u.searchParams.delete('sslmode');
  if (given !== null && !SSL_MODES.includes(given))
    throw tlsConfigError(`DATABASE_URL: sslmode=${given} is not one of ${SSL_MODES.join(', ')}`);
  const hasCa = tls?.ca !== undefined;
  let mode = (given ?? (material ? 'verify-full' : 'disable')) as SslMode;
  if (material && (mode === 'disable' || mode === 'allow' || mode === 'prefer'))
    throw tlsConfigError(
      `DATABASE_URL: sslmode=${mode} may connect in plaintext while DATABASE_TLS_* files are set (use require, verify-ca or verify-full)`,
    );
  // libpq: `require` with a root CA verifies the chain (verify-ca).
  if (mode === 'require' && hasCa) mode = 'verify-ca';
  const connectionString = u.toString();
  if (mode === 'disable' || mode === 'allow') return { connectionString, ssl: false, sslmode: mode };
  const client = {
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
  };
  if (mode === 'prefer' || mode === 'require')
    return { connectionString, ssl: { ...client, rejectUnauthorized: false }, sslmode: mode };
  const ssl: ConnectionOptions = { ...client, ...(tls?.ca ? { ca: tls.ca } : {}), rejectUnauthorized: true };
  if (mode === 'verify-ca') ssl.checkServerIdentity = () => undefined;
  return { connectionString, ssl, sslmode: mode };
}

/** Runs one statement, mapping failures to StoreError. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: Queryable,
  op: string,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(text, values);
  } catch (err) {
    throw fromPg(err, op);
  }
}

/**
 * Runs `fn` in one transaction on a dedicated client: COMMIT on success,
 * ROLLBACK on failure. A client whose connection broke is discarded, not
 * returned to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  op: string,
  fn: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw fromPg(err, op);
  }
  let broken: unknown;
  // A connection lost between statements is emitted on the client: without a
  // listener it would crash the process. The next statement fails anyway.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    broken = err;
    try {
      await client.query('ROLLBACK');
      broken = undefined;
    } catch {
      // the connection is gone; release(err) below destroys it
    }
    throw fromPg(err, op);
  } finally {
    client.off('error', onError);
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** Readiness: the database answers a round trip. */
export async function ping(pool: pg.Pool): Promise<void> {
  await query(pool, 'ping', 'SELECT 1');
}

/** Closes the pool; errors while closing are ignored. */
export async function closePool(pool: pg.Pool): Promise<void> {
  try {
    await pool.end();
  } catch {
    // already closed
  }
}
