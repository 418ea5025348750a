/**
 * The signature operations over one backend. `createBls(backend)` is what
 * `signatures.ts` binds to the process's backend; tests bind it to each
 * backend to compare them. Every input is validated here, in a fixed order,
 * before the backend sees it (see `backend/types.ts`).
 */
import { coreVerify, nobleBackend } from './backend/noble.js';
import type { BlsBackend } from './backend/types.js';
import { checkPublicKeyBytes, checkSignatureBytes } from './compressed.js';
import { encodeG2 } from './curve.js';
import { BlsError, guard } from './errors.js';
import { checkMessage, DST_POP, hashToG2Point } from './hash.js';
import { secretKeyScalar } from './keys.js';

/** A follower's signature share and the public key it must verify under. */
export interface Share {
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** Which shares verified, by index into the input, ascending. */
export interface ShareVerdicts {
  readonly valid: number[];
  readonly invalid: number[];
}

export interface Bls {
  readonly backend: BlsBackend['name'];
  publicKeyOf(sk: Uint8Array): Uint8Array;
  sign(sk: Uint8Array, msg: Uint8Array): Uint8Array;
  verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
  aggregateSignatures(sigs: readonly Uint8Array[]): Uint8Array;
  aggregatePublicKeys(pks: readonly Uint8Array[]): Uint8Array;
  verifyAggregate(pks: readonly Uint8Array[], msg: Uint8Array, aggSig: Uint8Array): boolean;
  verifyShares(msg: Uint8Array, shares: readonly Share[]): Promise<ShareVerdicts>;
  provePossession(sk: Uint8Array): Uint8Array;
  verifyPossession(pk: Uint8Array, pop: Uint8Array): boolean;
}

export function createBls<PK, SIG>(be: BlsBackend<PK, SIG>): Bls {
  const publicKey = (bytes: Uint8Array, what: string): PK => {
    checkPublicKeyBytes(bytes, what);
    return be.publicKey(bytes, what);
  };
  /** The decoded signature, and whether it is the point at infinity (which verifies nothing). */
  const signature = (bytes: Uint8Array, what: string): { sig: SIG; infinity: boolean } => {
    const infinity = checkSignatureBytes(bytes, what);
    return { sig: be.signature(bytes, what), infinity };
  };
  const publicKeys = (pks: readonly Uint8Array[]) => pks.map((pk, i) => publicKey(pk, `public key[${i}]`));

  return {
    backend: be.name,
    publicKeyOf(sk) {
      secretKeyScalar(sk);
      return be.publicKeyOf(sk);
    },
    sign(sk, msg) {
      secretKeyScalar(sk);
      checkMessage(msg);
      return be.sign(sk, msg);
    },
    verify(pk, msg, sig) {
      const p = publicKey(pk, 'public key');
      const s = signature(sig, 'signature');
      checkMessage(msg);
      return !s.infinity && be.verify(msg, p, s.sig);
    },
    aggregateSignatures(sigs) {
      if (sigs.length === 0) throw new BlsError('BLS_EMPTY_INPUT', 'aggregateSignatures: no signatures');
      return be.aggregateSignatures(sigs.map((s, i) => signature(s, `signature[${i}]`).sig));
    },
    aggregatePublicKeys(pks) {
      if (pks.length === 0) throw new BlsError('BLS_EMPTY_INPUT', 'aggregatePublicKeys: no public keys');
      return be.aggregatePublicKeys(publicKeys(pks));
    },
    verifyAggregate(pks, msg, aggSig) {
      const s = signature(aggSig, 'aggregate signature');
      if (pks.length === 0) return false;
      const ps = publicKeys(pks);
      checkMessage(msg);
      return !s.infinity && be.fastAggregateVerify(msg, ps, s.sig);
    },
    async verifyShares(msg, shares) {
      checkMessage(msg);
      const invalid: number[] = [];
      const candidates: { i: number; pk: PK; sig: SIG }[] = [];
      shares.forEach((share, i) => {
        try {
          const pk = publicKey(share.publicKey, `share[${i}] public key`);
          const s = signature(share.signature, `share[${i}] signature`);
          if (s.infinity) invalid.push(i);
          else candidates.push({ i, pk, sig: s.sig });
        } catch (err) {
          if (!(err instanceof BlsError) || err.code === 'BLS_INTERNAL') throw err;
          invalid.push(i);
        }
      });
      let valid: number[];
      if (
        candidates.length >= 2 &&
        (await be.verifySameMessage(
          msg,
          candidates.map((c) => c.pk),
          candidates.map((c) => c.sig),
        ))
      ) {
        valid = candidates.map((c) => c.i);
      } else {
        // One share, or a batch with at least one bad share: find them one by one.
        valid = [];
        for (const c of candidates) (be.verify(msg, c.pk, c.sig) ? valid : invalid).push(c.i);
      }
      return { valid, invalid: invalid.sort((a, b) => a - b) };
    },
    // Proofs of possession use noble's curve arithmetic with either backend:
    // @chainsafe/blst hashes with the signature DST only (no DST parameter, no
    // hash-to-curve or pairing of its own), and a PoP is checked once per key
    // registration. Only the public key comes from the backend.
    provePossession(sk) {
      const n = secretKeyScalar(sk);
      const h = hashToG2Point(be.publicKeyOf(sk), DST_POP);
      return guard('provePossession', () => encodeG2(h.multiply(n)));
    },
    verifyPossession(pk, pop) {
      const p = nobleBackend.publicKey(pk, 'public key');
      const s = nobleBackend.signature(pop, 'proof of possession');
      return coreVerify(p, hashToG2Point(pk, DST_POP), s);
    },
  };
}
