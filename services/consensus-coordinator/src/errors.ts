import { type ErrorKind, WhitePayError } from '@whitepay/base';

/**
 * The coordinator's typed errors (codes `ROUND_*`, `COORD_*`). Rejections of
 * peer messages carry the reason the rejected-messages metric counts; raw
 * gRPC / Redis / viem errors are wrapped and never leave the service as they are.
 */
export type CoordinatorErrorCode =
  | 'ROUND_MALFORMED'
  | 'ROUND_NOT_LEADER'
  | 'ROUND_TE_AHEAD'
  | 'ROUND_STALE_TS'
  | 'ROUND_UNKNOWN_GROUP'
  | 'ROUND_UNKNOWN_ACCOUNT'
  | 'ROUND_UNKNOWN'
  | 'ROUND_MISMATCH'
  | 'ROUND_UNEXPECTED_MESSAGE'
  | 'ROUND_NOT_FOUND'
  | 'COORD_ST_UNAVAILABLE'
  | 'COORD_CHAIN_UNAVAILABLE'
  | 'COORD_SUBMIT_FAILED'
  | 'COORD_PEER_UNAVAILABLE'
  | 'COORD_RECORDS_DISABLED'
  | 'COORD_INVALID_ARGUMENT'
  | 'COORD_REPLAY_STORE_UNAVAILABLE'
  /** The deadline a follower was given (the leader's, for the attempt) leaves no time for its st-calculator. */
  | 'COORD_DEADLINE_PASSED'
  /** A peer whose mTLS certificate is not the identity of the keeper its envelope is signed by. */
  | 'PEER_IDENTITY_MISMATCH';

const KIND: Record<CoordinatorErrorCode, ErrorKind> = {
  ROUND_MALFORMED: 'invalid_argument',
  ROUND_NOT_LEADER: 'permission_denied',
  ROUND_TE_AHEAD: 'failed_precondition',
  ROUND_STALE_TS: 'failed_precondition',
  ROUND_UNKNOWN_GROUP: 'not_found',
  ROUND_UNKNOWN_ACCOUNT: 'not_found',
  ROUND_UNKNOWN: 'failed_precondition',
  ROUND_MISMATCH: 'invalid_argument',
  ROUND_UNEXPECTED_MESSAGE: 'invalid_argument',
  ROUND_NOT_FOUND: 'not_found',
  COORD_ST_UNAVAILABLE: 'unavailable',
  COORD_CHAIN_UNAVAILABLE: 'unavailable',
  COORD_SUBMIT_FAILED: 'unavailable',
  COORD_PEER_UNAVAILABLE: 'unavailable',
  COORD_RECORDS_DISABLED: 'failed_precondition',
  COORD_INVALID_ARGUMENT: 'invalid_argument',
  COORD_REPLAY_STORE_UNAVAILABLE: 'unavailable',
  COORD_DEADLINE_PASSED: 'deadline_exceeded',
  PEER_IDENTITY_MISMATCH: 'permission_denied',
};

export class CoordinatorError extends WhitePayError {
  override readonly name = 'CoordinatorError';
  declare readonly code: CoordinatorErrorCode;
  constructor(
    code: CoordinatorErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, { kind: KIND[code], details: opts.details ?? {}, cause: opts.cause });
  }
}
