/**
 * The native backend: `@chainsafe/blst` (Lodestar's N-API binding of
 * supranational/blst, prebuilt per platform as an optional dependency).
 * `loadBlstBackend()` returns the load error instead of throwing, so a
 * platform without a prebuilt binary falls back to noble.
 */
import { createRequire } from 'node:module';
import type * as Blst from '@chainsafe/blst';
import { bytesKey } from '../compressed.js';
import { BlsError, type BlsErrorCode } from '../errors.js';
import type { BlsBackend } from './types.js';

/** A decoded signature and its bytes (`asyncAggregateWithRandomness` takes serialized signatures). */
export interface BlstSignature {
  readonly sig: Blst.Signature;
  readonly bytes: Uint8Array;
}

/** blst's error codes (`err.code`) → ours. The byte-level ones cannot occur after `compressed.ts`. */
const CODES: Record<string, BlsErrorCode> = {
  BLST_POINT_NOT_ON_CURVE: 'BLS_POINT_NOT_ON_CURVE',
  BLST_POINT_NOT_IN_GROUP: 'BLS_POINT_NOT_IN_SUBGROUP',
  BLST_PK_IS_INFINITY: 'BLS_INFINITY_PUBLIC_KEY',
  BLST_BAD_ENCODING: 'BLS_INVALID_ENCODING',
};

const MESSAGES: Partial<Record<BlsErrorCode, string>> = {
  BLS_POINT_NOT_ON_CURVE: 'x is not the abscissa of a curve point',
  BLS_POINT_NOT_IN_SUBGROUP: 'point is not in the prime-order subgroup',
  BLS_INFINITY_PUBLIC_KEY: 'the point at infinity is not a valid public key',
  BLS_INVALID_ENCODING: 'invalid encoding',
};

/** Runs a blst call, turning its errors into `BlsError` (unknown ones into `BLS_INTERNAL`). */
function call<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BlsError) throw err;
    const code = CODES[String((err as { code?: unknown }).code)] ?? 'BLS_INTERNAL';
    const text = MESSAGES[code] ?? (err instanceof Error ? err.message : String(err));
    throw new BlsError(code, `${what}: ${text}`, { cause: err });
  }
}

/** Validated public keys by encoding, as in the noble backend (bounded, oldest evicted first). */
const PK_CACHE_MAX = 4096;

function createBlstBackend(blst: typeof Blst): BlsBackend<Blst.PublicKey, BlstSignature> {
  const pkCache = new Map<string, Blst.PublicKey>();
  return {
    name: 'blst',
    publicKey(bytes, what) {
      const key = bytesKey(bytes);
      const hit = pkCache.get(key);
      if (hit !== undefined) return hit;
      const pk = call(what, () => blst.PublicKey.fromBytes(bytes, true));
      if (pkCache.size >= PK_CACHE_MAX) {
        const oldest = pkCache.keys().next();
        if (oldest.done !== true) pkCache.delete(oldest.value);
      }
      pkCache.set(key, pk);
      return pk;
    },
    // validate (curve + subgroup), but allow infinity: it is checked by the front end
    signature: (bytes, what) => ({
      sig: call(what, () => blst.Signature.fromBytes(bytes, true, false)),
      bytes,
    }),
    publicKeyOf: (sk) => call('publicKeyOf', () => blst.SecretKey.fromBytes(sk).toPublicKey().toBytes(true)),
    sign: (sk, msg) => call('sign', () => blst.SecretKey.fromBytes(sk).sign(msg).toBytes(true)),
    verify: (msg, pk, s) => call('verify', () => blst.verify(msg, pk, s.sig, false, false)),
    fastAggregateVerify: (msg, pks, s) =>
      call('fastAggregateVerify', () => blst.fastAggregateVerify(msg, [...pks], s.sig, false)),
    aggregateSignatures: (sigs) =>
      call('aggregateSignatures', () =>
        blst
          .aggregateSignatures(
            sigs.map((s) => s.sig),
            false,
          )
          .toBytes(true),
      ),
    aggregatePublicKeys: (pks) =>
      call('aggregatePublicKeys', () => blst.aggregatePublicKeys([...pks], false).toBytes(true)),
    async verifySameMessage(msg, pks, sigs) {
      // Blinding and summing (n scalar multiplications in G1 and G2) run on the
      // libuv thread pool; the one remaining pairing check is ~1 ms here.
      const sets = pks.map((pk, i) => ({ pk, sig: sigs[i]?.bytes ?? new Uint8Array(0) }));
      let agg: Blst.PkAndSig;
      try {
        agg = await blst.asyncAggregateWithRandomness(sets);
      } catch (err) {
        return call('verifySameMessage', () => {
          throw err;
        });
      }
      return call('verifySameMessage', () => blst.verify(msg, agg.pk, agg.sig, false, false));
    },
  };
}

/** The blst backend, or why it cannot be used on this platform. */
export function loadBlstBackend(): BlsBackend | Error {
  try {
    const blst = createRequire(import.meta.url)('@chainsafe/blst') as typeof Blst;
    const backend = createBlstBackend(blst);
    // A smoke test: a binary that loads but computes wrongly must not be used.
    const sk = new Uint8Array(32);
    sk[31] = 1;
    const g1 = backend.publicKeyOf(sk);
    if (g1[0] !== 0x97 || g1[1] !== 0xf1) return new Error('@chainsafe/blst: 1·G1 is not the generator');
    return backend as BlsBackend;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
