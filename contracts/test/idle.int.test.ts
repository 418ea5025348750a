import { splitPayment } from '@whitepay/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  balanceOf,
  batchOutcome,
  type PayArgs,
  pay,
  payBatch,
  setConfig,
  UpkeepingError,
} from '../src/index.js';
import {
  aggregate,
  batchMessageFor,
  type Chain,
  firstSigners,
  leaderFor,
  messageFor,
  mineTo,
  type Setup,
  setup,
  startChain,
} from './fixture.js';

// Idle keepers are not paid (SPEC 3 item 5, issue 19): the entry's idle set (bit i = member index i) is
// excluded from the split like the failed leaders, an idle leader gets no share and no bonus, and the
// signature commits to the idle set.
const N = 7;
let chain: Chain;
let s: Setup;
let snapshot: `0x${string}`;

beforeAll(async () => {
  chain = await startChain();
  s = await setup(chain, { n: N });
  await setConfig(s.user, { upkeeping: s.upkeeping, config: { ...s.config, leaderBonusBps: 100 } });
  snapshot = await chain.test.snapshot();
});

beforeEach(async () => {
  await chain.test.revert({ id: snapshot });
  snapshot = await chain.test.snapshot();
});

afterAll(async () => {
  await chain?.stop();
});

const members = () => s.keepers.map((k) => k.keeperId);
const indexOf = (keeperId: number) => s.keepers.findIndex((k) => k.keeperId === keeperId);
const bitsOf = (keeperIds: readonly number[]) =>
  keeperIds.reduce((m, id) => m | (1n << BigInt(indexOf(id))), 0n);

/** A payment of the first interval by the leader at `position`, its signature over the entry with `signedIdle`. */
async function payment(opts: { position: number; idle: bigint; signedIdle?: bigint; st?: bigint }) {
  const ts = s.ts0;
  const { te, leader, excluded } = leaderFor(s, ts, opts.position);
  await mineTo(chain, te);
  const st = opts.st ?? 1_000_000_007n;
  const signers = firstSigners(3);
  const message = messageFor(s, {
    ts,
    te,
    st,
    leaderId: leader.keeperId,
    idle: opts.signedIdle ?? opts.idle,
  });
  const args: PayArgs = {
    upkeeping: s.upkeeping,
    pid: s.pid,
    ts,
    te,
    st,
    idle: opts.idle,
    leaderId: leader.keeperId,
    group: s.group,
    signers,
    signature: aggregate(s, signers, message),
  };
  return { args, leader, failed: excluded };
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

/** Every member's and the provider's balance against core's splitPayment, to the wei. */
async function expectBalances(args: PayArgs, leaderId: number, failed: readonly number[]) {
  const expected = splitPayment({
    amount: args.st, // price 1e18: 1 wei per byte·block
    members: members(),
    leaderId,
    failed,
    idle: args.idle ?? 0n,
    leaderBonusBps: 100n,
  });
  let sum = await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid });
  expect(sum).toBe(expected.split.provider);
  for (const k of s.keepers) {
    const b = await balanceOf(s.user, { upkeeping: s.upkeeping, account: k.account });
    expect(b).toBe(expected.credits.get(k.keeperId));
    sum += b;
  }
  expect(sum).toBe(args.st);
  return expected;
}

