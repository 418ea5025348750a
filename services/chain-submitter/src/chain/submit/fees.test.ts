import { describe, expect, it } from 'vitest';
import type { SentTx } from '../outbox.js';
import { feesFor } from './fees.js';

const prev = (maxFeePerGas: bigint, maxPriorityFeePerGas: bigint): SentTx => ({
  hash: '0x01',
  raw: '0x02',
  maxFeePerGas: maxFeePerGas.toString(),
  maxPriorityFeePerGas: maxPriorityFeePerGas.toString(),
  sentAtBlock: 1,
});

describe('feesFor', () => {
  const policy = { feeBumpBps: 1250 };

  it('a first transaction takes the estimate; priority never above max', () => {
    expect(feesFor({ maxFeePerGas: 100n, maxPriorityFeePerGas: 2n }, null, policy)).toEqual({
      maxFeePerGas: 100n,
      maxPriorityFeePerGas: 2n,
    });
    expect(feesFor({ maxFeePerGas: 1n, maxPriorityFeePerGas: 5n }, null, policy)).toEqual({
      maxFeePerGas: 5n,
      maxPriorityFeePerGas: 5n,
    });
  });

  it('a replacement is at least +feeBumpBps (and a wei) over the one it replaces', () => {
    expect(feesFor({ maxFeePerGas: 100n, maxPriorityFeePerGas: 2n }, prev(100n, 8n), policy)).toEqual({
      maxFeePerGas: 113n,
      maxPriorityFeePerGas: 10n,
    });
    // A higher estimate wins.
    expect(feesFor({ maxFeePerGas: 500n, maxPriorityFeePerGas: 50n }, prev(100n, 8n), policy)).toEqual({
      maxFeePerGas: 500n,
      maxPriorityFeePerGas: 50n,
    });
  });

  it('the cap: a first transaction is capped, a replacement over it is not sent (null)', () => {
    const capped = { ...policy, maxFeePerGasWei: 50n };
    expect(feesFor({ maxFeePerGas: 100n, maxPriorityFeePerGas: 60n }, null, capped)).toEqual({
      maxFeePerGas: 50n,
      maxPriorityFeePerGas: 50n,
    });
    expect(feesFor({ maxFeePerGas: 40n, maxPriorityFeePerGas: 1n }, prev(45n, 1n), capped)).toBeNull();
  });
});
