import { WhitePayError } from '@whitepay/base';

/**
 * Input this service refuses. The code is the `reason` label of
 * `whitepay_rejected_messages_total`:
 *
 * | code | meaning |
 * | --- | --- |
 * | `RECORD_MALFORMED` | not a ChallengeRecord in protobuf (or its proof is not a ChallengeProof) |
 * | `RECORD_FIELD_MISSING` | a required field is absent (user, pid, block_hash, verdict) |
 * | `RECORD_FIELD_LENGTH` | an address is not 20 bytes, or block_hash not 32 |
 * | `RECORD_OUT_OF_RANGE` | block or space does not fit PostgreSQL's bigint, unknown verdict |
 * | `RECORD_KEEPER_MISMATCH` | a record of another keeper on this keeper's own stream |
 * | `BAD_PAGE_TOKEN` | a query's page token was not issued by this service |
 */
export class RecordRejected extends WhitePayError {
  override readonly name = 'RecordRejected';
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { kind: 'invalid_argument', details });
  }
}
