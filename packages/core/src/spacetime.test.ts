import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpaceTimeError } from './errors.js';
import { amountFor, normalizeRecords, type SpaceRecord, spaceTime } from './spacetime.js';

const rec = (block: number, space: number): SpaceRecord => ({ block: BigInt(block), space: BigInt(space) });

/** Oracle: walk every block; S(b) = the latest record at or before b (min on duplicates) if not stale. */
function bruteForce(
  records: SpaceRecord[],
  ts: bigint,
  te: bigint,
  maxStaleness: bigint,
  carry?: SpaceRecord,
): bigint {
  const all = carry === undefined ? records : [...records, carry];
  let st = 0n;
  for (let b = ts; b < te; b++) {
    let best: SpaceRecord | undefined;
    for (const r of all) {
      if (r.block > b) continue;
      if (best === undefined || r.block > best.block || (r.block === best.block && r.space < best.space))
        best = r;
    }
    if (best !== undefined && b - best.block < maxStaleness) st += best.space;
  }
  return st;
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpaceTimeError);
    expect((err as SpaceTimeError).code).toBe(code);
    expect((err as SpaceTimeError).kind).toBe('invalid_argument');
    return;
  }
  throw new Error(`expected ${code}`);
}

const BIG = 1_000_000n;

describe('spaceTime', () => {
  it('is 0 with no records and no carry', () => {
    expect(spaceTime({ records: [], ts: 0n, te: 100n, maxStaleness: BIG })).toBe(0n);
  });

  it('is 0 on an empty interval', () => {
    expect(spaceTime({ records: [rec(5, 9)], ts: 5n, te: 5n, maxStaleness: BIG, carry: rec(1, 3) })).toBe(0n);
  });

  it('counts nothing before the first record when there is no carry', () => {
    // [0,10): 0; [10,20): 5
    expect(spaceTime({ records: [rec(10, 5)], ts: 0n, te: 20n, maxStaleness: BIG })).toBe(50n);
  });

  it('integrates the step function up to te', () => {
    // [10,15): 4, [15,18): 7, [18,30): 2
    const records = [rec(10, 4), rec(15, 7), rec(18, 2)];
    expect(spaceTime({ records, ts: 10n, te: 30n, maxStaleness: BIG })).toBe(4n * 5n + 7n * 3n + 2n * 12n);
  });

  it('accepts records in any order', () => {
    const records = [rec(18, 2), rec(10, 4), rec(15, 7)];
    expect(spaceTime({ records, ts: 10n, te: 30n, maxStaleness: BIG })).toBe(65n);
  });

  it('carries the last record before ts on [ts, b_1)', () => {
    const input = { records: [rec(15, 7)], ts: 10n, te: 20n, maxStaleness: BIG, carry: rec(5, 3) };
    expect(spaceTime(input)).toBe(3n * 5n + 7n * 5n);
  });

  it('takes the carry from records before ts when none is given, the latest one winning', () => {
    expect(
      spaceTime({ records: [rec(2, 100), rec(5, 3), rec(15, 7)], ts: 10n, te: 20n, maxStaleness: BIG }),
    ).toBe(50n);
    // An explicit carry older than a record before ts loses to it.
    expect(
      spaceTime({
        records: [rec(5, 3), rec(15, 7)],
        ts: 10n,
        te: 20n,
        maxStaleness: BIG,
        carry: rec(2, 100),
      }),
    ).toBe(50n);
  });

  it('carries over the whole interval when there is no record inside it', () => {
    expect(spaceTime({ records: [], ts: 10n, te: 20n, maxStaleness: BIG, carry: rec(0, 6) })).toBe(60n);
  });

  it('ignores records at or after te', () => {
    expect(
      spaceTime({ records: [rec(10, 4), rec(20, 1000), rec(25, 1000)], ts: 10n, te: 20n, maxStaleness: BIG }),
    ).toBe(40n);
  });

  it('stops counting a record maxStaleness blocks after its block', () => {
    // Counts on [10, 30), then 0 until te.
    expect(spaceTime({ records: [rec(10, 5)], ts: 10n, te: 100n, maxStaleness: 20n })).toBe(100n);
    // A fresh record restarts the count.
    expect(spaceTime({ records: [rec(10, 5), rec(50, 1)], ts: 10n, te: 60n, maxStaleness: 20n })).toBe(
      100n + 10n,
    );
    // maxStaleness 1: each record counts for its own block only.
    expect(spaceTime({ records: [rec(10, 5), rec(12, 3)], ts: 10n, te: 20n, maxStaleness: 1n })).toBe(8n);
  });

  it('applies staleness to the carry, counted from its own block', () => {
    expect(spaceTime({ records: [], ts: 10n, te: 30n, maxStaleness: 15n, carry: rec(0, 4) })).toBe(20n);
    expect(spaceTime({ records: [], ts: 10n, te: 30n, maxStaleness: 10n, carry: rec(0, 4) })).toBe(0n);
  });

  it('counts a failed challenge (space 0) as a record, not a gap', () => {
    expect(spaceTime({ records: [rec(10, 5), rec(15, 0)], ts: 10n, te: 20n, maxStaleness: BIG })).toBe(25n);
  });

  it('takes the minimum space of records that share a block', () => {
    expect(
      spaceTime({ records: [rec(10, 5), rec(10, 3), rec(10, 9)], ts: 10n, te: 20n, maxStaleness: BIG }),
    ).toBe(30n);
    // Also between an explicit carry and a record before ts at the same block.
    expect(spaceTime({ records: [rec(5, 8)], ts: 10n, te: 20n, maxStaleness: BIG, carry: rec(5, 2) })).toBe(
      20n,
    );
  });

  it('is exact for values far beyond Number.MAX_SAFE_INTEGER', () => {
    const space = (1n << 64n) - 1n;
    const te = (1n << 64n) - 1n;
    expect(spaceTime({ records: [{ block: 0n, space }], ts: 0n, te, maxStaleness: te })).toBe(space * te);
  });

  it('rejects te before ts', () => {
    expectCode(
      () => spaceTime({ records: [], ts: 10n, te: 9n, maxStaleness: 1n }),
      'SPACETIME_INVALID_INTERVAL',
    );
  });

  it('rejects a carry at or after ts', () => {
    expectCode(
      () => spaceTime({ records: [], ts: 10n, te: 20n, maxStaleness: 1n, carry: rec(10, 1) }),
      'SPACETIME_INVALID_CARRY',
    );
  });

  it.each([
    ['negative ts', { records: [], ts: -1n, te: 20n, maxStaleness: 1n }],
    ['te beyond uint64', { records: [], ts: 0n, te: 1n << 64n, maxStaleness: 1n }],
    ['a number instead of a bigint', { records: [], ts: 0 as unknown as bigint, te: 20n, maxStaleness: 1n }],
    ['maxStaleness 0', { records: [], ts: 0n, te: 20n, maxStaleness: 0n }],
    ['negative maxStaleness', { records: [], ts: 0n, te: 20n, maxStaleness: -5n }],
    ['negative space', { records: [rec(1, -1)], ts: 0n, te: 20n, maxStaleness: 1n }],
    ['negative block', { records: [rec(-1, 1)], ts: 0n, te: 20n, maxStaleness: 1n }],
    [
      'space beyond uint64',
      { records: [{ block: 1n, space: 1n << 64n }], ts: 0n, te: 20n, maxStaleness: 1n },
    ],
    [
      'a missing record',
      { records: [undefined as unknown as SpaceRecord], ts: 0n, te: 20n, maxStaleness: 1n },
    ],
    ['records that are not an array', { records: {} as SpaceRecord[], ts: 0n, te: 20n, maxStaleness: 1n }],
    ['a negative carry space', { records: [], ts: 10n, te: 20n, maxStaleness: 1n, carry: rec(1, -1) }],
    ['a negative carry block', { records: [], ts: 10n, te: 20n, maxStaleness: 1n, carry: rec(-1, 1) }],
  ])('rejects %s', (_name, input) => {
    expectCode(() => spaceTime(input), 'SPACETIME_INVALID_INPUT');
  });

  it('reports the offending field and index', () => {
    expect.assertions(2);
    try {
      spaceTime({ records: [rec(1, 1), rec(2, -1)], ts: 0n, te: 20n, maxStaleness: 1n });
    } catch (err) {
      expect((err as SpaceTimeError).details).toEqual({ field: 'records.space', index: 1 });
      expect((err as SpaceTimeError).name).toBe('SpaceTimeError');
    }
  });
});

