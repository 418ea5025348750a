/**
 * The two backends against each other: byte for byte on every output, verdict
 * for verdict on every check, error code for error code on every malformed
 * input. noble is the reference; blst must never differ from it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Bls, createBls } from './api.js';
import { loadBlstBackend } from './backend/blst.js';
import { nobleBackend } from './backend/noble.js';
import { blsBackend, blsBackendInfo } from './backend/select.js';
import { BlsError } from './errors.js';
import { fromHex, toHex } from './hex.js';
import { secretKeyFromSeed } from './keys.js';

const loaded = loadBlstBackend();
if (loaded instanceof Error) throw loaded; // the dev machines and CI are linux-x64: blst must load
const noble = createBls(nobleBackend);
const blst = createBls(loaded);

const P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn;

/** What a call did: its output (bytes as hex) or its error code; anything else than BlsError is a failure. */
function outcome(fn: () => unknown): unknown {
  try {
    const v = fn();
    return v instanceof Uint8Array ? toHex(v) : v;
  } catch (err) {
    if (!(err instanceof BlsError)) throw err;
    return { error: err.code };
  }
}

async function outcomeAsync(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof BlsError)) throw err;
    return { error: err.code };
  }
}

/** Runs `fn` on both backends and expects the same outcome; returns noble's. */
function same(fn: (b: Bls) => unknown): unknown {
  const ref = outcome(() => fn(noble));
  expect(outcome(() => fn(blst))).toEqual(ref);
  return ref;
}

function be(n: bigint, len: number): Uint8Array {
  return fromHex(n.toString(16).padStart(len * 2, '0'));
}

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const msgArb = fc.uint8Array({ maxLength: 80 });
const keyArb = seedArb.map((seed) => {
  const sk = secretKeyFromSeed(seed);
  return { sk, pk: noble.publicKeyOf(sk) };
});

/**
 * Byte strings where a compressed point of `len` bytes is expected: valid
 * points (from `valid`), bit flips of them, random x with the compression
 * flag (off the curve, or on it but outside the subgroup), x ≥ p, infinity
 * well and badly formed, no compression flag, wrong lengths, random bytes.
 */
