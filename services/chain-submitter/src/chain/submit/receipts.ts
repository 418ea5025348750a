import { batchEntriesJson, batchOutcome, upkeepingAbi } from '@whitepay/contracts';
import {
  type Hex,
  keccak256,
  type PublicClient,
  type TransactionReceipt,
  TransactionReceiptNotFoundError,
} from 'viem';
import type { BatchEntryResult, OutboxEntry, SentTx } from '../outbox.js';
import { packedEntries } from './calls.js';

type Retry = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** The receipt of the newest of `txs` that has one (one `eth_getTransactionReceipt` per hash tried), or null. */
export async function findReceipt(
  client: PublicClient,
  txs: readonly SentTx[],
  retry: Retry,
): Promise<{ tx: SentTx; receipt: TransactionReceipt } | null> {
  for (const tx of [...txs].reverse()) {
    try {
      const receipt = await retry('eth_getTransactionReceipt', () =>
        client.getTransactionReceipt({ hash: tx.hash }),
      );
      return { tx, receipt };
    } catch (err) {
      if (err instanceof TransactionReceiptNotFoundError) continue;
      throw err;
    }
  }
  return null;
}

/** What a mined `payBatch` did, from its receipt's logs (the only read of them): its total and every entry. */
export function settlement(
  receipt: TransactionReceipt,
  upkeeping: Hex,
): { amount: string; entries: BatchEntryResult[] } {
  const out = batchOutcome(receipt, upkeeping);
  return { amount: out.amount.toString(), entries: batchEntriesJson(out) };
}

/**
 * The receipt of a transaction this service does not know that settled this
 * batch (the contract's `BatchSettled` of this leader and entries hash), or
 * null. Only for a nonce found used by an unknown transaction: one
 * `eth_getLogs`, then that transaction's receipt.
 */
export async function settledElsewhere(
  client: PublicClient,
  e: OutboxEntry,
  retry: Retry,
): Promise<TransactionReceipt | null> {
  const fromBlock = e.request.entries.reduce((m, x) => (BigInt(x.te) > m ? BigInt(x.te) : m), 0n);
  const logs = await retry('eth_getLogs BatchSettled', () =>
    client.getContractEvents({
      address: e.request.upkeeping,
      abi: upkeepingAbi,
      eventName: 'BatchSettled',
      args: { leaderId: e.request.leaderId, entriesHash: keccak256(packedEntries(e.request)) },
      fromBlock,
      toBlock: 'latest',
    }),
  );
  const hash = logs[0]?.transactionHash;
  if (!hash) return null;
  return retry('eth_getTransactionReceipt', () => client.getTransactionReceipt({ hash }));
}
