import { WhitePayError } from '@whitepay/base';

/** Errors of the provider node, each with a stable code. */
export class ProviderError extends WhitePayError {
  override readonly name: string = 'ProviderError';
}

export const invalid = (code: string, message: string, details: Record<string, unknown> = {}) =>
  new ProviderError(code, message, { kind: 'invalid_argument', details });
