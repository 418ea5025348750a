import { HttpRequestError, NonceTooLowError, RpcRequestError } from 'viem';
import { describe, expect, it } from 'vitest';
import { isNonceKnown } from './broadcast.js';

const rpc = (message: string) =>
  new RpcRequestError({ body: {}, error: { code: -32000, message }, url: 'http://127.0.0.1:8545' });

describe('isNonceKnown', () => {
  it('is viem NonceTooLowError, as thrown or as viem maps the node error', () => {
    expect(isNonceKnown(new NonceTooLowError())).toBe(true);
    expect(isNonceKnown(rpc('already known'))).toBe(true);
    expect(isNonceKnown(rpc('nonce too low'))).toBe(true);
    expect(isNonceKnown(rpc('transaction already imported'))).toBe(true);
  });

  it('is false for other failures', () => {
    expect(isNonceKnown(rpc('insufficient funds for gas * price + value'))).toBe(false);
    expect(isNonceKnown(new HttpRequestError({ url: 'http://127.0.0.1:1' }))).toBe(false);
    expect(isNonceKnown(new Error('nonce too low'))).toBe(false);
  });
});
