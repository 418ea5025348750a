import { createLogger, createRegistry } from '@whitepay/base';
import { groupByLeader, leaderAt } from '@whitepay/core';
import { type RedisServer, startRedis } from '@whitepay/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Address, getAddress, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChainView, UpkeepingView } from '../chain/view.js';
import { createMetrics } from '../metrics.js';
import type { RoundJob } from '../round/driver.js';
import { RoundStore } from '../round/store.js';
import { checkElection, ROUNDS_QUEUE } from './election.js';
import { roundsWorker } from './rounds.js';

// The election against a real Redis (claims, BullMQ queue). The chain is
// a fixed view: what is under test is which entries go into which batches.

const H = 10n;
const T = 5n;
const KEEPERS = [1, 2, 3, 4];
const UPKEEPING = getAddress('0x00000000000000000000000000000000000000aa');
const USER = getAddress('0x00000000000000000000000000000000000000bb');
const pidOf = (i: number) => getAddress(keccak256(toHex(`pid-${i}`)).slice(0, 42) as Address);

describe('checkElection', () => {
  let redis: RedisServer;
  let conn: Redis;
  const queues: Queue<RoundJob>[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    for (const q of queues) await q.close();
    conn?.disconnect();
    await redis?.stop();
  });

  function setup(prefix: string, providers: Array<{ pid: Address; ts: bigint }>, head: bigint) {
    const viewOf = (providers: Array<{ pid: Address; ts: bigint }>) =>
      ({
        upkeeping: UPKEEPING,
        user: USER,
        block: head,
        H,
        T,
        threshold: 2,
        members: KEEPERS.map((keeperId) => ({ keeperId, account: USER, publicKey: null })),
        group: '0x',
        providers,
      }) as unknown as UpkeepingView;
    let view = viewOf(providers);
    const chain = {
      served: async () => [view],
      headBlock: async () => head,
      current: async () => view,
      viewAt: async () => view,
      chainId: async () => 31_337,
    } as unknown as ChainView;
    const batches = new Queue<RoundJob>(ROUNDS_QUEUE, { connection: conn, prefix });
    queues.push(batches);
    const store = new RoundStore(conn, prefix, 100);
    const deps = (keeperId: number, batchMax: number) => ({
      keeperId,
      chain,
      store,
      rounds: batches,
      batchMax,
      metrics: createMetrics(createRegistry('test')),
      log: createLogger({ service: 'test', level: 'silent' }),
    });
    /** The chain after payments: a new view (as the chain view builds one per block). */
    const setProviders = (next: Array<{ pid: Address; ts: bigint }>) => {
      view = viewOf(next);
    };
    return { batches, deps, store, setProviders };
  }

  it('puts every provider a keeper leads into batches of at most batchMax, claimed once', async () => {
    // 40 providers due at block 20 (ts 10 = added together), 5 more not due yet (ts 15).
    const due = Array.from({ length: 40 }, (_, i) => ({ pid: pidOf(i), ts: 10n }));
    const later = Array.from({ length: 5 }, (_, i) => ({ pid: pidOf(100 + i), ts: 15n }));
    const { batches, deps } = setup('split', [...due, ...later], 20n);
    const expected = groupByLeader(
      { user: USER, keepers: KEEPERS, H, T },
      20n,
      due.map((p) => ({ ...p, st: 0n })),
    );
    expect(expected.reduce((n, b) => n + b.entries.length, 0)).toBe(40);

    for (const { leaderId, entries } of expected) {
      const started = await checkElection(20n, deps(leaderId, 3));
      expect(started).toHaveLength(Math.ceil(entries.length / 3));
      const jobs = await Promise.all(started.map((id) => batches.getJob(id)));
      const items = jobs.flatMap((j) => {
        expect(j!.data.leaderId).toBe(leaderId);
        expect(j!.data.items.length).toBeLessThanOrEqual(3);
        expect(j!.data.items.length).toBeGreaterThan(0);
        return j!.data.items;
      });
      // Exactly this keeper's entries, each once, all with te = 20 and the leader's position.
      expect(items.map((it) => it.pid).sort()).toEqual(entries.map((e) => e.pid).sort());
      for (const j of jobs) {
        for (const it of j!.data.items) {
          const slot = leaderAt({ user: USER, keepers: KEEPERS, H, T, pid: it.pid, ts: 10n }, 20n)!;
          expect([it.ts, it.te, slot.position, slot.keeperId]).toEqual(['10', '20', j!.data.r, leaderId]);
        }
      }
      // A second check of the same block (another replica, a retried job) starts nothing: the windows are claimed.
      expect(await checkElection(20n, deps(leaderId, 3))).toEqual([]);
    }
    // Before ts + H nobody leads.
    const early = setup('early', later, 20n);
    for (const k of KEEPERS) expect(await checkElection(20n, early.deps(k, 3))).toEqual([]);
  });

  it('queues a round of one when a single entry is due', async () => {
    const due = [{ pid: pidOf(400), ts: 10n }];
    const { batches, deps } = setup('one', due, 20n);
    const slot = leaderAt({ user: USER, keepers: KEEPERS, H, T, pid: due[0]!.pid, ts: 10n }, 20n)!;
    const started = await checkElection(20n, deps(slot.keeperId, 500));
    expect(started).toHaveLength(1);
    expect((await batches.getJob(started[0]!))!.data).toMatchObject({
      leaderId: slot.keeperId,
      r: slot.position,
      items: [{ pid: due[0]!.pid, ts: '10', te: '20', cycle: String(slot.cycle) }],
    });
    for (const k of KEEPERS.filter((k) => k !== slot.keeperId))
      expect(await checkElection(20n, deps(k, 500))).toEqual([]);
  });

  it('exports how far each provider is past its first cycle of slots (the ProviderUnpaid alert), and nothing once paid', async () => {
    const cycleEnd = H + BigInt(KEEPERS.length) * T;
    const late = { pid: pidOf(500), ts: 10n };
    const fresh = { pid: pidOf(501), ts: 10n + cycleEnd };
    const block = 10n + cycleEnd + 7n;
    const { deps, setProviders } = setup('overdue', [late, fresh], block);
    const d = deps(KEEPERS[0]!, 500);
    await checkElection(block, d);
    const series = (await d.metrics.providerOverdue.get()).values;
    expect(series).toEqual([{ labels: { upkeeping: UPKEEPING, pid: late.pid }, value: 7 }]);
    setProviders([{ pid: late.pid, ts: block - 1n }, fresh]); // paid
    await checkElection(block + 1n, d);
    expect((await d.metrics.providerOverdue.get()).values).toEqual([]);
  });

  it('keeps a batch whole when it fits batchMax', async () => {
    const due = Array.from({ length: 12 }, (_, i) => ({ pid: pidOf(200 + i), ts: 10n }));
    const { batches, deps } = setup('whole', due, 20n);
    const [first] = groupByLeader(
      { user: USER, keepers: KEEPERS, H, T },
      20n,
      due.map((p) => ({ ...p, st: 0n })),
    );
    const started = await checkElection(20n, deps(first!.leaderId, 500));
    expect(started).toHaveLength(1);
    expect((await batches.getJob(started[0]!))!.data.items).toHaveLength(first!.entries.length);
  });

  it('gives up a batch whose entry was paid since the election, and the next block batches the rest', async () => {
    const due = Array.from({ length: 12 }, (_, i) => ({ pid: pidOf(300 + i), ts: 10n }));
    const { batches, deps, store, setProviders } = setup('stale', due, 20n);
    // The keeper that leads the most entries (one entry is paid below; the rest must remain).
    const [first] = groupByLeader(
      { user: USER, keepers: KEEPERS, H, T },
      20n,
      due.map((p) => ({ ...p, st: 0n })),
    ).sort((a, b) => b.entries.length - a.entries.length);
    expect(first!.entries.length).toBeGreaterThan(1);
    const d = deps(first!.leaderId, 500);
    const [bid] = await checkElection(20n, d);
    const job = (await batches.getJob(bid!))!;
    // Another position's payment of one entry lands before the round starts.
    const paid = job.data.items[0]!.pid;
    setProviders(due.map((p) => (p.pid === paid ? { ...p, ts: 20n } : p)));
    const peers = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no peer may be asked');
        },
      },
    );
    const worker = roundsWorker(conn, 'stale', {
      lockMs: 30_000,
      concurrency: 1,
      store,
      metrics: d.metrics,
      log: d.log,
      deps: () => ({ ...d, peers, st: peers, follower: peers, payments: peers, settlement: peers }) as never,
    });
    void worker.run();
    try {
      await vi.waitFor(async () => expect(await batches.getJobState(bid!)).toBe('completed'), {
        timeout: 10_000,
      });
      const rec = await store.getRound(bid as Address);
      expect(rec).toMatchObject({ outcome: 'rejected', error: { code: 'ROUND_STALE_TS' } });
      expect(await d.metrics.rounds.get()).toMatchObject({
        values: [{ labels: { outcome: 'rejected', phase: 'start' }, value: 1 }],
      });
      // The claims were released: the next block's election batches every entry still due, and only those.
      const [again] = await checkElection(21n, d);
      const items = (await batches.getJob(again!))!.data.items.map((it) => it.pid).sort();
      expect(items).toEqual(
        job.data.items
          .map((it) => it.pid)
          .filter((p) => p !== paid)
          .sort(),
      );
    } finally {
      await worker.close();
    }
  });
});
