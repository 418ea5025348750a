import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@whitepay/base';
import type pg from 'pg';
import { fromPg, StoreError } from './errors.js';

/** The migrations shipped with this package (`packages/store/migrations`). */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

/** Session advisory lock held while migrating: replicas starting together migrate once. */
const MIGRATE_LOCK = 0x57_48_49_54_45_50_41_59n; // "WHITEPAY"

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const out: Migration[] = [];
  for (const f of files) {
    const sql = await readFile(join(dir, f), 'utf8');
    out.push({
      version: Number(f.slice(0, 4)),
      name: f.slice(5, -4),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return out;
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in
 * its own transaction, under a session advisory lock so that several replicas
 * (or the Helm hook Job and a replica) starting at once apply each exactly
 * once. An applied migration whose file changed is refused (checksum).
 */
export async function migrate(
  pool: pg.Pool,
  opts: { log?: Logger; dir?: string } = {},
): Promise<MigrateResult> {
  const migrations = await loadMigrations(opts.dir);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw fromPg(err, 'migrate');
  }
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK.toString()]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Map<number, string>();
      for (const r of (
        await client.query<{ version: number; checksum: string }>(
          'SELECT version, checksum FROM schema_migrations',
        )
      ).rows)
        done.set(r.version, r.checksum);
      const applied: string[] = [];
      for (const m of migrations) {
        const prior = done.get(m.version);
        if (prior !== undefined) {
          if (prior !== m.checksum)
            throw new StoreError(
              'STORE_MIGRATION_CHANGED',
              `migration ${m.version}_${m.name} changed after it was applied`,
              {
                kind: 'failed_precondition',
                details: { version: m.version },
              },
            );
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            m.checksum,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        opts.log?.info({ version: m.version, name: m.name }, 'migration applied');
        applied.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
      }
      return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK.toString()]).catch(() => undefined);
    }
  } catch (err) {
    if (!(err instanceof StoreError)) broken = err instanceof Error ? err : undefined;
    throw fromPg(err, 'migrate');
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
