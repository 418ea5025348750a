import { describe, expect, it } from 'vitest';
import { idleOf, type Payment } from './status.js';

const payment = (ts: bigint, idle: bigint): Payment => ({
  pid: '0x00000000000000000000000000000000000000p1'.replace('p1', '01') as Payment['pid'],
  leaderId: 1,
  tid: '0x00',
  ts,
  te: ts + 10n,
  st: 1n,
  amount: 1n,
  providerAmount: 1n,
  bonus: 0n,
  keeperShare: 0n,
  position: 1,
  excluded: 0,
  signers: 0b11n,
  idle,
  block: ts + 11n,
});

describe('devnet status: idle keepers (SPEC 3 item 5)', () => {
  it('counts the payments whose idle set names a member, and keeps the latest', () => {
    const payments = [payment(10n, 0b100n), payment(20n, 0n), payment(30n, 0b110n)];
    expect(idleOf(payments, 2)).toEqual({ count: 2, last: payments[2] });
    expect(idleOf(payments, 1)).toEqual({ count: 1, last: payments[2] });
    expect(idleOf(payments, 0)).toEqual({ count: 0, last: null });
  });
});
