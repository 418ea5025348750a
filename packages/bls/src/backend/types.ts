/**
 * What a BLS backend implements: the curve arithmetic behind `sign`,
 * `verify`, aggregation and batch verification. Two implementations,
 * `noble` (`@noble/curves`, pure JavaScript — the reference and the
 * fallback) and `blst` (`@chainsafe/blst`, supranational/blst through a
 * prebuilt N-API addon); `select.ts` picks one once, when the package is
 * loaded.
 *
 * The front end (`signatures.ts`) validates everything that is not curve
 * arithmetic before calling a backend — secret-key range, list lengths, the
 * byte-level form of every compressed point (`compressed.ts`) — and decodes
 * the inputs of one call in a fixed order, so both backends fail on the same
 * input with the same `BlsError` code.
 *
 * `PK` and `SIG` are the backend's own decoded points; only its own decoders
 * make them.
 */
export type BlsBackendName = 'blst' | 'noble';

export interface BlsBackend<PK = unknown, SIG = unknown> {
  readonly name: BlsBackendName;
  /**
   * A public key whose bytes passed `checkPublicKeyBytes` (48 bytes, flags,
   * not infinity, x < p): throws `BLS_POINT_NOT_ON_CURVE` or
   * `BLS_POINT_NOT_IN_SUBGROUP`.
   */
  publicKey(bytes: Uint8Array, what: string): PK;
  /**
   * A signature whose bytes passed `checkSignatureBytes`; the point at
   * infinity is allowed (it aggregates, it verifies nothing). Throws like
   * `publicKey`.
   */
  signature(bytes: Uint8Array, what: string): SIG;
  /** `sk·G1`, 48 bytes compressed; `sk` is 32 bytes in [1, r). */
  publicKeyOf(sk: Uint8Array): Uint8Array;
  /** `sk·H(msg)` with the signature DST, 96 bytes compressed. */
  sign(sk: Uint8Array, msg: Uint8Array): Uint8Array;
  /** CoreVerify of a non-infinity signature. */
  verify(msg: Uint8Array, pk: PK, sig: SIG): boolean;
  /** FastAggregateVerify; `pks` is not empty, `sig` not infinity; keys summing to infinity verify nothing. */
  fastAggregateVerify(msg: Uint8Array, pks: readonly PK[], sig: SIG): boolean;
  /** Sum of signatures, 96 bytes compressed (infinity included). `sigs` is not empty. */
  aggregateSignatures(sigs: readonly SIG[]): Uint8Array;
  /** Sum of public keys, 48 bytes compressed (may be infinity). `pks` is not empty. */
  aggregatePublicKeys(pks: readonly PK[]): Uint8Array;
  /**
   * Whether every `sigs[i]` is `pks[i]`'s signature over the same `msg`, in
   * one check with random 64-bit blinding scalars:
   * `e(Σ rᵢ·pkᵢ, H(msg)) == e(G1, Σ rᵢ·sigᵢ)`. Without the scalars two bad
   * shares could cancel out in the sum. At least two shares, none infinity.
   * May run off the event loop.
   */
  verifySameMessage(msg: Uint8Array, pks: readonly PK[], sigs: readonly SIG[]): Promise<boolean>;
}
