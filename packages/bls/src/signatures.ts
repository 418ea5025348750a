import { createBls, type Share, type ShareVerdicts } from './api.js';
import { activeBackend } from './backend/select.js';

/** Every operation of this module, over the backend chosen at load (`blsBackend()`). */
const bls = createBls(activeBackend);

/** The 48-byte compressed G1 public key `sk·G1`. */
export function publicKeyOf(sk: Uint8Array): Uint8Array {
  return bls.publicKeyOf(sk);
}

/** Signs `msg` (any bytes): `sk · H(msg)` with the signature DST; 96-byte compressed G2. */
export function sign(sk: Uint8Array, msg: Uint8Array): Uint8Array {
  return bls.sign(sk, msg);
}

/**
 * CoreVerify. `false` for a well-formed signature that does not verify (the
 * point at infinity included); a `BlsError` for a malformed key or signature
 * (wrong length, not on the curve, not in the subgroup, infinity public key).
 */
export function verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  return bls.verify(pk, msg, sig);
}

/** Sum of signatures (96-byte compressed each). An empty list is `BLS_EMPTY_INPUT`. */
export function aggregateSignatures(sigs: readonly Uint8Array[]): Uint8Array {
  return bls.aggregateSignatures(sigs);
}

/**
 * Sum of public keys. Only meaningful for keys whose proofs of possession
 * were verified. An empty list is `BLS_EMPTY_INPUT`; an infinity key is
 * `BLS_INFINITY_PUBLIC_KEY`. The sum itself may be infinity (then it
 * verifies nothing).
 */
export function aggregatePublicKeys(pks: readonly Uint8Array[]): Uint8Array {
  return bls.aggregatePublicKeys(pks);
}

/**
 * FastAggregateVerify: every key signed the same `msg`. Secure only for keys
 * registered with a verified proof of possession (rogue-key attacks
 * otherwise). `false` for an empty key list or keys summing to infinity.
 */
export function verifyAggregate(pks: readonly Uint8Array[], msg: Uint8Array, aggSig: Uint8Array): boolean {
  return bls.verifyAggregate(pks, msg, aggSig);
}

/**
 * Verifies signature shares over one message (a leader's followers' approvals)
 * as one batch: one check of all shares with random 64-bit blinding scalars
 * (`e(Σ rᵢ·pkᵢ, H(msg)) == e(G1, Σ rᵢ·sigᵢ)`, a "fastAggregateVerify" that two
 * bad shares cannot cancel in); only when it fails is every share verified
 * on its own, so one bad share costs the others nothing but time and is
 * still named. A share that does not decode (malformed key or signature,
 * infinity) is invalid, never thrown; a message that is not a Uint8Array is.
 * With blst the blinding runs on the libuv thread pool.
 *
 * Keys must have verified proofs of possession, as for `verifyAggregate`.
 */
export function verifyShares(msg: Uint8Array, shares: readonly Share[]): Promise<ShareVerdicts> {
  return bls.verifyShares(msg, shares);
}

/** Proof of possession: a signature with the PoP DST over the 48-byte compressed public key. */
export function provePossession(sk: Uint8Array): Uint8Array {
  return bls.provePossession(sk);
}

/** PopVerify. Same error convention as `verify`. (Noble's arithmetic with either backend: see `api.ts`.) */
export function verifyPossession(pk: Uint8Array, pop: Uint8Array): boolean {
  return bls.verifyPossession(pk, pop);
}
