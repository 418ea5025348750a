import { batchEntriesJson, batchOutcome } from '@whitepay/contracts';
import type { Address, Hex, PublicClient, TransactionReceipt } from 'viem';
import type { BatchEntryOutcome } from './submit.js';

/** What a mined `payBatch` settled: the amount paid in all and every entry's outcome. */
export interface BatchSettlement {
  /** Wei, decimal. */
  amount: string;
  entries: BatchEntryOutcome[];
}

/** Reads the settlement of a mined `payBatch` of `upkeeping` by its transaction hash. */
export type SettlementReader = (upkeeping: Address, txHash: Hex) => Promise<BatchSettlement>;

/**
 * The settlement in a `payBatch` receipt (contracts' `batchOutcome`), in the
 * shape the chain-submitter publishes it: the paid entries, then the skipped
 * ones with their reason. Logs of other contracts are ignored.
 */
export function batchSettlementOf(receipt: TransactionReceipt, upkeeping: Address): BatchSettlement {
  const out = batchOutcome(receipt, upkeeping);
  return { amount: out.amount.toString(), entries: batchEntriesJson(out) };
}

/** A {@link SettlementReader} over the node's receipts. */
export function receiptSettlements(client: PublicClient): SettlementReader {
  return async (upkeeping, txHash) =>
    batchSettlementOf(await client.getTransactionReceipt({ hash: txHash }), upkeeping);
}
