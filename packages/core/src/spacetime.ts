import { UINT64_MAX, UINT256_MAX, uintProblem } from './abi.js';
import { SpaceTimeError } from './errors.js';

/** One verified challenge record of this keeper: proven `space` (bytes) at block `block`. */
export interface SpaceRecord {
  readonly block: bigint;
  readonly space: bigint;
}

export interface SpaceTimeInput {
  /**
   * This keeper's own verified records for one `(user, pid)`, in any order.
   * Records at or after `te` are ignored; records before `ts` are candidates
   * for the carry-over (the latest of them wins), so a caller may pass every
   * record of `[ts - maxStaleness, te)` and omit `carry`.
   */
  readonly records: readonly SpaceRecord[];
  /** First block of the interval (inclusive). */
  readonly ts: bigint;
  /** End of the interval (exclusive); `te == ts` gives 0. */
  readonly te: bigint;
  /** The last record before `ts`, if the caller looked it up separately. */
  readonly carry?: SpaceRecord | undefined;
  /** A record stops counting this many blocks after its own block (>= 1). */
  readonly maxStaleness: bigint;
}

const ONE_E18 = 10n ** 18n;

function check(value: unknown, max: bigint, what: string, details: Record<string, unknown> = {}): void {
  const problem = uintProblem(value, max);
  if (problem !== null) {
    throw new SpaceTimeError('SPACETIME_INVALID_INPUT', `${what}: ${problem}`, { field: what, ...details });
  }
}

/**
 * Collapses records that share a block to one: the **minimum** space of that
 * block. Two measurements of one block that disagree are both this keeper's
 * own; paying for the smaller one never pays for space that one of them did
 * not prove. Returns the records sorted by block ascending.
 */
export function normalizeRecords(records: readonly SpaceRecord[]): SpaceRecord[] {
  const byBlock = new Map<bigint, bigint>();
  for (const r of records) {
    const seen = byBlock.get(r.block);
    byBlock.set(r.block, seen === undefined || r.space < seen ? r.space : seen);
  }
  return [...byBlock.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([block, space]) => ({ block, space }));
}

/**
 * The space-time value of SPEC 4: `st = Σ S(b)` for `b` in `[ts, te)`, where
 * `S` is the step function of this keeper's own records (`S(b) = s_i` on
 * `[b_i, b_{i+1})`, the last one up to `te`), carried over from the last
 * record before `ts` on `[ts, b_1)` (0 if there is none), and where a record
 * counts only on `[b_i, b_i + maxStaleness)`: after that the space is 0 until
 * the next record. Exact integer byte·blocks.
 *
 * Duplicate blocks: the minimum space of the block counts (see {@link normalizeRecords}).
 *
 * @throws SpaceTimeError on `te < ts`, negative or out-of-range values
 *   (blocks and space are `uint64`), `maxStaleness < 1`, or a `carry` that is
 *   not before `ts`.
 */
export function spaceTime(input: SpaceTimeInput): bigint {
  const { records, ts, te, carry, maxStaleness } = input;
  check(ts, UINT64_MAX, 'ts');
  check(te, UINT64_MAX, 'te');
  if (te < ts) {
    throw new SpaceTimeError('SPACETIME_INVALID_INTERVAL', `te (${te}) is before ts (${ts})`, {
      ts: String(ts),
      te: String(te),
    });
  }
  check(maxStaleness, UINT64_MAX, 'maxStaleness');
  if (maxStaleness < 1n) {
    throw new SpaceTimeError('SPACETIME_INVALID_INPUT', 'maxStaleness must be at least 1 block', {
      field: 'maxStaleness',
    });
  }
  if (!Array.isArray(records)) {
    throw new SpaceTimeError('SPACETIME_INVALID_INPUT', 'records must be an array', { field: 'records' });
  }
  records.forEach((r, i) => {
    check(r?.block, UINT64_MAX, 'records.block', { index: i });
    check(r.space, UINT64_MAX, 'records.space', { index: i });
  });
  const candidates: SpaceRecord[] = [];
  if (carry !== undefined) {
    check(carry.block, UINT64_MAX, 'carry.block');
    check(carry.space, UINT64_MAX, 'carry.space');
    if (carry.block >= ts) {
      throw new SpaceTimeError(
        'SPACETIME_INVALID_CARRY',
        `carry record at block ${carry.block} is not before ts (${ts})`,
        { carryBlock: String(carry.block), ts: String(ts) },
      );
    }
    candidates.push(carry);
  }

  const inside: SpaceRecord[] = [];
  for (const r of records) {
    if (r.block < ts) candidates.push(r);
    else if (r.block < te) inside.push(r);
  }
  const steps = normalizeRecords(inside);
  const before = normalizeRecords(candidates).at(-1);
  if (before !== undefined) steps.unshift(before);

  let st = 0n;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const next = steps[i + 1];
    let start = step.block;
    if (start < ts) start = ts; // the carry-over counts from ts
    let end = next === undefined ? te : next.block;
    const stale = step.block + maxStaleness;
    if (stale < end) end = stale;
    if (end > start) st += step.space * (end - start);
  }
  return st;
}

/**
 * `amount = st * price / 1e18`, floored (SPEC 4; `price` is wei per byte·block
 * scaled by 1e18). Both are `uint256`.
 *
 * @throws SpaceTimeError on a negative or out-of-range value.
 */
export function amountFor(st: bigint, price: bigint): bigint {
  check(st, UINT256_MAX, 'st');
  check(price, UINT256_MAX, 'price');
  return (st * price) / ONE_E18;
}
