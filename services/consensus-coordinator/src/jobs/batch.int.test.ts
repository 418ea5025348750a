import { createLogger, createRegistry } from '@whitepay/base';
import { groupByLeader, leaderAt } from '@whitepay/core';
import { type RedisServer, startRedis } from '@whitepay/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Address, getAddress, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainView, UpkeepingView } from '../chain/view.js';
import { createMetrics } from '../metrics.js';
import type { BatchJob } from '../round/batch.js';
import { RoundStore } from '../round/store.js';
import { checkBatchElection } from './batch.js';

// The batch election against a real Redis (claims, BullMQ queue). The chain is
// a fixed view: what is under test is which entries go into which batches.

const H = 10n;
const T = 5n;
const KEEPERS = [1, 2, 3, 4];
const UPKEEPING = getAddress('0x00000000000000000000000000000000000000aa');
const USER = getAddress('0x00000000000000000000000000000000000000bb');
const pidOf = (i: number) => getAddress(keccak256(toHex(`pid-${i}`)).slice(0, 42) as Address);

describe('checkBatchElection', () => {
  let redis: RedisServer;
  let conn: Redis;
  const queues: Queue<BatchJob>[] = [];

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
    const view = {
      upkeeping: UPKEEPING,
      user: USER,
      block: head,
      H,
      T,
      threshold: 2,
      members: KEEPERS.map((keeperId) => ({ keeperId, account: USER, publicKey: null })),
      group: '0x',
      providers,
    } as unknown as UpkeepingView;
    const chain = {
      served: async () => [view],
      headBlock: async () => head,
      current: async () => view,
    } as unknown as ChainView;
    const batches = new Queue<BatchJob>(`batch-${prefix}`, { connection: conn, prefix });
    queues.push(batches);
    const store = new RoundStore(conn, prefix, 100);
    const deps = (keeperId: number, batchMax: number) => ({
      keeperId,
      chain,
      store,
      batches,
      batchMax,
      metrics: createMetrics(createRegistry('test')),
      log: createLogger({ service: 'test', level: 'silent' }),
    });
    return { batches, deps };
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
      const started = await checkBatchElection(20n, deps(leaderId, 3));
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
      expect(await checkBatchElection(20n, deps(leaderId, 3))).toEqual([]);
    }
    // Before ts + H nobody leads.
    const early = setup('early', later, 20n);
    for (const k of KEEPERS) expect(await checkBatchElection(20n, early.deps(k, 3))).toEqual([]);
  });

  it('keeps a batch whole when it fits batchMax', async () => {
    const due = Array.from({ length: 12 }, (_, i) => ({ pid: pidOf(200 + i), ts: 10n }));
    const { batches, deps } = setup('whole', due, 20n);
    const [first] = groupByLeader(
      { user: USER, keepers: KEEPERS, H, T },
      20n,
      due.map((p) => ({ ...p, st: 0n })),
    );
    const started = await checkBatchElection(20n, deps(first!.leaderId, 500));
    expect(started).toHaveLength(1);
    expect((await batches.getJob(started[0]!))!.data.items).toHaveLength(first!.entries.length);
  });
});
