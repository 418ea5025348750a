import { upkeepingAbi } from '@whitepay/contracts';
import { encodeBatchEntries } from '@whitepay/core';
import { type Address, encodeFunctionData, type Hex, type PublicClient } from 'viem';
import { ChainError } from '../../errors.js';
import type { BatchRequest } from '../outbox.js';
import { isTransient } from '../retry.js';
import { decodeRevert, isRevert } from './revert.js';

/** The packed `entries` bytes of a batch (docs/encoding.md). */
export function packedEntries(req: BatchRequest): Hex {
  return encodeBatchEntries(
    req.entries.map((e) => ({
      pid: e.pid,
      ts: BigInt(e.ts),
      te: BigInt(e.te),
      st: BigInt(e.st),
      idle: BigInt(e.idle ?? '0'),
    })),
  );
}

function payBatch(req: BatchRequest) {
  return {
    address: req.upkeeping,
    abi: upkeepingAbi,
    functionName: 'payBatch',
    args: [packedEntries(req), req.leaderId, req.group, req.signers, req.signature],
  } as const;
}

/** `payBatch`'s calldata. */
export function payBatchData(req: BatchRequest): Hex {
  const { abi, functionName, args } = payBatch(req);
  return encodeFunctionData({ abi, functionName, args });
}

/** A failed call as the service's typed error: the decoded revert, or a `ChainError`. */
function mapCallError(err: unknown, what: string): Error {
  if (err instanceof ChainError) return err;
  const revert = decodeRevert(err);
  if (revert) return revert;
  if (isTransient(err)) return new ChainError('CHAIN_RPC_UNAVAILABLE', `${what} failed`, { cause: err });
  return new ChainError(
    'CHAIN_CALL_REVERTED',
    `payBatch would fail${isRevert(err) ? ' (revert without data)' : ''}: ${(err as Error).message}`,
    { kind: 'failed_precondition', cause: err },
  );
}

/**
 * The revert check when a batch is submitted: one `eth_call` of `payBatch`
 * from the keeper account. A revert is thrown as `ContractRevertError`.
 * The account is passed as an address, so viem fills nothing (no nonce,
 * fees or `eth_fillTransaction` behind the call).
 */
export async function checkPayBatch(
  client: PublicClient,
  account: Address,
  req: BatchRequest,
  retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<void> {
  try {
    await retry('eth_call payBatch', () => client.simulateContract({ ...payBatch(req), account }));
  } catch (err) {
    throw mapCallError(err, 'eth_call payBatch');
  }
}

/**
 * The gas limit, right before a nonce is spent: one `eth_estimateGas`
 * (which reverts too, when the batch would now revert: thrown as
 * `ContractRevertError`) plus `marginBps`.
 */
export async function estimatePayBatch(
  client: PublicClient,
  account: Address,
  req: BatchRequest,
  marginBps: number,
  retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>,
): Promise<bigint> {
  try {
    const gas = await retry('eth_estimateGas payBatch', () =>
      client.estimateContractGas({ ...payBatch(req), account }),
    );
    return (gas * BigInt(10_000 + marginBps)) / 10_000n;
  } catch (err) {
    throw mapCallError(err, 'eth_estimateGas payBatch');
  }
}
