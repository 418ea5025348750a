import { type BatchEntry, rankKeepers, splitReward, tid } from '@whitepay/core';
import { type Address, encodeAbiParameters, type Hex } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { upkeepingAbi } from '../generated/index.js';
import {
  balanceOf,
  batchOutcome,
  encodeBatchEntries,
  type PayBatchArgs,
  type PaymentSkipReason,
  pay,
  payBatch,
  setConfig,
  UpkeepingError,
} from '../src/index.js';
import {
  addProvidersInOneBlock,
  aggregate,
  batchMessageFor,
  type Chain,
  firstSigners,
  type Keeper,
  leaderFor,
  messageFor,
  mineTo,
  nextBlock,
  pidsRanked,
  type Setup,
  setup,
  startChain,
} from './fixture.js';

const N = 7;
const SIGNERS = firstSigners(3); // default threshold for n = 7 is f + 1 = 3
let chain: Chain;
let s: Setup;
let snapshot: Hex;
let leader: Keeper;

beforeAll(async () => {
  chain = await startChain();
  s = await setup(chain, { n: N });
  leader = s.keepers[0]!;
  snapshot = await chain.test.snapshot();
});

beforeEach(async () => {
  await chain.test.revert({ id: snapshot });
  snapshot = await chain.test.snapshot();
});

afterAll(async () => {
  await chain?.stop();
});

const H = () => s.config.period;
const T = () => s.config.window;

/** `count` providers added in one block for which `leader` has rank `rank`; returns them and their ts. */
async function providers(count: number, rank = 1, salt = 'p'): Promise<{ pids: Address[]; ts: bigint }> {
  const ts = await nextBlock(chain);
  const pids = pidsRanked(s, { ts, leaderId: leader.keeperId, rank, count, salt });
  const block = await addProvidersInOneBlock(s, pids);
  expect(block).toBe(ts);
  return { pids, ts };
}

const stOf = (i: number) => 1_000_003n * BigInt(i + 1);

/** A batch of `entries` (or their packed bytes) signed by `signers` over `message` (default: the right one). */
function batchArgs(
  entries: readonly BatchEntry[] | Hex,
  opts: { signers?: number[]; message?: Hex; leaderId?: number } = {},
): PayBatchArgs {
  const signers = opts.signers ?? SIGNERS;
  const leaderId = opts.leaderId ?? leader.keeperId;
  const message = opts.message ?? batchMessageFor(s, leaderId, entries as readonly BatchEntry[]);
  return {
    upkeeping: s.upkeeping,
    entries,
    leaderId,
    group: s.group,
    signers,
    signature: aggregate(s, signers, message),
  };
}

/** The contract's own batch message for packed entries (for lists core refuses to encode). */
function viewMessage(packed: Hex, leaderId = leader.keeperId): Promise<Hex> {
  return chain.public.readContract({
    address: s.upkeeping,
    abi: upkeepingAbi,
    functionName: 'batchMessage',
    args: [leaderId, packed],
  });
}

async function expectRevert(promise: Promise<unknown>, code: string): Promise<UpkeepingError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpkeepingError);
  expect((err as UpkeepingError).code).toBe(code);
  return err as UpkeepingError;
}

const balance = (account: Address) => balanceOf(s.user, { upkeeping: s.upkeeping, account });

