import { WhitePayError } from '@whitepay/base';

/**
 * A query this service refuses. The code reaches the client (gRPC metadata
 * `whitepay-code`, the HTTP body) and labels `whitepay_st_queries_total`:
 *
 * | code | kind | meaning |
 * | --- | --- | --- |
 * | `ST_ACCOUNT_MISSING` | invalid_argument | no account in the request |
 * | `ST_ADDRESS_LENGTH` | invalid_argument | `user` or `pid` is not 20 bytes |
 * | `ST_INTERVAL_INVALID` | invalid_argument | `te < ts` (or `to < from`), or no range |
 * | `ST_OUT_OF_RANGE` | invalid_argument | a block does not fit PostgreSQL's bigint (>= 2^63) |
 * | `ST_BATCH_SIZE` | invalid_argument | a `ComputeStBatch` with more entries than allowed (2,000) |
 * | `ST_ACCOUNT_UNKNOWN` | not_found | `(user, pid)` never had a registered piece (in a batch: the first such entry) |
 * | `ST_INTERVAL_TOO_LONG` | invalid_argument | one interval spans more than `MAX_INTERVAL_BLOCKS` |
 * | `ST_CALL_TOO_LARGE` | invalid_argument | a batch's intervals span more than `MAX_CALL_BLOCKS` in all |
 * | `ST_AUDIT_TOO_MANY_KEEPERS` | invalid_argument | an AuditGroup names more than `MAX_AUDIT_KEEPERS` keepers |
 * | `RPC_BUSY` | unavailable | `MAX_CONCURRENT` queries run, or this client runs `MAX_CONCURRENT_PER_CLIENT` already: retry later |
 * | `DEADLINE_EXCEEDED` | deadline_exceeded | the caller's deadline passed while an AuditGroup ran (it stops there) |
 *
 * Database failures arrive as the store's `StoreError` (`STORE_UNAVAILABLE`, …).
 */
export class StQueryRejected extends WhitePayError {
  override readonly name = 'StQueryRejected';
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { kind: 'invalid_argument', details });
  }
}

export class StAccountUnknown extends WhitePayError {
  override readonly name = 'StAccountUnknown';
  constructor(user: string, pid: string, more: Record<string, unknown> = {}) {
    super('ST_ACCOUNT_UNKNOWN', `no piece was ever registered for user ${user}, provider ${pid}`, {
      kind: 'not_found',
      details: { user, pid, ...more },
    });
  }
}
