import {
  type Address,
  concat,
  encodeAbiParameters,
  getAddress,
  type Hex,
  hexToBigInt,
  keccak256,
  numberToHex,
  size,
  slice,
} from 'viem';
import { UINT32_MAX, UINT64_MAX, UINT128_MAX, UINT256_MAX } from './abi.js';
import { EncodingError } from './errors.js';
import { leaderAt, type ScheduleInput } from './schedule.js';
import { checkAddressField, checkIntField, checkUintField } from './tid.js';

/**
 * The domain string that opens every batch payment message. v2: the packed entries carry each entry's
 * idle set (SPEC 3 item 5), so the signed message commits to it.
 */
export const BATCH_DOMAIN = 'WhitePay/batch/v2';

/** Bytes of one packed batch entry: `address pid ‖ uint64 ts ‖ uint64 te ‖ uint256 st ‖ uint128 idle`. */
export const BATCH_ENTRY_BYTES = 84;

/** One provider's payment in a batch (SPEC 5 interval `[ts, te)` and its agreed `st`). */
export interface BatchEntry {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly st: bigint;
  /**
   * The entry's idle set (SPEC 3 item 5): bit i set = the i-th member of the registered group (the same
   * member indices as the `signers` list) is idle and gets no share. Default `0n`; must fit `uint128`, and
   * the contract skips the entry (`IdleSetInvalid`) when a bit at or above the group size is set.
   */
  readonly idle?: bigint;
}

export interface BatchPaymentMessageInput {
  readonly chainId: bigint;
  /** The user's `Upkeeping` contract. */
  readonly upkeeping: Address;
  readonly user: Address;
  /** The keeper that leads every entry and submits the batch (`uint32`). */
  readonly leaderId: number;
  /** The entries in submission order (the order is part of what is signed). */
  readonly entries: readonly BatchEntry[];
}

const BATCH_MESSAGE_TYPES = [
  { type: 'string' },
  { type: 'uint256' },
  { type: 'address' },
  { type: 'address' },
  { type: 'uint32' },
  { type: 'bytes32' },
] as const;

function checkEntry(entry: BatchEntry, i: number): void {
  checkAddressField(entry.pid, `entries[${i}].pid`);
  checkUintField(entry.ts, UINT64_MAX, `entries[${i}].ts`);
  checkUintField(entry.te, UINT64_MAX, `entries[${i}].te`);
  checkUintField(entry.st, UINT256_MAX, `entries[${i}].st`);
  if (entry.idle !== undefined) checkUintField(entry.idle, UINT128_MAX, `entries[${i}].idle`);
  if (entry.te <= entry.ts) {
    throw new EncodingError(
      'ENCODING_INVALID_VALUE',
      `entries[${i}]: te (${entry.te}) must be after ts (${entry.ts})`,
      { field: `entries[${i}].te` },
    );
  }
}

/**
 * The packed entries `payBatch` takes and the batch message commits to
 * (docs/encoding.md): for each entry `abi.encodePacked(address pid, uint64 ts,
 * uint64 te, uint256 st, uint128 idle)`, 84 bytes (`idle` defaults to 0), concatenated in order.
 *
 * @throws EncodingError on an empty list, a value that does not fit its type or `te <= ts`.
 */
export function encodeBatchEntries(entries: readonly BatchEntry[]): Hex {
  if (entries.length === 0) {
    throw new EncodingError('ENCODING_INVALID_VALUE', 'a batch needs at least one entry', {
      field: 'entries',
    });
  }
  entries.forEach(checkEntry);
  return concat(
    entries.map((e) =>
      concat([
        e.pid.toLowerCase() as Address,
        numberToHex(e.ts, { size: 8 }),
        numberToHex(e.te, { size: 8 }),
        numberToHex(e.st, { size: 32 }),
        numberToHex(e.idle ?? 0n, { size: 16 }),
      ]),
    ),
  );
}

/**
 * Parses packed entries (the inverse of {@link encodeBatchEntries}; addresses checksummed, `idle`
 * always present).
 *
 * @throws EncodingError when the length is zero or not a multiple of 84 bytes.
 */
