import { BaseError, type Hex, keccak256, NonceTooLowError, type PublicClient } from 'viem';
import { getNodeError } from 'viem/utils';
import type { SenderWallet } from '../../app.js';
import type { OutboxEntry, SentTx } from '../outbox.js';
import { payBatchData } from './calls.js';
import type { Fees } from './fees.js';

/** Signs the entry's `payBatch` locally with its bound nonce and gas limit; nothing is sent. */
export async function signPayBatch(
  wallet: SenderWallet,
  chainId: number,
  e: OutboxEntry,
  fees: Fees,
  head: number,
): Promise<SentTx> {
  if (e.nonce === null || e.gas === null) throw new Error(`outbox entry ${e.bid} has no nonce or gas bound`);
  const tx = {
    chainId,
    type: 'eip1559',
    to: e.request.upkeeping,
    data: payBatchData(e.request),
    nonce: e.nonce,
    gas: BigInt(e.gas),
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    value: 0n,
  } as const;
  // A local account signs without the wallet action's `eth_chainId` round trip.
  const account = wallet.account;
  const raw =
    account.type === 'local'
      ? await account.signTransaction(tx)
      : await wallet.signTransaction({ ...tx, account, chain: null });
  return {
    hash: keccak256(raw),
    raw,
    maxFeePerGas: fees.maxFeePerGas.toString(),
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
    sentAtBlock: head,
  };
}

/**
 * True when a broadcast failed because the node already has a transaction
 * with this nonce (this one, or the one it replaces was mined): viem's
 * `NonceTooLowError`, matched by type on the node error viem maps the RPC
 * failure to.
 */
export function isNonceKnown(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  if (err.walk((e) => e instanceof NonceTooLowError)) return true;
  return getNodeError(err, {}) instanceof NonceTooLowError;
}

/** `eth_sendRawTransaction` of a stored transaction: `sent`, `known` (see {@link isNonceKnown}) or the error. */
export async function sendRaw(
  client: PublicClient,
  raw: Hex,
  retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<{ status: 'sent' | 'known' } | { status: 'error'; err: unknown }> {
  try {
    await retry('eth_sendRawTransaction', () => client.sendRawTransaction({ serializedTransaction: raw }));
    return { status: 'sent' };
  } catch (err) {
    return isNonceKnown(err) ? { status: 'known' } : { status: 'error', err };
  }
}
