/**
 * The byte-level half of decoding a compressed (ZCash / Ethereum
 * consensus-layer) point, shared by both backends so that they classify a
 * malformed input the same way: length, flag bits, the form of the point at
 * infinity, canonical field elements. What is left to a backend is the
 * arithmetic: whether x is the abscissa of a curve point and whether that
 * point is in the prime-order subgroup.
 */
import { BlsError } from './errors.js';
import { fromHex } from './hex.js';

export const G1_COMPRESSED_LENGTH = 48;
export const G2_COMPRESSED_LENGTH = 96;

/** Base-field modulus p, big-endian. */
const P_BYTES = fromHex(
  '1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab',
);

export function expectBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new BlsError('BLS_INVALID_LENGTH', `${what}: expected a Uint8Array`);
  }
  if (value.length !== length) {
    throw new BlsError('BLS_INVALID_LENGTH', `${what}: expected ${length} bytes, got ${value.length}`, {
      details: { expected: length, actual: value.length },
    });
  }
}

/** 48 big-endian bytes (flag bits of the first byte masked off) below p. */
function belowP(bytes: Uint8Array, offset: number, masked: boolean): boolean {
  for (let i = 0; i < 48; i++) {
    const raw = bytes[offset + i] ?? 0;
    const b = i === 0 && masked ? raw & 0x1f : raw;
    const q = P_BYTES[i] ?? 0;
    if (b !== q) return b < q;
  }
  return false; // equal to p
}

/**
 * Checks the encoding of a compressed point (`length` 48 for G1, 96 for G2):
 * a Uint8Array of that length, the compression flag set, infinity encoded as
 * `0xc0 00…` exactly, every field element below p. Returns whether it is the
 * point at infinity. Does not check the curve equation or the subgroup.
 */
export function checkCompressed(bytes: Uint8Array, length: 48 | 96, what: string): boolean {
  expectBytes(bytes, length, what);
  const first = bytes[0] ?? 0;
  if ((first & 0x80) === 0) {
    throw new BlsError(
      'BLS_INVALID_ENCODING',
      `${what}: compression flag not set (only compressed points are accepted)`,
    );
  }
  if ((first & 0x40) !== 0) {
    if ((first & 0x20) !== 0 || (first & 0x1f) !== 0 || bytes.subarray(1).some((b) => b !== 0)) {
      throw new BlsError('BLS_INVALID_ENCODING', `${what}: malformed encoding of the point at infinity`);
    }
    return true;
  }
  // G1: x. G2: x.c1 (first, carrying the flags) then x.c0.
  if (!belowP(bytes, 0, true) || (length === 96 && !belowP(bytes, 48, false))) {
    throw new BlsError('BLS_INVALID_ENCODING', `${what}: field element not below the modulus`);
  }
  return false;
}

/**
 * `checkCompressed` for a public key: the point at infinity is
 * `BLS_INFINITY_PUBLIC_KEY` (KeyValidate).
 */
export function checkPublicKeyBytes(bytes: Uint8Array, what: string): void {
  if (checkCompressed(bytes, G1_COMPRESSED_LENGTH, what)) {
    throw new BlsError('BLS_INFINITY_PUBLIC_KEY', `${what}: the point at infinity is not a valid public key`);
  }
}

/** `checkCompressed` for a signature; returns whether it is the point at infinity. */
export function checkSignatureBytes(bytes: Uint8Array, what: string): boolean {
  return checkCompressed(bytes, G2_COMPRESSED_LENGTH, what);
}

/** Map key of a byte string (for bounded caches of validated points). */
export function bytesKey(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
