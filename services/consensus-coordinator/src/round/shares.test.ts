import * as bls from '@whitepay/bls';
import { publicKeyOf, secretKeyFromSeed, sign, toHex } from '@whitepay/bls';
import { type Hex, hexToBytes, stringToHex } from 'viem';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { approvalShares, shareVerifier } from './shares.js';

vi.mock('@whitepay/bls', async (importOriginal) => {
  const real = await importOriginal<typeof import('@whitepay/bls')>();
  return { ...real, verify: vi.fn(real.verify), verifyShares: vi.fn(real.verifyShares) };
});

const sks = Array.from({ length: 7 }, (_, i) => secretKeyFromSeed(new Uint8Array(32).fill(i + 1)));
const keys = new Map(sks.map((sk, i) => [i + 1, publicKeyOf(sk)]));
const message = stringToHex('WhitePay/v1 payment');
const other = stringToHex('WhitePay/v1 another payment');
const share = (id: number, msg: Hex = message) => ({
  from: id,
  signature: toHex(sign(sks[id - 1]!, hexToBytes(msg))),
});

afterEach(() => vi.mocked(bls.verify).mockClear());
afterEach(() => vi.mocked(bls.verifyShares).mockClear());

describe('shareVerifier', () => {
  it('verifies the prepared shares in one call and answers from it; a bad share is named', async () => {
    const v = shareVerifier((id) => keys.get(id));
    const shares = [
      share(1),
      share(2),
      share(3, other),
      { from: 4, signature: share(5).signature },
      share(6),
    ];
    await v.prepare(message, shares);
    expect(bls.verifyShares).toHaveBeenCalledTimes(1);
    expect(shares.map((s) => v.verdict(s.from, message, s.signature))).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(bls.verify).not.toHaveBeenCalled();
  });

  it('verifies an unprepared share alone, and a share under another message is not its verdict', async () => {
    const v = shareVerifier((id) => keys.get(id));
    const s = share(1);
    await v.prepare(message, [s]);
    expect(v.verdict(2, message, share(2).signature)).toBe(true); // not prepared: one verify
    expect(bls.verify).toHaveBeenCalledTimes(1);
    expect(v.verdict(1, other, s.signature)).toBe(false); // the verdict was for `message`
    expect(bls.verify).toHaveBeenCalledTimes(2);
  });

  it('does not verify a share twice, nor one of a non-member or with a malformed signature', async () => {
    const v = shareVerifier((id) => keys.get(id));
    await v.prepare(message, [share(1), share(2)]);
    await v.prepare(message, [share(1), share(2), share(3), { from: 99, signature: share(4).signature }]);
    expect(vi.mocked(bls.verifyShares).mock.calls.map((c) => c[1].length)).toEqual([2, 1]);
    await v.prepare(message, [share(1), { from: 5, signature: '0x123' as Hex }]);
    expect(bls.verifyShares).toHaveBeenCalledTimes(2);
    expect(v.verdict(99, message, share(4).signature)).toBe(false);
    expect(v.verdict(5, message, '0x123' as Hex)).toBe(false);
  });

  it('a share that is not a point is invalid, not a throw', async () => {
    const v = shareVerifier((id) => keys.get(id));
    const junk = { from: 1, signature: `0x${'ab'.repeat(96)}` as Hex };
    await v.prepare(message, [junk, share(2)]);
    expect(v.verdict(1, message, junk.signature)).toBe(false);
    expect(v.verdict(2, message, share(2).signature)).toBe(true);
  });
});

describe('approvalShares', () => {
  const reveal = (from: number, attempt: number, proposal: number, approve: boolean, signature?: Hex) => ({
    type: 'reveal' as const,
    from,
    msg: { kind: 'reveal', attempt, proposal, approve, ...(signature ? { signature } : {}) },
  });
  it('takes approvals of the current attempt and proposal only', () => {
    const events = [
      reveal(1, 1, 1, true, '0x01'),
      reveal(2, 1, 1, false),
      reveal(3, 1, 2, true, '0x03'),
      reveal(4, 2, 1, true, '0x04'),
      reveal(5, 1, 1, true),
      { type: 'timeout' },
      { type: 'commit', from: 6, msg: { attempt: 1 } },
      reveal(7, 1, 1, true, '0x07'),
    ];
    expect(approvalShares(events, 1, 1)).toEqual([
      { from: 1, signature: '0x01' },
      { from: 7, signature: '0x07' },
    ]);
  });
});
