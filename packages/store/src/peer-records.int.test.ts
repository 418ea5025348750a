import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePool, createPool } from './db.js';
import { migrate } from './migrate.js';
import {
  insertPeerRecords,
  lastPeerRecordBefore,
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
