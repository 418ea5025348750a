import type { Hash, TransactionReceipt } from 'viem';
import { waitForTransactionReceipt } from 'viem/actions';
import { decodeUpkeepingError } from './errors.js';
import type { UpkeepingClient } from './upkeeping.js';

// Internal: sending a transaction and mapping every failure through the one contract-boundary mapper.

async function send(client: UpkeepingClient, hash: Promise<Hash>): Promise<TransactionReceipt> {
  let receipt: TransactionReceipt;
  try {
    receipt = await waitForTransactionReceipt(client, { hash: await hash });
  } catch (err) {
    throw decodeUpkeepingError(err);
  }
  if (receipt.status !== 'success') {
    throw decodeUpkeepingError(new Error(`transaction ${receipt.transactionHash} reverted`));
  }
  return receipt;
}

/** Runs a write and waits for its receipt; reverts and transport failures become typed errors. */
export async function call(client: UpkeepingClient, run: () => Promise<Hash>): Promise<TransactionReceipt> {
  return send(
    client,
    run().catch((err: unknown) => {
      throw decodeUpkeepingError(err);
    }),
  );
}
