import { type ErrorKind, isTlsHandshakeError, WhitePayError } from '@whitepay/base';

/**
 * The store's one error type. Every pg failure is turned into a StoreError
 * here (`fromPg`), so a raw driver error never leaves the package: a lost or
 * refused connection is `unavailable` (retry later), bad input is
 * `invalid_argument`, anything else `internal`.
 */
export class StoreError extends WhitePayError {
  override readonly name = 'StoreError';
  constructor(
    code: string,
    message: string,
    opts: { kind: ErrorKind; details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(code, message, opts);
  }
}

export function invalidArgument(message: string, details: Record<string, unknown> = {}): StoreError {
  return new StoreError('STORE_INVALID_ARGUMENT', message, { kind: 'invalid_argument', details });
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** Maps anything thrown by pg (or by us) to a StoreError. */
export function fromPg(err: unknown, op: string): StoreError {
  if (err instanceof StoreError) return err;
  if (err instanceof WhitePayError) {
    return new StoreError(err.code, err.message, { kind: err.kind, details: err.details, cause: err });
  }
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const details = { op, pgCode: code || undefined };
  // A TLS handshake refused (a server certificate the CA bundle does not sign, a wrong host name,
  // a client certificate the server refuses) or TLS asked of a server without it: no retry cures it.
  if (isTlsHandshakeError(err) || /server does not support SSL/i.test(message)) {
    return new StoreError('STORE_TLS_REFUSED', `TLS with the database refused during ${op}: ${message}`, {
      kind: 'failed_precondition',
      details,
      cause: err,
    });
  }
  // 28000 invalid authorization (no pg_hba.conf entry: e.g. plaintext to a hostssl-only server), 28P01 bad password.
  if (code === '28000' || code === '28P01') {
    return new StoreError('STORE_AUTH_REFUSED', `database refused the connection during ${op}: ${message}`, {
      kind: 'unauthenticated',
      details,
      cause: err,
    });
  }
  // SQLSTATE classes: 08 connection exception, 57P0x shutdown / cannot connect now, 53 insufficient resources.
  if (
    CONNECTION_CODES.has(code) ||
    code.startsWith('08') ||
    code.startsWith('57P') ||
    code.startsWith('53') ||
    /Connection terminated|connection (timeout|is closed|not open)|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
      message,
    )
  ) {
    return new StoreError('STORE_UNAVAILABLE', `database unavailable during ${op}: ${message}`, {
      kind: 'unavailable',
      details,
      cause: err,
    });
  }
  // 57014 query_canceled: the statement timeout (or a cancel) stopped the query.
  if (code === '57014') {
    return new StoreError('STORE_TIMEOUT', `${op} ran past the statement timeout: ${message}`, {
      kind: 'deadline_exceeded',
      details,
      cause: err,
    });
  }
  // 40001 serialization failure, 40P01 deadlock: safe to retry.
  if (code === '40001' || code === '40P01') {
    return new StoreError('STORE_RETRY', `${op}: ${message}`, { kind: 'unavailable', details, cause: err });
  }
  if (code.startsWith('22') || code === '23514' || code === '23502') {
    return new StoreError('STORE_INVALID_ARGUMENT', `${op}: ${message}`, {
      kind: 'invalid_argument',
      details,
      cause: err,
    });
  }
  if (code === '23505') {
    return new StoreError('STORE_CONFLICT', `${op}: ${message}`, { kind: 'conflict', details, cause: err });
  }
  return new StoreError('STORE_INTERNAL', `${op}: ${message}`, { kind: 'internal', details, cause: err });
}
