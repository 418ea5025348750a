import { WhitePayError } from '@whitepay/base';
import {
  type Address,
  concat,
  type Hash,
  type Hex,
  numberToHex,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import { writeContract } from 'viem/actions';
import { upkeepingAbi } from '../generated/index.js';
import { PAYMENT_SKIP_REASONS, type PaymentSkipReason } from './reasons.js';
import { call } from './tx.js';
import type { UpkeepingClient } from './upkeeping.js';

/** Bytes per packed entry of `payBatch`: `address pid ‖ uint64 ts ‖ uint64 te ‖ uint256 st ‖ uint128 idle`. */
export const BATCH_ENTRY_BYTES = 84;

/** One provider's payment in a batch (same shape as `@whitepay/core`'s `BatchEntry`). */
export interface PayBatchEntry {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly st: bigint;
  /** The entry's idle set: bit i = member index i (group order, as `signers`); default `0n`. */
  readonly idle?: bigint;
}

function invalid(message: string): WhitePayError {
  return new WhitePayError('BATCH_INVALID_ENTRY', message, { kind: 'invalid_argument' });
}

/**
 * The `entries` bytes of `payBatch` (docs/encoding.md): per entry `abi.encodePacked(address pid,
 * uint64 ts, uint64 te, uint256 st, uint128 idle)`, concatenated in order. Byte-identical to `@whitepay/core`'s
 * `encodeBatchEntries`, which also validates the intervals; this one only checks that values fit.
 */
export function encodeBatchEntries(entries: readonly PayBatchEntry[]): Hex {
  if (entries.length === 0) throw invalid('a batch needs at least one entry');
  return concat(
    entries.map((e, i) => {
      const idle = e.idle ?? 0n;
      if (
        e.ts < 0n ||
        e.ts >= 1n << 64n ||
        e.te < 0n ||
        e.te >= 1n << 64n ||
        e.st < 0n ||
        e.st >= 1n << 256n ||
        idle < 0n ||
        idle >= 1n << 128n
      ) {
        throw invalid(`entries[${i}]: ts, te must be uint64, st uint256 and idle uint128`);
      }
      return concat([
        e.pid.toLowerCase() as Address,
        numberToHex(e.ts, { size: 8 }),
        numberToHex(e.te, { size: 8 }),
        numberToHex(e.st, { size: 32 }),
        numberToHex(idle, { size: 16 }),
      ]);
    }),
  );
}

/** The arguments of `payBatch`. */
export interface PayBatchArgs {
  readonly upkeeping: Address;
  /** The entries, or their packed bytes (`encodeBatchEntries`). */
  readonly entries: readonly PayBatchEntry[] | Hex;
  /** The keeper leading every entry; the sender must be its account. */
  readonly leaderId: number;
  /** The registered group bytes (`group()` view, or `encodeGroup`). */
  readonly group: Hex;
  /** Strictly increasing member indices of the signers. */
  readonly signers: readonly number[];
  /** Aggregate signature over `@whitepay/core`'s `batchPaymentMessage`, EIP-2537 G2 form (256 bytes). */
  readonly signature: Hex;
  /** Gas limit; when given, no estimate is made. */
  readonly gas?: bigint;
}

/**
 * Submits a batch (the sender must be the leader's account). Entries that fail their own checks are skipped
 * on-chain, not reverted on; read them with `batchOutcome`. Batch-level reverts surface as `UpkeepingError`.
 */
export function payBatch(client: UpkeepingClient, args: PayBatchArgs): Promise<TransactionReceipt> {
  const entries = typeof args.entries === 'string' ? args.entries : encodeBatchEntries(args.entries);
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'payBatch',
      args: [entries, args.leaderId, args.group, args.signers, args.signature],
      ...(args.gas === undefined ? {} : { gas: args.gas }),
    }),
  );
}

/** One paid entry of a batch (from its `PaymentMade` event). */
export interface BatchPaid {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly st: bigint;
  readonly tid: Hash;
  readonly amount: bigint;
  readonly providerAmount: bigint;
  readonly keeperShare: bigint;
  readonly bonus: bigint;
  readonly position: number;
  /** How many keepers were ranked ahead of the leader (failed). */
  readonly excluded: number;
  /** The entry's idle set (bit i = member index i); excluded from the split too. */
  readonly idle: bigint;
}

/** One skipped entry of a batch (from its `PaymentSkipped` event). */
export interface BatchSkipped {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly reason: PaymentSkipReason;
}

/** What a `payBatch` transaction did, in entry order. */
export interface BatchOutcome {
  readonly paid: BatchPaid[];
  readonly skipped: BatchSkipped[];
  /** Sum of the paid amounts. */
  readonly amount: bigint;
}

function skipReason(code: number): PaymentSkipReason {
  const reason = PAYMENT_SKIP_REASONS[code];
  if (reason === undefined) {
    throw new WhitePayError('BATCH_UNKNOWN_SKIP_REASON', `unknown skip reason ${code}`, { kind: 'internal' });
  }
  return reason;
}

/** Reads the paid and skipped entries of a `payBatch` receipt of `upkeeping`. */
export function batchOutcome(receipt: TransactionReceipt, upkeeping: Address): BatchOutcome {
  const logs = receipt.logs.filter((l) => l.address.toLowerCase() === upkeeping.toLowerCase());
  const paid = parseEventLogs({ abi: upkeepingAbi, logs, eventName: 'PaymentMade' }).map(
    ({ args: a }): BatchPaid => ({
      pid: a.pid,
      ts: a.ts,
      te: a.te,
      st: a.st,
      tid: a.tid,
      amount: a.amount,
      providerAmount: a.providerAmount,
      keeperShare: a.keeperShare,
      bonus: a.bonus,
      position: a.position,
      excluded: a.excluded,
      idle: a.idle,
    }),
  );
  const skipped = parseEventLogs({ abi: upkeepingAbi, logs, eventName: 'PaymentSkipped' }).map(
    ({ args: a }): BatchSkipped => ({
      pid: a.pid,
      ts: a.ts,
      te: a.te,
      reason: skipReason(a.reason),
    }),
  );
  const [settled] = parseEventLogs({ abi: upkeepingAbi, logs, eventName: 'BatchSettled' });
  return { paid, skipped, amount: settled?.args.amount ?? 0n };
}

/**
 * One entry of a `payBatch` as plain JSON (bigints as decimal strings): what
 * the chain-submitter publishes with a confirmed batch and the coordinator
 * records for `GET /v1/batches`.
 */
export type BatchEntryJson =
  | { pid: Address; ts: string; te: string; st: string; status: 'paid'; tid: Hex; amount: string }
  | { pid: Address; ts: string; te: string; status: 'skipped'; reason: string };

/** {@link BatchOutcome} as JSON entries, paid then skipped. */
export function batchEntriesJson(out: BatchOutcome): BatchEntryJson[] {
  return [
    ...out.paid.map(
      (p): BatchEntryJson => ({
        pid: p.pid,
        ts: p.ts.toString(),
        te: p.te.toString(),
        st: p.st.toString(),
        status: 'paid',
        tid: p.tid,
        amount: p.amount.toString(),
      }),
    ),
    ...out.skipped.map(
      (k): BatchEntryJson => ({
        pid: k.pid,
        ts: k.ts.toString(),
        te: k.te.toString(),
        status: 'skipped',
        reason: k.reason,
      }),
    ),
  ];
}
