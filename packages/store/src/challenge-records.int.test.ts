import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres, waitFor } from '@whitepay/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compactSettled,
  insertChallengeRecords,
  lastRecordBefore,
  maxChallengeBlock,
  queryChallengeRecords,
} from './challenge-records.js';
import { INT8_MAX } from './codec.js';
import { closePool, createPool, ping } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrate.js';
import { listPartitions, PARTITION_BLOCKS } from './partitions.js';
import { rand, record } from './test-fixtures.js';

describe('challenge_records on a real PostgreSQL', () => {
  let server: PostgresServer;
  let n = 0;
  const pools: pg.Pool[] = [];
  async function fresh(): Promise<pg.Pool> {
    const pool = createPool({ url: await server.createDatabase(`cr${n++}`), log: silentLogger() });
    pools.push(pool);
    await migrate(pool);
    return pool;
  }
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    for (const p of pools) await closePool(p);
    await server?.stop();
  });

  for (const method of ['unnest', 'copy'] as const) {
    it(`batch insert (${method}) is idempotent and counts duplicates`, async () => {
      const pool = await fresh();
      const user = rand(20);
      const pid = rand(20);
      const batch = Array.from({ length: 500 }, (_, i) => record({ user, pid, block: BigInt(i * 10) }));
      expect(await insertChallengeRecords(pool, batch, { method })).toEqual({ inserted: 500, duplicates: 0 });
      expect(await insertChallengeRecords(pool, batch, { method })).toEqual({ inserted: 0, duplicates: 500 });
      // a batch overlapping the stored rows, with a duplicate inside itself
      const more = [
        ...batch.slice(400),
        record({ user, pid, block: 5001n }),
        record({ user, pid, block: 5001n }),
      ];
      expect(await insertChallengeRecords(pool, more, { method })).toEqual({ inserted: 1, duplicates: 101 });
      const count = await pool.query('SELECT count(*)::int AS c FROM challenge_records');
      expect(count.rows[0].c).toBe(501);
      const page = await queryChallengeRecords(pool, { user, pid, from: 0n, to: 10n });
      expect(page.records).toEqual([{ ...batch[0], blockHash: batch[0]!.blockHash }]);
    });
  }

  it('binary COPY stores every field as unnest does (extremes, null and empty proofs)', async () => {
    const [a, b] = [await fresh(), await fresh()];
    const user = rand(20);
    const pid = rand(20);
    const rows = Array.from({ length: 80 }, (_, i) =>
      record({
        user,
        pid,
        block: i === 0 ? 1n << 40n : BigInt(i),
        keeperId: i % 2 ? 4_294_967_295 : i,
        space: i === 1 ? INT8_MAX : BigInt(i) * 4096n,
        verdict: (i % 5) + 1,
        proof: i % 3 === 0 ? null : i % 3 === 1 ? new Uint8Array(0) : rand(1 + i * 7),
        observedAtMs: 1_700_000_000_000 + i * 1_001,
      }),
    );
    expect(await insertChallengeRecords(a, rows, { method: 'unnest' })).toEqual({
      inserted: 80,
      duplicates: 0,
    });
    expect(await insertChallengeRecords(b, rows, { method: 'copy' })).toEqual({
      inserted: 80,
      duplicates: 0,
    });
    const dump = async (pool: pg.Pool) =>
      (
        await pool.query(
          `SELECT user_addr, pid, keeper_id::text, block::text, block_hash, space::text, verdict, proof,
                  observed_at::text FROM challenge_records ORDER BY block, keeper_id`,
        )
      ).rows;
    const stored = await dump(b);
    expect(stored).toEqual(await dump(a));
    expect(stored.find((r) => r.block === (1n << 40n).toString())).toMatchObject({
      keeper_id: '0',
      proof: null,
    });
    expect(stored.find((r) => r.block === '1')).toMatchObject({
      space: INT8_MAX.toString(),
      proof: Buffer.alloc(0),
    });
  });

  it('range query is ordered, half-open and paginated by keyset', async () => {
    const pool = await fresh();
    const user = rand(20);
    const pid = rand(20);
    const other = rand(20);
    const rows = [];
    for (let b = 0n; b < 300n; b++) {
      rows.push(record({ user, pid, block: b, keeperId: 1 }));
      if (b % 3n === 0n) rows.push(record({ user, pid, block: b, keeperId: 2 }));
      rows.push(record({ user: other, pid, block: b }));
    }
    await insertChallengeRecords(pool, rows);
    const seen: Array<[bigint, number]> = [];
    let after: { block: bigint; keeperId: number } | undefined;
    let pages = 0;
    do {
      const page = await queryChallengeRecords(pool, {
        user,
        pid,
        from: 50n,
        to: 250n,
        limit: 37,
        withProofs: false,
        ...(after ? { after } : {}),
      });
      pages++;
      for (const r of page.records) {
        expect(r.proof).toBeNull();
        seen.push([r.block, r.keeperId]);
      }
      after = page.next;
    } while (after);
    const expected: Array<[bigint, number]> = [];
    for (let b = 50n; b < 250n; b++) {
      expected.push([b, 1]);
      if (b % 3n === 0n) expected.push([b, 2]);
    }
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 37));
    const k2 = await queryChallengeRecords(pool, { user, pid, from: 0n, to: 10n, keeperId: 2 });
    expect(k2.records.map((r) => r.block)).toEqual([0n, 3n, 6n, 9n]);
    expect((await queryChallengeRecords(pool, { user, pid, from: 10n, to: 10n })).records).toEqual([]);
    await expect(queryChallengeRecords(pool, { user: rand(3), pid, from: 0n, to: 1n })).rejects.toMatchObject(
      {
        kind: 'invalid_argument',
      },
    );
  });

  it('lastRecordBefore finds the carry-over across partitions', async () => {
    const pool = await fresh();
    const user = rand(20);
    const pid = rand(20);
    await insertChallengeRecords(pool, [
      record({ user, pid, block: 10n }),
      record({ user, pid, block: PARTITION_BLOCKS - 1n }),
      record({ user, pid, block: 3n * PARTITION_BLOCKS + 5n }),
      record({ user, pid, block: 3n * PARTITION_BLOCKS + 6n, keeperId: 9 }),
    ]);
    const last = (b: bigint, k = 1) => lastRecordBefore(pool, { user, pid, keeperId: k, block: b });
    expect(await last(10n)).toBeUndefined();
    expect((await last(11n))?.block).toBe(10n);
    expect((await last(3n * PARTITION_BLOCKS))?.block).toBe(PARTITION_BLOCKS - 1n);
    expect((await last(3n * PARTITION_BLOCKS + 6n))?.block).toBe(3n * PARTITION_BLOCKS + 5n);
    expect((await last(10n ** 15n))?.block).toBe(3n * PARTITION_BLOCKS + 5n);
    expect((await last(10n ** 15n, 9))?.block).toBe(3n * PARTITION_BLOCKS + 6n);
    expect(await maxChallengeBlock(pool)).toBe(3n * PARTITION_BLOCKS + 6n);
  });

  it('creates partitions on demand across a boundary and moves rows out of the default', async () => {
    const pool = await fresh();
    const user = rand(20);
    const pid = rand(20);
    const around = [PARTITION_BLOCKS - 2n, PARTITION_BLOCKS - 1n, PARTITION_BLOCKS, PARTITION_BLOCKS + 1n];
    // a row that landed in the default partition before its partition existed
    await pool.query(`INSERT INTO challenge_records VALUES ($1, $2, 1, $3, $4, 5, 1, NULL, now())`, [
      user,
      pid,
      (2n * PARTITION_BLOCKS + 7n).toString(),
      new Uint8Array(32),
    ]);
    await insertChallengeRecords(pool, [
      ...around.map((block) => record({ user, pid, block })),
      record({ user, pid, block: 2n * PARTITION_BLOCKS + 8n }),
    ]);
    const parts = await listPartitions(pool, 'challenge_records');
    expect(parts.map((p) => p.name)).toEqual([
      'challenge_records_default',
      'challenge_records_p0',
      'challenge_records_p1',
      'challenge_records_p2',
    ]);
    const where = await pool.query<{ t: string; block: string }>(
      'SELECT tableoid::regclass::text AS t, block FROM challenge_records ORDER BY block',
    );
    expect(where.rows.map((r) => r.t)).toEqual([
      'challenge_records_p0',
      'challenge_records_p0',
      'challenge_records_p1',
      'challenge_records_p1',
      'challenge_records_p2',
      'challenge_records_p2',
    ]);
    const page = await queryChallengeRecords(pool, {
      user,
      pid,
      from: PARTITION_BLOCKS - 1n,
      to: PARTITION_BLOCKS + 1n,
    });
    expect(page.records.map((r) => r.block)).toEqual([PARTITION_BLOCKS - 1n, PARTITION_BLOCKS]);
    // another process (fresh cache) racing on the same partitions
    const pool2 = createPool({ url: pool.options.connectionString!, log: silentLogger() });
    pools.push(pool2);
    await Promise.all([
      insertChallengeRecords(pool2, [record({ user, pid, block: 5n * PARTITION_BLOCKS })]),
      insertChallengeRecords(pool, [record({ user, pid, block: 5n * PARTITION_BLOCKS + 1n })]),
    ]);
    expect((await listPartitions(pool, 'challenge_records')).map((p) => p.name)).toContain(
      'challenge_records_p5',
    );
  });

  it('compaction drops proofs before the settled block and keeps (block, space)', async () => {
    const pool = await fresh();
    const user = rand(20);
    const pid = rand(20);
    const other = rand(20);
    const rows = Array.from({ length: 20 }, (_, i) => record({ user, pid, block: BigInt(i * 100) }));
    await insertChallengeRecords(pool, [...rows, record({ user: other, pid, block: 100n })]);
    expect(await compactSettled(pool, user, pid, 1000n)).toBe(10);
    expect(await compactSettled(pool, user, pid, 1000n)).toBe(0);
    const page = await queryChallengeRecords(pool, { user, pid, from: 0n, to: 10_000n });
    expect(page.records.map((r) => [r.block, r.space])).toEqual(rows.map((r) => [r.block, r.space]));
    expect(page.records.map((r) => r.proof === null)).toEqual(rows.map((r) => r.block < 1000n));
    const untouched = await queryChallengeRecords(pool, { user: other, pid, from: 0n, to: 10_000n });
    expect(untouched.records[0]?.proof).not.toBeNull();
  });

  it('rejects bad input with typed errors before touching the database', async () => {
    const pool = await fresh();
    const user = rand(20);
    const pid = rand(20);
    for (const bad of [
      record({ user: rand(19), pid, block: 1n }),
      record({ user, pid, block: -1n }),
      record({ user, pid, block: 1n, verdict: 0 }),
      record({ user, pid, block: 1n, space: 1n << 63n }),
      record({ user, pid, block: 1n, blockHash: rand(31) }),
      record({ user, pid, block: 1n, keeperId: 2 ** 32 }),
    ]) {
      const err = await insertChallengeRecords(pool, [record({ user, pid, block: 2n }), bad]).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).kind).toBe('invalid_argument');
      expect((err as StoreError).details.index).toBe(1);
    }
    expect((await pool.query('SELECT count(*)::int AS c FROM challenge_records')).rows[0].c).toBe(0);
  });

  it('a stopped server is unavailable, and the pool recovers after a restart', async () => {
    const own = await startPostgres();
    try {
      const url = await own.createDatabase('restart');
      const pool = createPool({ url, log: silentLogger(), connectTimeoutMs: 1000 });
      pools.push(pool);
      await migrate(pool);
      const user = rand(20);
      const pid = rand(20);
      await insertChallengeRecords(pool, [record({ user, pid, block: 1n })]);
      await own.kill();
      const err = await insertChallengeRecords(pool, [record({ user, pid, block: 2n })]).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).kind).toBe('unavailable');
      expect((err as StoreError).code).toBe('STORE_UNAVAILABLE');
      await own.restart();
      await waitFor('pool reconnects', async () => {
        try {
          await ping(pool);
          return true;
        } catch {
          return false;
        }
      });
      expect(await insertChallengeRecords(pool, [record({ user, pid, block: 2n })])).toEqual({
        inserted: 1,
        duplicates: 0,
      });
    } finally {
      await own.stop();
    }
  });
});
