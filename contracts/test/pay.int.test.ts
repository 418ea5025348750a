import { splitReward, tid } from '@whitepay/core';
import { type Address, hexToBytes } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { upkeepingAbi } from '../generated/index.js';
import {
  addProvider,
  balanceOf,
  batchOutcome,
  encodeBatchEntries,
  type PayArgs,
  type PaymentSkipReason,
  pay,
  payBatch,
  removeProvider,
  setConfig,
  UpkeepingError,
  withdraw,
} from '../src/index.js';
import {
  aggregate,
  type Chain,
  firstSigners,
  leaderFor,
  messageFor,
  mineTo,
  type Setup,
  setup,
  startChain,
} from './fixture.js';

const N = 7;
let chain: Chain;
let s: Setup;
let snapshot: `0x${string}`;

beforeAll(async () => {
  chain = await startChain();
  s = await setup(chain, { n: N });
  snapshot = await chain.test.snapshot();
});

beforeEach(async () => {
  await chain.test.revert({ id: snapshot });
  snapshot = await chain.test.snapshot();
});

afterAll(async () => {
  await chain?.stop();
});

/** A valid payment by the leader at `position` (default 1) of the first interval, signed by `signers`. */
async function validPayment(opts: { position?: number; st?: bigint; signers?: number[] } = {}) {
  const ts = s.ts0;
  const { te, leader, excluded, position } = leaderFor(s, ts, opts.position ?? 1);
  await mineTo(chain, te);
  const st = opts.st ?? 123_456_789n;
  const signers = opts.signers ?? firstSigners(3); // default threshold for n = 7 is f + 1 = 3
  const message = messageFor(s, { ts, te, st, leaderId: leader.keeperId });
  const args: PayArgs = {
    upkeeping: s.upkeeping,
    pid: s.pid,
    ts,
    te,
    st,
    leaderId: leader.keeperId,
    group: s.group,
    signers,
    signature: aggregate(s, signers, message),
  };
  return { args, leader, excluded, position, message };
}

/**
 * `args` signed anew (by its signers) over the message of its own entry and leader, read from the contract's
 * `batchMessage` view (core's `batchPaymentMessage` refuses to encode an empty interval).
 */
async function resigned(args: PayArgs): Promise<PayArgs> {
  const message = await chain.public.readContract({
    address: s.upkeeping,
    abi: upkeepingAbi,
    functionName: 'batchMessage',
    args: [args.leaderId, encodeBatchEntries([args])],
  });
  return { ...args, signature: aggregate(s, args.signers, message) };
}

/** Expects `UpkeepingPaymentRefused(pid, ts, te, reason)` for the entry of `args`. */
async function expectRefused(args: PayArgs, client: PayClient, reason: PaymentSkipReason) {
  const err = await expectRevert(pay(client, args), 'UpkeepingPaymentRefused');
  expect(err.reason).toBe(reason);
  expect(err.args.slice(0, 3)).toEqual([args.pid, args.ts, args.te]);
  return err;
}

type PayClient = Parameters<typeof pay>[0];

async function expectRevert(promise: Promise<unknown>, code: string): Promise<UpkeepingError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpkeepingError);
  expect((err as UpkeepingError).code).toBe(code);
  return err as UpkeepingError;
}

const balances = (accounts: readonly `0x${string}`[]) =>
  Promise.all(accounts.map((account) => balanceOf(s.user, { upkeeping: s.upkeeping, account })));

