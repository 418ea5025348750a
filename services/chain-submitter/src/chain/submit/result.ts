import type { OutboxEntry, PaymentResult } from '../outbox.js';

/** The result of a batch, `r` over the defaults of a failure. */
export function resultOf(
  e: Pick<OutboxEntry, 'bid' | 'user' | 'request'>,
  r: Partial<PaymentResult>,
): PaymentResult {
  return {
    tid: e.bid,
    upkeeping: e.request.upkeeping,
    user: e.user,
    leaderId: e.request.leaderId,
    r: e.request.r,
    size: e.request.entries.length,
    amount: null,
    txHash: null,
    block: null,
    status: 'failed',
    errorCode: null,
    at: Date.now(),
    ...r,
  };
}
