import { WhitePayError } from '@whitepay/base';

/** A block message on `<ns>.blocks` that is not a block header. Code `BLOCK_MESSAGE_INVALID`. */
export class BlockMessageError extends WhitePayError {
  override readonly name: string = 'BlockMessageError';
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('BLOCK_MESSAGE_INVALID', message, { kind: 'invalid_argument', details });
  }
}

/** A task message on the challenge-task queue that cannot be a task. Code `TASK_MESSAGE_INVALID`. */
export class TaskMessageError extends WhitePayError {
  override readonly name: string = 'TaskMessageError';
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('TASK_MESSAGE_INVALID', message, { kind: 'invalid_argument', details });
  }
}

/** The piece registry could not be read (the task is retried). Code `REGISTRY_UNAVAILABLE`. */
export class RegistryError extends WhitePayError {
  override readonly name: string = 'RegistryError';
  constructor(message: string, cause?: unknown) {
    super('REGISTRY_UNAVAILABLE', message, { kind: 'unavailable', cause });
  }
}

/**
 * A signed block header this keeper's own chain node does not have: another
 * hash at that number (`BLOCK_NOT_CANONICAL`: forged, or reorganised away) or
 * no block there yet after waiting (`BLOCK_UNKNOWN_TO_NODE`). Never challenged.
 */
export class BlockRefusedError extends WhitePayError {
  override readonly name: string = 'BlockRefusedError';
  constructor(
    code: 'BLOCK_NOT_CANONICAL' | 'BLOCK_UNKNOWN_TO_NODE',
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { kind: 'failed_precondition', details });
  }
}