describe('Upkeeping.payBatch', () => {
  it('rebuilds exactly the batch message of @whitepay/core', async () => {
    const entries: BatchEntry[] = [
      { pid: s.pid, ts: 5n, te: 9n, st: 77n },
      { pid: leader.account, ts: 1n, te: 2n, st: (1n << 255n) + 1n },
    ];
    expect(await viewMessage(encodeBatchEntries(entries))).toBe(batchMessageFor(s, leader.keeperId, entries));
  });

  it('pays 20 providers in one transaction, each exactly the split of core splitReward', async () => {
    const { pids, ts } = await providers(20);
    const te = ts + H();
    await mineTo(chain, te);
    const entries = pids.map((pid, i) => ({ pid, ts, te, st: stOf(i) }));
    const receipt = await payBatch(leader.client, batchArgs(entries));
    const outcome = batchOutcome(receipt, s.upkeeping);
    expect(outcome.skipped).toEqual([]);
    expect(outcome.paid.map((p) => p.pid.toLowerCase())).toEqual(pids.map((p) => p.toLowerCase()));

    let perKeeper = 0n;
    let total = 0n;
    for (const [i, pid] of pids.entries()) {
      const split = splitReward({ amount: stOf(i), keeperCount: N });
      expect(await balance(pid)).toBe(split.provider);
      expect(outcome.paid[i]!.providerAmount).toBe(split.provider);
      expect(outcome.paid[i]!.keeperShare).toBe(split.perKeeper);
      expect(outcome.paid[i]!.tid).toBe(
        tid({ ts, te, pid, user: s.user.account.address, leaderId: leader.keeperId, r: 1 }),
      );
      perKeeper += split.perKeeper;
      total += stOf(i);
    }
    expect(outcome.amount).toBe(total);
    for (const k of s.keepers) expect(await balance(k.account)).toBe(perKeeper);
    const reserved = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'reserved',
    });
    expect(reserved).toBe(total);

    const last = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'lastPayment',
      args: [pids[7]!],
    });
    expect(last).toMatchObject({ ts, te, st: stOf(7), amount: stOf(7), position: 1, signers: 0b111n });
    expect(last.leaderId).toBe(leader.keeperId);
    // The record's other fields survive the batch's whole-slot writes.
    const state = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'provider',
      args: [pids[7]!],
    });
    expect(state).toEqual([true, ts, te]);
  });

  it('excludes, per entry, the keeper ranked ahead of the leader', async () => {
    const { pids, ts } = await providers(8, 2);
    const te = ts + H() + T(); // window of position 2
    await mineTo(chain, te);
    const entries = pids.map((pid, i) => ({ pid, ts, te, st: stOf(i) }));
    const outcome = batchOutcome(await payBatch(leader.client, batchArgs(entries)), s.upkeeping);
    expect(outcome.paid).toHaveLength(8);

    const expected = new Map(s.keepers.map((k) => [k.keeperId, 0n]));
    const keepers = s.keepers.map((k) => k.keeperId);
    const excludedIds = new Set<number>();
    for (const [i, pid] of pids.entries()) {
      const [first] = rankKeepers({ user: s.user.account.address, pid, ts, keepers });
      excludedIds.add(first!);
      const split = splitReward({ amount: stOf(i), keeperCount: N - 1 });
      expect(await balance(pid)).toBe(split.provider);
      expect(outcome.paid[i]!.excluded).toBe(1);
      for (const id of keepers) {
        if (id !== first) expected.set(id, expected.get(id)! + split.perKeeper);
      }
    }
    expect(excludedIds.size).toBeGreaterThan(1); // the excluded keeper differs between entries
    for (const k of s.keepers) expect(await balance(k.account)).toBe(expected.get(k.keeperId));
  });

  it('skips replayed, non-contiguous, unknown, future, empty and oversized entries and pays the others', async () => {
    const { pids, ts } = await providers(5);
    const te = ts + H();
    await mineTo(chain, te);
    const first = pids.slice(0, 2).map((pid, i) => ({ pid, ts, te, st: stOf(i) }));
    await payBatch(leader.client, batchArgs(first));

    const stranger = '0x000000000000000000000000000000000000dEaD' as Address;
    const now = await chain.public.getBlockNumber({ cacheTime: 0 });
    const entries: BatchEntry[] = [
      first[0]!, // replayed
      { pid: pids[2]!, ts: ts + 1n, te, st: 5n }, // not contiguous
      { pid: stranger, ts, te, st: 5n }, // not a provider
      { pid: pids[3]!, ts, te: now + 100n, st: 5n }, // in the future
      { pid: pids[3]!, ts, te: ts, st: 5n }, // empty
      { pid: pids[4]!, ts, te, st: 1n << 128n }, // st too large
      { pid: pids[2]!, ts, te, st: 1000n }, // valid
      { pid: pids[4]!, ts, te, st: 2000n }, // valid
    ];
    const packed = encodeBatchEntries(entries);
    const receipt = await payBatch(leader.client, batchArgs(packed, { message: await viewMessage(packed) }));
    const outcome = batchOutcome(receipt, s.upkeeping);
    const reasons: PaymentSkipReason[] = [
      'IntervalNotContiguous',
      'IntervalNotContiguous',
      'UnknownProvider',
      'IntervalInFuture',
      'IntervalEmpty',
      'SpaceTimeTooLarge',
    ];
    expect(outcome.skipped.map((x) => x.reason)).toEqual(reasons);
    expect(outcome.skipped.map((x) => x.ts)).toEqual(entries.slice(0, 6).map((e) => e.ts));
    expect(outcome.paid.map((p) => [p.pid.toLowerCase(), p.st])).toEqual([
      [pids[2]!.toLowerCase(), 1000n],
      [pids[4]!.toLowerCase(), 2000n],
    ]);
    expect(await balance(pids[2]!)).toBe(splitReward({ amount: 1000n, keeperCount: N }).provider);
    expect(await balance(pids[3]!)).toBe(0n);
    // The replayed provider was paid once only.
    expect(await balance(pids[0]!)).toBe(splitReward({ amount: stOf(0), keeperCount: N }).provider);
  });

  it('skips entries whose window is not the leader’s, and entries before ts + H', async () => {
    const ts = await nextBlock(chain);
    const led = pidsRanked(s, { ts, leaderId: leader.keeperId, rank: 1, count: 3, salt: 'a' });
    const second = pidsRanked(s, { ts, leaderId: leader.keeperId, rank: 2, count: 2, salt: 'b' });
    await addProvidersInOneBlock(s, [...led, ...second]);
    const te = ts + H(); // position 1: the leader leads `led` only
    await mineTo(chain, te);
    const entries: BatchEntry[] = [
      ...[...led, ...second].map((pid) => ({ pid, ts, te, st: 100n })),
      { pid: led[0]!, ts, te: ts + H() - 1n, st: 100n }, // nobody leads before ts + H (and led[0] is paid by then)
    ];
    const outcome = batchOutcome(await payBatch(leader.client, batchArgs(entries)), s.upkeeping);
    expect(outcome.paid.map((p) => p.pid.toLowerCase())).toEqual(led.map((p) => p.toLowerCase()));
    expect(outcome.skipped.map((x) => [x.pid.toLowerCase(), x.reason])).toEqual([
      [second[0]!.toLowerCase(), 'NotLeaderWindow'],
      [second[1]!.toLowerCase(), 'NotLeaderWindow'],
      [led[0]!.toLowerCase(), 'IntervalNotContiguous'],
    ]);

    // Before ts + H on a fresh provider: no position at all.
    const { pids: fresh, ts: ts2 } = await providers(1, 1, 'c');
    await mineTo(chain, ts2 + H());
    const early = [{ pid: fresh[0]!, ts: ts2, te: ts2 + H() - 1n, st: 1n }];
    const r = batchOutcome(await payBatch(leader.client, batchArgs(early)), s.upkeeping);
    expect(r.skipped.map((x) => x.reason)).toEqual(['NotLeaderWindow']);
  });

  it('pays the entries the balance covers, in order, and skips the others', async () => {
    const { pids, ts } = await providers(3);
    const te = ts + H();
    await mineTo(chain, te);
    const sts = [6n * 10n ** 17n, 6n * 10n ** 17n, 1000n]; // funding is 1e18 wei at 1 wei per byte·block
    const entries = pids.map((pid, i) => ({ pid, ts, te, st: sts[i]! }));
    const outcome = batchOutcome(await payBatch(leader.client, batchArgs(entries)), s.upkeeping);
    expect(outcome.paid.map((p) => p.st)).toEqual([sts[0], sts[2]]);
    expect(outcome.skipped.map((x) => x.reason)).toEqual(['InsufficientFunds']);
  });

  it('credits the leader bonus of every paid entry', async () => {
    await setConfig(s.user, { upkeeping: s.upkeeping, config: { ...s.config, leaderBonusBps: 100 } });
    const { pids, ts } = await providers(4);
    const te = ts + H();
    await mineTo(chain, te);
    const entries = pids.map((pid, i) => ({ pid, ts, te, st: stOf(i) }));
    await payBatch(leader.client, batchArgs(entries));
    let leaderTotal = 0n;
    let other = 0n;
    for (const [i] of pids.entries()) {
      const split = splitReward({ amount: stOf(i), keeperCount: N, leaderBonusBps: 100n });
      leaderTotal += split.leader;
      other += split.perKeeper;
    }
    expect(await balance(leader.account)).toBe(leaderTotal);
    expect(await balance(s.keepers[1]!.account)).toBe(other);
  });

  it('reverts on a forged signature or one over another entry list', async () => {
    const { pids, ts } = await providers(3);
    const te = ts + H();
    await mineTo(chain, te);
    const entries = pids.map((pid, i) => ({ pid, ts, te, st: stOf(i) }));
    const message = batchMessageFor(s, leader.keeperId, entries);
    // Signed by other members than those claimed.
    await expectRevert(
      payBatch(leader.client, { ...batchArgs(entries), signature: aggregate(s, [3, 4, 5], message) }),
      'UpkeepingInvalidSignature',
    );
    // Signed over fewer entries, another st, another order.
    for (const other of [
      entries.slice(0, 2),
      [entries[0]!, entries[1]!, { ...entries[2]!, st: entries[2]!.st + 1n }],
      [entries[1]!, entries[0]!, entries[2]!],
    ]) {
      await expectRevert(
        payBatch(leader.client, { ...batchArgs(entries), signature: batchArgs(other).signature }),
        'UpkeepingInvalidSignature',
      );
    }
    // A signature over the retired single-payment message ("WhitePay/v1") verifies nowhere.
    const single = encodeAbiParameters(
      [
        { type: 'string' },
        { type: 'uint256' },
        { type: 'address' },
        { type: 'address' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'uint64' },
        { type: 'uint256' },
        { type: 'uint32' },
        { type: 'uint8' },
      ],
      [
        'WhitePay/v1',
        BigInt(s.chain.anvil.chainId),
        s.upkeeping,
        s.user.account.address,
        entries[0]!.pid,
        ts,
        te,
        stOf(0),
        leader.keeperId,
        1,
      ],
    );
    await expectRevert(
      payBatch(leader.client, batchArgs([entries[0]!], { message: single })),
      'UpkeepingInvalidSignature',
    );
    await expectRevert(
      pay(leader.client, { ...batchArgs([entries[0]!], { message: single }), ...entries[0]! }),
      'UpkeepingInvalidSignature',
    );
    // Nothing was paid; the genuine batch still goes through.
    expect(await balance(pids[0]!)).toBe(0n);
    const ok = batchOutcome(await payBatch(leader.client, batchArgs(entries)), s.upkeeping);
    expect(ok.paid).toHaveLength(3);
  });

  it('reverts on batch-level errors: length, sender, signers, group', async () => {
    const { pids, ts } = await providers(2);
    const te = ts + H();
    await mineTo(chain, te);
    const entries = pids.map((pid, i) => ({ pid, ts, te, st: stOf(i) }));
    const args = batchArgs(entries);
    const packed = encodeBatchEntries(entries);
    await expectRevert(
      payBatch(leader.client, { ...args, entries: `${packed}00` as Hex }),
      'UpkeepingInvalidBatch',
    );
    await expectRevert(payBatch(leader.client, { ...args, entries: '0x' }), 'UpkeepingInvalidBatch');
    await expectRevert(payBatch(s.keepers[1]!.client, args), 'UpkeepingSenderNotLeader');
    await expectRevert(payBatch(leader.client, { ...args, leaderId: 999 }), 'UpkeepingUnknownKeeper');
    await expectRevert(
      payBatch(leader.client, batchArgs(entries, { signers: [0, 1] })),
      'UpkeepingTooFewSigners',
    );
    await expectRevert(
      payBatch(leader.client, { ...args, group: `${s.group.slice(0, -2)}00` as Hex }),
      'UpkeepingGroupMismatch',
    );
  });

  it('continues across both paths: single pay, then batch, then single pay again', async () => {
    // 1. Single pay of the setup's provider over [ts0, te1).
    const ts0 = s.ts0;
    const p1 = leaderFor(s, ts0, 1);
    await mineTo(chain, p1.te);
    const m1 = messageFor(s, { ts: ts0, te: p1.te, st: 500n, leaderId: p1.leader.keeperId });
    const single = {
      upkeeping: s.upkeeping,
      pid: s.pid,
      ts: ts0,
      te: p1.te,
      st: 500n,
      leaderId: p1.leader.keeperId,
      group: s.group,
      signers: SIGNERS,
      signature: aggregate(s, SIGNERS, m1),
    };
    await pay(p1.leader.client, single);

    // 2. A batch from te1: led by the rank-1 keeper for (pid, te1).
    const p2 = leaderFor(s, p1.te, 1);
    await mineTo(chain, p2.te);
    const entries = [{ pid: s.pid, ts: p1.te, te: p2.te, st: 700n }];
    const batch = batchArgs(entries, { leaderId: p2.leader.keeperId });
    expect(batchOutcome(await payBatch(p2.leader.client, batch), s.upkeeping).paid).toHaveLength(1);
    // The single payment cannot be replayed, nor the batch.
    const refused = await expectRevert(pay(p1.leader.client, single), 'UpkeepingPaymentRefused');
    expect(refused.reason).toBe('IntervalNotContiguous');
    const replay = batchOutcome(await payBatch(p2.leader.client, batch), s.upkeeping);
    expect(replay.skipped.map((x) => x.reason)).toEqual(['IntervalNotContiguous']);

    // 3. Single pay from the batch's te.
    const p3 = leaderFor(s, p2.te, 1);
    await mineTo(chain, p3.te);
    const m3 = messageFor(s, { ts: p2.te, te: p3.te, st: 900n, leaderId: p3.leader.keeperId });
    await pay(p3.leader.client, {
      ...single,
      ts: p2.te,
      te: p3.te,
      st: 900n,
      leaderId: p3.leader.keeperId,
      signature: aggregate(s, SIGNERS, m3),
    });
    const provided = [500n, 700n, 900n].reduce(
      (a, st) => a + splitReward({ amount: st, keeperCount: N }).provider,
      0n,
    );
    expect(await balance(s.pid)).toBe(provided);
    const [, , nextTs] = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'provider',
      args: [s.pid],
    });
    expect(nextTs).toBe(p3.te);
  });
});
