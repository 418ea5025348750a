import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ToleranceError } from './errors.js';
import { approveThreshold, commitQuorum, faultTolerance, median, withinTolerance } from './tolerance.js';

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(ToleranceError);
  try {
    fn();
  } catch (err) {
    expect((err as ToleranceError).code).toBe(code);
  }
}

describe('withinTolerance', () => {
  it('accepts exactly up to st_i * tolBps / 10000 on either side', () => {
    expect(withinTolerance(10_100n, 10_000n, 100n)).toBe(true);
    expect(withinTolerance(10_101n, 10_000n, 100n)).toBe(false);
    expect(withinTolerance(9_900n, 10_000n, 100n)).toBe(true);
    expect(withinTolerance(9_899n, 10_000n, 100n)).toBe(false);
  });

  it('does not round the bound: 1 bps of 15_000 is 1.5', () => {
    expect(withinTolerance(15_001n, 15_000n, 1n)).toBe(true);
    expect(withinTolerance(15_002n, 15_000n, 1n)).toBe(false);
  });

  it('with tolerance 0 demands equality, and st_i = 0 admits only 0', () => {
    expect(withinTolerance(5n, 5n, 0n)).toBe(true);
    expect(withinTolerance(6n, 5n, 0n)).toBe(false);
    expect(withinTolerance(0n, 0n, 100n)).toBe(true);
    expect(withinTolerance(1n, 0n, 10_000n)).toBe(false);
  });

  it('rejects negative values', () => {
    expectCode(() => withinTolerance(-1n, 1n, 1n), 'TOLERANCE_INVALID_INPUT');
    expectCode(() => withinTolerance(1n, -1n, 1n), 'TOLERANCE_INVALID_INPUT');
    expectCode(() => withinTolerance(1n, 1n, -1n), 'TOLERANCE_INVALID_INPUT');
  });
});

describe('median', () => {
  it('is the middle value for an odd count', () => {
    expect(median([5n, 1n, 3n])).toBe(3n);
    expect(median([7n])).toBe(7n);
  });

  it('is the lower median for an even count', () => {
    expect(median([4n, 1n, 3n, 2n])).toBe(2n);
    expect(median([10n, 20n])).toBe(10n);
  });

  it('does not reorder its input', () => {
    const values = [3n, 1n, 2n];
    median(values);
    expect(values).toEqual([3n, 1n, 2n]);
  });

  it('rejects an empty list and negative values', () => {
    expectCode(() => median([]), 'TOLERANCE_EMPTY_MEDIAN');
    expectCode(() => median([1n, -2n]), 'TOLERANCE_INVALID_INPUT');
  });

  it('with at most f liars among >= 2f+1 values lies between the honest min and max (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }).chain((f) =>
          fc.record({
            honest: fc.array(fc.bigInt(0n, 1n << 70n), { minLength: f + 1, maxLength: 2 * f + 3 }),
            liars: fc.array(fc.bigInt(0n, 1n << 80n), { minLength: 0, maxLength: f }),
            f: fc.constant(f),
          }),
        ),
        ({ honest, liars, f }) => {
          fc.pre(honest.length + liars.length >= 2 * f + 1);
          const m = median([...liars, ...honest]);
          const sorted = [...honest].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          const lo = sorted[0]!;
          const hi = sorted.at(-1)!;
          expect(m >= lo && m <= hi).toBe(true);
        },
      ),
    );
  });
});

describe('quorums', () => {
  it('f = floor((n-1)/3), 2f+1 commitments, f+1 approvals by default', () => {
    const table = [
      [1, 0, 1, 1],
      [2, 0, 1, 1],
      [3, 0, 1, 1],
      [4, 1, 3, 2],
      [6, 1, 3, 2],
      [7, 2, 5, 3],
      [10, 3, 7, 4],
      [100, 33, 67, 34],
    ] as const;
    for (const [n, f, q, t] of table) {
      expect(faultTolerance(n)).toBe(f);
      expect(commitQuorum(n)).toBe(q);
      expect(approveThreshold(n)).toBe(t);
    }
  });

  it('takes a configured threshold in f+1..n (SPEC 8)', () => {
    expect(approveThreshold(4, 4)).toBe(4);
    expect(approveThreshold(4, 2)).toBe(2);
    expect(approveThreshold(7, 3)).toBe(3);
    expect(approveThreshold(1, 1)).toBe(1);
    // Below f+1 every signer could be Byzantine.
    expectCode(() => approveThreshold(4, 1), 'TOLERANCE_INVALID_THRESHOLD');
    expectCode(() => approveThreshold(7, 2), 'TOLERANCE_INVALID_THRESHOLD');
    expectCode(() => approveThreshold(4, 0), 'TOLERANCE_INVALID_THRESHOLD');
    expectCode(() => approveThreshold(4, 5), 'TOLERANCE_INVALID_THRESHOLD');
    expectCode(() => approveThreshold(4, 1.5), 'TOLERANCE_INVALID_THRESHOLD');
  });

  it('rejects a group size below 1', () => {
    expectCode(() => faultTolerance(0), 'TOLERANCE_INVALID_GROUP');
    expectCode(() => commitQuorum(2.5), 'TOLERANCE_INVALID_GROUP');
  });
});
