import { UINT256_MAX, uintProblem } from './abi.js';
import { ToleranceError } from './errors.js';

function checkUint(value: unknown, field: string): void {
  const problem = uintProblem(value, UINT256_MAX);
  if (problem !== null)
    throw new ToleranceError('TOLERANCE_INVALID_INPUT', `${field}: ${problem}`, { field });
}

/**
 * SPEC 6 step 3: `|st - stI| <= stI * tolBps / 10000`, computed exactly as
 * `|st - stI| * 10000 <= stI * tolBps` (no rounding). With `stI == 0` only
 * `st == 0` is within tolerance.
 *
 * @throws ToleranceError on a negative or out-of-range value.
 */
export function withinTolerance(st: bigint, stI: bigint, tolBps: bigint): boolean {
  checkUint(st, 'st');
  checkUint(stI, 'stI');
  checkUint(tolBps, 'tolBps');
  const diff = st > stI ? st - stI : stI - st;
  return diff * 10_000n <= stI * tolBps;
}

/**
 * The median of the revealed values (SPEC 6 step 3). For an even count it is
 * the **lower** median (`sorted[(k-1)/2]`): always one of the revealed values,
 * never an average, so it stays an exact integer somebody measured. With at
 * least `2f+1` values of which at most `f` are lies, it lies between the
 * smallest and the largest honest value.
 *
 * @throws ToleranceError on an empty list or a negative value.
 */
export function median(values: readonly bigint[]): bigint {
  if (values.length === 0) throw new ToleranceError('TOLERANCE_EMPTY_MEDIAN', 'median of no values');
  values.forEach((v, i) => {
    checkUint(v, `values[${i}]`);
  });
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function checkGroupSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ToleranceError('TOLERANCE_INVALID_GROUP', `group size must be an integer >= 1, got ${n}`, {
      n,
    });
  }
}

/** `f = floor((n-1)/3)`: the Byzantine keepers a group of `n` tolerates (SPEC 1). */
export function faultTolerance(n: number): number {
  checkGroupSize(n);
  return Math.floor((n - 1) / 3);
}

/** `2f+1`: commitments the leader needs before it proposes (SPEC 6 step 2). */
export function commitQuorum(n: number): number {
  return 2 * faultTolerance(n) + 1;
}

/**
 * Signatures needed to submit (SPEC 6 step 5): `threshold` if the contract
 * sets one, else `f+1`. A set threshold is within `[f+1, n]` (SPEC 8, which the
 * contract holds on every change): fewer than `f+1` signers could all be
 * Byzantine, more than `n` can never sign.
 *
 * @throws ToleranceError when the threshold is not in `f+1..n`.
 */
export function approveThreshold(n: number, threshold?: number): number {
  const f = faultTolerance(n);
  if (threshold === undefined) return f + 1;
  if (!Number.isSafeInteger(threshold) || threshold < f + 1 || threshold > n) {
    throw new ToleranceError(
      'TOLERANCE_INVALID_THRESHOLD',
      `threshold must be in ${f + 1}..${n} (f+1..n), got ${threshold}`,
      {
        threshold,
        n,
      },
    );
  }
  return threshold;
}
