import { type ErrorKind, WhitePayError } from '@whitepay/base/errors';

/**
 * One error class per concern of the core package. Each carries a stable
 * `code` (SCREAMING_SNAKE, prefixed by its concern) and defaults to the
 * `invalid_argument` kind: everything the core rejects is bad input.
 */
abstract class CoreError extends WhitePayError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}, kind?: ErrorKind) {
    super(code, message, { kind: kind ?? 'invalid_argument', details });
  }
}

/** Invalid input to the space-time integral or the amount (SPEC 4). */
export class SpaceTimeError extends CoreError {
  override readonly name: string = 'SpaceTimeError';
}

/** Invalid input to the reward split (SPEC 8, docs/encoding.md). */
export class SplitError extends CoreError {
  override readonly name: string = 'SplitError';
}

/** Invalid input to the leader schedule (SPEC 5). */
export class ScheduleError extends CoreError {
  override readonly name: string = 'ScheduleError';
}

/** A value that does not fit its ABI type (tid, payment message, commitment). */
export class EncodingError extends CoreError {
  override readonly name: string = 'EncodingError';
}

/** Invalid input to tolerance, median or quorum arithmetic (SPEC 6). */
export class ToleranceError extends CoreError {
  override readonly name: string = 'ToleranceError';
}

/** Misuse of the round state machine, or a state that cannot be restored (SPEC 6). */
export class RoundError extends CoreError {
  override readonly name: string = 'RoundError';
}
