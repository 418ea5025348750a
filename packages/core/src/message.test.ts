import { type Address, encodeAbiParameters, type Hex, hexToString, keccak256, size, slice } from 'viem';
import { describe, expect, it } from 'vitest';
import { EncodingError } from './errors.js';
import { PAYMENT_DOMAIN, type PaymentMessageInput, paymentMessage } from './message.js';
import { commitment as listCommitment } from './round.js';

/** A list of one commits to the same bytes the single round did. */
const commitment = (st: bigint, nonce: `0x${string}`) => listCommitment([st], nonce);

const user: Address = '0x1111111111111111111111111111111111111111';
const pid: Address = '0x2222222222222222222222222222222222222222';
const upkeeping: Address = '0x3333333333333333333333333333333333333333';
const base: PaymentMessageInput = {
  chainId: 31337n,
  upkeeping,
  user,
  pid,
  ts: 1000n,
  te: 1600n,
  st: 123456789n,
  leaderId: 7,
  r: 3,
};
const NONCE: Hex = `0x${'ab'.repeat(32)}`;

// Cross-checked once against an independent Keccak-256 over hand-laid ABI words.
const MESSAGE_KECCAK = '0x38ae32b7065b434f9fed77ce9778340ef909467a839e44af78d5be65b1772659';
const COMMITMENT_VECTOR = '0x41963421f3f7407a49cb4c270a4383dee77da403437384922a1db951d39fa09f';

const word = (msg: Hex, i: number): bigint => BigInt(slice(msg, i * 32, (i + 1) * 32));

describe('paymentMessage', () => {
  it('is abi.encode(string, uint256, address, address, address, uint64, uint64, uint256, uint32, uint8)', () => {
    const expected = encodeAbiParameters(
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
      ['WhitePay/v1', 31337n, upkeeping, user, pid, 1000n, 1600n, 123456789n, 7, 3],
    );
    expect(paymentMessage(base)).toBe(expected);
    expect(keccak256(paymentMessage(base))).toBe(MESSAGE_KECCAK);
  });

  it('lays out the words as the contract rebuilds them', () => {
    const msg = paymentMessage(base);
    expect(size(msg)).toBe(12 * 32);
    expect(word(msg, 0)).toBe(0x140n); // offset of the dynamic string: 10 head words
    expect(word(msg, 1)).toBe(31337n);
    expect(word(msg, 2)).toBe(BigInt(upkeeping));
    expect(word(msg, 3)).toBe(BigInt(user));
    expect(word(msg, 4)).toBe(BigInt(pid));
    expect(word(msg, 5)).toBe(1000n);
    expect(word(msg, 6)).toBe(1600n);
    expect(word(msg, 7)).toBe(123456789n);
    expect(word(msg, 8)).toBe(7n);
    expect(word(msg, 9)).toBe(3n);
    expect(word(msg, 10)).toBe(11n);
    expect(hexToString(slice(msg, 11 * 32, 11 * 32 + 11))).toBe(PAYMENT_DOMAIN);
    expect(slice(msg, 11 * 32 + 11)).toBe(`0x${'00'.repeat(21)}`);
  });

  it('encodes checksummed addresses like lower-case ones', () => {
    const mixed = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    expect(paymentMessage({ ...base, upkeeping: mixed })).toBe(
      paymentMessage({ ...base, upkeeping: mixed.toLowerCase() as Address }),
    );
  });

  it('encodes the extreme values', () => {
    const max = paymentMessage({
      ...base,
      chainId: (1n << 256n) - 1n,
      st: (1n << 256n) - 1n,
      te: (1n << 64n) - 1n,
      r: 255,
      leaderId: 2 ** 32 - 1,
    });
    expect(word(max, 1)).toBe((1n << 256n) - 1n);
    expect(word(max, 9)).toBe(255n);
  });

  it.each([
    ['chainId', { chainId: -1n }],
    ['upkeeping', { upkeeping: '0x00' }],
    ['user', { user: 'alice' }],
    ['pid', { pid: '' }],
    ['ts', { ts: -1n }],
    ['te', { te: 1n << 64n }],
    ['st', { st: 1n << 256n }],
    ['st', { st: 5 }],
    ['leaderId', { leaderId: 2 ** 32 }],
    ['r', { r: 0 }],
    ['r', { r: 256 }],
    ['te', { te: 1000n }],
    ['te', { te: 999n }],
  ])('rejects a bad %s', (field, over) => {
    const fn = () => paymentMessage({ ...base, ...(over as Partial<PaymentMessageInput>) });
    expect(fn).toThrow(EncodingError);
    try {
      fn();
    } catch (err) {
      expect((err as EncodingError).details).toEqual({ field });
    }
  });
});

describe('commitment of a list of one (the single round’s bytes)', () => {
  it('is keccak256(abi.encode(uint256 st, bytes32 nonce))', () => {
    const expected = keccak256(
      encodeAbiParameters([{ type: 'uint256' }, { type: 'bytes32' }], [123456789n, NONCE]),
    );
    expect(commitment(123456789n, NONCE)).toBe(expected);
    expect(commitment(123456789n, NONCE)).toBe(COMMITMENT_VECTOR);
  });

  it('binds both the value and the nonce', () => {
    expect(commitment(123456790n, NONCE)).not.toBe(COMMITMENT_VECTOR);
    expect(commitment(123456789n, `0x${'ac'.repeat(32)}`)).not.toBe(COMMITMENT_VECTOR);
  });

  it('rejects a bad value or nonce', () => {
    expect(() => commitment(-1n, NONCE)).toThrow(EncodingError);
    expect(() => commitment(1n, '0x1234')).toThrow(EncodingError);
    expect(() => commitment(1n, `0x${'g0'.repeat(32)}`)).toThrow(EncodingError);
  });
});
