import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggregatePublicKeys,
  aggregateSignatures,
  BlsError,
  type BlsErrorCode,
  fromHex,
  g1FromEip2537,
  g1Generator,
  g1Negate,
  g1ToEip2537,
  g2Eip2537FromMessage,
  g2FromEip2537,
  g2ToEip2537,
  generateSecretKey,
  hashToFieldFp2,
  hashToG2,
  mapFp2ToG2Eip2537,
  provePossession,
  publicKeyOf,
  secretKeyFromSeed,
  sign,
  toHex,
  verify,
  verifyPossession,
} from './index.js';

const P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn;
const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

function codeOf(fn: () => unknown): BlsErrorCode | 'ok' | 'foreign' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof BlsError ? e.code : 'foreign';
  }
}

function be(n: bigint, len: number): Uint8Array {
  return fromHex(n.toString(16).padStart(len * 2, '0'));
}

/** A compressed encoding with the compression flag and x (no sign). */
function compressedX(x: bigint, len: 48 | 96): Uint8Array {
  const b = be(x, len);
  b[0] = (b[0] ?? 0) | 0x80;
  return b;
}

const msg = new TextEncoder().encode('m');
const sk = secretKeyFromSeed(new Uint8Array(32).fill(7));
const pk = publicKeyOf(sk);
const sig = sign(sk, msg);

describe('EIP-2537 round trips', () => {
  it('G1 and G2 encode/decode for arbitrary keys', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 64 }),
        (seed, m) => {
          const k = secretKeyFromSeed(seed);
          const p = publicKeyOf(k);
          const s = sign(k, m);
          expect(g1FromEip2537(g1ToEip2537(p))).toEqual(p);
          expect(g2FromEip2537(g2ToEip2537(s))).toEqual(s);
          expect(
            g1ToEip2537(p)
              .subarray(0, 16)
              .every((b) => b === 0),
          ).toBe(true);
        },
      ),
      { numRuns: 8 },
    );
  });
  it('infinity is all zeros both ways', () => {
    const inf1 = new Uint8Array(48);
    inf1[0] = 0xc0;
    const inf2 = new Uint8Array(96);
    inf2[0] = 0xc0;
    expect(g1ToEip2537(inf1)).toEqual(new Uint8Array(128));
    expect(g2ToEip2537(inf2)).toEqual(new Uint8Array(256));
    expect(g1FromEip2537(new Uint8Array(128))).toEqual(inf1);
    expect(g2FromEip2537(new Uint8Array(256))).toEqual(inf2);
  });
  it('g1Negate negates y and is an involution', () => {
    const e = g1ToEip2537(pk);
    const n = g1ToEip2537(g1Negate(pk));
    expect(n.subarray(0, 64)).toEqual(e.subarray(0, 64));
    const y = BigInt(toHex(e.subarray(64)));
    expect(BigInt(toHex(n.subarray(64)))).toBe(P - y);
    expect(g1Negate(g1Negate(pk))).toEqual(pk);
    expect(aggregatePublicKeys([g1Generator(), g1Negate(g1Generator()), pk])).toEqual(pk);
  });
  it('hash to curve = MAP_FP2_TO_G2(u0) + MAP_FP2_TO_G2(u1) (the on-chain recipe)', () => {
    const [u0, u1] = hashToFieldFp2(msg);
    const q0 = g2FromEip2537(mapFp2ToG2Eip2537(u0));
    const q1 = g2FromEip2537(mapFp2ToG2Eip2537(u1));
    expect(aggregateSignatures([q0, q1])).toEqual(hashToG2(msg));
    expect(g2Eip2537FromMessage(msg)).toEqual(g2ToEip2537(hashToG2(msg)));
  });
});

