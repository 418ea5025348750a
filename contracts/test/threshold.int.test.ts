/**
 * The threshold is held within [f + 1, n] (SPEC section 8; f = floor((n - 1) / 3)): `setConfig` (and the
 * creation's config) refuse a non-zero threshold outside it, `addKeeper` refuses a member that would raise
 * f + 1 above it, `removeKeeper` one whose removal would leave n below it — each with
 * `UpkeepingThresholdOutOfRange(threshold, min, max)`. 0 (the default f + 1) is always in range. Before, a
 * threshold above n was accepted, after which every payment reverted with `UpkeepingTooFewSigners`.
 */
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upkeepingAbi } from '../generated/index.js';
import {
  addKeeper,
  createUpkeeping,
  deployFactory,
  pay,
  removeKeeper,
  setConfig,
  UpkeepingError,
} from '../src/index.js';
import {
  aggregate,
  type Chain,
  firstSigners,
  keeperKey,
  leaderFor,
  messageFor,
  mineTo,
  type Setup,
  setup,
  startChain,
} from './fixture.js';

let chain: Chain;
let factory: Address;
let nextUser = 20;

beforeAll(async () => {
  chain = await startChain();
  factory = await deployFactory(chain.wallet(0));
});

afterAll(async () => {
  await chain?.stop();
});

/** A new account (its own user) with `n` keepers (ids 101..100+n) and the default threshold. */
const account = (n: number) => setup(chain, { n, factory, userIndex: nextUser++ });

async function expectOutOfRange(promise: Promise<unknown>, threshold: number, min: number, max: number) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpkeepingError);
  expect((err as UpkeepingError).code).toBe('UpkeepingThresholdOutOfRange');
  expect((err as UpkeepingError).args).toEqual([BigInt(threshold), BigInt(min), BigInt(max)]);
}

const withThreshold = (s: Setup, threshold: number) =>
  setConfig(s.user, { upkeeping: s.upkeeping, config: { ...s.config, threshold } });

const read = async (s: Setup) => {
  const [threshold, config, members] = await Promise.all([
    chain.public.readContract({ address: s.upkeeping, abi: upkeepingAbi, functionName: 'threshold' }),
    chain.public.readContract({ address: s.upkeeping, abi: upkeepingAbi, functionName: 'config' }),
    chain.public.readContract({ address: s.upkeeping, abi: upkeepingAbi, functionName: 'members' }),
  ]);
  return { threshold: Number(threshold), configured: config.threshold, n: members[0].length };
};

/** Registers keeper `id` (account `accountIndex`) with its fixed key. */
const join = (s: Setup, id: number, accountIndex: number) => {
  const { publicKey, pop } = keeperKey(id);
  return addKeeper(s.user, {
    upkeeping: s.upkeeping,
    keeperId: id,
    account: chain.wallet(accountIndex).account.address,
    publicKey,
    proofOfPossession: pop,
  });
};

describe('Upkeeping threshold range [f + 1, n]', () => {
  it('refuses a non-zero threshold at creation (no keepers: the range is empty) and takes 0', async () => {
    const config = { price: 10n ** 18n, period: 10n, window: 5n };
    const user = chain.wallet(nextUser++);
    await expectOutOfRange(createUpkeeping(user, { factory, config: { ...config, threshold: 1 } }), 1, 1, 0);
    const upkeeping = await createUpkeeping(user, { factory, config: { ...config, threshold: 0 } });
    expect(
      await chain.public.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'threshold' }),
    ).toBe(1n);
  });

  it('setConfig refuses below f + 1 and above n, and takes both bounds and 0 (n = 4: [2, 4])', async () => {
    const s = await account(4);
    await expectOutOfRange(withThreshold(s, 1), 1, 2, 4);
    await expectOutOfRange(withThreshold(s, 5), 5, 2, 4); // was accepted: every payment then reverted
    await expectOutOfRange(withThreshold(s, 200), 200, 2, 4); // was UpkeepingInvalidConfig (> 128)
    expect(await read(s)).toEqual({ threshold: 2, configured: 0, n: 4 });
    await withThreshold(s, 2);
    expect(await read(s)).toEqual({ threshold: 2, configured: 2, n: 4 });
    await withThreshold(s, 4);
    expect(await read(s)).toEqual({ threshold: 4, configured: 4, n: 4 });
    await withThreshold(s, 0);
    expect(await read(s)).toEqual({ threshold: 2, configured: 0, n: 4 });
  });

  it('a payment at the accepted maximum threshold n is payable by all n signers', async () => {
    const s = await account(4);
    await withThreshold(s, 4);
    const { te, leader } = leaderFor(s, s.ts0, 1);
    await mineTo(chain, te);
    const st = 1_000n;
    const message = messageFor(s, { ts: s.ts0, te, st, leaderId: leader.keeperId });
    const args = (signers: number[]) => ({
      upkeeping: s.upkeeping,
      pid: s.pid,
      ts: s.ts0,
      te,
      st,
      idle: 0n,
      leaderId: leader.keeperId,
      group: s.group,
      signers,
      signature: aggregate(s, signers, message),
    });
    const three = await pay(leader.client, args(firstSigners(3))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((three as UpkeepingError).code).toBe('UpkeepingTooFewSigners');
    expect((await pay(leader.client, args(firstSigners(4)))).status).toBe('success');
  });

  it('removeKeeper refuses to leave n below the threshold, and takes n = threshold', async () => {
    const s = await account(4);
    await withThreshold(s, 4);
    await expectOutOfRange(removeKeeper(s.user, { upkeeping: s.upkeeping, keeperId: 104 }), 4, 1, 3);
    expect(await read(s)).toEqual({ threshold: 4, configured: 4, n: 4 });
    await withThreshold(s, 3);
    await removeKeeper(s.user, { upkeeping: s.upkeeping, keeperId: 104 });
    expect(await read(s)).toEqual({ threshold: 3, configured: 3, n: 3 });
    await expectOutOfRange(removeKeeper(s.user, { upkeeping: s.upkeeping, keeperId: 103 }), 3, 1, 2);
  });

  it('removeKeeper refuses to remove the last member under a non-zero threshold, not under 0', async () => {
    const s = await account(1);
    await withThreshold(s, 1);
    await expectOutOfRange(removeKeeper(s.user, { upkeeping: s.upkeeping, keeperId: 101 }), 1, 1, 0);
    await withThreshold(s, 0);
    await removeKeeper(s.user, { upkeeping: s.upkeeping, keeperId: 101 });
    expect(await read(s)).toEqual({ threshold: 1, configured: 0, n: 0 });
  });

  it('addKeeper refuses a member that raises f + 1 above the threshold, and takes threshold = f + 1', async () => {
    const s = await account(3); // n = 3, f = 0: [1, 3]
    await withThreshold(s, 1);
    expect(await read(s)).toEqual({ threshold: 1, configured: 1, n: 3 });
    // n = 4 → f = 1: a threshold of 1 would be below f + 1 = 2.
    await expectOutOfRange(join(s, 104, 4), 1, 2, 4);
    expect((await read(s)).n).toBe(3);
    await withThreshold(s, 2);
    await join(s, 104, 4);
    expect(await read(s)).toEqual({ threshold: 2, configured: 2, n: 4 });
  });
});
