import { type ErrorKind, WhitePayError } from '@whitepay/base';
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem';
import { upkeepingAbi, upkeepingFactoryAbi } from '../generated/index.js';
import { PAYMENT_SKIP_REASONS, type PaymentSkipReason } from './reasons.js';

/** The custom errors of Upkeeping and UpkeepingFactory, by Solidity name, with the kind each maps to. */
export const UPKEEPING_ERROR_KINDS = {
  UpkeepingUnauthorized: 'permission_denied',
  UpkeepingInvalidConfig: 'invalid_argument',
  /** A configured threshold outside [f + 1, n] for the group (setConfig, or the n addKeeper/removeKeeper would leave). */
  UpkeepingThresholdOutOfRange: 'failed_precondition',
  UpkeepingUnknownProvider: 'not_found',
  UpkeepingDuplicateProvider: 'conflict',
  UpkeepingGroupMismatch: 'failed_precondition',
  UpkeepingUnknownKeeper: 'not_found',
  UpkeepingSenderNotLeader: 'permission_denied',
  UpkeepingTooFewSigners: 'failed_precondition',
  UpkeepingDuplicateSigner: 'invalid_argument',
  UpkeepingUnknownSigner: 'invalid_argument',
  UpkeepingInvalidSignature: 'unauthenticated',
  UpkeepingInsufficientFunds: 'failed_precondition',
  /** `pay`'s entry cannot be paid; the kind of the error is its reason's ({@link PAYMENT_REASON_KINDS}). */
  UpkeepingPaymentRefused: 'failed_precondition',
  UpkeepingInvalidProofOfPossession: 'unauthenticated',
  UpkeepingDuplicateKeeperId: 'conflict',
  UpkeepingDuplicateKey: 'conflict',
  UpkeepingDuplicateKeeperAccount: 'conflict',
  UpkeepingTooManyKeepers: 'failed_precondition',
  UpkeepingNothingToWithdraw: 'failed_precondition',
  UpkeepingTransferFailed: 'internal',
  UpkeepingInvalidBatch: 'invalid_argument',
  UpkeepingFactoryAlreadyCreated: 'conflict',
  BLS12381PrecompileFailed: 'invalid_argument',
  /** A domain separation tag outside 1..255 bytes (the contracts' own tags are constants: never raised). */
  BLS12381InvalidDst: 'invalid_argument',
  InvalidInitialization: 'failed_precondition',
  NotInitializing: 'failed_precondition',
} as const satisfies Record<string, ErrorKind>;

export type UpkeepingErrorName = keyof typeof UPKEEPING_ERROR_KINDS;

/**
 * A revert of an Upkeeping or UpkeepingFactory call. `code` is the Solidity error name
 * (`UpkeepingGroupMismatch`, …), `args` its decoded arguments. For `UpkeepingPaymentRefused(pid, ts, te,
 * reason)` the kind is the reason's and `reason` its name (the `PaymentSkipped` reason of `payBatch`).
 */
export class UpkeepingError extends WhitePayError {
  override readonly name = 'UpkeepingError';
  override readonly code: UpkeepingErrorName;
  readonly args: readonly unknown[];
  /** Why the entry of `pay` was refused (`UpkeepingPaymentRefused` only). */
  readonly reason?: PaymentSkipReason;

  constructor(code: UpkeepingErrorName, args: readonly unknown[], cause?: unknown) {
    const reason = code === 'UpkeepingPaymentRefused' ? refusalReason(args[3]) : undefined;
    const shown = reason === undefined ? args : [...args.slice(0, 3), reason];
    super(code, `${code}(${shown.map(String).join(', ')})`, {
      kind: reason === undefined ? UPKEEPING_ERROR_KINDS[code] : PAYMENT_REASON_KINDS[reason],
      details: { args: args.map((a) => (typeof a === 'bigint' ? a.toString() : a)) },
      cause,
    });
    this.code = code;
    this.args = args;
    if (reason !== undefined) this.reason = reason;
  }
}

/**
 * The kind of a refused entry, by reason: what the single-payment errors of the reasons carried before a
 * payment of one became a list of one (issue 15).
 */
export const PAYMENT_REASON_KINDS = {
  UnknownProvider: 'not_found',
  IntervalNotContiguous: 'conflict',
  IntervalEmpty: 'invalid_argument',
  IntervalInFuture: 'failed_precondition',
  NotLeaderWindow: 'failed_precondition',
  SpaceTimeTooLarge: 'invalid_argument',
  InsufficientFunds: 'failed_precondition',
  IdleSetInvalid: 'invalid_argument',
} as const satisfies Record<PaymentSkipReason, ErrorKind>;

function refusalReason(value: unknown): PaymentSkipReason | undefined {
  return typeof value === 'number' ? PAYMENT_SKIP_REASONS[value] : undefined;
}

const errorAbi = [...upkeepingAbi, ...upkeepingFactoryAbi].filter((item) => item.type === 'error');

function isKnown(name: string): name is UpkeepingErrorName {
  return Object.hasOwn(UPKEEPING_ERROR_KINDS, name);
}

/** Decodes raw revert data (`0x` + selector + arguments) of the contracts; `null` when not one of theirs. */
export function decodeUpkeepingRevert(data: Hex, cause?: unknown): UpkeepingError | null {
  try {
    const { errorName, args } = decodeErrorResult({ abi: errorAbi, data });
    return isKnown(errorName) ? new UpkeepingError(errorName, args ?? [], cause) : null;
  } catch {
    return null;
  }
}

/**
 * The contract boundary's mapper: turns what a viem call threw into a typed `UpkeepingError` when it is
 * a revert of these contracts, else into a `WhitePayError` (`CHAIN_ERROR`, unavailable) keeping the cause.
 */
export function decodeUpkeepingError(err: unknown): WhitePayError {
  if (err instanceof WhitePayError) return err;
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      const name = reverted.data?.errorName;
      if (name !== undefined && isKnown(name))
        return new UpkeepingError(name, reverted.data?.args ?? [], err);
      if (reverted.raw !== undefined) {
        const decoded = decodeUpkeepingRevert(reverted.raw, err);
        if (decoded) return decoded;
      }
    }
    const withData = err.walk((e) => typeof (e as { data?: unknown }).data === 'string') as {
      data?: unknown;
    } | null;
    if (withData && typeof withData.data === 'string' && withData.data.startsWith('0x')) {
      const decoded = decodeUpkeepingRevert(withData.data as Hex, err);
      if (decoded) return decoded;
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new WhitePayError('CHAIN_ERROR', message, { kind: 'unavailable', cause: err });
}
