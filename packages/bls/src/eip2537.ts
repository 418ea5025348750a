/**
 * EIP-2537 encodings, used by the precompiles the Upkeeping contract calls:
 * an Fp element is 64 bytes (16 zero bytes, then 48 bytes big-endian), an Fp2
 * element c0 + c1·u is c0 then c1 (128 bytes), a G1 point is x ‖ y (128
 * bytes), a G2 point is x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1 (256 bytes); the point at
 * infinity is all zeros. Note the compressed (ZCash) G2 format puts c1 first;
 * EIP-2537 puts c0 first.
 */
import {
  bigIntToBytes,
  bytesToBigInt,
  decodeG1,
  decodeG2,
  encodeG1,
  encodeG2,
  expectBytes,
  Fp2,
  type Fp2Value,
  G1,
  type G1Point,
  type G2Point,
  g1FromAffine,
  g2FromAffine,
  P,
} from './curve.js';
import { BlsError, guard } from './errors.js';

export const EIP2537_FP_LENGTH = 64;
export const EIP2537_FP2_LENGTH = 128;
export const EIP2537_G1_LENGTH = 128;
export const EIP2537_G2_LENGTH = 256;

function encodeFp(n: bigint): Uint8Array {
  return bigIntToBytes(n, EIP2537_FP_LENGTH);
}

function decodeFp(bytes: Uint8Array, what: string): bigint {
  for (let i = 0; i < 16; i++) {
    if (bytes[i] !== 0)
      throw new BlsError('BLS_INVALID_ENCODING', `${what}: the top 16 bytes of an Fp element must be zero`);
  }
  const n = bytesToBigInt(bytes);
  if (n >= P) throw new BlsError('BLS_INVALID_ENCODING', `${what}: field element not below the modulus`);
  return n;
}

export function encodeFp2Eip2537(v: Fp2Value): Uint8Array {
  const out = new Uint8Array(EIP2537_FP2_LENGTH);
  out.set(encodeFp(v.c0), 0);
  out.set(encodeFp(v.c1), 64);
  return out;
}

export function decodeFp2Eip2537(bytes: unknown, what: string): Fp2Value {
  expectBytes(bytes, EIP2537_FP2_LENGTH, what);
  return Fp2.fromBigTuple([decodeFp(bytes.subarray(0, 64), what), decodeFp(bytes.subarray(64, 128), what)]);
}

export function encodeG1Eip2537(p: G1Point): Uint8Array {
  const out = new Uint8Array(EIP2537_G1_LENGTH);
  if (p.is0()) return out;
  const { x, y } = p.toAffine();
  out.set(encodeFp(x), 0);
  out.set(encodeFp(y), 64);
  return out;
}

export function encodeG2Eip2537(p: G2Point): Uint8Array {
  const out = new Uint8Array(EIP2537_G2_LENGTH);
  if (p.is0()) return out;
  const { x, y } = p.toAffine();
  out.set(encodeFp2Eip2537(x), 0);
  out.set(encodeFp2Eip2537(y), 128);
  return out;
}

/** A 48-byte compressed G1 point (a public key) → 128-byte EIP-2537. Infinity encodes as zeros. */
export function g1ToEip2537(point: Uint8Array): Uint8Array {
  const p = decodeG1(point, 'G1 point', { allowInfinity: true });
  return guard('g1ToEip2537', () => encodeG1Eip2537(p));
}

/** A 96-byte compressed G2 point (a signature) → 256-byte EIP-2537. Infinity encodes as zeros. */
export function g2ToEip2537(point: Uint8Array): Uint8Array {
  const p = decodeG2(point, 'G2 point');
  return guard('g2ToEip2537', () => encodeG2Eip2537(p));
}

/** 128-byte EIP-2537 G1 → 48-byte compressed; checks padding, field range, curve and subgroup. */
export function g1FromEip2537(bytes: Uint8Array): Uint8Array {
  expectBytes(bytes, EIP2537_G1_LENGTH, 'EIP-2537 G1 point');
  const x = decodeFp(bytes.subarray(0, 64), 'EIP-2537 G1 point');
  const y = decodeFp(bytes.subarray(64, 128), 'EIP-2537 G1 point');
  return guard('g1FromEip2537', () => encodeG1(g1FromAffine(x, y, 'EIP-2537 G1 point')));
}

/** 256-byte EIP-2537 G2 → 96-byte compressed; checks padding, field range, curve and subgroup. */
export function g2FromEip2537(bytes: Uint8Array): Uint8Array {
  expectBytes(bytes, EIP2537_G2_LENGTH, 'EIP-2537 G2 point');
  const x = decodeFp2Eip2537(bytes.subarray(0, 128), 'EIP-2537 G2 point');
  const y = decodeFp2Eip2537(bytes.subarray(128, 256), 'EIP-2537 G2 point');
  return guard('g2FromEip2537', () => encodeG2(g2FromAffine(x, y, 'EIP-2537 G2 point')));
}

/** −P for a 48-byte compressed G1 point (e.g. the negated generator for the pairing check). */
export function g1Negate(point: Uint8Array): Uint8Array {
  const p = decodeG1(point, 'G1 point', { allowInfinity: true });
  return guard('g1Negate', () => encodeG1(p.negate()));
}

/** The G1 generator, 48-byte compressed. */
export function g1Generator(): Uint8Array {
  return encodeG1(G1.BASE);
}
