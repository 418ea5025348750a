import { rankKeepers } from '@whitepay/core';
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { countedIdle, earnedOf } from './discovery.js';

const user = '0x00000000000000000000000000000000000000aa' as Address;
const pid = '0x00000000000000000000000000000000000000bb' as Address;
const acc = (i: number) => `0x${i.toString(16).padStart(40, '0')}` as Address;
const group = { user, keepers: [1, 2, 3, 4].map((keeperId) => ({ keeperId, account: acc(keeperId) })) };

describe('earnedOf (a PaymentMade, for one keeper)', () => {
  it('the keeper share unless ranked before the leader, the bonus only to the leader, nothing to outsiders', () => {
    const ts = 100n;
    const ranking = rankKeepers({ user, pid, ts, keepers: [1, 2, 3, 4] });
    // Rank 3 led: ranks 1 and 2 failed and are excluded.
    const [r1, r2, leader, r4] = ranking as [number, number, number, number];
    const p = { pid, ts, leaderId: leader, excluded: 2, keeperShare: 1_000n, bonus: 70n };
    expect(earnedOf(group, acc(r1), p)).toBe(0n);
    expect(earnedOf(group, acc(r2), p)).toBe(0n);
    expect(earnedOf(group, acc(leader), p)).toBe(1_070n);
    expect(earnedOf(group, acc(r4), p)).toBe(1_000n);
    expect(earnedOf(group, acc(99), p)).toBe(0n);
    // Addresses compare without case.
    expect(earnedOf(group, acc(r4).toUpperCase().replace('0X', '0x'), p)).toBe(1_000n);
  });

  it('an idle keeper (bit i = member index i) earns nothing, an idle leader neither share nor bonus', () => {
    const ts = 100n;
    const ranking = rankKeepers({ user, pid, ts, keepers: [1, 2, 3, 4] });
    const [r1, leader, r3, r4] = ranking as [number, number, number, number];
    const bit = (id: number) => 1n << BigInt(group.keepers.findIndex((k) => k.keeperId === id));
    const p = { pid, ts, leaderId: leader, excluded: 1, keeperShare: 1_000n, bonus: 70n, idle: bit(r3) };
    expect(earnedOf(group, acc(r1), p)).toBe(0n);
    expect(earnedOf(group, acc(leader), p)).toBe(1_070n);
    expect(earnedOf(group, acc(r3), p)).toBe(0n);
    expect(earnedOf(group, acc(r4), p)).toBe(1_000n);
    // The leader idle: the contract emits bonus 0, and the leader earns nothing even if a bonus were given.
    const q = { ...p, idle: bit(leader), bonus: 70n };
    expect(earnedOf(group, acc(leader), q)).toBe(0n);
    expect(earnedOf(group, acc(r3), q)).toBe(1_000n);
  });
});

describe('countedIdle (a PaymentMade, for one keeper)', () => {
  it('names the keeper whose member index has its bit set; nobody outside the group', () => {
    expect(countedIdle(group, acc(3), { idle: 0b0100n })).toBe(true);
    expect(countedIdle(group, acc(2), { idle: 0b0100n })).toBe(false);
    expect(countedIdle(group, acc(99), { idle: 0b1111n })).toBe(false);
    expect(countedIdle(group, acc(1), {})).toBe(false);
  });
});
