import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePool, createPool, query } from './db.js';
import { StoreError } from './errors.js';
import { loadMigrations, migrate } from './migrate.js';

describe('migrate on a real PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a statement past its timeout is STORE_TIMEOUT (deadline_exceeded), not an internal error', async () => {
    const pool = createPool({
      url: await server.createDatabase('t1'),
      log: silentLogger(),
      statementTimeoutMs: 50,
    });
    await expect(query(pool, 'sleep', 'SELECT pg_sleep(2)')).rejects.toMatchObject({
      code: 'STORE_TIMEOUT',
      kind: 'deadline_exceeded',
      details: { op: 'sleep', pgCode: '57014' },
    });
    await closePool(pool);
  });

  it('applies every migration once and is idempotent', async () => {
    const pool = createPool({ url: await server.createDatabase('m1'), log: silentLogger() });
    const all = await loadMigrations();
    const first = await migrate(pool);
    expect(first.applied).toHaveLength(all.length);
    expect(first.current).toBe(all[all.length - 1]!.version);
    const second = await migrate(pool);
    expect(second.applied).toEqual([]);
    const rows = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
    // The keeper's tables: 0004 dropped commitments and payments_seen, which no service wrote.
    const tables = await pool.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '%\\_default' ESCAPE '\\' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.t)).toEqual([
      'challenge_records',
      'peer_records',
      'piece_requests',
      'pieces',
      'schema_migrations',
    ]);
    await closePool(pool);
  });

  it('is safe with several replicas migrating at once', async () => {
    const url = await server.createDatabase('m2');
    const pools = Array.from({ length: 6 }, () => createPool({ url, log: silentLogger(), max: 2 }));
    const results = await Promise.all(pools.map((p) => migrate(p)));
    const applied = results.flatMap((r) => r.applied);
    const all = await loadMigrations();
    // each migration applied by exactly one of them
    expect(applied.sort()).toEqual(all.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).sort());
    for (const p of pools) await closePool(p);
  });

  it('refuses a migration file changed after it was applied', async () => {
    const pool = createPool({ url: await server.createDatabase('m3'), log: silentLogger() });
    await migrate(pool);
    await pool.query("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1");
    await expect(migrate(pool)).rejects.toMatchObject({ code: 'STORE_MIGRATION_CHANGED' });
    await closePool(pool);
  });

  it('reports an unreachable database as unavailable', async () => {
    const pool = createPool({
      url: 'postgres://whitepay@127.0.0.1:1/none',
      log: silentLogger(),
      connectTimeoutMs: 500,
    });
    const err = await migrate(pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).kind).toBe('unavailable');
    await closePool(pool);
  });
});
