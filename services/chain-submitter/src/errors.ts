import { type ErrorKind, WhitePayError } from '@whitepay/base';

/**
 * The chain-submitter's errors. Every code is stable (`CHAIN_*`, `SUBMIT_*`,
 * `UPKEEPING_*`); raw viem / ioredis / nats errors are wrapped here and never
 * leave the service as they are.
 */
export class ChainError extends WhitePayError {
  override readonly name: string = 'ChainError';
  constructor(
    code: string,
    message: string,
    opts: { kind?: ErrorKind; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, {
      kind: opts.kind ?? 'unavailable',
      details: opts.details ?? {},
      cause: opts.cause,
    });
  }
}

/** A reorganisation deeper than the window of published headers. */
export class ReorgTooDeepError extends ChainError {
  override readonly name = 'ReorgTooDeepError';
}

/** A malformed submit request. */
export class SubmitRequestError extends WhitePayError {
  override readonly name = 'SubmitRequestError';
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('SUBMIT_INVALID_REQUEST', message, { kind: 'invalid_argument', details });
  }
}

/** This replica lost (or never had) the sender lock of the keeper account. */
export class FencedError extends WhitePayError {
  override readonly name = 'FencedError';
  constructor(message: string) {
    super('SUBMIT_FENCED', message, { kind: 'failed_precondition' });
  }
}

/**
 * Redis holds pending outbox entries of an older layout (see `OUTBOX_LAYOUT`):
 * the service refuses to start rather than leave them unsent.
 */
export class OutboxLayoutError extends WhitePayError {
  override readonly name = 'OutboxLayoutError';
  constructor(message: string, details: Record<string, unknown>) {
    super('SUBMIT_OUTBOX_LEGACY', message, { kind: 'failed_precondition', details });
  }
}

/**
 * A revert of the contract, decoded through its ABI: `code` is the Solidity
 * error name (`UpkeepingIntervalNotContiguous`, …) and `args` its decoded
 * arguments, whatever errors the ABI declares (a new or renamed error needs
 * no change here). `kind` is `@whitepay/contracts`' mapping when it knows
 * the name, else `failed_precondition`.
 */
export class ContractRevertError extends WhitePayError {
  override readonly name = 'ContractRevertError';
  readonly errorName: string;
  readonly args: readonly unknown[];
  constructor(errorName: string, args: readonly unknown[], kind: ErrorKind, cause?: unknown) {
    const shown = args.map((a) => (typeof a === 'bigint' ? a.toString() : a));
    super(errorName, `${errorName}(${shown.map(String).join(', ')})`, {
      kind,
      details: { errorName, args: shown },
      cause,
    });
    this.errorName = errorName;
    this.args = args;
  }
}
