import { WhitePayError } from '@whitepay/base/errors';

/**
 * Stable codes of every failure this package reports. All are caller errors
 * (`kind: 'invalid_argument'`) except `BLS_INTERNAL`, which means a bug here or
 * in the curve library.
 */
export type BlsErrorCode =
  /** A byte string has the wrong length, or an argument is not a Uint8Array. */
  | 'BLS_INVALID_LENGTH'
  /** Bad flag bits, a non-canonical field element, non-zero EIP-2537 padding, bad hex. */
  | 'BLS_INVALID_ENCODING'
  /** The coordinates do not satisfy the curve equation. */
  | 'BLS_POINT_NOT_ON_CURVE'
  /** On the curve but outside the prime-order subgroup. */
  | 'BLS_POINT_NOT_IN_SUBGROUP'
  /** The point at infinity where a public key is expected. */
  | 'BLS_INFINITY_PUBLIC_KEY'
  /** A secret key that is not a 32-byte big-endian integer in [1, r). */
  | 'BLS_INVALID_SECRET_KEY'
  /** Aggregation of an empty list. */
  | 'BLS_EMPTY_INPUT'
  /** Not an EIP-2335 keystore (schema, unknown KDF/cipher, or its pubkey is not the key it holds). */
  | 'BLS_KEYSTORE_INVALID'
  /** The keystore's checksum does not match: the wrong passphrase. */
  | 'BLS_KEYSTORE_PASSWORD'
  /** A key config naming no key or two, or a keystore without its passphrase file. */
  | 'BLS_KEY_CONFIG'
  /** A keystore or passphrase file that cannot be read. */
  | 'BLS_KEY_FILE_UNREADABLE'
  | 'BLS_INTERNAL';

/** The only error type `@whitepay/bls` throws; a curve-library exception never leaves it raw. */
export class BlsError extends WhitePayError {
  override readonly name = 'BlsError';
  declare readonly code: BlsErrorCode;

  constructor(
    code: BlsErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, {
      kind: code === 'BLS_INTERNAL' ? 'internal' : 'invalid_argument',
      ...(opts.details === undefined ? {} : { details: opts.details }),
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
  }
}

/** Runs `fn`, turning anything but a BlsError into `BLS_INTERNAL` (keeping it as `cause`). */
export function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BlsError) throw err;
    throw new BlsError('BLS_INTERNAL', `${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
