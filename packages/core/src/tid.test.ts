import { type Address, encodeAbiParameters, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { EncodingError } from './errors.js';
import { type TidInput, tid, tidPosition } from './tid.js';

const user: Address = '0x1111111111111111111111111111111111111111';
const pid: Address = '0x2222222222222222222222222222222222222222';
const base: TidInput = { ts: 1000n, te: 1600n, pid, user, leaderId: 7, r: 3 };

// Cross-checked once against an independent Keccak-256 over hand-laid ABI words.
const TID_VECTOR = '0x21d335d132bf382ff597767ac92172f0777b1745187fcd61613d492cd8a99303';

function expectInvalid(fn: () => unknown, field: string): void {
  expect(fn).toThrow(EncodingError);
  try {
    fn();
  } catch (err) {
    expect((err as EncodingError).code).toBe('ENCODING_INVALID_VALUE');
    expect((err as EncodingError).details).toEqual({ field });
  }
}

describe('tid', () => {
  it('is the first 31 bytes of keccak256(abi.encode(uint64 ts, uint64 te, address pid, address user, uint32 leaderId)) ‖ r', () => {
    const hash = keccak256(
      encodeAbiParameters(
        [
          { type: 'uint64' },
          { type: 'uint64' },
          { type: 'address' },
          { type: 'address' },
          { type: 'uint32' },
        ],
        [1000n, 1600n, pid, user, 7],
      ),
    );
    expect(tid(base)).toBe(`${hash.slice(0, 64)}03`);
    expect(tid(base)).toBe(TID_VECTOR);
    expect(tid(base)).toHaveLength(66);
  });

  it('carries r in its last byte, up to 255', () => {
    expect(tidPosition(tid(base))).toBe(3);
    expect(tid({ ...base, r: 255 }).slice(-2)).toBe('ff');
    expect(tidPosition(tid({ ...base, r: 255 }))).toBe(255);
    expect(tid({ ...base, r: 1 }).slice(0, 64)).toBe(TID_VECTOR.slice(0, 64));
  });

  it('differs for every field', () => {
    const variants: TidInput[] = [
      { ...base, ts: 1001n },
      { ...base, te: 1601n },
      { ...base, pid: user, user: pid },
      { ...base, leaderId: 8 },
    ];
    for (const v of variants) expect(tid(v).slice(0, 64)).not.toBe(TID_VECTOR.slice(0, 64));
  });

  it.each([
    ['r', { r: 0 }],
    ['r', { r: 256 }],
    ['r', { r: 1.5 }],
    ['leaderId', { leaderId: -1 }],
    ['leaderId', { leaderId: 2 ** 32 }],
    ['ts', { ts: -1n }],
    ['te', { te: 1n << 64n }],
    ['pid', { pid: '0x12' }],
    ['user', { user: 'x' }],
  ])('rejects a bad %s', (field, over) => {
    expectInvalid(() => tid({ ...base, ...(over as Partial<TidInput>) }), field);
  });

  it('tidPosition rejects what is not 32 bytes of hex', () => {
    expectInvalid(() => tidPosition('0x1234'), 'tid');
    expectInvalid(() => tidPosition(`0x${'zz'.repeat(32)}`), 'tid');
  });
});
