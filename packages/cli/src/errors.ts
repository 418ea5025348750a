import { WhitePayError } from '@whitepay/base';
import {
  decodeUpkeepingError,
  PAYMENT_SKIP_REASONS,
  type PaymentSkipReason,
  UpkeepingError,
} from '@whitepay/contracts';
import { BaseError, ContractFunctionZeroDataError, HttpRequestError, TimeoutError } from 'viem';

/**
 * Exit codes (sysexits(3) where one fits). Stable: scripts depend on them.
 */
export const EXIT = {
  ok: 0,
  /** Anything unexpected (a bug): the message, never a stack trace unless WHITEPAY_DEBUG=1. */
  internal: 1,
  /** The contract (or the node) refused the request: a revert, an unknown contract, a rejected transaction. */
  rejected: 2,
  /** EX_USAGE: missing or malformed arguments or options. */
  usage: 64,
  /** EX_DATAERR: an input file has the wrong content (a BLS key file that is not a key). */
  data: 65,
  /** EX_NOINPUT: an input file does not exist or cannot be read. */
  noInput: 66,
  /** EX_UNAVAILABLE: the chain's RPC endpoint cannot be reached. */
  unavailable: 69,
  /** EX_CANTCREAT: an output file cannot be created (exists without --force). */
  cantCreate: 73,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure of a command: a stable `code`, a one-line message and the exit code it ends with. */
export class CliError extends WhitePayError {
  override readonly name = 'CliError';
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode, details: Record<string, unknown> = {}) {
    super(code, message, {
      kind: exitCode === EXIT.unavailable ? 'unavailable' : 'invalid_argument',
      details,
    });
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string, details: Record<string, unknown> = {}) =>
  new CliError('USAGE', message, EXIT.usage, details);

type Args = readonly unknown[];
const a = (args: Args, i: number): string => {
  const v = args[i];
  return typeof v === 'bigint' ? v.toString() : String(v);
};

/**
 * Why the contract refuses a payment's entry (`UpkeepingPaymentRefused`, the `PaymentSkipped` reason of a
 * batch), by reason (the enum's value in the revert's arguments).
 */
export const PAYMENT_REFUSALS: Readonly<Record<PaymentSkipReason, string>> = {
  UnknownProvider: 'the provider is not registered (or was removed)',
  IntervalNotContiguous: 'ts is not the end of the last payment (already paid, or a wrong ts)',
  IntervalEmpty: 'te is not after ts',
  IntervalInFuture: 'te is after the current block',
  NotLeaderWindow: "the window of te does not belong to the leader's position",
  SpaceTimeTooLarge: 'st does not fit in 128 bits',
  InsufficientFunds: 'the unreserved balance does not cover the amount',
  IdleSetInvalid: 'the idle set names a member index at or above the group size',
};

function refusal(value: unknown): string {
  const reason = typeof value === 'number' ? PAYMENT_SKIP_REASONS[value] : undefined;
  return reason === undefined ? `reason ${String(value)}` : PAYMENT_REFUSALS[reason];
}

/**
 * One line per Solidity error of Upkeeping/UpkeepingFactory, for people, keyed by the error name
 * (`UpkeepingErrorName`; a plain string key so a name the contracts add later or have not yet released
 * type-checks either way). `errors.test.ts` checks that every name the contracts package knows has one; a
 * name without one still prints its code and decoded arguments.
 */
export const REVERT_MESSAGES: Readonly<Record<string, (args: Args) => string>> = {
  UpkeepingUnauthorized: (x) =>
    `${a(x, 0)} is not the user who owns this Upkeeping (only the user may do this)`,
  UpkeepingInvalidConfig: () =>
    'invalid parameters: window must be at least 1, provider + leader bonus bps at most 10000',
  UpkeepingThresholdOutOfRange: (x) =>
    `threshold ${a(x, 0)} is outside [${a(x, 1)}, ${a(x, 2)}] (f + 1 to n for the keeper group; 0 = f + 1)`,
  UpkeepingUnknownProvider: (x) => `provider ${a(x, 0)} is not registered (or was removed)`,
  UpkeepingDuplicateProvider: (x) => `provider ${a(x, 0)} is already registered`,
  UpkeepingGroupMismatch: () => 'the keeper group given is not the registered group',
  UpkeepingUnknownKeeper: (x) => `no keeper with id ${a(x, 0)} in this group`,
  UpkeepingSenderNotLeader: (x) => `sender ${a(x, 0)} is not the leader's account ${a(x, 1)}`,
  UpkeepingTooFewSigners: (x) => `${a(x, 0)} signers, the threshold is ${a(x, 1)}`,
  UpkeepingDuplicateSigner: (x) => `signer index ${a(x, 0)} repeats or is out of order`,
  UpkeepingUnknownSigner: (x) => `signer index ${a(x, 0)} is not a member`,
  UpkeepingInvalidSignature: () => 'the aggregate BLS signature does not verify',
  UpkeepingInsufficientFunds: (x) => `not enough funds: ${a(x, 0)} wei available, ${a(x, 1)} wei needed`,
  UpkeepingPaymentRefused: (x) =>
    `payment of ${a(x, 0)} over [${a(x, 1)}, ${a(x, 2)}) refused: ${refusal(x[3])}`,
  UpkeepingInvalidProofOfPossession: (x) =>
    `the proof of possession does not verify for keeper ${a(x, 0)}'s public key (wrong key file or PoP)`,
  UpkeepingDuplicateKeeperId: (x) => `keeper id ${a(x, 0)} is already registered`,
  UpkeepingDuplicateKey: (x) => `this BLS public key is already registered (keeper ${a(x, 0)})`,
  UpkeepingDuplicateKeeperAccount: (x) => `account ${a(x, 0)} already runs a keeper in this group`,
  UpkeepingTooManyKeepers: () => 'the keeper group is full (128 keepers)',
  UpkeepingInvalidBatch: (x) => `a payment batch of ${a(x, 0)} bytes is empty or not whole entries`,
  UpkeepingNothingToWithdraw: (x) => `${a(x, 0)} has nothing to withdraw`,
  UpkeepingTransferFailed: (x) => `sending ${a(x, 1)} wei to ${a(x, 0)} failed`,
  UpkeepingFactoryAlreadyCreated: (x) => `user ${a(x, 0)} already has an Upkeeping at ${a(x, 1)}`,
  BLS12381PrecompileFailed: () =>
    'a BLS12-381 precompile rejected its input (is the chain on Prague / EIP-2537?)',
  BLS12381InvalidDst: (x) => `a BLS domain separation tag of ${a(x, 0)} bytes (it must be 1 to 255)`,
  InvalidInitialization: () => 'the contract is already initialized',
  NotInitializing: () => 'the contract is not initializing',
};

/** What the command line prints and exits with for a failure. */
export interface Failure {
  readonly exitCode: ExitCode;
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** The RPC request error inside `err` when the endpoint could not be reached (or timed out). */
function unreachable(err: unknown): HttpRequestError | TimeoutError | null {
  if (!(err instanceof BaseError)) return null;
  const found = err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError);
  return found instanceof HttpRequestError || found instanceof TimeoutError ? found : null;
}

function unavailable(cause: HttpRequestError | TimeoutError): Failure {
  const url = cause instanceof HttpRequestError ? cause.url : undefined;
  return {
    exitCode: EXIT.unavailable,
    code: 'CHAIN_UNAVAILABLE',
    message: `cannot reach the chain RPC endpoint${url ? ` ${url}` : ''} (${cause.shortMessage})`,
  };
}

/** The single mapper of this boundary: anything a command threw → exit code, code, one line. */
export function toFailure(err: unknown): Failure {
  if (err instanceof CliError) {
    return { exitCode: err.exitCode, code: err.code, message: err.message, details: err.details };
  }
  const down = unreachable(err) ?? (err instanceof WhitePayError ? unreachable(err.cause) : null);
  if (down) return unavailable(down);
  if (err instanceof BaseError) {
    const zero = err.walk((e) => e instanceof ContractFunctionZeroDataError);
    if (zero) {
      return {
        exitCode: EXIT.rejected,
        code: 'NO_CONTRACT',
        message: 'no contract answered at that address (wrong --upkeeping/--factory, or wrong chain?)',
      };
    }
  }
  const decoded = err instanceof BaseError ? decodeUpkeepingError(err) : err;
  if (decoded instanceof UpkeepingError) {
    const human = REVERT_MESSAGES[decoded.code];
    return {
      exitCode: EXIT.rejected,
      code: decoded.code,
      message: human ? human(decoded.args) : decoded.message,
      details: decoded.details,
    };
  }
  if (decoded instanceof WhitePayError && decoded.code === 'CHAIN_ERROR') {
    const cause = decoded.cause;
    const short = cause instanceof BaseError ? cause.shortMessage : decoded.message;
    return {
      exitCode: EXIT.rejected,
      code: 'CHAIN_ERROR',
      message: `the node rejected the request: ${short}`,
    };
  }
  if (decoded instanceof WhitePayError) {
    return {
      exitCode: EXIT.internal,
      code: decoded.code,
      message: decoded.message,
      details: decoded.details,
    };
  }
  const message = decoded instanceof Error ? decoded.message : String(decoded);
  return { exitCode: EXIT.internal, code: 'INTERNAL', message };
}
