import type { Logger } from '@whitepay/base';
import pg from 'pg';
import { fromPg } from './errors.js';

/** What every table module takes: a pool or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;
export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  url: string;
  log: Logger;
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
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'whitepay',
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle postgres client failed'));
  return pool;
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
