import { batchEntriesHash } from '@whitepay/core';
import { waitFor } from '@whitepay/testkit';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeeperHandle } from '../harness/index.js';
import {
  type BatchNetwork,
  type BatchSummary,
  BLOCK_MS,
  H,
  MAX_STALENESS,
  type Paid,
  startBatchNetwork,
  T,
} from './batch-network.js';

// Issue "Scale": the batch payment path under faults. The network of
// batch.int.test.ts (4 full keepers, 6 real
// providers added in one block); faults are real outages (a stopped or killed
// service) and the coordinator's TEST-ONLY fault switch. Every outcome is read
// from the chain (PaymentMade, PaymentSkipped, BatchSettled, balances) and
// from the leaders' batch records. The tests run in order on one chain: the
// outage, which leaves the providers on different ts, comes last.

describe('batch payments under faults (4 full keepers, 6 providers)', () => {
  let net: BatchNetwork;

  beforeAll(async () => {
    net = await startBatchNetwork({ logPrefix: process.env.BATCH_FAULTS_LOG });
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
  });

  const lower = (a: string) => a.toLowerCase() as Address;
  const pids = () => net.providers.map((p) => lower(p.pid));
  /** Every provider's next ts. */
  const dueTs = async () => {
    const out = new Map<Address, bigint>();
    for (const pid of pids()) out.set(pid, await net.nextTs(pid));
    return out;
  };
  const allPaid = (due: Map<Address, bigint>) => async () => {
    for (const [pid, ts] of due) if ((await net.nextTs(pid)) <= ts) return false;
    return true;
  };
  /** Runs the chain (1 block/s) until every provider's payment of `due` landed, then holds it. */
  const runUntilPaid = async (due: Map<Address, bigint>, timeoutMs = 90_000) => {
    net.miner.resume();
    try {
      await waitFor('every provider paid', allPaid(due), timeoutMs, 100);
    } finally {
      net.miner.pause();
    }
  };
  /**
   * Mines up to block `window` at 1 block/s, then one block every `slowMs` until the providers
   * `which` of `due` are paid: the rounds started at the window's first block finish well inside
   * it, before the next-ranked keeper would start its own, even on a loaded machine.
   */
  const payInWindow = async (
    due: Map<Address, bigint>,
    window: bigint,
    which: readonly Address[] = [...due.keys()],
    slowMs = 2000,
  ) => {
    await net.mineUntil(`block ${window}`, async () => (await net.miner.head()) >= window, BLOCK_MS);
    const subset = new Map([...due].filter(([pid]) => which.includes(pid)));
    await net.mineUntil(`payments from block ${window}`, allPaid(subset), slowMs);
  };
  const earliest = (values: Iterable<bigint>) => [...values].sort((a, b) => (a < b ? -1 : 1))[0]!;
  /** The payment of each provider's interval starting at its `due` ts: exactly one per provider. */
  const paymentsOf = async (due: Map<Address, bigint>, fromBlock: bigint) => {
    const paid = (await net.payments(fromBlock)).filter((p) => due.get(p.pid) === p.ts);
    for (const pid of due.keys()) expect(paid.filter((p) => p.pid === pid)).toHaveLength(1);
    return new Map(paid.map((p) => [p.pid, p]));
  };
  /** Keeper id → the providers it leads at rank 1 for their `due` ts. */
  const rank1 = (due: Map<Address, bigint>) => {
    const out = new Map<number, Address[]>();
    for (const [pid, ts] of due) {
      const id = net.ranking(pid, ts)[0]!.keeperId;
      out.set(id, [...(out.get(id) ?? []), pid]);
    }
    return out;
  };
  const signed = (p: Paid, k: KeeperHandle) => ((p.signers >> BigInt(k.keeperId - 1)) & 1n) === 1n;
  /**
   * The batch `k` led over exactly `group` (their `due` ts), once final: the leader records the
   * outcome when the chain-submitter reports it, which may come a moment after the payment landed.
   */
  const batchOf = async (k: KeeperHandle, group: readonly Address[], due: Map<Address, bigint>) => {
    let found: BatchSummary[] = [];
    await waitFor(
      `keeper ${k.keeperId}'s batch final`,
      async () => {
        found = (await net.batches(k)).filter(
          (b) =>
            b.items.length === group.length &&
            b.items.every((it) => group.includes(lower(it.pid)) && due.get(lower(it.pid)) === BigInt(it.ts)),
        );
        return found.length > 0 && found.every((b) => !['running', 'submitting'].includes(b.outcome));
      },
      30_000,
      100,
    );
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  /** keccak256 of the packed entries a batch record settled: BatchSettled's entriesHash. */
  const entriesHashOf = (b: BatchSummary): Hex =>
    batchEntriesHash(
      b.items.map((it, i) => ({ pid: it.pid, ts: BigInt(it.ts), te: BigInt(it.te), st: BigInt(b.sts![i]!) })),
    );

  /**
   * The whole ledger so far: each provider paid over contiguous intervals from
   * the block it was added (no gap, no interval twice), its next ts the last
   * te; every balance exactly what core's splitReward gives (keepers ranked
   * ahead of a payment's leader excluded from it).
   */
  const expectLedger = async () => {
    const all = await net.payments();
    for (const pid of pids()) {
      const mine = all.filter((x) => x.pid === pid).sort((a, b) => (a.ts < b.ts ? -1 : 1));
      expect(mine[0]!.ts).toBe(net.addedAt);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.ts).toBe(mine[i - 1]!.te);
      expect(await net.nextTs(pid)).toBe(mine.at(-1)!.te);
      for (const x of mine) expect(x.amount).toBe(x.st); // price 1e18 per byte·block, scaled by 1e18
    }
    const expected = net.credits(all);
    for (const [account, balance] of await net.balances()) expect(balance).toBe(expected.get(account) ?? 0n);
  };

  it("crash-resume: the leader's coordinator killed while its payBatch waits to be mined; restarted, it resumes the batch, settled once", async () => {
    const due = await dueTs();
    // The largest batch one leader holds at one te.
    const groups = new Map<string, { leader: number; te: bigint; pids: Address[] }>();
    for (const [pid, ts] of due) {
      const leader = net.ranking(pid, ts)[0]!.keeperId;
      const key = `${leader}:${ts + H}`;
      const g = groups.get(key) ?? { leader, te: ts + H, pids: [] };
      g.pids.push(pid);
      groups.set(key, g);
    }
    const {
      leader: leaderId,
      te,
      pids: group,
    } = [...groups.values()].sort((a, b) => b.pids.length - a.pids.length)[0]!;
    expect(group.length).toBeGreaterThanOrEqual(2); // 6 providers sharing ts over 4 keepers
    const leader = net.byId(leaderId);
    const fromBlock = (await net.miner.head()) + 1n;
    // Mine up to the leader's window and hold the chain: its payBatch waits in the mempool.
    await net.miner.mine(Number(te - (await net.miner.head())), 300);
    let before: BatchSummary | undefined;
    await waitFor(
      'the batch submitting',
      async () => {
        before = (await net.batches(leader)).find(
          (b) => b.items.some((it) => group.includes(lower(it.pid))) && b.outcome === 'submitting',
        );
        return before !== undefined;
      },
      60_000,
      50,
    );
    expect(before!.items.map((it) => lower(it.pid)).sort()).toEqual([...group].sort());
    expect(before!.items.every((it) => BigInt(it.te) === te)).toBe(true);
    await leader.killService('consensus-coordinator');
    await leader.startService('consensus-coordinator');
    await runUntilPaid(due);

    // The restarted coordinator finished the stored batch: same id and attempt, every entry paid.
    let after: BatchSummary | undefined;
    await waitFor(
      'the resumed batch final',
      async () => {
        after = (await net.batches(leader)).find((b) => b.tid === before!.tid);
        return after !== undefined && after.outcome !== 'submitting';
      },
      30_000,
      100,
    );
    expect(after).toMatchObject({ outcome: 'confirmed', attempt: before!.attempt, sts: before!.sts });
    expect(after!.entries!.map((e) => e.status)).toEqual(group.map(() => 'paid'));
    // On chain, exactly one settlement of it: one BatchSettled for its entries, one PaymentMade per
    // provider in that transaction, nothing skipped (a second payBatch would skip every entry).
    const settled = (await net.settled(fromBlock)).filter((s) => s.entriesHash === entriesHashOf(before!));
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ leaderId, paid: BigInt(group.length), skipped: 0n });
    expect(settled[0]!.txHash).toBe(after!.txHash);
    const paid = await paymentsOf(due, fromBlock);
    for (const [i, it] of before!.items.entries()) {
      expect(paid.get(lower(it.pid))).toMatchObject({
        txHash: settled[0]!.txHash,
        leaderId,
        position: 1,
        te,
        st: BigInt(before!.sts![i]!),
      });
    }
    expect((await net.skipped(fromBlock)).filter((s) => group.includes(s.pid))).toEqual([]);
    // The restarted process claimed no new batch: it resumed the stored one.
    expect(await net.metric(leader, /^whitepay_rounds_started_total/)).toBe(0);
    await expectLedger();
  }, 150_000);

  it("a lying keeper (lie-st:3): every batch settles with honest values, the liar's signature never counted", async () => {
    const due = await dueTs();
    const leaders = rank1(due);
    // The liar leads some providers (its own proposal must give way to the median) and follows in
    // the other leaders' batches; only if one keeper leads all six, a keeper leading none lies.
    const liar =
      net.keepers.find((k) => (leaders.get(k.keeperId)?.length ?? 0) > 0 && leaders.size > 1) ??
      net.keepers.find((k) => !leaders.has(k.keeperId))!;
    const honest = net.keepers.filter((k) => k !== liar);
    const fromBlock = (await net.miner.head()) + 1n;
    await net.setFault(liar, 'lie-st:3');
    try {
      await payInWindow(due, earliest(due.values()) + H);
    } finally {
      await net.setFault(liar, 'none');
    }
    const paid = await paymentsOf(due, fromBlock);
    for (const [pid, p] of paid) {
      const ts = due.get(pid)!;
      const leader = net.ranking(pid, ts)[0]!;
      expect(p).toMatchObject({ leaderId: leader.keeperId, position: 1, te: ts + H });
      expect(signed(p, liar)).toBe(false);
      const honestSts = await Promise.all(honest.map((k) => net.ownSt(k, pid, ts, p.te)));
      if (leader === liar) {
        // The median of the reveals: one honest keeper's value, never the lie.
        expect(honestSts).toContain(p.st);
      } else {
        expect(p.st).toBe(await net.ownSt(leader, pid, ts, p.te));
      }
    }
    for (const [id, group] of leaders) {
      const b = await batchOf(net.byId(id), group, due);
      expect(b, JSON.stringify(b)).toMatchObject({ outcome: 'confirmed', synced: false });
      // An honest leader's own vector passes at once; the liar's is replaced by the per-entry median.
      expect(b.proposal, JSON.stringify(b)).toBe(id === liar.keeperId ? 2 : 1);
      const txs = new Set(group.map((pid) => paid.get(pid)!.txHash));
      expect([...txs]).toEqual([b.txHash]);
    }
    await expectLedger();
  }, 150_000);

  it("slow followers (slow:6500, past the first attempt's 5 s peer deadline): the second attempt waits twice as long (PEER_DEADLINE_GROWTH 2) and every batch settles at rank 1", async () => {
    const due = await dueTs();
    const leaders = rank1(due);
    const late =
      /^whitepay_round_replies_total\{(?=[^}]*phase="commit")(?=[^}]*outcome="no_answer")(?=[^}]*code="GRPC_DEADLINE_EXCEEDED")/;
    const retries = /^whitepay_round_attempts_total\{(?=[^}]*kind="retry")/;
    const sum = async (pattern: RegExp) =>
      (await Promise.all(net.keepers.map((k) => net.metric(k, pattern)))).reduce((a, b) => a + b, 0);
    const [lateBefore, retriesBefore] = [await sum(late), await sum(retries)];
    const fromBlock = (await net.miner.head()) + 1n;
    // Every keeper answers commit requests 6.5 s late: no follower makes the first attempt's 5 s
    // (+ 10 ms per entry) deadline; the second waits 10 s. A fixed deadline fails all three attempts.
    for (const k of net.keepers) await net.setFault(k, 'slow:6500');
    try {
      // One block every 3 s: the rank-1 window (T = 8 blocks) outlasts two attempts (~15 s).
      await payInWindow(due, earliest(due.values()) + H, [...due.keys()], 3000);
    } finally {
      for (const k of net.keepers) await net.setFault(k, 'none');
    }
    const paid = await paymentsOf(due, fromBlock);
    for (const [pid, p] of paid) {
      const ts = due.get(pid)!;
      expect(p).toMatchObject({ leaderId: net.ranking(pid, ts)[0]!.keeperId, position: 1, te: ts + H });
    }
    for (const [id, group] of leaders) {
      const b = await batchOf(net.byId(id), group, due);
      expect(b, JSON.stringify(b)).toMatchObject({ outcome: 'confirmed', attempt: 2, synced: false });
    }
    // Each leader's first attempt: every other member's commit call past its deadline.
    expect(await sum(late)).toBeGreaterThanOrEqual(lateBefore + 3 * leaders.size);
    expect(await sum(retries)).toBe(retriesBefore + leaders.size);
    await expectLedger();
  }, 150_000);

  it('measurements too far apart: every batch round falls back to a full sync and pays the union of the records', async () => {
    const due = await dueTs();
    const leaders = rank1(due);
    // Three keepers' challengers stop one block apart; the fourth keeps measuring and its records
    // reach every store through the broadcast. Per entry, the four own measurements are then
    // pairwise beyond 1% (a block is 1/12 of the interval): no vector finds the 2 approvals the
    // group needs (f + 1), neither the leader's own nor the per-entry median.
    const [full, ...short] = [...net.keepers].sort(
      (a, b) => (leaders.get(b.keeperId)?.length ?? 0) - (leaders.get(a.keeperId)?.length ?? 0),
    ) as [KeeperHandle, KeeperHandle, KeeperHandle, KeeperHandle];
    const syncsBefore = new Map<number, number>();
    for (const id of leaders.keys())
      syncsBefore.set(id, await net.metric(net.byId(id), /^whitepay_round_full_syncs_total/));
    const fromBlock = (await net.miner.head()) + 1n;
    // The last stop's records (2 blocks on, each counting MAX_STALENESS blocks) must end before te - 1.
    for (const ts of due.values()) {
      expect(fromBlock - 1n - ts, 'room in the interval for three staggered stops').toBeLessThanOrEqual(
        H - MAX_STALENESS - 3n,
      );
    }
    for (const [i, k] of short.entries()) {
      if (i > 0) await net.miner.mine(1, 1500);
      await k.stopService('challenger');
    }
    const paid = new Map<Address, Paid>();
    const measured = new Map<Address, bigint[]>();
    try {
      // One block every 2.5 s in the window: time for two attempts and the sync between them.
      await payInWindow(due, earliest(due.values()) + H, [...due.keys()], 2500);
      for (const [pid, p] of await paymentsOf(due, fromBlock)) {
        paid.set(pid, p);
        // Their own measurements, before the restarted challengers catch up on the blocks they missed.
        const ts = due.get(pid)!;
        measured.set(pid, await Promise.all([full, ...short].map((k) => net.ownSt(k, pid, ts, p.te))));
      }
    } finally {
      for (const k of short) await k.startService('challenger');
    }
    for (const [pid, p] of paid) {
      const ts = due.get(pid)!;
      expect(p).toMatchObject({ leaderId: net.ranking(pid, ts)[0]!.keeperId, position: 1, te: ts + H });
      const sorted = [...measured.get(pid)!].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1]!).toBeLessThan((sorted[i]! * 99n) / 100n);
      expect(p.st).toBe(await net.unionSt(pid, ts, p.te));
      expect(p.st).toBe(measured.get(pid)![0]); // the union is the full measurement
    }
    expect(Math.max(...[...leaders.values()].map((g) => g.length))).toBeGreaterThanOrEqual(2);
    for (const [id, group] of leaders) {
      const k = net.byId(id);
      const b = await batchOf(k, group, due);
      // No quorum before the full sync; the attempt after it, on everyone's include_peers st, paid.
      // (Usually attempt 2; on a loaded machine a commit phase may time out first and add one.)
      const syncs = (await net.metric(k, /^whitepay_round_full_syncs_total/)) - syncsBefore.get(id)!;
      const seen = JSON.stringify({ ...b, syncs });
      expect(b, seen).toMatchObject({ outcome: 'confirmed', synced: true });
      expect(b.attempt, seen).toBeGreaterThanOrEqual(2);
      expect(syncs, seen).toBeGreaterThanOrEqual(1);
      expect(b.sts).toEqual(b.items.map((it) => String(paid.get(lower(it.pid))!.st)));
    }
    await expectLedger();
    // The next test needs alike measurements again: the restarted challengers have caught up.
    const head = await net.miner.head();
    await waitFor(
      'the restarted challengers caught up',
      async () => {
        for (const k of short)
          for (const pid of pids()) {
            const own = await net.records(k, pid, 'own');
            if (!own.some((r) => r.block >= head - 1n)) return false;
          }
        return true;
      },
      60_000,
      250,
    );
  }, 150_000);

  it("leader outage: a rank-1 keeper's coordinator down; each rank-2 keeper settles those providers in one batch at position 2, the stopped keeper excluded", async () => {
    const due = await dueTs();
    const leaders = rank1(due);
    const [downId, downPids] = [...leaders].sort((a, b) => b[1].length - a[1].length)[0]!;
    const down = net.byId(downId);
    const fromBlock = (await net.miner.head()) + 1n;
    const before = await net.balances();
    await down.stopService('consensus-coordinator');
    try {
      // Window 1: the other providers, paid by their rank-1 keepers. Window 2: the stopped keeper's.
      const ts = earliest(due.values());
      await payInWindow(
        due,
        ts + H,
        [...due.keys()].filter((pid) => !downPids.includes(pid)),
      );
      await payInWindow(due, ts + H + T);
    } finally {
      await down.startService('consensus-coordinator'); // same ports: the peers reach it again
    }
    const paid = await paymentsOf(due, fromBlock);

    // The stopped keeper's providers: each paid by its rank-2 keeper in window 2, one transaction per
    // rank-2 keeper holding exactly the providers it took over.
    const byRank2 = new Map<number, Address[]>();
    for (const pid of downPids) {
      const ts = due.get(pid)!;
      const [r1, r2] = net.ranking(pid, ts) as [KeeperHandle, KeeperHandle];
      expect(r1).toBe(down);
      const p = paid.get(pid)!;
      expect(p).toMatchObject({ leaderId: r2.keeperId, position: 2, excluded: 1 });
      expect(p.te).toBeGreaterThanOrEqual(ts + H + T);
      expect(p.te).toBeLessThan(ts + H + 2n * T);
      expect(p.st).toBe(await net.ownSt(r2, pid, ts, p.te));
      byRank2.set(r2.keeperId, [...(byRank2.get(r2.keeperId) ?? []), pid]);
    }
    const settled = await net.settled(fromBlock);
    const all = await net.payments(fromBlock);
    for (const [id, group] of byRank2) {
      const txs = new Set(group.map((pid) => paid.get(pid)!.txHash));
      expect(txs.size).toBe(1);
      const [tx] = [...txs];
      expect(
        all
          .filter((p) => p.txHash === tx)
          .map((p) => p.pid)
          .sort(),
      ).toEqual([...group].sort());
      expect(settled.filter((s) => s.txHash === tx)).toMatchObject([
        { leaderId: id, paid: BigInt(group.length), skipped: 0n },
      ]);
      const b = await batchOf(net.byId(id), group, due);
      expect(b).toMatchObject({ r: 2, outcome: 'confirmed', txHash: tx });
    }
    // The others: paid on time by their rank-1 leaders, as usual.
    for (const [pid, p] of paid) {
      if (downPids.includes(pid)) continue;
      const ts = due.get(pid)!;
      expect(p).toMatchObject({ leaderId: net.ranking(pid, ts)[0]!.keeperId, position: 1, te: ts + H });
    }
    expect(await net.skipped(fromBlock)).toEqual([]);

    // Exact balance changes: the stopped keeper gets nothing of the payments it should have led
    // (it was ranked ahead of their leader), its share of the others as everyone.
    const after = await net.balances();
    const delta = net.credits([...paid.values()]);
    for (const [account, balance] of after)
      expect(balance - before.get(account)!).toBe(delta.get(account) ?? 0n);
    const downAccount = lower(down.account);
    expect(net.credits(downPids.map((pid) => paid.get(pid)!)).get(downAccount) ?? 0n).toBe(0n);
    expect(after.get(downAccount)! - before.get(downAccount)!).toBe(
      net.credits([...paid.values()].filter((p) => !downPids.includes(p.pid))).get(downAccount) ?? 0n,
    );
    await expectLedger();
  }, 150_000);
});