describe('normalizeRecords', () => {
  it('sorts by block and keeps the minimum of duplicates', () => {
    expect(normalizeRecords([rec(3, 1), rec(1, 9), rec(3, 0), rec(2, 2), rec(1, 4)])).toEqual([
      rec(1, 4),
      rec(2, 2),
      rec(3, 0),
    ]);
  });
});

describe('amountFor', () => {
  it('is st * price / 1e18, floored', () => {
    expect(amountFor(123n, 10n ** 18n)).toBe(123n);
    expect(amountFor(3n, 5n * 10n ** 17n)).toBe(1n);
    expect(amountFor(0n, 10n ** 30n)).toBe(0n);
    expect(amountFor(10n ** 40n, 7n)).toBe(7n * 10n ** 22n);
  });

  it('rejects negative or out-of-range values', () => {
    expectCode(() => amountFor(-1n, 1n), 'SPACETIME_INVALID_INPUT');
    expectCode(() => amountFor(1n, -1n), 'SPACETIME_INVALID_INPUT');
    expectCode(() => amountFor(1n << 256n, 1n), 'SPACETIME_INVALID_INPUT');
  });
});

describe('spaceTime properties', () => {
  const record = fc.record({ block: fc.bigInt(0n, 200n), space: fc.bigInt(0n, 1000n) });
  const records = fc.array(record, { maxLength: 25 });
  const staleness = fc.bigInt(1n, 60n);
  const points = fc.tuple(fc.bigInt(0n, 220n), fc.bigInt(0n, 220n), fc.bigInt(0n, 220n)).map((xs) => {
    const [a, b, c] = xs.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    return { a: a!, b: b!, c: c! };
  });

  it('matches a block-by-block oracle', () => {
    fc.assert(
      fc.property(records, points, staleness, (rs, { a, c }, maxStaleness) => {
        expect(spaceTime({ records: rs, ts: a, te: c, maxStaleness })).toBe(
          bruteForce(rs, a, c, maxStaleness),
        );
      }),
    );
  });

  it('is additive over adjacent intervals: [a,b) + [b,c) = [a,c)', () => {
    fc.assert(
      fc.property(records, points, staleness, (rs, { a, b, c }, maxStaleness) => {
        const whole = spaceTime({ records: rs, ts: a, te: c, maxStaleness });
        const left = spaceTime({ records: rs, ts: a, te: b, maxStaleness });
        // The right part with an explicitly looked-up carry: the last record before b.
        const carry = normalizeRecords(rs.filter((r) => r.block < b)).at(-1);
        const inside = rs.filter((r) => r.block >= b);
        const right = spaceTime({ records: inside, ts: b, te: c, maxStaleness, carry });
        expect(left + right).toBe(whole);
        // Same with the carry derived from the full record list.
        expect(left + spaceTime({ records: rs, ts: b, te: c, maxStaleness })).toBe(whole);
      }),
    );
  });

  it('is monotone in space: raising a record never lowers st', () => {
    fc.assert(
      fc.property(
        records.filter((rs) => rs.length > 0),
        fc.nat(),
        fc.bigInt(0n, 1000n),
        points,
        staleness,
        (rs, pick, raise, { a, c }, maxStaleness) => {
          const i = pick % rs.length;
          const raised = rs.map((r, j) => (j === i ? { block: r.block, space: r.space + raise } : r));
          expect(spaceTime({ records: raised, ts: a, te: c, maxStaleness })).toBeGreaterThanOrEqual(
            spaceTime({ records: rs, ts: a, te: c, maxStaleness }),
          );
        },
      ),
    );
  });

  it('is 0 for no records and no carry', () => {
    fc.assert(
      fc.property(points, staleness, ({ a, c }, maxStaleness) => {
        expect(spaceTime({ records: [], ts: a, te: c, maxStaleness })).toBe(0n);
      }),
    );
  });
});
