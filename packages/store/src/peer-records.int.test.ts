import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePool, createPool } from './db.js';
import { migrate } from './migrate.js';
import {
  insertPeerRecords,
  lastPeerRecordBefore,
  PEER_RECORD_CONFLICT,
  type PeerRecordRow,
  queryPeerRecords,
} from './peer-records.js';
import { rand, record } from './test-fixtures.js';

describe('peer_records on a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool({ url: await server.createDatabase('peer'), log: silentLogger() });
    await migrate(pool);
  });
  afterAll(async () => {
    await closePool(pool);
    await server?.stop();
  });

  it('stores only verified records, apart from own records, idempotently', async () => {
    const user = rand(20);
    const pid = rand(20);
    const rows: PeerRecordRow[] = Array.from({ length: 10 }, (_, i) => ({
      ...record({ user, pid, block: BigInt(i), keeperId: 7 }),
      signature: new Uint8Array(65).fill(i),
    }));
    const malformed = { ...record({ user, pid, block: 99n, keeperId: 7 }), signature: new Uint8Array(0) };
    // the verifier refuses odd blocks; one throws
    const verify = (r: PeerRecordRow) => {
      if (r.block === 4n) throw new Error('boom');
      return r.block % 2n === 0n ? { ok: true } : { ok: false, reason: 'PEER_SIGNATURE_INVALID' };
    };
    const res = await insertPeerRecords(pool, [...rows, malformed], verify);
    expect(res.inserted).toBe(4);
    expect(res.duplicates).toBe(0);
    expect(res.rejected).toEqual([
      { index: 1, reason: 'PEER_SIGNATURE_INVALID' },
      { index: 3, reason: 'PEER_SIGNATURE_INVALID' },
      { index: 4, reason: 'PEER_RECORD_VERIFY_FAILED' },
      { index: 5, reason: 'PEER_SIGNATURE_INVALID' },
      { index: 7, reason: 'PEER_SIGNATURE_INVALID' },
      { index: 9, reason: 'PEER_SIGNATURE_INVALID' },
      { index: 10, reason: 'PEER_RECORD_MALFORMED' },
    ]);
    const again = await insertPeerRecords(pool, rows, () => ({ ok: true }));
    expect(again).toMatchObject({ inserted: 6, duplicates: 4 });
    const page = await queryPeerRecords(pool, { user, pid, from: 0n, to: 100n });
    expect(page.records.map((r) => r.block)).toEqual(rows.map((r) => r.block));
    expect(page.records[3]!.signature).toEqual(rows[3]!.signature);
    expect((await lastPeerRecordBefore(pool, { user, pid, keeperId: 7, block: 5n }))?.block).toBe(4n);
    const own = await pool.query('SELECT count(*)::int AS c FROM challenge_records');
    expect(own.rows[0].c).toBe(0);
  });

  it('finds stored rows first: duplicates are not re-verified, a stored key with other content is refused and kept', async () => {
    const user = rand(20);
    const pid = rand(20);
    const row = (block: number): PeerRecordRow => ({
      ...record({ user, pid, block: BigInt(block), keeperId: 5 }),
      signature: new Uint8Array(65).fill(block % 256),
    });
    const first = Array.from({ length: 100 }, (_, i) => row(i));
    const verified: bigint[] = [];
    const verify = (r: PeerRecordRow) => {
      verified.push(r.block);
      return { ok: true };
    };
    expect(await insertPeerRecords(pool, first, verify)).toEqual({
      inserted: 100,
      duplicates: 0,
      rejected: [],
    });
    expect(verified).toHaveLength(100);

    verified.length = 0;
    const fresh = [row(100), row(101)];
    // the same key as block 7, other signed content (space, then proof), and a block hash changed
    const conflicts: PeerRecordRow[] = [
      { ...row(7), space: 1n },
      { ...row(8), proof: new Uint8Array([9, 9, 9]) },
      { ...row(9), proof: null },
      { ...row(10), blockHash: new Uint8Array(32).fill(0xee) },
    ];
    // every stored row again, under any method (the COPY path too: 100+ rows)
    for (const method of ['unnest', 'copy'] as const) {
      verified.length = 0;
      const batch = [...first, ...conflicts, ...(method === 'unnest' ? fresh : [])];
      const res = await insertPeerRecords(pool, batch, verify, { method });
      expect(verified).toEqual(method === 'unnest' ? [100n, 101n] : []);
      expect(res.inserted).toBe(method === 'unnest' ? 2 : 0);
      expect(res.duplicates).toBe(100);
      expect(res.rejected).toEqual([
        { index: 100, reason: PEER_RECORD_CONFLICT },
        { index: 101, reason: PEER_RECORD_CONFLICT },
        { index: 102, reason: PEER_RECORD_CONFLICT },
        { index: 103, reason: PEER_RECORD_CONFLICT },
      ]);
    }
    // the stored rows are the verified ones, unchanged
    const page = await queryPeerRecords(pool, { user, pid, from: 7n, to: 11n });
    expect(page.records.map((r) => [r.block, r.space, r.proof, r.blockHash])).toEqual(
      [7, 8, 9, 10].map((b) => [BigInt(b), row(b).space, row(b).proof, row(b).blockHash]),
    );
    // a stored row without a proof: the same row again is a duplicate, one with a proof a conflict
    const bare = { ...row(200), proof: null };
    expect(await insertPeerRecords(pool, [bare], verify)).toMatchObject({ inserted: 1 });
    verified.length = 0;
    expect(await insertPeerRecords(pool, [bare, row(200)], verify)).toEqual({
      inserted: 0,
      duplicates: 1,
      rejected: [{ index: 1, reason: PEER_RECORD_CONFLICT }],
    });
    expect(verified).toEqual([]);
  });

  it('copy method stores the signature too', async () => {
    const user = rand(20);
    const pid = rand(20);
    const rows = [{ ...record({ user, pid, block: 1n, keeperId: 3 }), signature: rand(65) }];
    expect(await insertPeerRecords(pool, rows, () => ({ ok: true }), { method: 'copy' })).toMatchObject({
      inserted: 1,
    });
    const page = await queryPeerRecords(pool, { user, pid, from: 0n, to: 100n });
    expect(page.records[0]!.signature).toEqual(rows[0]!.signature);
  });
});
