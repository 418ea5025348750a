import { type Address, encodeAbiParameters, type Hex, hexToBigInt, keccak256 } from 'viem';
import { addressProblem, UINT32_MAX, UINT64_MAX, uintProblem } from './abi.js';
import { ScheduleError } from './errors.js';

/** What the ranking of one payment depends on (SPEC 5). */
export interface RankingInput {
  readonly user: Address;
  readonly pid: Address;
  /** Start of the payment interval (`uint64`). */
  readonly ts: bigint;
  /** The ids (`uint32`, unique) of the keeper group, in any order. */
  readonly keepers: readonly number[];
}

/** The ranking plus the contract's period `H` and window `T`, in blocks. */
export interface ScheduleInput extends RankingInput {
  readonly H: bigint;
  /** Window length, >= 1. */
  readonly T: bigint;
}

/** A half-open block range `[start, end)`. */
export interface BlockWindow {
  readonly start: bigint;
  readonly end: bigint;
}

/** Who may lead at a given `te`. */
export interface LeaderSlot extends BlockWindow {
  /** 1-based position in the ranking (the `r` of tid and of the payment message). */
  readonly position: number;
  readonly keeperId: number;
  /** Keepers at positions `1 .. position-1`: they failed this cycle and get no share. */
  readonly excluded: number[];
  /** 0-based repetition of the ranking (the cycle repeats after position n). */
  readonly cycle: bigint;
}

/** A window of one keeper. */
export interface KeeperWindow extends BlockWindow {
  readonly position: number;
  readonly cycle: bigint;
}

function fail(code: string, message: string, details: Record<string, unknown> = {}): never {
  throw new ScheduleError(code, message, details);
}

function checkUint(value: unknown, max: bigint, field: string): void {
  const problem = uintProblem(value, max);
  if (problem !== null) fail('SCHEDULE_INVALID_INPUT', `${field}: ${problem}`, { field });
}

function checkRanking(input: RankingInput): void {
  for (const field of ['user', 'pid'] as const) {
    const problem = addressProblem(input[field]);
    if (problem !== null) fail('SCHEDULE_INVALID_INPUT', `${field}: ${problem}`, { field });
  }
  checkUint(input.ts, UINT64_MAX, 'ts');
  const { keepers } = input;
  if (!Array.isArray(keepers) || keepers.length === 0) {
    fail('SCHEDULE_INVALID_KEEPERS', 'the keeper group must not be empty');
  }
  const seen = new Set<number>();
  for (const id of keepers) {
    if (!Number.isInteger(id) || id < 0 || BigInt(id) > UINT32_MAX) {
      fail('SCHEDULE_INVALID_KEEPERS', `keeper id must be a uint32, got ${String(id)}`, { keeperId: id });
    }
    if (seen.has(id)) fail('SCHEDULE_INVALID_KEEPERS', `duplicate keeper id ${id}`, { keeperId: id });
    seen.add(id);
  }
}

function checkSchedule(input: ScheduleInput): void {
  checkRanking(input);
  checkUint(input.H, UINT64_MAX, 'H');
  checkUint(input.T, UINT64_MAX, 'T');
  if (input.T < 1n) fail('SCHEDULE_INVALID_INPUT', 'T must be at least 1 block', { field: 'T' });
}

/** `h_k = keccak256(abi.encode(address user, address pid, uint64 ts, uint32 keeperId))`. */
export function keeperRankHash(user: Address, pid: Address, ts: bigint, keeperId: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'address' }, { type: 'uint64' }, { type: 'uint32' }],
      [user.toLowerCase() as Address, pid.toLowerCase() as Address, ts, keeperId],
    ),
  );
}

/** Rankings computed, by `user:pid:ts:keepers` (bounded; cleared when full). */
const rankings = new Map<string, readonly number[]>();
const RANKINGS_MAX = 50_000;

