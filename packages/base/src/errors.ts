/**
 * One error type for the whole product. Every error that can cross a boundary
 * (HTTP, gRPC, NATS, the chain) is a `WhitePayError` with a stable `code`
 * (SCREAMING_SNAKE, never renamed once shipped) and a `kind` that the single
 * mapper of each boundary turns into a status. Raw library errors are wrapped
 * with `cause` and never leave a service as they are.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'failed_precondition'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'internal';

export interface WhitePayErrorOptions {
  kind?: ErrorKind;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class WhitePayError extends Error {
  override readonly name: string = 'WhitePayError';
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, opts: WhitePayErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.kind = opts.kind ?? 'internal';
    this.details = opts.details ?? {};
  }

  toJSON(): { code: string; kind: ErrorKind; message: string; details: Record<string, unknown> } {
    return { code: this.code, kind: this.kind, message: this.message, details: this.details };
  }
}

/** Wraps anything thrown into a WhitePayError, keeping the original as `cause`. */
export function asWhitePayError(
  err: unknown,
  code = 'INTERNAL',
  kind: ErrorKind = 'internal',
): WhitePayError {
  if (err instanceof WhitePayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new WhitePayError(code, message, { kind, cause: err });
}

const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  failed_precondition: 412,
  unavailable: 503,
  deadline_exceeded: 504,
  internal: 500,
};

/** The HTTP boundary's mapper. */
export function httpStatusOf(err: WhitePayError): number {
  return HTTP_STATUS[err.kind];
}

/** gRPC status codes (numbers from the gRPC spec, so base needs no grpc import). */
const GRPC_STATUS: Record<ErrorKind, number> = {
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  conflict: 6,
  permission_denied: 7,
  failed_precondition: 9,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
};

/** The gRPC boundary's mapper. */
export function grpcStatusOf(err: WhitePayError): number {
  return GRPC_STATUS[err.kind];
}