function pointArb(len: 48 | 96, valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const withFlags = (b: Uint8Array, flags: number) => {
    const c = b.slice();
    c[0] = ((c[0] ?? 0) & 0x1f) | flags;
    return c;
  };
  const random = fc.uint8Array({ minLength: len, maxLength: len });
  const infinity = new Uint8Array(len);
  infinity[0] = 0xc0;
  return fc.oneof(
    valid,
    fc.tuple(valid, fc.nat({ max: len * 8 - 1 })).map(([b, bit]) => {
      const c = b.slice();
      c[bit >> 3] = (c[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      return c;
    }),
    fc.tuple(random, fc.boolean()).map(([b, sort]) => withFlags(b, sort ? 0xa0 : 0x80)),
    fc.bigInt({ min: P, max: (1n << 381n) - 1n }).map((x) => {
      const b = new Uint8Array(len);
      b.set(be(x, 48), 0);
      return withFlags(b, 0x80);
    }),
    fc.constant(infinity),
    fc.constantFrom(0xe0, 0x40, 0xc1).map((f) => withFlags(infinity, f)),
    fc.nat({ max: len - 1 }).map((i) => {
      const c = infinity.slice();
      c[i] = (c[i] ?? 0) | 1;
      return c;
    }),
    valid.map((b) => withFlags(b, (b[0] ?? 0) & 0x20)), // compression flag cleared
    fc.uint8Array({ maxLength: 100 }).filter((b) => b.length !== len),
    random,
  );
}

const msg = new TextEncoder().encode('WhitePay/v1 backends');
const pkValid = keyArb.map((k) => k.pk);
const sigValid = fc.tuple(keyArb, msgArb).map(([k, m]) => noble.sign(k.sk, m));
const pkArb = pointArb(48, pkValid);
const sigArb = pointArb(96, sigValid);

describe('backend selection', () => {
  it('uses blst where its binary loads (linux-x64 here), unless forced to noble', () => {
    if (process.env.WHITEPAY_BLS_BACKEND === 'noble') {
      expect(blsBackend()).toBe('noble');
      expect(blsBackendInfo().reason).toContain('WHITEPAY_BLS_BACKEND');
    } else if (process.platform === 'linux' && process.arch === 'x64') {
      expect(blsBackendInfo()).toEqual({ backend: 'blst' });
    }
    expect(noble.backend).toBe('noble');
    expect(blst.backend).toBe('blst');
  });
});

describe('blst and noble give the same bytes', () => {
  it('for public keys, signatures and proofs of possession; both verify them', () => {
    fc.assert(
      fc.property(keyArb, msgArb, (k, m) => {
        expect(toHex(blst.publicKeyOf(k.sk))).toBe(toHex(k.pk));
        const sig = noble.sign(k.sk, m);
        expect(toHex(blst.sign(k.sk, m))).toBe(toHex(sig));
        expect(toHex(blst.provePossession(k.sk))).toBe(toHex(noble.provePossession(k.sk)));
        expect(same((b) => b.verify(k.pk, m, sig))).toBe(true);
        expect(same((b) => b.verifyPossession(k.pk, b.provePossession(k.sk)))).toBe(true);
      }),
      { numRuns: 15 },
    );
  });

  it('for aggregates of keys and signatures; same FastAggregateVerify verdicts', () => {
    fc.assert(
      fc.property(fc.array(keyArb, { minLength: 1, maxLength: 5 }), msgArb, (keys, m) => {
        const pks = keys.map((k) => k.pk);
        const sigs = keys.map((k) => blst.sign(k.sk, m));
        const agg = same((b) => b.aggregateSignatures(sigs));
        const aggPk = same((b) => b.aggregatePublicKeys(pks));
        const aggBytes = fromHex(agg as string);
        expect(same((b) => b.verifyAggregate(pks, m, aggBytes))).toBe(true);
        expect(same((b) => b.verify(fromHex(aggPk as string), m, aggBytes))).toBe(true);
        const other = Uint8Array.from([...m, 1]);
        expect(same((b) => b.verifyAggregate(pks, other, aggBytes))).toBe(false);
        if (pks.length > 1) expect(same((b) => b.verifyAggregate(pks.slice(1), m, aggBytes))).toBe(false);
      }),
      { numRuns: 6 },
    );
  });
});

describe('blst and noble reject alike', () => {
  it('wrong message, wrong key, other DST', () => {
    fc.assert(
      fc.property(keyArb, keyArb, msgArb, (k1, k2, m) => {
        const sig = noble.sign(k1.sk, m);
        expect(same((b) => b.verify(k1.pk, Uint8Array.from([...m, 0]), sig))).toBe(false);
        expect(same((b) => b.verify(k2.pk, m, sig))).toBe(k1.pk.every((x, i) => x === k2.pk[i]));
        // a PoP is not a signature over the key, and a signature over the key is not a PoP
        const pop = noble.provePossession(k1.sk);
        expect(same((b) => b.verify(k1.pk, k1.pk, pop))).toBe(false);
        expect(same((b) => b.verifyPossession(k1.pk, noble.sign(k1.sk, k1.pk)))).toBe(false);
      }),
      { numRuns: 6 },
    );
  });

  it('malformed, off-curve, non-subgroup, identity and wrong-length keys and signatures', () => {
    const k = { sk: secretKeyFromSeed(new Uint8Array(32).fill(3)) };
    const pk = noble.publicKeyOf(k.sk);
    const sig = noble.sign(k.sk, msg);
    const seen = new Set<string>();
    fc.assert(
      fc.property(pkArb, sigArb, (p, s) => {
        const r = [
          same((b) => b.verify(p, msg, sig)),
          same((b) => b.verify(pk, msg, s)),
          same((b) => b.verify(p, msg, s)),
          same((b) => b.aggregatePublicKeys([pk, p])),
          same((b) => b.aggregateSignatures([sig, s])),
          same((b) => b.verifyAggregate([pk, p], msg, sig)),
          same((b) => b.verifyAggregate([pk], msg, s)),
          same((b) => b.verifyPossession(p, s)),
        ];
        for (const o of r) seen.add(JSON.stringify(o));
      }),
      { numRuns: 150 },
    );
    // the generator reached every way an input can be wrong
    for (const code of [
      'BLS_INVALID_LENGTH',
      'BLS_INVALID_ENCODING',
      'BLS_POINT_NOT_ON_CURVE',
      'BLS_POINT_NOT_IN_SUBGROUP',
      'BLS_INFINITY_PUBLIC_KEY',
    ]) {
      expect(seen).toContain(JSON.stringify({ error: code }));
    }
    expect(seen).toContain('false');
  });

  it('the identity: infinity signatures verify nothing, keys that cancel verify nothing', () => {
    const inf = new Uint8Array(96);
    inf[0] = 0xc0;
    const k = secretKeyFromSeed(new Uint8Array(32).fill(9));
    const pk = noble.publicKeyOf(k);
    expect(same((b) => b.verify(pk, msg, inf))).toBe(false);
    expect(same((b) => b.verifyAggregate([pk], msg, inf))).toBe(false);
    expect(same((b) => b.aggregateSignatures([inf, inf]))).toBe(toHex(inf));
    const sig = noble.sign(k, msg);
    expect(same((b) => b.aggregateSignatures([inf, sig]))).toBe(toHex(sig));
    // pk + (−pk): flip the sort flag of a compressed key to negate it
    const neg = pk.slice();
    neg[0] = (neg[0] ?? 0) ^ 0x20;
    const zero = new Uint8Array(48);
    zero[0] = 0xc0;
    expect(same((b) => b.aggregatePublicKeys([pk, neg]))).toBe(toHex(zero));
    expect(same((b) => b.verifyAggregate([pk, neg], msg, inf))).toBe(false);
    expect(same((b) => b.verifyAggregate([pk, neg], msg, sig))).toBe(false);
  });

  it('bad secret keys, empty lists, a message that is not bytes', () => {
    const sk = secretKeyFromSeed(new Uint8Array(32).fill(1));
    const pk = noble.publicKeyOf(sk);
    const sig = noble.sign(sk, msg);
    const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
    for (const bad of [new Uint8Array(32), be(R, 32), be(R + 1n, 32), new Uint8Array(31)]) {
      expect(same((b) => b.sign(bad, msg))).toEqual({ error: 'BLS_INVALID_SECRET_KEY' });
      expect(same((b) => b.publicKeyOf(bad))).toEqual({ error: 'BLS_INVALID_SECRET_KEY' });
    }
    expect(same((b) => b.aggregateSignatures([]))).toEqual({ error: 'BLS_EMPTY_INPUT' });
    expect(same((b) => b.aggregatePublicKeys([]))).toEqual({ error: 'BLS_EMPTY_INPUT' });
    expect(same((b) => b.verifyAggregate([], msg, sig))).toBe(false);
    const notBytes = 'm' as unknown as Uint8Array;
    expect(same((b) => b.verify(pk, notBytes, sig))).toEqual({ error: 'BLS_INVALID_LENGTH' });
    expect(same((b) => b.sign(sk, notBytes))).toEqual({ error: 'BLS_INVALID_LENGTH' });
  });
});

describe('verifyShares', () => {
  const keys = Array.from({ length: 7 }, (_, i) => {
    const sk = secretKeyFromSeed(new Uint8Array(32).fill(i + 20));
    return { sk, pk: noble.publicKeyOf(sk) };
  });
  const good = keys.map((k) => ({ publicKey: k.pk, signature: blst.sign(k.sk, msg) }));

  /** Ways a share can be bad, each with the index of a key to use. */
  const badShareArb = fc.oneof(
    fc.constant((i: number) => ({ ...good[i]!, signature: blst.sign(keys[i]!.sk, Uint8Array.of(1)) })), // other message
    fc.constant((i: number) => ({ ...good[i]!, publicKey: keys[(i + 1) % 7]!.pk })), // other key
    fc.constant((i: number) => ({ ...good[i]!, signature: good[(i + 1) % 7]!.signature })), // another's share
    sigArb.map((s) => (i: number) => ({ ...good[i]!, signature: s })), // anything as the signature
    pkArb.map((p) => (i: number) => ({ ...good[i]!, publicKey: p })), // anything as the key
  );

  it('both backends name the same valid and invalid shares, as per-share verify does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(badShareArb, { freq: 2, nil: undefined }), { minLength: 0, maxLength: 7 }),
        async (plan) => {
          const shares = plan.map((bad, i) => (bad === undefined ? good[i]! : bad(i)));
          const expected = { valid: [] as number[], invalid: [] as number[] };
          shares.forEach((s, i) => {
            const ok = outcome(() => noble.verify(s.publicKey, msg, s.signature)) === true;
            (ok ? expected.valid : expected.invalid).push(i);
          });
          expect(await outcomeAsync(() => noble.verifyShares(msg, shares))).toEqual(expected);
          expect(await outcomeAsync(() => blst.verifyShares(msg, shares))).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('all good: one batch check; a share is never accepted for an aggregate it spoils', async () => {
    for (const b of [noble, blst]) {
      expect(await b.verifyShares(msg, good)).toEqual({ valid: [0, 1, 2, 3, 4, 5, 6], invalid: [] });
      expect(await b.verifyShares(msg, [])).toEqual({ valid: [], invalid: [] });
      // Two shares whose errors cancel: the plain sum verifies, the blinded batch does not.
      const delta = b.sign(keys[6]!.sk, msg);
      const neg = delta.slice();
      neg[0] = (neg[0] ?? 0) ^ 0x20; // −delta
      const a = { ...good[0]!, signature: b.aggregateSignatures([good[0]!.signature, delta]) };
      const c = { ...good[1]!, signature: b.aggregateSignatures([good[1]!.signature, neg]) };
      expect(
        b.verifyAggregate([a.publicKey, c.publicKey], msg, b.aggregateSignatures([a.signature, c.signature])),
      ).toBe(true);
      expect(await b.verifyShares(msg, [a, c, good[2]!])).toEqual({ valid: [2], invalid: [0, 1] });
    }
  });

  it('throws on a message that is not bytes (the caller`s error, not a share`s)', async () => {
    for (const b of [noble, blst]) {
      await expect(b.verifyShares('m' as unknown as Uint8Array, good)).rejects.toMatchObject({
        code: 'BLS_INVALID_LENGTH',
      });
    }
  });
});