describe('Upkeeping.pay', () => {
  it('verifies the batch message of @whitepay/core over its one entry', async () => {
    const { args, message } = await validPayment();
    const onChain = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'batchMessage',
      args: [args.leaderId, encodeBatchEntries([args])],
    });
    expect(onChain).toBe(message);
  });

  it('pays the provider and each keeper exactly, records the payment and reserves the amount', async () => {
    const { args, leader } = await validPayment();
    const receipt = await pay(leader.client, args);
    expect(receipt.status).toBe('success');

    const amount = args.st; // price = 1e18 → 1 wei per byte·block
    const split = splitReward({ amount, keeperCount: N });
    const [provider, ...keepers] = await balances([s.pid, ...s.keepers.map((k) => k.account)]);
    expect(provider).toBe(split.provider);
    for (const b of keepers) expect(b).toBe(split.perKeeper);
    expect(provider! + keepers.reduce((a, b) => a + b!, 0n)).toBe(amount);

    const last = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'lastPayment',
      args: [s.pid],
    });
    expect(last.te).toBe(args.te);
    expect(last.ts).toBe(args.ts);
    expect(last.st).toBe(args.st);
    expect(last.amount).toBe(amount);
    expect(last.signers).toBe(0b111n);
    expect(last.tid).toBe(
      tid({
        ts: args.ts,
        te: args.te,
        pid: s.pid,
        user: s.user.account.address,
        leaderId: leader.keeperId,
        r: 1,
      }),
    );
    const reserved = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'reserved',
    });
    expect(reserved).toBe(amount);
    const [active, , nextTs] = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'provider',
      args: [s.pid],
    });
    expect(active).toBe(true);
    expect(nextTs).toBe(args.te);
  });

  it('lets the rank-2 leader pay in its window and excludes rank 1', async () => {
    const { args, leader, excluded } = await validPayment({ position: 2 });
    expect(excluded).toHaveLength(1);
    await pay(leader.client, args);
    const split = splitReward({ amount: args.st, keeperCount: N - 1 });
    for (const k of s.keepers) {
      const b = await balanceOf(s.user, { upkeeping: s.upkeeping, account: k.account });
      expect(b).toBe(excluded.includes(k.keeperId) ? 0n : split.perKeeper);
    }
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid })).toBe(split.provider);
  });

  it('honours the leader bonus setting', async () => {
    await setConfig(s.user, { upkeeping: s.upkeeping, config: { ...s.config, leaderBonusBps: 100 } });
    const { args, leader } = await validPayment({ st: 1_000_003n });
    await pay(leader.client, args);
    const split = splitReward({ amount: args.st, keeperCount: N, leaderBonusBps: 100n });
    expect(split.leaderBonus).toBeGreaterThan(0n);
    for (const k of s.keepers) {
      const b = await balanceOf(s.user, { upkeeping: s.upkeeping, account: k.account });
      expect(b).toBe(k.keeperId === leader.keeperId ? split.leader : split.perKeeper);
    }
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid })).toBe(split.provider);
  });

  it('pays the next interval from the previous te, and withdraw sends the credits', async () => {
    const first = await validPayment();
    await pay(first.leader.client, first.args);
    // Second interval [te1, te2): the leader of position 1 for the new ts.
    const ts = first.args.te;
    const { te, leader } = leaderFor(s, ts, 1);
    await mineTo(chain, te);
    const st = 777n;
    const signers = firstSigners(3);
    const message = messageFor(s, { ts, te, st, leaderId: leader.keeperId });
    await pay(leader.client, {
      ...first.args,
      ts,
      te,
      st,
      leaderId: leader.keeperId,
      signature: aggregate(s, signers, message),
    });

    const k = s.keepers[0]!;
    const credit = await balanceOf(s.user, { upkeeping: s.upkeeping, account: k.account });
    expect(credit).toBeGreaterThan(0n);
    const before = await chain.public.getBalance({ address: k.account });
    const receipt = await withdraw(k.client, { upkeeping: s.upkeeping });
    const after = await chain.public.getBalance({ address: k.account });
    expect(after - before + receipt.gasUsed * receipt.effectiveGasPrice).toBe(credit);
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: k.account })).toBe(0n);
    await expectRevert(withdraw(k.client, { upkeeping: s.upkeeping }), 'UpkeepingNothingToWithdraw');

    const provider = chain.wallet(39);
    const pCredit = await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid });
    const pBefore = await chain.public.getBalance({ address: s.pid });
    const r2 = await withdraw(provider, { upkeeping: s.upkeeping });
    const pAfter = await chain.public.getBalance({ address: s.pid });
    expect(pAfter - pBefore + r2.gasUsed * r2.effectiveGasPrice).toBe(pCredit);
  });

  it('refuses a replayed payment (IntervalNotContiguous)', async () => {
    const { args, leader } = await validPayment();
    await pay(leader.client, args);
    await expectRefused(args, leader.client, 'IntervalNotContiguous');
  });

  it('refuses a wrong ts (IntervalNotContiguous)', async () => {
    const { args, leader } = await validPayment();
    await expectRefused(
      await resigned({ ...args, ts: args.ts + 1n }),
      leader.client,
      'IntervalNotContiguous',
    );
  });

  it('refuses te <= ts (IntervalEmpty)', async () => {
    const { args, leader } = await validPayment();
    await expectRefused(await resigned({ ...args, te: args.ts }), leader.client, 'IntervalEmpty');
  });

  it('refuses te in the future (IntervalInFuture)', async () => {
    const { args, leader } = await validPayment();
    const now = await chain.public.getBlockNumber({ cacheTime: 0 });
    await expectRefused(await resigned({ ...args, te: now + 5n }), leader.client, 'IntervalInFuture');
  });

  it('rejects a sender that is not the named leader', async () => {
    const { args, leader } = await validPayment();
    const other = s.keepers.find((k) => k.keeperId !== leader.keeperId)!;
    await expectRevert(pay(other.client, args), 'UpkeepingSenderNotLeader');
  });

  it('refuses a leader outside its window (NotLeaderWindow)', async () => {
    // The rank-2 keeper paying in the rank-1 window.
    const { args } = await validPayment({ position: 1 });
    const second = leaderFor(s, args.ts, 2).leader;
    await expectRefused(
      await resigned({ ...args, leaderId: second.keeperId }),
      second.client,
      'NotLeaderWindow',
    );
    // Before ts + H nobody leads.
    const early = await validPayment();
    await expectRefused(
      await resigned({ ...early.args, te: early.args.ts + 1n }),
      early.leader.client,
      'NotLeaderWindow',
    );
  });

  it('rejects too few signers', async () => {
    const { args, leader, message } = await validPayment();
    const signers = firstSigners(2);
    await expectRevert(
      pay(leader.client, { ...args, signers, signature: aggregate(s, signers, message) }),
      'UpkeepingTooFewSigners',
    );
  });

  it('rejects a duplicate signer', async () => {
    const { args, leader, message } = await validPayment();
    const signers = [0, 1, 1];
    await expectRevert(
      pay(leader.client, { ...args, signers, signature: aggregate(s, signers, message) }),
      'UpkeepingDuplicateSigner',
    );
    await expectRevert(pay(leader.client, { ...args, signers: [2, 1, 0] }), 'UpkeepingDuplicateSigner');
  });

  it('rejects a signer index outside the group', async () => {
    const { args, leader } = await validPayment();
    await expectRevert(pay(leader.client, { ...args, signers: [0, 1, N] }), 'UpkeepingUnknownSigner');
  });

  it('rejects keys that are not the registered group (an unregistered key)', async () => {
    const { args, leader } = await validPayment();
    const { keeperKey } = await import('./fixture.js');
    const rogue = keeperKey(999).publicKey;
    const bytes = hexToBytes(args.group);
    bytes.set(hexToBytes(rogue), 2 * 152 + 24); // replace member 2's key
    const group = `0x${Buffer.from(bytes).toString('hex')}` as const;
    await expectRevert(pay(leader.client, { ...args, group }), 'UpkeepingGroupMismatch');
  });

  it('rejects a forged or tampered signature', async () => {
    const { args, leader, message } = await validPayment();
    // Signed by other members than those claimed.
    await expectRevert(
      pay(leader.client, { ...args, signature: aggregate(s, [3, 4, 5], message) }),
      'UpkeepingInvalidSignature',
    );
    // Signed over another st.
    const other = messageFor(s, { ts: args.ts, te: args.te, st: args.st + 1n, leaderId: args.leaderId });
    await expectRevert(
      pay(leader.client, { ...args, signature: aggregate(s, args.signers, other) }),
      'UpkeepingInvalidSignature',
    );
    // A flipped byte: not a curve point any more (the precompile refuses it).
    const bytes = hexToBytes(args.signature);
    bytes[100] = bytes[100]! ^ 1;
    await expectRevert(
      pay(leader.client, { ...args, signature: `0x${Buffer.from(bytes).toString('hex')}` }),
      'UpkeepingInvalidSignature',
    );
    // And the untampered one verifies.
    await pay(leader.client, args);
  });

  it('costs at most 300k gas for the first payment of a provider (slots made at registration)', async () => {
    const { args, leader } = await validPayment();
    const receipt = await pay(leader.client, args);
    expect(receipt.gasUsed).toBeLessThanOrEqual(300_000n);
  });

  it('keeps the provider credit in its record: withdraw, removal and re-adding', async () => {
    const { args, leader } = await validPayment();
    await pay(leader.client, args);
    const credit = splitReward({ amount: args.st, keeperCount: N }).provider;
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid })).toBe(credit);
    await removeProvider(s.user, { upkeeping: s.upkeeping, pid: s.pid });
    await addProvider(s.user, { upkeeping: s.upkeeping, pid: s.pid });
    // Re-added: the credit stays, the last payment is cleared, the next interval starts now.
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid })).toBe(credit);
    const last = await chain.public.readContract({
      address: s.upkeeping,
      abi: upkeepingAbi,
      functionName: 'lastPayment',
      args: [s.pid],
    });
    expect(last.position).toBe(0);
    const provider = chain.wallet(39);
    const before = await chain.public.getBalance({ address: s.pid });
    const receipt = await withdraw(provider, { upkeeping: s.upkeeping });
    const after = await chain.public.getBalance({ address: s.pid });
    expect(after - before + receipt.gasUsed * receipt.effectiveGasPrice).toBe(credit);
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid })).toBe(0n);
  });

  it('refuses st of 2^128 or more (SpaceTimeTooLarge: the record keeps 128 bits)', async () => {
    const { args, leader } = await validPayment({ st: 1n << 128n });
    await expectRefused(args, leader.client, 'SpaceTimeTooLarge');
  });

  it('refuses a payment the unreserved balance does not cover (InsufficientFunds)', async () => {
    const { args, leader } = await validPayment({ st: 10n ** 18n + 1n });
    const err = await expectRefused(args, leader.client, 'InsufficientFunds');
    expect(err.kind).toBe('failed_precondition');
  });

  it('refuses an amount st * price that overflows 256 bits as unfunded, as payBatch skips it', async () => {
    // Before issue 15 `pay` panicked here (0x11) while `payBatch` skipped the entry.
    await setConfig(s.user, { upkeeping: s.upkeeping, config: { ...s.config, price: 1n << 200n } });
    const { args, leader } = await validPayment({ st: 1n << 100n });
    await expectRefused(args, leader.client, 'InsufficientFunds');
    const outcome = batchOutcome(await payBatch(leader.client, { ...args, entries: [args] }), s.upkeeping);
    expect(outcome.skipped.map((x) => x.reason)).toEqual(['InsufficientFunds']);
  });
});

