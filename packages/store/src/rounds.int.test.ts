import { silentLogger } from '@whitepay/base';
import { type PostgresServer, startPostgres } from '@whitepay/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCommitments, putCommitment, revealCommitment } from './commitments.js';
import { closePool, createPool } from './db.js';
import { migrate } from './migrate.js';
import { lastPayment, listPayments, recordPayment } from './payments-seen.js';
import { rand } from './test-fixtures.js';

describe('commitments and payments_seen on a real PostgreSQL', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    pool = createPool({ url: await server.createDatabase('rounds'), log: silentLogger() });
    await migrate(pool);
  });
  afterAll(async () => {
    await closePool(pool);
    await server?.stop();
  });

  it('stores commitments once, refuses a different one, records reveals with uint256 st', async () => {
    const tid = rand(32);
    const big = (1n << 255n) + 12345n;
    const own = { tid, keeperId: 1, commitment: rand(32), st: big, nonce: rand(32) };
    expect(await putCommitment(pool, own)).toBe(true);
    expect(await putCommitment(pool, own)).toBe(false);
    const peer = { tid, keeperId: 2, commitment: rand(32), st: null, nonce: null };
    expect(await putCommitment(pool, peer)).toBe(true);
    await expect(putCommitment(pool, { ...peer, commitment: rand(32) })).rejects.toMatchObject({
      code: 'COMMITMENT_CONFLICT',
      kind: 'conflict',
    });
    const nonce = rand(32);
    await revealCommitment(pool, tid, 2, 777n, nonce);
    await revealCommitment(pool, tid, 2, 777n, nonce); // same reveal again: fine
    await expect(revealCommitment(pool, tid, 2, 778n, nonce)).rejects.toMatchObject({
      code: 'COMMITMENT_NOT_FOUND',
    });
    await expect(revealCommitment(pool, tid, 3, 1n, nonce)).rejects.toMatchObject({ kind: 'not_found' });
    const list = await listCommitments(pool, tid);
    expect(list.map((c) => [c.keeperId, c.st])).toEqual([
      [1, big],
      [2, 777n],
    ]);
    await expect(putCommitment(pool, { ...own, keeperId: 5, st: 1n << 256n })).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
  });

  it('records payments idempotently and follows a reorg', async () => {
    const user = rand(20);
    const pid = rand(20);
    const pay = {
      user,
      pid,
      ts: 100n,
      te: 200n,
      st: 10n ** 30n,
      amount: 10n ** 20n,
      tid: rand(32),
      txHash: rand(32),
      block: 201n,
    };
    expect(await recordPayment(pool, pay)).toBe(true);
    expect(await recordPayment(pool, pay)).toBe(false);
    const moved = { ...pay, txHash: rand(32), block: 203n };
    expect(await recordPayment(pool, moved)).toBe(true);
    await recordPayment(pool, { ...pay, ts: 200n, te: 300n, block: 301n });
    expect((await lastPayment(pool, user, pid))?.te).toBe(300n);
    const all = await listPayments(pool, user, pid);
    expect(all.map((x) => [x.ts, x.te, x.block])).toEqual([
      [100n, 200n, 203n],
      [200n, 300n, 301n],
    ]);
    expect(all[0]).toEqual(moved);
    await expect(recordPayment(pool, { ...pay, te: 100n })).rejects.toMatchObject({
      kind: 'invalid_argument',
    });
    expect(await lastPayment(pool, rand(20), pid)).toBeUndefined();
  });
});
