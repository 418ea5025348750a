import { splitReward } from '@whitepay/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster.js';

describe('payment rounds across 4 keepers (real anvil, NATS, Redis, chain-submitters, coordinators)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster({ n: 4 });
  }, 120_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('the rank-1 leader pays in its window with the exact split', async () => {
    const ts = await c.nextTs();
    const before = await c.balances();
    const leader = c.ranking(ts)[0]!;
    await c.mineTo(ts + c.u.H);
    await c.waitPaid(ts);
    const p = await c.lastPayment();
    expect(p.ts).toBe(ts);
    expect(p.leaderId).toBe(leader.id);
    expect(p.st).toBe(1_000_000n);
    const after = await c.balances();
    const split = splitReward({ amount: p.amount, keeperCount: 4 });
    expect(p.amount).toBe(1_000_000n); // price 1e18 per byte·block scaled by 1e18
    expect(after.provider - before.provider).toBe(split.provider);
    for (const k of c.keepers)
      expect(after.keepers.get(k.id)! - before.keepers.get(k.id)!).toBe(split.perKeeper);
    expect(await c.roundOf(leader, ts)).toMatchObject({
      outcome: 'confirmed',
      phase: 'submitted',
      attempt: 1,
    });
  });
});
