import { upkeepingAbi } from '@whitepay/contracts';
import { rankKeepers } from '@whitepay/core';
import { waitFor } from '@whitepay/testkit';
import { type Address, type Hex, toFunctionSelector } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchNetwork, H, type Paid, PROVIDERS, startBatchNetwork } from './batch-network.js';

// Issue "Scale": batch payments. 4 full keepers (every round a list; several due providers at one position are one round)
// and 6 real providers, all added in one block (so they share every ts): per
// block, each keeper leads every provider whose window it holds in ONE batch
// round, settled by ONE payBatch transaction. The network is batch-network.ts.

describe('batch payments across 4 full keepers and 6 providers', () => {
  let net: BatchNetwork;

  beforeAll(async () => {
    net = await startBatchNetwork({ logPrefix: process.env.BATCH_LOG });
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
  });

  it('one payBatch per leader pays every provider whose window it holds; two periods without gaps; exact split', async () => {
    const { chain, providers, keys, keepers, addedAt, miner } = net;
    miner.resume();
    await waitFor(
      'two payments of every provider',
      async () => {
        for (const p of providers) if ((await net.nextTs(p.pid)) < addedAt + 2n * H) return false;
        return true;
      },
      150_000,
      200,
    );
    miner.pause();
    const all = await net.payments();

    // No gaps: each provider's payments chain from the block it was added, ts = previous te.
    for (const p of providers) {
      const mine = all.filter((x) => x.pid === p.pid.toLowerCase()).sort((a, b) => (a.ts < b.ts ? -1 : 1));
      expect(mine.length).toBeGreaterThanOrEqual(2);
      expect(mine[0]!.ts).toBe(addedAt);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.ts).toBe(mine[i - 1]!.te);
      for (const x of mine) {
        expect(x.st).toBeGreaterThan(0n);
        expect(x.amount).toBe(x.st); // price 1e18 per byte·block, scaled by 1e18
      }
    }

    // Every payment went through payBatch; one transaction = one leader, one te.
    const selector = toFunctionSelector(
      upkeepingAbi.find((f) => f.type === 'function' && f.name === 'payBatch')!,
    );
    const byTx = new Map<Hex, Paid[]>();
    for (const x of all) byTx.set(x.txHash, [...(byTx.get(x.txHash) ?? []), x]);
    for (const [hash, list] of byTx) {
      const tx = await chain.publicClient.getTransaction({ hash });
      expect(tx.input.slice(0, 10)).toBe(selector);
      expect(new Set(list.map((x) => `${x.leaderId}:${x.te}:${x.position}`)).size).toBe(1);
    }

    // First period: all providers share ts = addedAt; each rank-1 keeper pays exactly the
    // providers it leads, all of them, in one transaction at the start of its window.
    const rank1 = new Map<number, Address[]>();
    for (const p of providers) {
      const leader = rankKeepers({
        user: chain.user,
        pid: p.pid,
        ts: addedAt,
        keepers: keys.map((k) => k.keeperId),
      })[0]!;
      rank1.set(leader, [...(rank1.get(leader) ?? []), p.pid.toLowerCase() as Address]);
    }
    const first = all.filter((x) => x.ts === addedAt);
    expect(first).toHaveLength(PROVIDERS);
    for (const [leader, pids] of rank1) {
      const txs = new Set(first.filter((x) => pids.includes(x.pid)).map((x) => x.txHash));
      expect(txs.size).toBe(1);
      const [hash] = [...txs];
      expect(
        byTx
          .get(hash!)!
          .map((x) => x.pid)
          .sort(),
      ).toEqual([...pids].sort());
      expect(byTx.get(hash!)!.every((x) => x.leaderId === leader && x.position === 1)).toBe(true);
    }
    // Six providers over four keepers: some transaction settled several providers at once.
    expect(Math.max(...[...byTx.values()].map((l) => l.length))).toBeGreaterThanOrEqual(2);

    // Exact balances: every payment split as core's splitReward, keepers ranked ahead of the payer excluded.
    const expected = net.credits(all);
    for (const p of providers) {
      expect(await net.balanceOf(p.pid)).toBe(expected.get(p.pid.toLowerCase()));
    }
    for (const k of keys) {
      expect(await net.balanceOf(k.account)).toBe(expected.get(k.account.toLowerCase()) ?? 0n);
    }

    // Each leader's batch record: confirmed, every entry paid.
    for (const leader of rank1.keys()) {
      const k = keepers.find((x) => x.keeperId === leader)!;
      const batches = await net.batches(k);
      const firstBatch = batches.find((b) => b.items.every((it) => it.ts === String(addedAt)));
      expect(firstBatch).toMatchObject({ outcome: 'confirmed' });
      expect(firstBatch!.entries).toHaveLength(rank1.get(leader)!.length);
      expect(firstBatch!.entries!.every((e) => e.status === 'paid')).toBe(true);
    }
  }, 200_000);
});
