import type { PublicClient } from 'viem';
import type { SentTx } from '../outbox.js';

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface FeePolicy {
  /** Increase of a replacement over the transaction it replaces, in basis points (≥ 1125). */
  feeBumpBps: number;
  /** Cap on maxFeePerGas; unset means none. */
  maxFeePerGasWei?: bigint | undefined;
}

/**
 * The fees of a transaction from the node's estimate: for a replacement at
 * least `+feeBumpBps` over the one it replaces (plus one wei, so rounding
 * never leaves it equal), priority never above max, and the cap applied.
 * `null` when a replacement would have to exceed the cap (it cannot be sent).
 */
export function feesFor(estimate: Fees, prev: SentTx | null, policy: FeePolicy): Fees | null {
  let { maxFeePerGas, maxPriorityFeePerGas } = estimate;
  if (prev) {
    const bump = (v: string) => (BigInt(v) * BigInt(10_000 + policy.feeBumpBps)) / 10_000n + 1n;
    const minPrio = bump(prev.maxPriorityFeePerGas);
    const minMax = bump(prev.maxFeePerGas);
    if (maxPriorityFeePerGas < minPrio) maxPriorityFeePerGas = minPrio;
    if (maxFeePerGas < minMax) maxFeePerGas = minMax;
  }
  if (maxFeePerGas < maxPriorityFeePerGas) maxFeePerGas = maxPriorityFeePerGas;
  const cap = policy.maxFeePerGasWei;
  if (cap !== undefined && maxFeePerGas > cap) {
    if (prev) return null;
    maxFeePerGas = cap;
    if (maxPriorityFeePerGas > cap) maxPriorityFeePerGas = cap;
  }
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/** The node's EIP-1559 estimate (the latest block's base fee and `eth_maxPriorityFeePerGas`). */
export async function estimateFees(client: PublicClient): Promise<Fees> {
  const est = await client.estimateFeesPerGas();
  return { maxFeePerGas: est.maxFeePerGas, maxPriorityFeePerGas: est.maxPriorityFeePerGas };
}
