/** The reference backend: `@noble/curves` (pure JavaScript, synchronous). */
import { bls12_381 } from '@noble/curves/bls12-381';
import { randomBytes } from '@noble/hashes/utils';
import {
  bytesToBigInt,
  decodeG1,
  decodeG2,
  encodeG1,
  encodeG2,
  Fp12,
  G1,
  type G1Point,
  G2,
  type G2Point,
} from '../curve.js';
import { guard } from '../errors.js';
import { DST_SIGNATURE, hashToG2Point } from '../hash.js';
import type { BlsBackend } from './types.js';

const NEG_G1 = G1.BASE.negate();

/** e(pk, H) == e(G1, sig), as one multi-pairing e(pk, H)·e(−G1, sig) == 1. */
export function coreVerify(pk: G1Point, h: G2Point, sig: G2Point): boolean {
  // KeyValidate rejects the identity key (also an aggregate that cancelled out);
  // the pairing is undefined for the identity signature, which never verifies
  // a non-identity key.
  if (pk.is0() || sig.is0() || h.is0()) return false;
  return guard('verify', () =>
    Fp12.eql(
      bls12_381.pairingBatch([
        { g1: pk, g2: h },
        { g1: NEG_G1, g2: sig },
      ]),
      Fp12.ONE,
    ),
  );
}

/** A uniformly random non-zero 64-bit scalar. */
function blindingScalar(): bigint {
  for (;;) {
    const r = bytesToBigInt(randomBytes(8));
    if (r !== 0n) return r;
  }
}

const sum1 = (ps: readonly G1Point[]) => ps.reduce((a, b) => a.add(b), G1.ZERO);
const sum2 = (ps: readonly G2Point[]) => ps.reduce((a, b) => a.add(b), G2.ZERO);

export const nobleBackend: BlsBackend<G1Point, G2Point> = {
  name: 'noble',
  publicKey: (bytes, what) => decodeG1(bytes, what, { allowInfinity: false }),
  signature: (bytes, what) => decodeG2(bytes, what),
  publicKeyOf: (sk) => guard('publicKeyOf', () => encodeG1(G1.BASE.multiply(bytesToBigInt(sk)))),
  sign: (sk, msg) => {
    const h = hashToG2Point(msg, DST_SIGNATURE);
    return guard('sign', () => encodeG2(h.multiply(bytesToBigInt(sk))));
  },
  verify: (msg, pk, sig) => coreVerify(pk, hashToG2Point(msg, DST_SIGNATURE), sig),
  fastAggregateVerify: (msg, pks, sig) => coreVerify(sum1(pks), hashToG2Point(msg, DST_SIGNATURE), sig),
  aggregateSignatures: (sigs) => guard('aggregateSignatures', () => encodeG2(sum2(sigs))),
  aggregatePublicKeys: (pks) => guard('aggregatePublicKeys', () => encodeG1(sum1(pks))),
  verifySameMessage: async (msg, pks, sigs) => {
    const rs = pks.map(blindingScalar);
    const pk = guard('verifySameMessage', () => sum1(pks.map((p, i) => p.multiplyUnsafe(rs[i] ?? 1n))));
    const sig = guard('verifySameMessage', () => sum2(sigs.map((s, i) => s.multiplyUnsafe(rs[i] ?? 1n))));
    return coreVerify(pk, hashToG2Point(msg, DST_SIGNATURE), sig);
  },
};
