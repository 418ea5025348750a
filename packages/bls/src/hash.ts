import { expand_message_xmd, hash_to_field } from '@noble/curves/abstract/hash-to-curve';
import { bls12_381 } from '@noble/curves/bls12-381';
import { sha256 } from '@noble/hashes/sha2';
import { encodeG2, Fp2, type G2Point, P } from './curve.js';
import { decodeFp2Eip2537, encodeFp2Eip2537, encodeG2Eip2537 } from './eip2537.js';
import { BlsError, guard } from './errors.js';

/** Domain separation tag of signatures (the ciphersuite ID). */
export const DST_SIGNATURE = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
/** Domain separation tag of proofs of possession. */
export const DST_POP = 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';

export type Dst = string | Uint8Array;

export function checkMessage(msg: unknown): asserts msg is Uint8Array {
  if (!(msg instanceof Uint8Array))
    throw new BlsError('BLS_INVALID_LENGTH', 'message: expected a Uint8Array');
}

function dstBytes(dst: Dst): Uint8Array {
  const b = typeof dst === 'string' ? new TextEncoder().encode(dst) : dst;
  if (!(b instanceof Uint8Array) || b.length === 0 || b.length > 255) {
    throw new BlsError('BLS_INVALID_LENGTH', 'dst: expected 1..255 bytes');
  }
  return b;
}

/** Internal: RFC 9380 hash_to_curve for G2 as a point. */
export function hashToG2Point(msg: Uint8Array, dst: Dst): G2Point {
  checkMessage(msg);
  const d = dstBytes(dst);
  return guard('hashToG2', () => bls12_381.G2.hashToCurve(msg, { DST: d }) as G2Point);
}

/**
 * RFC 9380 `hash_to_curve` with suite BLS12381G2_XMD:SHA-256_SSWU_RO_, as a
 * 96-byte compressed G2 point. `dst` defaults to the signature DST.
 */
export function hashToG2(msg: Uint8Array, dst: Dst = DST_SIGNATURE): Uint8Array {
  return encodeG2(hashToG2Point(msg, dst));
}

/** `hashToG2` in the 256-byte EIP-2537 encoding — what the contract's hash-to-curve must produce. */
export function g2Eip2537FromMessage(msg: Uint8Array, dst: Dst = DST_SIGNATURE): Uint8Array {
  return encodeG2Eip2537(hashToG2Point(msg, dst));
}

/** RFC 9380 `expand_message_xmd` with SHA-256 (the first step the contract reimplements). */
export function expandMessageXmd(msg: Uint8Array, dst: Dst, lengthInBytes: number): Uint8Array {
  checkMessage(msg);
  const d = dstBytes(dst);
  if (!Number.isInteger(lengthInBytes) || lengthInBytes < 1 || lengthInBytes > 8160) {
    throw new BlsError('BLS_INVALID_LENGTH', 'lengthInBytes: expected 1..8160');
  }
  return guard('expandMessageXmd', () => expand_message_xmd(msg, d, lengthInBytes, sha256));
}

/**
 * RFC 9380 `hash_to_field(msg, 2)` over Fp2: the two elements u0, u1, each in
 * the 128-byte EIP-2537 Fp2 encoding, i.e. exactly the inputs of the two
 * `MAP_FP2_TO_G2` precompile calls whose sum is `hashToG2(msg, dst)`.
 */
export function hashToFieldFp2(msg: Uint8Array, dst: Dst = DST_SIGNATURE): [Uint8Array, Uint8Array] {
  checkMessage(msg);
  const d = dstBytes(dst);
  const [u0, u1] = guard('hashToFieldFp2', () =>
    hash_to_field(msg, 2, { DST: d, p: P, m: 2, k: 128, expand: 'xmd', hash: sha256 }),
  );
  if (!u0 || !u1 || u0.length !== 2 || u1.length !== 2)
    throw new BlsError('BLS_INTERNAL', 'hash_to_field shape');
  const fp2 = (u: bigint[]) => encodeFp2Eip2537(Fp2.fromBigTuple([u[0] ?? 0n, u[1] ?? 0n]));
  return [fp2(u0), fp2(u1)];
}

/**
 * What the EIP-2537 `MAP_FP2_TO_G2` precompile (0x11) computes: SSWU map,
 * 3-isogeny, cofactor clearing. Input 128 bytes (EIP-2537 Fp2), output 256.
 */
export function mapFp2ToG2Eip2537(fp2: Uint8Array): Uint8Array {
  const u = decodeFp2Eip2537(fp2, 'fp2');
  return guard('mapFp2ToG2', () => encodeG2Eip2537(bls12_381.G2.mapToCurve([u.c0, u.c1]) as G2Point));
}
