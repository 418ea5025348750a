import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertChallengeRecords } from './challenge-records.js';
import { closePool, createPool } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrate.js';
import { insertPeerRecords } from './peer-records.js';
import {
  accountKnown,
  keeperActivity,
  loadSpaceRecords,
  readOnlyUrl,
  type SpaceTimeQuery,
  spaceTimeSql,
} from './space-time.js';
import { rand, record } from './test-fixtures.js';

const ok = () => ({ ok: true });

describe('space-time queries on a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  const user = rand(20);
  const pid = rand(20);
  const r = (keeperId: number, block: number, space: number, verdict = 1) =>
    record({ user, pid, keeperId, block: BigInt(block), space: BigInt(space), verdict });
  const peer = (keeperId: number, block: number, space: number, verdict = 1) => ({
    ...r(keeperId, block, space, verdict),
    signature: new Uint8Array([1]),
  });

  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool({ url: await server.createDatabase('st'), log: silentLogger() });
    await migrate(pool);
    // own (keeper 1): carry at 5 (3), then 10 (4), 15 (7), 18 (2); a stale gap after 18
    await insertChallengeRecords(pool, [r(1, 2, 100), r(1, 5, 3), r(1, 10, 4), r(1, 15, 7), r(1, 18, 2, 4)]);
    // peers: keeper 2 agrees except a larger space at 15 and an extra record at 12; keeper 3 at 5 only
    await insertPeerRecords(pool, [peer(2, 10, 4), peer(2, 12, 9), peer(2, 15, 8), peer(3, 5, 6)], ok);
    await pool.query(
      `INSERT INTO pieces (user_addr, pid, piece_id, size, root, leaf_size, added_block)
       VALUES ($1, $2, $3, 4096, $4, 4096, 0)`,
      [user, pid, rand(32), rand(32)],
    );
  });
  afterAll(async () => {
    await closePool(pool);
    await server?.stop();
  });

  const q = (over: Partial<SpaceTimeQuery> = {}): SpaceTimeQuery => ({
    user,
    pid,
    ts: 8n,
    te: 30n,
    source: 'own',
    keeperId: 1,
    ...over,
  });

  it('integrates own records with carry-over and staleness in SQL', async () => {
    // [8,10): carry 3 (age < 100) = 6; [10,15): 4*5 = 20; [15,18): 7*3 = 21; [18,30): 2*12 = 24
    expect(await spaceTimeSql(pool, { ...q(), maxStaleness: 100n })).toEqual({
      st: 71n,
      records: 3,
      carryBlock: 5n,
    });
    // maxStaleness 4: carry counts on [5,9) → 1 block; 10..14, 15..18 (3), 18..22 (4)
    expect((await spaceTimeSql(pool, { ...q(), maxStaleness: 4n })).st).toBe(3n + 16n + 21n + 8n);
    expect(await spaceTimeSql(pool, { ...q({ ts: 30n, te: 30n }), maxStaleness: 4n })).toEqual({
      st: 0n,
      records: 0,
      carryBlock: 18n,
    });
    expect(await spaceTimeSql(pool, { ...q({ ts: 0n, te: 2n }), maxStaleness: 4n })).toEqual({
      st: 0n,
      records: 0,
    });
  });

  it('loads the rows and the carry for core', async () => {
    expect(await loadSpaceRecords(pool, q())).toEqual({
      records: [
        { block: 10n, space: 4n },
        { block: 15n, space: 7n },
        { block: 18n, space: 2n },
      ],
      carry: { block: 5n, space: 3n },
    });
  });

  it('peer keeper and the union (max per block)', async () => {
    // keeper 2 alone from 8: no carry; [10,12): 8, [12,15): 27, [15,30): 120
    expect((await spaceTimeSql(pool, { ...q({ source: 'peer', keeperId: 2 }), maxStaleness: 100n })).st).toBe(
      155n,
    );
    // union: carry at 5 = max(3, 6) = 6 → 12; [10,12): 8; [12,15): 27; [15,18): 24; [18,30): 24
    const union = await spaceTimeSql(pool, { ...q({ source: 'union' }), maxStaleness: 100n });
    expect(union).toEqual({ st: 12n + 8n + 27n + 24n + 24n, records: 6, carryBlock: 5n });
    const rows = await loadSpaceRecords(pool, q({ source: 'union' }));
    expect(rows.carry).toEqual({ block: 5n, space: 6n });
    expect(rows.records).toHaveLength(6);
  });

  it('refuses bad input with typed errors', async () => {
    await expect(spaceTimeSql(pool, { ...q({ ts: 5n, te: 4n }), maxStaleness: 1n })).rejects.toMatchObject({
      code: 'STORE_INVALID_ARGUMENT',
    });
    await expect(spaceTimeSql(pool, { ...q(), maxStaleness: 0n })).rejects.toBeInstanceOf(StoreError);
    await expect(loadSpaceRecords(pool, q({ source: 'peer', keeperId: undefined as never }))).rejects.toThrow(
      /keeperId/,
    );
    await expect(loadSpaceRecords(pool, q({ user: rand(19) }))).rejects.toThrow(/20 bytes/);
  });

  it('reports keepers, verified counts and keepers seen outside the interval', async () => {
    expect(await keeperActivity(pool, { user, pid, from: 8n, to: 30n })).toEqual([
      { keeperId: 1, source: 'own', records: 3, verified: 2 },
      { keeperId: 2, source: 'peer', records: 3, verified: 3 },
      { keeperId: 3, source: 'peer', records: 0, verified: 0 },
    ]);
    expect(await accountKnown(pool, user, pid)).toBe(true);
    expect(await accountKnown(pool, user, rand(20))).toBe(false);
  });

  it('read-only sessions refuse writes', async () => {
    const url = readOnlyUrl(server.url.replace(/\/postgres$/, '/st'));
    const ro = createPool({ url, log: silentLogger(), max: 1 });
    try {
      expect((await spaceTimeSql(ro, { ...q(), maxStaleness: 100n })).st).toBe(71n);
      await expect(insertChallengeRecords(ro, [r(1, 99, 1)])).rejects.toMatchObject({
        details: { pgCode: '25006' }, // read_only_sql_transaction
      });
    } finally {
      await closePool(ro);
    }
    expect(readOnlyUrl('postgres://a@h:1/d?options=-c%20x%3D1')).toBe(
      'postgres://a@h:1/d?options=-c+x%3D1+-c+default_transaction_read_only%3Don',
    );
  });
});
