import { type ErrorKind, WhitePayError } from '@whitepay/base';
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem';
import { upkeepingAbi, upkeepingFactoryAbi } from '../generated/index.js';

/** The custom errors of Upkeeping and UpkeepingFactory, by Solidity name, with the kind each maps to. */
export const UPKEEPING_ERROR_KINDS = {
  UpkeepingUnauthorized: 'permission_denied',
  UpkeepingInvalidConfig: 'invalid_argument',
  UpkeepingIntervalNotContiguous: 'conflict',
  UpkeepingIntervalEmpty: 'invalid_argument',
  UpkeepingIntervalInFuture: 'failed_precondition',
  UpkeepingUnknownProvider: 'not_found',
  UpkeepingDuplicateProvider: 'conflict',
  UpkeepingGroupMismatch: 'failed_precondition',
  UpkeepingUnknownKeeper: 'not_found',
  UpkeepingSenderNotLeader: 'permission_denied',
  UpkeepingNotLeaderWindow: 'failed_precondition',
  UpkeepingTooFewSigners: 'failed_precondition',
  UpkeepingDuplicateSigner: 'invalid_argument',
  UpkeepingUnknownSigner: 'invalid_argument',
  UpkeepingSpaceTimeTooLarge: 'invalid_argument',
  UpkeepingInvalidSignature: 'unauthenticated',
  UpkeepingInsufficientFunds: 'failed_precondition',
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
  InvalidInitialization: 'failed_precondition',
  NotInitializing: 'failed_precondition',
} as const satisfies Record<string, ErrorKind>;

export type UpkeepingErrorName = keyof typeof UPKEEPING_ERROR_KINDS;

/**
 * A revert of an Upkeeping or UpkeepingFactory call. `code` is the Solidity error name
 * (`UpkeepingIntervalNotContiguous`, …), `args` its decoded arguments.
 */
export class UpkeepingError extends WhitePayError {
  override readonly name = 'UpkeepingError';
  override readonly code: UpkeepingErrorName;
  readonly args: readonly unknown[];

  constructor(code: UpkeepingErrorName, args: readonly unknown[], cause?: unknown) {
    super(code, `${code}(${args.map(String).join(', ')})`, {
      kind: UPKEEPING_ERROR_KINDS[code],
      details: { args: args.map((a) => (typeof a === 'bigint' ? a.toString() : a)) },
      cause,
    });
    this.code = code;
    this.args = args;
  }
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
