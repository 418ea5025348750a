import { buildHttpServer, createLogger, createRegistry } from '@whitepay/base';
import { createLeaderRound } from '@whitepay/core';
import { type RedisServer, startRedis } from '@whitepay/testkit';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { type Address, getAddress, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainView } from '../chain/view.js';
import { createMetrics } from '../metrics.js';
import { IdleLog } from '../round/idle-log.js';
import { type RoundRecord, RoundStore } from '../round/store.js';
import { registerRoutes } from './routes.js';

// GET /v1/rounds against a real Redis: keyset pages over (startedAt, tid), newest first.

const USER = getAddress('0x00000000000000000000000000000000000000bb');
const UPKEEPING = getAddress('0x00000000000000000000000000000000000000aa');
const pidOf = (i: number) => getAddress(keccak256(toHex(`pid-${i}`)).slice(0, 42) as Address);

function round(i: number, startedAt: number): RoundRecord {
  const state = createLeaderRound({
    user: USER,
    leaderId: 1,
    r: 1,
    items: [{ pid: pidOf(i), ts: BigInt(i * 10), te: BigInt(i * 10 + 10) }],
    members: [1, 2, 3],
  });
  return {
    info: { upkeeping: UPKEEPING, tid: state.config.tid, user: USER, leaderId: 1, r: 1 },
    state,
    synced: false,
    outcome: 'confirmed',
    startedAt,
    updatedAt: startedAt,
    amount: String(1000 + i),
  };
}

describe('GET /v1/rounds', () => {
  let redis: RedisServer;
  let conn: Redis;
  let app: FastifyInstance;
  let store: RoundStore;
  let idle: IdleLog;

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    store = new RoundStore(conn, 'wp:test', 1000);
    const log = createLogger({ service: 'consensus-coordinator', level: 'silent' });
    const registry = createRegistry('consensus-coordinator');
    idle = new IdleLog(conn, 'wp:test', 5, createMetrics(registry));
    app = await buildHttpServer({ service: 'consensus-coordinator', log, registry, readiness: [] });
    registerRoutes(app, { store, chain: {} as ChainView, idle });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    conn?.disconnect();
    await redis?.stop();
  });

  it('pages newest first: every round once, ties on startedAt included, rounds started meanwhile not shifting pages', async () => {
    // 23 rounds over 8 distinct start times (ties within one ms).
    const initial = Array.from({ length: 23 }, (_, i) => round(i, 1_000 + Math.floor(i / 3)));
    for (const r of initial) await store.putRound(r);
    const seen: string[] = [];
    let cursor: string | undefined;
    let later = 100;
    do {
      const res = await app.inject(`/v1/rounds?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json() as { rounds: Array<{ tid: string; amount: string }>; next?: string };
      expect(page.rounds.length).toBeLessThanOrEqual(4);
      for (const r of page.rounds) expect(r.amount).toMatch(/^[0-9]+$/);
      seen.push(...page.rounds.map((r) => r.tid));
      cursor = page.next;
      // A round starts between two requests.
      await store.putRound(round(later, 5_000 + later));
      later++;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const expected = [...initial]
      .sort((a, b) => b.startedAt - a.startedAt || (a.info.tid < b.info.tid ? 1 : -1))
      .map((r) => r.info.tid);
    expect(seen).toEqual(expected);
    // The first page is the newest.
    const first = (await app.inject('/v1/rounds?limit=1')).json() as { rounds: Array<{ startedAt: number }> };
    expect(first.rounds[0]!.startedAt).toBe(5_000 + later - 1);
  });

  it('refuses a cursor it did not issue, and a limit outside [1, 1000], with the one error shape', async () => {
    const bad = await app.inject('/v1/rounds?cursor=bm9wZQ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'BAD_CURSOR', kind: 'invalid_argument' });
    for (const limit of [0, 1001]) {
      const res = await app.inject(`/v1/rounds?limit=${limit}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'BAD_REQUEST', kind: 'invalid_argument' });
    }
  });

  it('GET /v1/idle: per keeper and provider the latest interval counted idle, paged by key, and the metrics', async () => {
    const info = { upkeeping: UPKEEPING, user: USER, leaderId: 3, r: 1, tid: keccak256(toHex('idle')) };
    const members = [3, 5, 8, 13];
    // Entry 0 counts 5 (this keeper) and 13 idle, entry 1 nobody; a later interval of pid 0 counts 5 again.
    await idle.answered(
      info,
      [
        { pid: pidOf(0), ts: 10n, te: 20n },
        { pid: pidOf(1), ts: 11n, te: 20n },
      ],
      [0b1010n, 0n],
      members,
      true,
    );
    await idle.answered(info, [{ pid: pidOf(0), ts: 20n, te: 30n }], [0b0010n], members, false);
    const all = (await app.inject('/v1/idle')).json() as {
      idle: Array<{ keeperId: number; ts: string; te: string }>;
    };
    expect(all.idle.map((n) => [n.keeperId, n.ts, n.te])).toEqual([
      [5, '20', '30'],
      [13, '10', '20'],
    ]);
    // Paged by (keeper, upkeeping, pid): one note a page, then no next.
    const first = (await app.inject('/v1/idle?limit=1')).json() as {
      idle: Array<{ keeperId: number }>;
      next?: string;
    };
    expect(first.idle.map((n) => n.keeperId)).toEqual([5]);
    const second = (await app.inject(`/v1/idle?limit=1&cursor=${first.next}`)).json() as {
      idle: Array<{ keeperId: number }>;
      next?: string;
    };
    expect(second.idle.map((n) => n.keeperId)).toEqual([13]);
    expect(second.next).toBeUndefined();
    expect((await app.inject('/v1/idle?cursor=bm9wZQ')).json()).toMatchObject({ code: 'BAD_CURSOR' });
    const mine = (await app.inject('/v1/idle?keeper=13')).json() as { idle: unknown[] };
    expect(mine.idle).toHaveLength(1);
    expect((await app.inject('/v1/idle?keeper=-1')).statusCode).toBe(400);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(
      /whitepay_keeper_idle_entries_total\{keeper="5",self="true",signed="true"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /whitepay_keeper_idle_entries_total\{keeper="5",self="true",signed="false"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/whitepay_keeper_idle_last_te\{keeper="13",self="false",signed="true"[^}]*\} 20/);
    expect(all.idle[0]).toMatchObject({ signed: false });
  });
});
