/**
 * The one place that touches `@noble/curves` points: strict decoding of the
 * compressed (ZCash / Ethereum consensus-layer) encodings, with a typed error
 * for every way an input can be wrong. Internal — the public API is bytes.
 */
import { bls12_381 } from '@noble/curves/bls12-381';
import {
  bytesKey,
  checkCompressed,
  checkPublicKeyBytes,
  checkSignatureBytes,
  expectBytes,
  G1_COMPRESSED_LENGTH,
  G2_COMPRESSED_LENGTH,
} from './compressed.js';
import { BlsError } from './errors.js';

export const Fp = bls12_381.fields.Fp;
export const Fp2 = bls12_381.fields.Fp2;
export const Fp12 = bls12_381.fields.Fp12;
export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export type G1Point = typeof G1.BASE;
export type G2Point = typeof G2.BASE;
export type Fp2Value = G2Point['x'];

/** Base-field modulus p. */
export const P: bigint = Fp.ORDER;
/** Group order r. */
export const R: bigint = bls12_381.fields.Fr.ORDER;

export const SECRET_KEY_LENGTH = 32;
export { expectBytes, G1_COMPRESSED_LENGTH, G2_COMPRESSED_LENGTH };

const HALF_P = (P - 1n) / 2n;
const B1 = 4n;
const B2 = Fp2.fromBigTuple([4n, 4n]);

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new BlsError('BLS_INTERNAL', `integer does not fit in ${length} bytes`);
  return out;
}

function sqrtOrNull<T>(sqrt: () => T, check: (y: T) => boolean): T | null {
  try {
    const y = sqrt();
    return check(y) ? y : null;
  } catch {
    return null;
  }
}

/** The first 381 bits (the three flag bits of a compressed encoding masked off). */
const MASK_381 = (1n << 381n) - 1n;

/** The "sort" flag: y is the larger of the two roots. */
function sortFlag(bytes: Uint8Array): boolean {
  return ((bytes[0] ?? 0) & 0x20) !== 0;
}

/** y is "lexicographically largest" in the ZCash sense (the sort flag). */
function fpLargest(y: bigint): boolean {
  return y > HALF_P;
}
function fp2Largest(y: Fp2Value): boolean {
  return y.c1 !== 0n ? y.c1 > HALF_P : y.c0 > HALF_P;
}

/** Builds a G1 point from affine coordinates, checking curve equation and subgroup. */
export function g1FromAffine(x: bigint, y: bigint, what: string): G1Point {
  if (x === 0n && y === 0n) return G1.ZERO;
  if (Fp.sqr(y) !== Fp.add(Fp.mul(Fp.sqr(x), x), B1)) {
    throw new BlsError('BLS_POINT_NOT_ON_CURVE', `${what}: point is not on the curve`);
  }
  const p = G1.fromAffine({ x, y });
  if (!p.isTorsionFree()) {
    throw new BlsError('BLS_POINT_NOT_IN_SUBGROUP', `${what}: point is not in the prime-order subgroup`);
  }
  return p;
}

/** Builds a G2 point from affine coordinates, checking curve equation and subgroup. */
export function g2FromAffine(x: Fp2Value, y: Fp2Value, what: string): G2Point {
  if (Fp2.is0(x) && Fp2.is0(y)) return G2.ZERO;
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), B2))) {
    throw new BlsError('BLS_POINT_NOT_ON_CURVE', `${what}: point is not on the curve`);
  }
  const p = G2.fromAffine({ x, y });
  if (!p.isTorsionFree()) {
    throw new BlsError('BLS_POINT_NOT_IN_SUBGROUP', `${what}: point is not in the prime-order subgroup`);
  }
  return p;
}

/**
 * Validated G1 points by encoding. Public keys repeat (a group's keepers sign
 * every payment) and decompression plus the subgroup check dominate the cost
 * of an aggregate verification, so valid keys are remembered (bounded, oldest
 * evicted first). Only points that passed every check are stored.
 */
const G1_CACHE_MAX = 4096;
const g1Cache = new Map<string, G1Point>();

/** Decodes a 48-byte compressed G1 point (strict: canonical, on curve, in subgroup). */
export function decodeG1(bytes: Uint8Array, what: string, opts: { allowInfinity: boolean }): G1Point {
  expectBytes(bytes, G1_COMPRESSED_LENGTH, what);
  const key = bytesKey(bytes);
  const hit = g1Cache.get(key);
  if (hit !== undefined) return hit;
  const p = decodeG1Uncached(bytes, what, opts);
  if (!p.is0()) {
    if (g1Cache.size >= G1_CACHE_MAX) {
      const oldest = g1Cache.keys().next();
      if (oldest.done !== true) g1Cache.delete(oldest.value);
    }
    g1Cache.set(key, p);
  }
  return p;
}

function decodeG1Uncached(bytes: Uint8Array, what: string, opts: { allowInfinity: boolean }): G1Point {
  if (!opts.allowInfinity) checkPublicKeyBytes(bytes, what);
  else if (checkCompressed(bytes, G1_COMPRESSED_LENGTH, what)) return G1.ZERO;
  const x = bytesToBigInt(bytes) & MASK_381;
  const rhs = Fp.add(Fp.mul(Fp.sqr(x), x), B1);
  let y = sqrtOrNull(
    () => Fp.sqrt(rhs),
    (v) => Fp.sqr(v) === rhs,
  );
  if (y === null)
    throw new BlsError('BLS_POINT_NOT_ON_CURVE', `${what}: x is not the abscissa of a curve point`);
  if (fpLargest(y) !== sortFlag(bytes)) y = Fp.neg(y);
  return g1FromAffine(x, y, what);
}

/** Decodes a 96-byte compressed G2 point (x.c1 first, as in the ZCash format). */
export function decodeG2(bytes: Uint8Array, what: string): G2Point {
  if (checkSignatureBytes(bytes, what)) return G2.ZERO;
  const c1 = bytesToBigInt(bytes.subarray(0, 48)) & MASK_381;
  const c0 = bytesToBigInt(bytes.subarray(48, 96));
  const x = Fp2.fromBigTuple([c0, c1]);
  const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), B2);
  let y = sqrtOrNull(
    () => Fp2.sqrt(rhs),
    (v) => Fp2.eql(Fp2.sqr(v), rhs),
  );
  if (y === null)
    throw new BlsError('BLS_POINT_NOT_ON_CURVE', `${what}: x is not the abscissa of a curve point`);
  if (fp2Largest(y) !== sortFlag(bytes)) y = Fp2.neg(y);
  return g2FromAffine(x, y, what);
}

export function encodeG1(p: G1Point): Uint8Array {
  return p.toBytes(true);
}

export function encodeG2(p: G2Point): Uint8Array {
  return p.toBytes(true);
}
