import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SplitError } from './errors.js';
import { BPS, splitReward } from './split.js';

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(SplitError);
  try {
    fn();
  } catch (err) {
    expect((err as SplitError).code).toBe(code);
  }
}

describe('splitReward', () => {
  it('gives the provider 90% and shares 10% equally by default', () => {
    expect(splitReward({ amount: 10_000n, keeperCount: 4 })).toEqual({
      provider: 9_000n,
      leaderBonus: 0n,
      perKeeper: 250n,
      keeperCount: 4,
      pool: 1_000n,
      dust: 0n,
      leader: 250n,
    });
  });

  it('gives the pool remainder to the provider', () => {
    const s = splitReward({ amount: 1_000n, keeperCount: 3 });
    expect(s).toMatchObject({ provider: 901n, perKeeper: 33n, pool: 100n, dust: 1n });
    expect(s.provider + s.perKeeper * 3n).toBe(1_000n);
  });

  it('floors the provider share and leaves the rounding to the pool', () => {
    // 9 * 9000 / 10000 = 8.1 → 8; pool 1 → 1 keeper gets 1.
    expect(splitReward({ amount: 9n, keeperCount: 1 })).toMatchObject({
      provider: 8n,
      perKeeper: 1n,
      dust: 0n,
    });
  });

  it('pays the leader bonus on top of its share (the 1% setting)', () => {
    const s = splitReward({ amount: 10_000n, keeperCount: 3, leaderBonusBps: 100n });
    expect(s).toMatchObject({
      provider: 9_000n,
      leaderBonus: 100n,
      pool: 900n,
      perKeeper: 300n,
      leader: 400n,
    });
  });

  it('supports the extreme settings', () => {
    expect(splitReward({ amount: 77n, keeperCount: 2, providerBps: 10_000n })).toMatchObject({
      provider: 77n,
      perKeeper: 0n,
    });
    expect(splitReward({ amount: 77n, keeperCount: 7, providerBps: 0n })).toMatchObject({
      provider: 0n,
      perKeeper: 11n,
    });
    expect(splitReward({ amount: 0n, keeperCount: 5 })).toMatchObject({
      provider: 0n,
      perKeeper: 0n,
      leader: 0n,
    });
  });

  it.each([
    ['a negative amount', { amount: -1n, keeperCount: 1 }, 'SPLIT_INVALID_AMOUNT'],
    ['an amount beyond uint256', { amount: 1n << 256n, keeperCount: 1 }, 'SPLIT_INVALID_AMOUNT'],
    ['a number amount', { amount: 5 as unknown as bigint, keeperCount: 1 }, 'SPLIT_INVALID_AMOUNT'],
    ['providerBps over 10000', { amount: 1n, keeperCount: 1, providerBps: 10_001n }, 'SPLIT_INVALID_BPS'],
    ['negative leaderBonusBps', { amount: 1n, keeperCount: 1, leaderBonusBps: -1n }, 'SPLIT_INVALID_BPS'],
    [
      'shares over 10000',
      { amount: 1n, keeperCount: 1, providerBps: 9_950n, leaderBonusBps: 100n },
      'SPLIT_INVALID_BPS',
    ],
    ['no keepers', { amount: 1n, keeperCount: 0 }, 'SPLIT_INVALID_KEEPER_COUNT'],
    ['a fractional keeper count', { amount: 1n, keeperCount: 1.5 }, 'SPLIT_INVALID_KEEPER_COUNT'],
  ])('rejects %s', (_name, input, code) => {
    expectCode(() => splitReward(input), code);
  });

  it('parts sum to the amount and the provider gets at least its share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt(0n, (1n << 200n) - 1n),
        fc.integer({ min: 1, max: 500 }),
        fc.bigInt(0n, BPS),
        fc.bigInt(0n, BPS),
        (amount, keeperCount, providerBps, bonus) => {
          const leaderBonusBps = providerBps + bonus > BPS ? BPS - providerBps : bonus;
          const s = splitReward({ amount, keeperCount, providerBps, leaderBonusBps });
          expect(s.provider + s.leaderBonus + s.perKeeper * BigInt(keeperCount)).toBe(amount);
          expect(s.provider).toBeGreaterThanOrEqual((amount * providerBps) / BPS);
          expect(s.dust).toBeLessThan(BigInt(keeperCount));
          expect(s.leader).toBe(s.leaderBonus + s.perKeeper);
          for (const part of [s.provider, s.leaderBonus, s.perKeeper])
            expect(part).toBeGreaterThanOrEqual(0n);
        },
      ),
    );
  });
});
