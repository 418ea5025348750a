import { bls12_381 } from '@noble/curves/bls12-381';
import { decodeG1, decodeG2, encodeG1, encodeG2, Fp12, G1, type G1Point, G2, type G2Point } from './curve.js';
import { BlsError, guard } from './errors.js';
import { DST_POP, DST_SIGNATURE, hashToG2Point } from './hash.js';
import { secretKeyScalar } from './keys.js';

const NEG_G1 = G1.BASE.negate();

/** e(pk, H) == e(G1, sig), as one multi-pairing e(pk, H)·e(−G1, sig) == 1. */
function coreVerify(pk: G1Point, h: G2Point, sig: G2Point): boolean {
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

function signWith(sk: Uint8Array, msg: Uint8Array, dst: string): Uint8Array {
  const n = secretKeyScalar(sk);
  const h = hashToG2Point(msg, dst);
  return guard('sign', () => encodeG2(h.multiply(n)));
}

/** Signs `msg` (any bytes): `sk · H(msg)` with the signature DST; 96-byte compressed G2. */
export function sign(sk: Uint8Array, msg: Uint8Array): Uint8Array {
  return signWith(sk, msg, DST_SIGNATURE);
}

/**
 * CoreVerify. `false` for a well-formed signature that does not verify;
 * a `BlsError` for a malformed key or signature (wrong length, not on the
 * curve, not in the subgroup, infinity public key).
 */
export function verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const p = decodeG1(pk, 'public key', { allowInfinity: false });
  const s = decodeG2(sig, 'signature');
  return coreVerify(p, hashToG2Point(msg, DST_SIGNATURE), s);
}

/** Sum of signatures (96-byte compressed each). An empty list is `BLS_EMPTY_INPUT`. */
export function aggregateSignatures(sigs: readonly Uint8Array[]): Uint8Array {
  if (sigs.length === 0) throw new BlsError('BLS_EMPTY_INPUT', 'aggregateSignatures: no signatures');
  const points = sigs.map((s, i) => decodeG2(s, `signature[${i}]`));
  return guard('aggregateSignatures', () => encodeG2(points.reduce((a, b) => a.add(b), G2.ZERO)));
}

/**
 * Sum of public keys. Only meaningful for keys whose proofs of possession
 * were verified. An empty list is `BLS_EMPTY_INPUT`; an infinity key is
 * `BLS_INFINITY_PUBLIC_KEY`. The sum itself may be infinity (then it
 * verifies nothing).
 */
export function aggregatePublicKeys(pks: readonly Uint8Array[]): Uint8Array {
  if (pks.length === 0) throw new BlsError('BLS_EMPTY_INPUT', 'aggregatePublicKeys: no public keys');
  return guard('aggregatePublicKeys', () => encodeG1(sumPublicKeys(pks)));
}

function sumPublicKeys(pks: readonly Uint8Array[]): G1Point {
  return pks
    .map((pk, i) => decodeG1(pk, `public key[${i}]`, { allowInfinity: false }))
    .reduce((a, b) => a.add(b), G1.ZERO);
}

/**
 * FastAggregateVerify: every key signed the same `msg`. Secure only for keys
 * registered with a verified proof of possession (rogue-key attacks
 * otherwise). `false` for an empty key list or keys summing to infinity.
 */
export function verifyAggregate(pks: readonly Uint8Array[], msg: Uint8Array, aggSig: Uint8Array): boolean {
  const s = decodeG2(aggSig, 'aggregate signature');
  if (pks.length === 0) return false;
  const agg = sumPublicKeys(pks);
  return coreVerify(agg, hashToG2Point(msg, DST_SIGNATURE), s);
}

/** Proof of possession: a signature with the PoP DST over the 48-byte compressed public key. */
export function provePossession(sk: Uint8Array): Uint8Array {
  const n = secretKeyScalar(sk);
  const pk = guard('provePossession', () => encodeG1(G1.BASE.multiply(n)));
  return signWith(sk, pk, DST_POP);
}

/** PopVerify. Same error convention as `verify`. */
export function verifyPossession(pk: Uint8Array, pop: Uint8Array): boolean {
  const p = decodeG1(pk, 'public key', { allowInfinity: false });
  const s = decodeG2(pop, 'proof of possession');
  return coreVerify(p, hashToG2Point(encodeG1(p), DST_POP), s);
}
