import type pg from 'pg';
import { query, withTransaction } from './db.js';

/** Blocks per partition of the record tables. */
export const PARTITION_BLOCKS = 1_000_000n;

export type PartitionedTable = 'challenge_records' | 'peer_records';

const LOCK_KEY: Record<PartitionedTable, number> = {
  challenge_records: 0x5750_0001,
  peer_records: 0x5750_0002,
};

export function partitionIndex(block: bigint): bigint {
  return block / PARTITION_BLOCKS;
}

export function partitionName(table: PartitionedTable, index: bigint): string {
  return `${table}_p${index}`;
}

/** Partitions known to exist, per pool (they are never dropped while a process runs). */
const known = new WeakMap<pg.Pool, Set<string>>();

/**
 * Makes sure the partitions holding `blocks` exist. Creating one takes a
 * transaction-scoped advisory lock (replicas may race), and moves any rows of
 * its range that landed in the default partition meanwhile, so creation never
 * fails on them.
 */
export async function ensurePartitions(
  pool: pg.Pool,
  table: PartitionedTable,
  blocks: Iterable<bigint>,
): Promise<void> {
  let cache = known.get(pool);
  if (!cache) {
    cache = new Set();
    known.set(pool, cache);
  }
  const wanted = new Set<bigint>();
  for (const b of blocks) wanted.add(partitionIndex(b));
  for (const idx of wanted) {
    const name = partitionName(table, idx);
    if (cache.has(name)) continue;
    await createPartition(pool, table, idx);
    cache.add(name);
  }
}

async function createPartition(pool: pg.Pool, table: PartitionedTable, idx: bigint): Promise<void> {
  const name = partitionName(table, idx);
  const from = idx * PARTITION_BLOCKS;
  const to = from + PARTITION_BLOCKS;
  const exists = await query<{ r: string | null }>(pool, 'partition exists', 'SELECT to_regclass($1) AS r', [
    name,
  ]);
  if (exists.rows[0]?.r) return;
  await withTransaction(pool, 'create partition', async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_KEY[table], Number(idx % 2_000_000_000n)]);
    // A plain scan of pg_class (MVCC snapshot of this statement) sees a partition another
    // session committed while we waited; to_regclass may answer from a stale catalog cache.
    const again = await c.query(
      'SELECT 1 FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace',
      [name],
    );
    if (again.rowCount) return;
    // Identifiers are built from a fixed table name and an integer only.
    await c.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await c.query(
      `WITH moved AS (DELETE FROM ${table}_default WHERE block >= $1 AND block < $2 RETURNING *)
       INSERT INTO ${name} SELECT * FROM moved`,
      [from.toString(), to.toString()],
    );
    await c.query(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`);
  });
}

/** Partitions of a table with their ranges (for operators and tests). */
export async function listPartitions(
  db: pg.Pool | pg.PoolClient,
  table: PartitionedTable,
): Promise<Array<{ name: string; bound: string }>> {
  const r = await query<{ name: string; bound: string }>(
    db,
    'list partitions',
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
    [table],
  );
  return r.rows;
}