describe('Upkeeping: idle keepers are not paid', () => {
  it('pays an idle keeper nothing and shares its part among the active ones; failed and idle count once', async () => {
    const { args, leader, failed } = await payment({ position: 3, idle: 0n });
    expect(failed).toHaveLength(2);
    const active = members().filter((id) => id !== leader.keeperId && !failed.includes(id));
    // One active keeper idle, and one failed keeper idle as well (excluded once, not twice).
    const idle = bitsOf([active[0]!, failed[0]!]);
    const { args: a } = await payment({ position: 3, idle });
    const receipt = await pay(leader.client, a);
    const expected = await expectBalances(a, leader.keeperId, failed);
    expect(expected.split.keeperCount).toBe(N - 3);
    expect(expected.credits.get(active[0]!)).toBe(0n);
    expect(expected.credits.get(leader.keeperId)).toBe(expected.split.perKeeper + expected.split.leaderBonus);
    const [paid] = batchOutcome(receipt, s.upkeeping).paid;
    expect(paid).toMatchObject({
      idle,
      excluded: 2,
      keeperShare: expected.split.perKeeper,
      bonus: expected.split.leaderBonus,
      providerAmount: expected.split.provider,
    });
    expect(args.te).toBe(a.te);
  });

  it('gives an idle leader neither share nor bonus: the bonus goes into the active keepers pool', async () => {
    const ts = s.ts0;
    const { leader } = leaderFor(s, ts, 1);
    const { args } = await payment({ position: 1, idle: bitsOf([leader.keeperId]) });
    const receipt = await pay(leader.client, args);
    const expected = await expectBalances(args, leader.keeperId, []);
    expect(expected.leaderIdle).toBe(true);
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: leader.account })).toBe(0n);
    // The withheld bonus (1%) is in the pool: 10% of the amount among N - 1 keepers.
    expect(expected.split.pool).toBe(args.st - (args.st * 9_000n) / 10_000n);
    const [paid] = batchOutcome(receipt, s.upkeeping).paid;
    expect(paid?.bonus).toBe(0n);
    expect(paid?.keeperShare).toBe(expected.split.perKeeper);
  });

  it('with every member failed or idle, the whole pool (and the withheld bonus) goes to the provider', async () => {
    const { args, leader, failed } = await payment({ position: 2, idle: 0n });
    const notFailed = members().filter((id) => !failed.includes(id));
    const { args: a } = await payment({ position: 2, idle: bitsOf(notFailed) });
    const receipt = await pay(leader.client, a);
    await expectBalances(a, leader.keeperId, failed);
    expect(await balanceOf(s.user, { upkeeping: s.upkeeping, account: s.pid })).toBe(a.st);
    const [paid] = batchOutcome(receipt, s.upkeeping).paid;
    expect(paid).toMatchObject({ keeperShare: 0n, bonus: 0n, providerAmount: a.st, excluded: 1 });
    expect(args.ts).toBe(a.ts);
  });

  it('refuses an idle set with a bit at or above n: pay reverts, payBatch skips (IdleSetInvalid)', async () => {
    const { args, leader } = await payment({ position: 1, idle: 1n << BigInt(N) });
    const err = await expectRevert(pay(leader.client, args), 'UpkeepingPaymentRefused');
    expect(err.reason).toBe('IdleSetInvalid');
    const { args: top } = await payment({ position: 1, idle: 1n << 127n });
    expect((await expectRevert(pay(leader.client, top), 'UpkeepingPaymentRefused')).reason).toBe(
      'IdleSetInvalid',
    );

    const entry = { pid: s.pid, ts: args.ts, te: args.te, st: args.st, idle: 1n << BigInt(N) };
    const signers = firstSigners(3);
    const receipt = await payBatch(leader.client, {
      upkeeping: s.upkeeping,
      entries: [entry],
      leaderId: leader.keeperId,
      group: s.group,
      signers,
      signature: aggregate(s, signers, batchMessageFor(s, leader.keeperId, [entry])),
    });
    const out = batchOutcome(receipt, s.upkeeping);
    expect(out.paid).toHaveLength(0);
    expect(out.skipped).toEqual([{ pid: s.pid, ts: args.ts, te: args.te, reason: 'IdleSetInvalid' }]);
    // The highest valid bit (member n - 1) is accepted.
    const { args: ok } = await payment({ position: 1, idle: 1n << BigInt(N - 1) });
    expect((await pay(leader.client, ok)).status).toBe('success');
  });

  it('a signature over one idle set does not verify for another', async () => {
    const { args, leader } = await payment({ position: 1, idle: 0b10n, signedIdle: 0n });
    await expectRevert(pay(leader.client, args), 'UpkeepingInvalidSignature');
    const { args: dropped } = await payment({ position: 1, idle: 0n, signedIdle: 0b10n });
    await expectRevert(pay(leader.client, dropped), 'UpkeepingInvalidSignature');

    // payBatch: the idle bits tampered in the packed entry's last 16 bytes.
    const entry = { pid: s.pid, ts: args.ts, te: args.te, st: args.st, idle: 0b100n };
    const signers = firstSigners(3);
    const signature = aggregate(s, signers, batchMessageFor(s, leader.keeperId, [entry]));
    const common = { upkeeping: s.upkeeping, leaderId: leader.keeperId, group: s.group, signers, signature };
    await expectRevert(
      payBatch(leader.client, { ...common, entries: [{ ...entry, idle: 0b101n }] }),
      'UpkeepingInvalidSignature',
    );
    const receipt = await payBatch(leader.client, { ...common, entries: [entry] });
    expect(batchOutcome(receipt, s.upkeeping).paid[0]?.idle).toBe(0b100n);
  });
});