describe('Upkeeping.pay is payBatch of one entry', () => {
  const stranger = '0x000000000000000000000000000000000000dEaD' as Address;

  /** Each reason an entry can be refused for, and how to provoke it from a valid payment. */
  const cases: { reason: PaymentSkipReason; provoke: (a: PayArgs, now: bigint) => PayArgs }[] = [
    { reason: 'UnknownProvider', provoke: (a) => ({ ...a, pid: stranger }) },
    {
      reason: 'IntervalNotContiguous',
      provoke: (a) => ({ ...a, ts: a.ts + 1n }),
    },
    { reason: 'IntervalEmpty', provoke: (a) => ({ ...a, te: a.ts }) },
    { reason: 'IntervalInFuture', provoke: (a, now) => ({ ...a, te: now + 5n }) },
    { reason: 'NotLeaderWindow', provoke: (a) => ({ ...a, te: a.ts + 1n }) },
    { reason: 'SpaceTimeTooLarge', provoke: (a) => ({ ...a, st: 1n << 128n }) },
    { reason: 'InsufficientFunds', provoke: (a) => ({ ...a, st: 10n ** 18n + 1n }) },
  ];

  for (const { reason, provoke } of cases) {
    it(`reverts with the reason payBatch skips the same entry for: ${reason}`, async () => {
      const { args, leader } = await validPayment();
      const now = await chain.public.getBlockNumber({ cacheTime: 0 });
      const bad = await resigned(provoke(args, now));
      await expectRefused(bad, leader.client, reason);
      // The same entry, under the same signature, as a list of one.
      const receipt = await payBatch(leader.client, { ...bad, entries: [bad] });
      const outcome = batchOutcome(receipt, s.upkeeping);
      expect(outcome.paid).toHaveLength(0);
      expect(outcome.skipped).toEqual([{ pid: bad.pid, ts: bad.ts, te: bad.te, reason }]);
    });
  }

  it('emits exactly the events of payBatch of one (PaymentMade, then BatchSettled), with the same signature', async () => {
    const { args, leader } = await validPayment({ position: 2 });
    const before = await chain.test.snapshot();
    const single = await pay(leader.client, args);
    const singleState = await balances([s.pid, ...s.keepers.map((k) => k.account)]);
    await chain.test.revert({ id: before });
    const batch = await payBatch(leader.client, { ...args, entries: [args] });
    const batchState = await balances([s.pid, ...s.keepers.map((k) => k.account)]);
    const shape = (r: typeof single) =>
      r.logs.map((l) => ({ address: l.address, topics: l.topics, data: l.data }));
    expect(shape(single)).toHaveLength(2);
    expect(shape(single)).toEqual(shape(batch));
    expect(singleState).toEqual(batchState);
    const outcome = batchOutcome(single, s.upkeeping);
    expect(outcome.paid).toHaveLength(1);
    expect(outcome.amount).toBe(args.st);
  });
});
