/**
 * Why an entry of a payment cannot be paid: the contract's `PaymentSkipReason`, by value — the one list
 * of reasons of every payment. `payBatch` skips the entry with `PaymentSkipped(pid, ts, te, reason)`;
 * `pay` (a list of one) reverts with `UpkeepingPaymentRefused(pid, ts, te, reason)`.
 */
export const PAYMENT_SKIP_REASONS = [
  'UnknownProvider',
  'IntervalNotContiguous',
  'IntervalEmpty',
  'IntervalInFuture',
  'NotLeaderWindow',
  'SpaceTimeTooLarge',
  'InsufficientFunds',
  'IdleSetInvalid',
] as const;

export type PaymentSkipReason = (typeof PAYMENT_SKIP_REASONS)[number];