/**
 * The keeper ids ordered by `h_k` ascending as `uint256`: index 0 is position 1.
 *
 * A ranking only changes with `ts` (a new payment), while a keeper asks for
 * it on every block for every provider due: each result is kept (bounded,
 * 50,000 rankings) so the election costs n keccaks per provider and payment,
 * not per block. The function stays pure: the cache only returns what it
 * computed, as a fresh array.
 *
 * @throws ScheduleError on a bad address, `ts`, or keeper group (empty, duplicate or non-uint32 ids).
 */
export function rankKeepers(input: RankingInput): number[] {
  checkRanking(input);
  const key = `${input.user.toLowerCase()}:${input.pid.toLowerCase()}:${input.ts}:${input.keepers.join(',')}`;
  let ranking = rankings.get(key);
  if (!ranking) {
    ranking = input.keepers
      .map((id) => ({ id, h: hexToBigInt(keeperRankHash(input.user, input.pid, input.ts, id)) }))
      .sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0))
      .map(({ id }) => id);
    if (rankings.size >= RANKINGS_MAX) rankings.clear();
    rankings.set(key, ranking);
  }
  return [...ranking];
}

function windowFor(input: ScheduleInput, position: number, cycle: bigint): BlockWindow {
  const n = BigInt(input.keepers.length);
  const start = input.ts + input.H + (cycle * n + BigInt(position - 1)) * input.T;
  return { start, end: start + input.T };
}

/**
 * The window `[start, end)` of `te` values in which the keeper at `position`
 * (1-based) may lead, in repetition `cycle` (0-based):
 * `start = ts + H + (cycle*n + position - 1) * T`, `end = start + T`.
 *
 * @throws ScheduleError on invalid schedule input, a position outside `1..n` or a negative cycle.
 */
export function windowOf(input: ScheduleInput, position: number, cycle = 0n): BlockWindow {
  checkSchedule(input);
  if (!Number.isInteger(position) || position < 1 || position > input.keepers.length) {
    fail('SCHEDULE_INVALID_POSITION', `position must be in 1..${input.keepers.length}, got ${position}`, {
      position,
    });
  }
  checkUint(cycle, UINT64_MAX, 'cycle');
  return windowFor(input, position, cycle);
}

/**
 * The leader for a round started at block `te` (SPEC 5, docs/encoding.md):
 * with `d = te - ts - H`, position `i = floor(d / T) mod n + 1`; keepers at
 * positions `1 .. i-1` of the ranking are excluded. `null` while `te < ts + H`.
 *
 * @throws ScheduleError on invalid schedule input or `te`.
 */
export function leaderAt(input: ScheduleInput, te: bigint): LeaderSlot | null {
  checkSchedule(input);
  checkUint(te, UINT64_MAX, 'te');
  const first = input.ts + input.H;
  if (te < first) return null;
  const ranking = rankKeepers(input);
  const n = BigInt(ranking.length);
  const k = (te - first) / input.T;
  const cycle = k / n;
  const position = Number(k % n) + 1;
  return {
    position,
    keeperId: ranking[position - 1]!,
    excluded: ranking.slice(0, position - 1),
    cycle,
    ...windowFor(input, position, cycle),
  };
}

/**
 * The first window of `keeperId` that has not ended at `fromBlock`: the one
 * containing `fromBlock` if the keeper leads now, else its next one.
 *
 * @throws ScheduleError on invalid input or a keeper that is not in the group.
 */
export function nextWindowFor(input: ScheduleInput, keeperId: number, fromBlock: bigint): KeeperWindow {
  checkSchedule(input);
  checkUint(fromBlock, UINT64_MAX, 'fromBlock');
  const position = rankKeepers(input).indexOf(keeperId) + 1;
  if (position === 0) {
    fail('SCHEDULE_UNKNOWN_KEEPER', `keeper ${keeperId} is not in the group`, { keeperId });
  }
  const n = BigInt(input.keepers.length);
  // end(c) = ts + H + position*T + c*n*T; the smallest c >= 0 with end(c) > fromBlock.
  const x = fromBlock - (input.ts + input.H + BigInt(position) * input.T);
  const cycle = x < 0n ? 0n : x / (n * input.T) + 1n;
  return { position, cycle, ...windowFor(input, position, cycle) };
}
