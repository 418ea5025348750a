import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertChallengeRecords } from './challenge-records.js';
import { closePool, createPool } from './db.js';
import { StoreError } from './errors.js';
import { migrate } from './migrate.js';
import { insertPeerRecords } from './peer-records.js';
import { rand, record } from './test-fixtures.js';
import { entriesAwaitingPeerRecords, firstVerifiedRecords } from './vouches.js';

describe('vouch queries on a real PostgreSQL (SPEC 3 item 5)', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  const user = rand(20);
  const [a, b] = [rand(20), rand(20)];
  const r = (pid: Uint8Array, keeperId: number, block: number, space: number, verdict = 1) =>
    record({ user, pid, keeperId, block: BigInt(block), space: BigInt(space), verdict });
  const peer = (pid: Uint8Array, keeperId: number, block: number, space: number, verdict = 1) => ({
    ...r(pid, keeperId, block, space, verdict),
    signature: new Uint8Array([1]),
  });

  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool({ url: await server.createDatabase('vouch'), log: silentLogger() });
    await migrate(pool);
    // Self is keeper 1: own records of a at 10 (failed, space 0) and 12.
    await insertChallengeRecords(pool, [r(a, 1, 10, 0, 4), r(a, 1, 12, 4096)]);
    // Keeper 2: a at 9 (before ts), 11 and 19; keeper 3: a at 10 with a failed proof only; keeper 4: b at 15.
    await insertPeerRecords(
      pool,
      [
        peer(a, 2, 9, 4096),
        peer(a, 2, 11, 4096),
        peer(a, 2, 19, 4096),
        peer(a, 3, 10, 0, 3),
        peer(b, 4, 15, 1),
      ],
      () => ({ ok: true }),
    );
  });
  afterAll(async () => {
    await closePool(pool);
    await server?.stop();
  });

  it('names, per entry and keeper, the first record with a verified proof in [ts, te)', async () => {
    const refs = await firstVerifiedRecords(pool, {
      entries: [
        { user, pid: a, ts: 10n, te: 20n },
        { user, pid: b, ts: 10n, te: 15n },
        { user, pid: b, ts: 10n, te: 16n },
      ],
      keeperIds: [1, 2, 3, 4],
      selfId: 1,
    });
    expect(refs).toEqual([
      [
        { keeperId: 1, block: 12n },
        { keeperId: 2, block: 11n },
      ],
      [],
      [{ keeperId: 4, block: 15n }],
    ]);
    // Only the keepers asked for.
    const only2 = await firstVerifiedRecords(pool, {
      entries: [{ user, pid: a, ts: 10n, te: 20n }],
      keeperIds: [2],
      selfId: 1,
    });
    expect(only2).toEqual([[{ keeperId: 2, block: 11n }]]);
  });

  it('waits only on keepers that are challenging, not vouched for yet, and whose newest record is not in', async () => {
    const entries = [
      { user, pid: a, ts: 10n, te: 20n },
      { user, pid: a, ts: 10n, te: 23n },
      { user, pid: b, ts: 0n, te: 10n },
    ];
    // Keeper 2 has a at 11 and 19, both verified: its vouch (11) is known, nothing to wait for at te 20
    // or 23 (where its record of 21 or 22 is still out). Keeper 4 has no record of b before 10: not
    // challenging, not awaited.
    expect(await entriesAwaitingPeerRecords(pool, { entries, keeperIds: [2, 4], window: 2n })).toEqual([]);
    // Keeper 3 challenged a at 10 with a failed proof (a record, but no vouch) and sent nothing since:
    // awaited, as its next record may carry a proof.
    expect(await entriesAwaitingPeerRecords(pool, { entries, keeperIds: [2, 3, 4], window: 2n })).toEqual([
      0, 1,
    ]);
    // Once keeper 3's record of 19 is in (verified), the entry of te 20 has nothing left to wait for.
    await insertPeerRecords(pool, [peer(a, 3, 19, 4096)], () => ({ ok: true }));
    expect(await entriesAwaitingPeerRecords(pool, { entries, keeperIds: [2, 3, 4], window: 2n })).toEqual([]);
  });

  it('refuses bad input with a typed error', async () => {
    await expect(
      firstVerifiedRecords(pool, {
        entries: [{ user, pid: a, ts: 10n, te: 20n }],
        keeperIds: Array.from({ length: 129 }, (_, i) => i),
        selfId: 1,
      }),
    ).rejects.toBeInstanceOf(StoreError);
    await expect(
      entriesAwaitingPeerRecords(pool, {
        entries: [{ user, pid: rand(19), ts: 10n, te: 20n }],
        keeperIds: [2],
        window: 1n,
      }),
    ).rejects.toBeInstanceOf(StoreError);
  });
});
