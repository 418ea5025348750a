import { createLogger, createRegistry } from '@whitepay/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.js';
import { askMembers, attemptDeadlineMs, countBroadcast, eventQueue } from './fanout.js';

type Reply =
  | { type: 'commit'; msg: string }
  | { type: 'reveal'; msg: number }
  | { type: 'synced' }
  | { type: 'error'; code: string };

describe('round fan-out', () => {
  it('eventQueue hands events to one consumer in push order, waiting when empty', async () => {
    const q = eventQueue<number>();
    q.push(1);
    const waiting = (async () => [await q.next(), await q.next(), await q.next()])();
    q.push(2);
    await new Promise((r) => setTimeout(r, 5));
    q.push(3);
    expect(await waiting).toEqual([1, 2, 3]);
  });

  it('askMembers asks itself in-process and the others remotely, passes on answers only, counts every reply, never rejects', async () => {
    const metrics = createMetrics(createRegistry('test'));
    const asked: string[] = [];
    const answers: Array<[number, Reply]> = [];
    const replies: Record<number, () => Promise<Reply>> = {
      2: async () => ({ type: 'reveal', msg: 7 }),
      3: async () => ({ type: 'error', code: 'ROUND_STALE_TS' }),
      4: async () => {
        throw Object.assign(new Error('deadline exceeded'), { code: 'PEER_DEADLINE' });
      },
      5: async () => ({ type: 'synced' }),
    };
    await askMembers<Reply>({
      members: [1, 2, 3, 4, 5],
      self: 1,
      local: async () => {
        asked.push('local');
        return { type: 'commit', msg: 'own' };
      },
      remote: (m) => {
        asked.push(`remote ${m}`);
        return replies[m]!();
      },
      answer: (from, reply) => answers.push([from, reply]),
      phase: 'commit',
      metrics,
      log: createLogger({ service: 'test', level: 'silent' }),
    });
    expect(asked.sort()).toEqual(['local', 'remote 2', 'remote 3', 'remote 4', 'remote 5']);
    expect(answers.sort(([a], [b]) => a - b)).toEqual([
      [1, { type: 'commit', msg: 'own' }],
      [2, { type: 'reveal', msg: 7 }],
    ]);
    const counted = (await metrics.replies.get()).values.map((v) => [
      v.labels.phase,
      v.labels.outcome,
      v.labels.code,
      v.value,
    ]);
    expect(counted.sort()).toEqual([
      ['commit', 'answered', '', 3],
      ['commit', 'no_answer', 'PEER_DEADLINE', 1],
      ['commit', 'refused', 'ROUND_STALE_TS', 1],
    ]);
  });

  it('attemptDeadlineMs grows the deadline per attempt up to the cap, never below the first', () => {
    expect([1, 2, 3, 4].map((a) => attemptDeadlineMs(3_000, a, 2, 20_000))).toEqual([
      3_000, 6_000, 12_000, 20_000,
    ]);
    expect(attemptDeadlineMs(3_610, 3, 1, 60_000)).toBe(3_610);
    expect(attemptDeadlineMs(70_000, 2, 2, 60_000)).toBe(70_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 16 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.integer({ min: 1, max: 600_000 }),
        (first, attempt, growth, max) => {
          const d = attemptDeadlineMs(first, attempt, growth, max);
          const next = attemptDeadlineMs(first, attempt + 1, growth, max);
          expect(d).toBeGreaterThanOrEqual(first);
          expect(d).toBeLessThanOrEqual(Math.max(first, max));
          expect(next).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });

  it('countBroadcast labels attempts, proposals and full syncs', async () => {
    const m = createMetrics(createRegistry('test'));
    countBroadcast(m, { phase: 'commit', attempt: 1, synced: false });
    countBroadcast(m, { phase: 'commit', attempt: 2, synced: false });
    countBroadcast(m, { phase: 'commit', attempt: 3, synced: true });
    countBroadcast(m, { phase: 'propose', median: true });
    countBroadcast(m, { phase: 'sync' });
    const kinds = (await m.attempts.get()).values.map((v) => [v.labels.kind, v.value]);
    expect(kinds.sort()).toEqual([
      ['after_sync', 1],
      ['first', 1],
      ['retry', 1],
    ]);
    expect((await m.proposals.get()).values.map((v) => [v.labels.kind, v.value])).toEqual([['median', 1]]);
    expect((await m.fullSyncs.get()).values[0]?.value).toBe(1);
  });
});