export function decodeBatchEntries(packed: Hex): Array<BatchEntry & { readonly idle: bigint }> {
  const n = size(packed);
  if (n === 0 || n % BATCH_ENTRY_BYTES !== 0) {
    throw new EncodingError(
      'ENCODING_INVALID_VALUE',
      `packed entries: length ${n} is not a positive multiple of ${BATCH_ENTRY_BYTES}`,
      { field: 'entries' },
    );
  }
  const out: Array<BatchEntry & { readonly idle: bigint }> = [];
  for (let off = 0; off < n; off += BATCH_ENTRY_BYTES) {
    out.push({
      pid: getAddress(slice(packed, off, off + 20)),
      ts: hexToBigInt(slice(packed, off + 20, off + 28)),
      te: hexToBigInt(slice(packed, off + 28, off + 36)),
      st: hexToBigInt(slice(packed, off + 36, off + 68)),
      idle: hexToBigInt(slice(packed, off + 68, off + BATCH_ENTRY_BYTES)),
    });
  }
  return out;
}

/** `keccak256` of the packed entries: the batch message's last field. */
export function batchEntriesHash(entries: readonly BatchEntry[]): Hex {
  return keccak256(encodeBatchEntries(entries));
}

/**
 * The bytes every keeper BLS-signs for a batch (docs/encoding.md):
 * `abi.encode(string "WhitePay/batch/v2", uint256 chainId, address upkeeping,
 * address user, uint32 leaderId, bytes32 keccak256(packedEntries))`. The
 * contract rebuilds these bytes exactly. Positions are not part of it: the
 * contract derives each entry's position from `(ts, te)` and checks the
 * leader's rank against it.
 *
 * @throws EncodingError when a value does not fit its ABI type, the list is empty or an entry has `te <= ts`.
 */
export function batchPaymentMessage(input: BatchPaymentMessageInput): Hex {
  checkUintField(input.chainId, UINT256_MAX, 'chainId');
  checkAddressField(input.upkeeping, 'upkeeping');
  checkAddressField(input.user, 'user');
  checkIntField(input.leaderId, UINT32_MAX, 'leaderId');
  return encodeAbiParameters(BATCH_MESSAGE_TYPES, [
    BATCH_DOMAIN,
    input.chainId,
    input.upkeeping.toLowerCase() as Address,
    input.user.toLowerCase() as Address,
    input.leaderId,
    batchEntriesHash(input.entries),
  ]);
}

/** A payment due for one provider: its interval start and agreed value (the batch's `te` is common). */
export interface BatchCandidate {
  readonly pid: Address;
  readonly ts: bigint;
  readonly st: bigint;
}

/** The entries one keeper leads at a given `te`: what it submits as one batch. */
export interface LeaderBatch {
  readonly leaderId: number;
  readonly entries: BatchEntry[];
}

/**
 * Groups the payments due at block `te` by the keeper that leads each one
 * (SPEC 5: the ranking depends on `(user, pid, ts)`, so every candidate has
 * its own leader and position; the contract checks each entry on its own).
 * Candidates without a leader yet (`te < ts + H`) are left out. Batches are in
 * order of their leader's first candidate, entries in candidate order.
 *
 * @throws ScheduleError on invalid schedule input; EncodingError on a candidate with `te <= ts`.
 */
export function groupByLeader(
  schedule: Omit<ScheduleInput, 'pid' | 'ts'>,
  te: bigint,
  candidates: readonly BatchCandidate[],
): LeaderBatch[] {
  const batches = new Map<number, BatchEntry[]>();
  candidates.forEach((c, i) => {
    const entry: BatchEntry = { pid: c.pid, ts: c.ts, te, st: c.st };
    checkEntry(entry, i);
    const slot = leaderAt({ ...schedule, pid: c.pid, ts: c.ts }, te);
    if (slot === null) return;
    const list = batches.get(slot.keeperId) ?? [];
    list.push(entry);
    batches.set(slot.keeperId, list);
  });
  return [...batches].map(([leaderId, entries]) => ({ leaderId, entries }));
}
