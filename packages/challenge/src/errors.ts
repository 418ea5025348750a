import { type ErrorKind, WhitePayError } from '@whitepay/base/errors';

/**
 * Errors of the challenge package. Each carries a stable `code`; all are
 * `invalid_argument`: the package rejects bad input and never crashes on it.
 */
abstract class ChallengePackageError extends WhitePayError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}, kind?: ErrorKind) {
    super(code, message, { kind: kind ?? 'invalid_argument', details });
  }
}

/**
 * Input the verifier itself was given that cannot be right (a registry entry
 * with a 31-byte root, a seed of the wrong length): the caller's fault.
 * Code `CHALLENGE_INPUT_INVALID`.
 */
export class ChallengeInputError extends ChallengePackageError {
  override readonly name: string = 'ChallengeInputError';
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CHALLENGE_INPUT_INVALID', message, details);
  }
}

/** Stable codes of a leaf proof that does not verify (the provider's fault). */
export type ProofErrorCode =
  | 'PROOF_MISSING'
  | 'PROOF_LEAF_LENGTH'
  | 'PROOF_INDEX_OUT_OF_RANGE'
  | 'PROOF_PATH_DEPTH'
  | 'PROOF_PATH_NODE_LENGTH'
  | 'PROOF_ROOT_MISMATCH';

/** A leaf proof that does not verify; `code` says why. */
export class ProofError extends ChallengePackageError {
  override readonly name: string = 'ProofError';
  declare readonly code: ProofErrorCode;
  constructor(code: ProofErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/** A challenge record that cannot be digested, or a signature that does not verify. */
export class RecordError extends ChallengePackageError {
  override readonly name: string = 'RecordError';
  constructor(
    code: 'RECORD_INVALID' | 'RECORD_SIGNATURE_INVALID',
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, details, code === 'RECORD_SIGNATURE_INVALID' ? 'unauthenticated' : undefined);
  }
}
