import { type Address, concatHex, hexToBigInt, keccak256 } from 'viem';
import { ChallengeInputError } from './errors.js';
import { checkAddress } from './seed.js';

/**
 * Challenge cadence (docs/encoding.md, "Challenges"): with a cadence of `K`
 * blocks, the pair (user, pid) is challenged at block `b` iff
 *
 *   (uint256(keccak256(abi.encodePacked(address user, address pid))) + b) mod K == 0
 *
 * so each pair exactly once in any K consecutive blocks, and the pairs spread
 * evenly over the K phases. `K = 1` challenges every pair at every block.
 */

export const MAX_CHALLENGE_EVERY = 1_000_000;

export function checkChallengeEvery(k: unknown): asserts k is number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_CHALLENGE_EVERY) {
    throw new ChallengeInputError(`challengeEvery must be an integer in [1, ${MAX_CHALLENGE_EVERY}]`, {
      challengeEvery: k,
    });
  }
}

/** `uint256(keccak256(abi.encodePacked(user, pid))) mod K`: the pair's offset in the cycle. */
export function cadencePhase(user: Address, pid: Address, k: number): number {
  checkAddress(user, 'user');
  checkAddress(pid, 'pid');
  checkChallengeEvery(k);
  if (k === 1) return 0;
  return Number(hexToBigInt(keccak256(concatHex([user, pid]))) % BigInt(k));
}

/** Whether a pair of phase `phase` (see `cadencePhase`) is challenged at block `b`. */
export function isDueAtPhase(phase: number, block: bigint | number, k: number): boolean {
  if (k === 1) return true;
  return (BigInt(phase) + BigInt(block)) % BigInt(k) === 0n;
}

/** Whether (user, pid) is challenged at block `b` with a cadence of `k` blocks. */
export function isDue(user: Address, pid: Address, block: bigint | number, k: number): boolean {
  return isDueAtPhase(cadencePhase(user, pid, k), block, k);
}

/**
 * The last block before `te` at which a pair of phase `phase` is challenged (the block of the record
 * due before `te`); `te - 1` when `k = 1`. May be negative for `te` < `k`.
 */
export function lastDueBefore(phase: number, te: bigint, k: number): bigint {
  checkChallengeEvery(k);
  const K = BigInt(k);
  const b = te - 1n;
  return b - ((((BigInt(phase) + b) % K) + K) % K);
}

/**
 * Phases of many pairs, memoised for one K (the fan-out asks for the same
 * pairs at every block). Bounded: cleared when it grows past `max` entries.
 */
export class CadenceSchedule {
  private readonly phases = new Map<string, number>();

  constructor(
    readonly k: number,
    private readonly max = 1_000_000,
  ) {
    checkChallengeEvery(k);
  }

  due(user: Address, pid: Address, block: bigint | number): boolean {
    if (this.k === 1) return true;
    return isDueAtPhase(this.phaseOf(user, pid), block, this.k);
  }

  /** The last block before `te` at which (user, pid) is challenged (see `lastDueBefore`). */
  lastDueBefore(user: Address, pid: Address, te: bigint): bigint {
    return lastDueBefore(this.k === 1 ? 0 : this.phaseOf(user, pid), te, this.k);
  }

  private phaseOf(user: Address, pid: Address): number {
    const key = `${user}${pid}`.toLowerCase();
    let phase = this.phases.get(key);
    if (phase === undefined) {
      phase = cadencePhase(user, pid, this.k);
      if (this.phases.size >= this.max) this.phases.clear();
      this.phases.set(key, phase);
    }
    return phase;
  }
}
