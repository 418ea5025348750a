import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SplitError } from './errors.js';
import { BPS, idleMembers, splitPayment, splitReward } from './split.js';

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

describe('splitReward with an idle leader', () => {
  it('withholds the bonus into the pool shared by the active keepers', () => {
    // 10000: provider 9000, bonus 100 withheld, pool 1000 among 3 → 333 each, 1 of dust.
    expect(splitReward({ amount: 10_000n, keeperCount: 3, leaderBonusBps: 100n, leaderIdle: true })).toEqual({
      provider: 9_001n,
      leaderBonus: 0n,
      perKeeper: 333n,
      keeperCount: 3,
      pool: 1_000n,
      dust: 1n,
      leader: 0n,
    });
  });

  it('gives the whole pool to the provider when no keeper is active', () => {
    expect(
      splitReward({ amount: 10_000n, keeperCount: 0, leaderBonusBps: 100n, leaderIdle: true }),
    ).toMatchObject({
      provider: 10_000n,
      leaderBonus: 0n,
      perKeeper: 0n,
      dust: 1_000n,
      leader: 0n,
    });
    // Without an idle leader, someone (the leader) is always active.
    expectCode(() => splitReward({ amount: 1n, keeperCount: 0 }), 'SPLIT_INVALID_KEEPER_COUNT');
    expectCode(
      () => splitReward({ amount: 1n, keeperCount: -1, leaderIdle: true }),
      'SPLIT_INVALID_KEEPER_COUNT',
    );
  });
});

describe('idleMembers', () => {
  it('maps bit i to the i-th member', () => {
    expect(idleMembers([10, 20, 30, 40], 0b1010n)).toEqual([20, 40]);
    expect(idleMembers([10, 20], 0n)).toEqual([]);
  });

  it('refuses bits at or above the group size, and negative sets', () => {
    expectCode(() => idleMembers([10, 20], 0b100n), 'SPLIT_INVALID_IDLE_SET');
    expectCode(() => idleMembers([10, 20], -1n), 'SPLIT_INVALID_IDLE_SET');
  });
});

describe('splitPayment', () => {
  const members = [11, 12, 13, 14, 15, 16, 17];

  it('gives idle and failed keepers nothing and shares their part among the active ones', () => {
    // Leader 13 at position 3: 11 and 12 failed; 15 (index 4) and 12 (index 1, also failed) idle.
    const p = splitPayment({ amount: 10_000n, members, leaderId: 13, failed: [11, 12], idle: 0b10010n });
    expect(p.excluded).toEqual([11, 12, 15]);
    expect(p.idle).toEqual([12, 15]);
    expect(p.leaderIdle).toBe(false);
    // pool 1000 among 4 active (13, 14, 16, 17).
    expect(p.split.perKeeper).toBe(250n);
    expect([...p.credits]).toEqual([
      [11, 0n],
      [12, 0n],
      [13, 250n],
      [14, 250n],
      [15, 0n],
      [16, 250n],
      [17, 250n],
    ]);
    expect(p.split.provider).toBe(9_000n);
  });

  it('an idle leader gets neither share nor bonus', () => {
    const p = splitPayment({
      amount: 10_000n,
      members,
      leaderId: 11,
      failed: [],
      idle: 1n,
      leaderBonusBps: 100n,
    });
    expect(p.leaderIdle).toBe(true);
    expect(p.credits.get(11)).toBe(0n);
    // pool 900 + the withheld bonus 100, among 6: 166 each, 4 to the provider.
    expect(p.split.perKeeper).toBe(166n);
    expect(p.split.provider).toBe(9_004n);
  });

  it('everyone failed or idle: the provider gets everything', () => {
    const p = splitPayment({
      amount: 777n,
      members: [1, 2, 3],
      leaderId: 3,
      failed: [1, 2],
      idle: 0b100n,
      leaderBonusBps: 50n,
    });
    expect(p.split.provider).toBe(777n);
    expect([...p.credits.values()]).toEqual([0n, 0n, 0n]);
  });

  it('refuses an idle set outside the group, an unknown leader and a failed leader', () => {
    expectCode(
      () => splitPayment({ amount: 1n, members: [1, 2], leaderId: 1, failed: [], idle: 4n }),
      'SPLIT_INVALID_IDLE_SET',
    );
    expectCode(
      () => splitPayment({ amount: 1n, members: [1, 2], leaderId: 3, failed: [] }),
      'SPLIT_INVALID_MEMBERS',
    );
    expectCode(
      () => splitPayment({ amount: 1n, members: [1, 2], leaderId: 1, failed: [1] }),
      'SPLIT_INVALID_MEMBERS',
    );
    expectCode(
      () => splitPayment({ amount: 1n, members: [1, 2], leaderId: 1, failed: [9] }),
      'SPLIT_INVALID_MEMBERS',
    );
  });

  it('is exact and pays no excluded keeper, for any group, failed and idle sets, amount and shares (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 31 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            leaderIndex: fc.integer({ min: 0, max: n - 1 }),
            failedMask: fc.bigInt(0n, (1n << BigInt(n)) - 1n),
            idle: fc.bigInt(0n, (1n << BigInt(n)) - 1n),
          }),
        ),
        fc.bigInt(0n, (1n << 200n) - 1n),
        fc.bigInt(0n, BPS),
        fc.bigInt(0n, BPS),
        ({ n, leaderIndex, failedMask, idle }, amount, providerBps, bonus) => {
          const leaderBonusBps = providerBps + bonus > BPS ? BPS - providerBps : bonus;
          const ids = Array.from({ length: n }, (_, i) => 1000 + 7 * i);
          const leaderId = ids[leaderIndex]!;
          const failed = ids.filter((id, i) => id !== leaderId && (failedMask >> BigInt(i)) & 1n);
          const p = splitPayment({
            amount,
            members: ids,
            leaderId,
            failed,
            idle,
            providerBps,
            leaderBonusBps,
          });
          let credited = 0n;
          for (const c of p.credits.values()) credited += c;
          expect(p.split.provider + credited).toBe(amount);
          expect(p.split.provider).toBeGreaterThanOrEqual((amount * providerBps) / BPS);
          for (const [i, id] of ids.entries()) {
            const isIdle = ((idle >> BigInt(i)) & 1n) === 1n;
            if (isIdle || failed.includes(id)) expect(p.credits.get(id)).toBe(0n);
            else
              expect(p.credits.get(id)).toBe(
                p.split.perKeeper + (id === leaderId ? p.split.leaderBonus : 0n),
              );
          }
          const leaderIdle = ((idle >> BigInt(leaderIndex)) & 1n) === 1n;
          expect(p.leaderIdle).toBe(leaderIdle);
          if (leaderIdle) {
            expect(p.credits.get(leaderId)).toBe(0n);
            expect(p.split.leaderBonus).toBe(0n);
          }
          const active = n - p.excluded.length;
          expect(p.split.keeperCount).toBe(active);
          if (active === 0) expect(p.split.provider).toBe(amount);
          else expect(p.split.dust).toBeLessThan(BigInt(active));
        },
      ),
    );
  });
});