describe('malformed inputs are typed errors', () => {
  it('wrong lengths', () => {
    expect(codeOf(() => verify(pk.subarray(1), msg, sig))).toBe('BLS_INVALID_LENGTH');
    expect(codeOf(() => verify(pk, msg, sig.subarray(1)))).toBe('BLS_INVALID_LENGTH');
    expect(codeOf(() => g1FromEip2537(new Uint8Array(127)))).toBe('BLS_INVALID_LENGTH');
    expect(codeOf(() => g2FromEip2537(new Uint8Array(255)))).toBe('BLS_INVALID_LENGTH');
    expect(codeOf(() => g2ToEip2537(new Uint8Array(48)))).toBe('BLS_INVALID_LENGTH');
    expect(codeOf(() => secretKeyFromSeed(new Uint8Array(31)))).toBe('BLS_INVALID_LENGTH');
    expect(codeOf(() => mapFp2ToG2Eip2537(new Uint8Array(64)))).toBe('BLS_INVALID_LENGTH');
  });
  it('infinity public key', () => {
    const inf = new Uint8Array(48);
    inf[0] = 0xc0;
    expect(codeOf(() => verify(inf, msg, sig))).toBe('BLS_INFINITY_PUBLIC_KEY');
    expect(codeOf(() => verifyPossession(inf, sig))).toBe('BLS_INFINITY_PUBLIC_KEY');
    expect(codeOf(() => aggregatePublicKeys([pk, inf]))).toBe('BLS_INFINITY_PUBLIC_KEY');
  });
  it('bad flags and non-canonical field elements', () => {
    const uncompressed = Uint8Array.from(pk);
    uncompressed[0] = (uncompressed[0] ?? 0) & 0x7f;
    expect(codeOf(() => verify(uncompressed, msg, sig))).toBe('BLS_INVALID_ENCODING');
    const infWithBits = new Uint8Array(48);
    infWithBits[0] = 0xc0;
    infWithBits[47] = 1;
    expect(codeOf(() => g1ToEip2537(infWithBits))).toBe('BLS_INVALID_ENCODING');
    const infWithSign = new Uint8Array(96);
    infWithSign[0] = 0xe0;
    expect(codeOf(() => g2ToEip2537(infWithSign))).toBe('BLS_INVALID_ENCODING');
    // x + p encodes the same residue as x: refused before any curve check
    expect(codeOf(() => g1ToEip2537(compressedX(1n + P, 48)))).toBe('BLS_INVALID_ENCODING');
    expect(codeOf(() => g2ToEip2537(compressedX((1n + P) << 384n, 96)))).toBe('BLS_INVALID_ENCODING');
    // EIP-2537: non-zero padding, value >= p
    const e = g1ToEip2537(pk);
    const padded = Uint8Array.from(e);
    padded[0] = 1;
    expect(codeOf(() => g1FromEip2537(padded))).toBe('BLS_INVALID_ENCODING');
    const big = Uint8Array.from(e);
    big.set(be(P, 48), 16);
    expect(codeOf(() => g1FromEip2537(big))).toBe('BLS_INVALID_ENCODING');
  });
  it('points off the curve and outside the subgroup', () => {
    // Small x: about half are not abscissas (NOT_ON_CURVE); the others are
    // curve points, but outside G1/G2 except with negligible probability.
    const g1 = new Set<string>();
    const g2 = new Set<string>();
    for (let x = 1n; x <= 12n; x++) {
      g1.add(codeOf(() => g1ToEip2537(compressedX(x, 48))));
      g2.add(codeOf(() => g2ToEip2537(compressedX(x, 96))));
    }
    expect([...g1].sort()).toEqual(['BLS_POINT_NOT_IN_SUBGROUP', 'BLS_POINT_NOT_ON_CURVE']);
    expect([...g2].sort()).toEqual(['BLS_POINT_NOT_IN_SUBGROUP', 'BLS_POINT_NOT_ON_CURVE']);
    // EIP-2537 form: (1, 1) is not on y^2 = x^3 + 4
    const off = new Uint8Array(128);
    off[63] = 1;
    off[127] = 1;
    expect(codeOf(() => g1FromEip2537(off))).toBe('BLS_POINT_NOT_ON_CURVE');
  });
  it('a tampered published signature never verifies', () => {
    // verify_tampered_signature_case_2ea479adf8c40300 (consensus-spec-tests)
    const tampered = fromHex(
      '882730e5d03f6b42c3abc26d3372625034e1d871b65a8a6b900a56dae22da98abbe1b68f85e49fe7652a55ec3d0591c20767677e33e5cbb1207315c41a9ac03be39c2e7668edc043d6cb1d9fd93033caa8a1c5b0e84bedaeb6c64972ffffffff',
    );
    const pkv = fromHex(
      'a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a',
    );
    const c = codeOf(() => {
      if (verify(pkv, new Uint8Array(32).fill(0x56), tampered)) throw new Error('verified');
    });
    expect(['ok', 'BLS_POINT_NOT_ON_CURVE', 'BLS_POINT_NOT_IN_SUBGROUP']).toContain(c);
  });
  it('secret keys, hex, empty lists', () => {
    expect(codeOf(() => publicKeyOf(new Uint8Array(32)))).toBe('BLS_INVALID_SECRET_KEY');
    expect(codeOf(() => publicKeyOf(be(R, 32)))).toBe('BLS_INVALID_SECRET_KEY');
    expect(codeOf(() => sign(new Uint8Array(31).fill(1), msg))).toBe('BLS_INVALID_SECRET_KEY');
    expect(codeOf(() => provePossession(be(R + 1n, 32)))).toBe('BLS_INVALID_SECRET_KEY');
    expect(codeOf(() => publicKeyOf(be(R - 1n, 32)))).toBe('ok');
    expect(codeOf(() => fromHex('0xabc'))).toBe('BLS_INVALID_ENCODING');
    expect(codeOf(() => fromHex('zz'))).toBe('BLS_INVALID_ENCODING');
    expect(codeOf(() => aggregateSignatures([]))).toBe('BLS_EMPTY_INPUT');
    expect(codeOf(() => aggregatePublicKeys([]))).toBe('BLS_EMPTY_INPUT');
    expect(codeOf(() => hashToG2(msg, ''))).toBe('BLS_INVALID_LENGTH');
  });
  it('errors are WhitePayErrors with kind invalid_argument', () => {
    try {
      verify(pk.subarray(2), msg, sig);
    } catch (e) {
      expect(e).toBeInstanceOf(BlsError);
      expect((e as BlsError).kind).toBe('invalid_argument');
      expect((e as BlsError).name).toBe('BlsError');
    }
  });
});

describe('keys', () => {
  it('seeds are deterministic, random keys are distinct and valid', () => {
    expect(secretKeyFromSeed(new Uint8Array(32).fill(7))).toEqual(sk);
    expect(secretKeyFromSeed(new Uint8Array(32).fill(8))).not.toEqual(sk);
    const a = generateSecretKey();
    const b = generateSecretKey();
    expect(a).not.toEqual(b);
    expect(verify(publicKeyOf(a), msg, sign(a, msg))).toBe(true);
  });
  it('hex round trip', () => {
    expect(fromHex(toHex(sig))).toEqual(sig);
    expect(fromHex(toHex(sig).slice(2))).toEqual(sig);
  });
});
