import type { Logger } from '@whitepay/base';
import {
  BaseError,
  HttpRequestError,
  InternalRpcError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  SocketClosedError,
  TimeoutError,
  UnknownRpcError,
  WebSocketRequestError,
} from 'viem';
import { ChainError } from '../errors.js';

/** An RPC failure worth retrying: the node was unreachable, slow or overloaded, not a refusal. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof BaseError)) {
    const code = (err as { code?: string } | undefined)?.code;
    return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
  }
  return Boolean(
    err.walk(
      (e) =>
        e instanceof HttpRequestError ||
        e instanceof TimeoutError ||
        e instanceof SocketClosedError ||
        e instanceof WebSocketRequestError ||
        e instanceof LimitExceededRpcError ||
        e instanceof ResourceUnavailableRpcError ||
        e instanceof InternalRpcError ||
        e instanceof UnknownRpcError,
    ),
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RetryOptions {
  retries: number;
  log: Logger;
  what: string;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `fn`, retrying transient RPC errors with exponential backoff and
 * jitter. A non-transient error is rethrown at once; a transient one that
 * outlives the retries becomes `CHAIN_RPC_UNAVAILABLE`.
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 5_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (attempt >= opts.retries)
        throw new ChainError(
          'CHAIN_RPC_UNAVAILABLE',
          `${opts.what}: RPC unavailable after ${attempt + 1} attempts`,
          {
            cause: err,
          },
        );
      const delay = Math.min(max, base * 2 ** attempt) * (0.5 + Math.random() / 2);
      opts.log.warn(
        { what: opts.what, attempt, delay, err: (err as Error).message },
        'transient RPC error, retrying',
      );
      await sleep(delay);
    }
  }
}
