import { WhitePayError } from '@whitepay/base/errors';

export type PeerErrorCode =
  | 'PEER_MALFORMED'
  | 'PEER_WRONG_GROUP'
  | 'PEER_UNKNOWN_SENDER'
  | 'PEER_BAD_SIGNATURE'
  | 'PEER_REPLAY'
  | 'PEER_WRONG_RECEIVER'
  | 'PEER_FROM_SELF'
  | 'PEER_EXPIRED';

/** A keeper-to-keeper message that was rejected; `code` is the metric's reason label. */
export class PeerError extends WhitePayError {
  override readonly name = 'PeerError';
  declare readonly code: PeerErrorCode;
  constructor(code: PeerErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, {
      kind:
        code === 'PEER_BAD_SIGNATURE' || code === 'PEER_UNKNOWN_SENDER'
          ? 'unauthenticated'
          : 'invalid_argument',
      details,
    });
  }
}
