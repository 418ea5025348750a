import fc from 'fast-check';
import { type Address, encodeAbiParameters, hexToBigInt, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { ScheduleError } from './errors.js';
import {
  keeperRankHash,
  leaderAt,
  nextWindowFor,
  rankKeepers,
  type ScheduleInput,
  windowOf,
} from './schedule.js';

const user: Address = '0x1111111111111111111111111111111111111111';
const pid: Address = '0x2222222222222222222222222222222222222222';

// Vectors cross-checked once against an independent Keccak-256 (a from-scratch
// Python implementation) over hand-laid ABI words; a silent change of the
// encoding breaks these.
const RANK_HASH_1000_7 = '0xb62035d80705b252f3775e4859f4e2c618e48c825781a07065e01ba0023c0407';
const RANKING_1000_1_TO_7 = [5, 1, 4, 3, 7, 2, 6];

const sched = (over: Partial<ScheduleInput> = {}): ScheduleInput => ({
  user,
  pid,
  ts: 1000n,
  keepers: [1, 2, 3, 4, 5, 6, 7],
  H: 500n,
  T: 10n,
  ...over,
});

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrow(ScheduleError);
  try {
    fn();
  } catch (err) {
    expect((err as ScheduleError).code).toBe(code);
  }
}

describe('keeperRankHash', () => {
  it('is keccak256(abi.encode(address user, address pid, uint64 ts, uint32 keeperId))', () => {
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: 'address' }, { type: 'address' }, { type: 'uint64' }, { type: 'uint32' }],
        [user, pid, 1000n, 7],
      ),
    );
    expect(keeperRankHash(user, pid, 1000n, 7)).toBe(expected);
    expect(keeperRankHash(user, pid, 1000n, 7)).toBe(RANK_HASH_1000_7);
  });

  it('accepts checksummed and upper-case addresses alike', () => {
    const mixed = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    expect(keeperRankHash(mixed, pid, 1n, 1)).toBe(
      keeperRankHash(mixed.toLowerCase() as Address, pid, 1n, 1),
    );
  });
});

describe('rankKeepers', () => {
  it('returns a fresh array each call: a caller mutating its ranking cannot change the next one', () => {
    const first = rankKeepers(sched());
    first.reverse();
    expect(rankKeepers(sched())).toEqual(RANKING_1000_1_TO_7);
    expect(rankKeepers(sched())).not.toBe(rankKeepers(sched()));
    // Same ranking for the address in any case (the cache key is case-insensitive, like the hash).
    const s = sched();
    expect(rankKeepers({ ...s, pid: s.pid.toUpperCase().replace('0X', '0x') as typeof s.pid })).toEqual(
      RANKING_1000_1_TO_7,
    );
  });

  it('orders keepers by h_k ascending (known answer)', () => {
    expect(rankKeepers(sched())).toEqual(RANKING_1000_1_TO_7);
  });

  it('orders by the hash as uint256 and does not depend on input order', () => {
    const ranking = rankKeepers(sched({ keepers: [7, 3, 1, 6, 2, 5, 4] }));
    expect(ranking).toEqual(RANKING_1000_1_TO_7);
    const hashes = ranking.map((k) => hexToBigInt(keeperRankHash(user, pid, 1000n, k)));
    for (let i = 1; i < hashes.length; i++) expect(hashes[i - 1]! < hashes[i]!).toBe(true);
  });

  it('depends on user and pid, not only on ts (SPEC 5 [change])', () => {
    const other = rankKeepers(sched({ pid: '0x3333333333333333333333333333333333333333' }));
    expect(other).not.toEqual(RANKING_1000_1_TO_7);
  });

  it.each([
    ['an empty group', { keepers: [] }, 'SCHEDULE_INVALID_KEEPERS'],
    ['a duplicate id', { keepers: [1, 2, 1] }, 'SCHEDULE_INVALID_KEEPERS'],
    ['a negative id', { keepers: [-1] }, 'SCHEDULE_INVALID_KEEPERS'],
    ['an id beyond uint32', { keepers: [2 ** 32] }, 'SCHEDULE_INVALID_KEEPERS'],
    ['a fractional id', { keepers: [1.5] }, 'SCHEDULE_INVALID_KEEPERS'],
    ['a bad user', { user: '0x1234' as Address }, 'SCHEDULE_INVALID_INPUT'],
    ['a bad pid', { pid: 'nope' as Address }, 'SCHEDULE_INVALID_INPUT'],
    ['a negative ts', { ts: -1n }, 'SCHEDULE_INVALID_INPUT'],
    ['ts beyond uint64', { ts: 1n << 64n }, 'SCHEDULE_INVALID_INPUT'],
  ])('rejects %s', (_name, over, code) => {
    expectCode(() => rankKeepers(sched(over as Partial<ScheduleInput>)), code);
  });
});

describe('leaderAt', () => {
  const s = sched();

  it('has no leader while te < ts + H', () => {
    expect(leaderAt(s, 1000n)).toBeNull();
    expect(leaderAt(s, 1499n)).toBeNull();
  });

  it('gives position 1 from ts + H, with nobody excluded', () => {
    expect(leaderAt(s, 1500n)).toEqual({
      position: 1,
      keeperId: 5,
      excluded: [],
      cycle: 0n,
      start: 1500n,
      end: 1510n,
    });
    expect(leaderAt(s, 1509n)?.position).toBe(1);
  });

  it('moves one position per window and excludes the positions ahead', () => {
    expect(leaderAt(s, 1510n)).toEqual({
      position: 2,
      keeperId: 1,
      excluded: [5],
      cycle: 0n,
      start: 1510n,
      end: 1520n,
    });
    expect(leaderAt(s, 1569n)).toEqual({
      position: 7,
      keeperId: 6,
      excluded: [5, 1, 4, 3, 7, 2],
      cycle: 0n,
      start: 1560n,
      end: 1570n,
    });
  });

  it('repeats the cycle after position n; exclusion is of the current cycle only', () => {
    expect(leaderAt(s, 1570n)).toEqual({
      position: 1,
      keeperId: 5,
      excluded: [],
      cycle: 1n,
      start: 1570n,
      end: 1580n,
    });
    expect(leaderAt(s, 1585n)).toMatchObject({ position: 2, keeperId: 1, excluded: [5], cycle: 1n });
  });

  it('works with H = 0 and T = 1', () => {
    const t = sched({ H: 0n, T: 1n, keepers: [1, 2] });
    const first = leaderAt(t, 1000n)!;
    const second = leaderAt(t, 1001n)!;
    expect([first.keeperId, second.keeperId].sort()).toEqual([1, 2]);
    expect(leaderAt(t, 1002n)!.keeperId).toBe(first.keeperId);
  });

  it('rejects a bad te, T = 0 and a negative H', () => {
    expectCode(() => leaderAt(s, -1n), 'SCHEDULE_INVALID_INPUT');
    expectCode(() => leaderAt(sched({ T: 0n }), 2000n), 'SCHEDULE_INVALID_INPUT');
    expectCode(() => leaderAt(sched({ H: -1n }), 2000n), 'SCHEDULE_INVALID_INPUT');
  });
});

describe('windowOf', () => {
  const s = sched();

  it('is [ts + H + (cycle*n + position-1)*T, +T)', () => {
    expect(windowOf(s, 1)).toEqual({ start: 1500n, end: 1510n });
    expect(windowOf(s, 7, 0n)).toEqual({ start: 1560n, end: 1570n });
    expect(windowOf(s, 3, 2n)).toEqual({ start: 1500n + (14n + 2n) * 10n, end: 1500n + (14n + 3n) * 10n });
  });

  it('rejects a position outside 1..n and a negative cycle', () => {
    expectCode(() => windowOf(s, 0), 'SCHEDULE_INVALID_POSITION');
    expectCode(() => windowOf(s, 8), 'SCHEDULE_INVALID_POSITION');
    expectCode(() => windowOf(s, 1.5), 'SCHEDULE_INVALID_POSITION');
    expectCode(() => windowOf(s, 1, -1n), 'SCHEDULE_INVALID_INPUT');
  });
});

describe('nextWindowFor', () => {
  const s = sched();

  it('gives the first window before the schedule starts', () => {
    expect(nextWindowFor(s, 4, 0n)).toEqual({ position: 3, cycle: 0n, start: 1520n, end: 1530n });
  });

  it('gives the current window while the keeper leads', () => {
    expect(nextWindowFor(s, 4, 1520n)).toEqual({ position: 3, cycle: 0n, start: 1520n, end: 1530n });
    expect(nextWindowFor(s, 4, 1529n)).toEqual({ position: 3, cycle: 0n, start: 1520n, end: 1530n });
  });

  it('gives the next cycle once the window has passed', () => {
    expect(nextWindowFor(s, 4, 1530n)).toEqual({ position: 3, cycle: 1n, start: 1590n, end: 1600n });
    expect(nextWindowFor(s, 4, 1600n)).toEqual({ position: 3, cycle: 2n, start: 1660n, end: 1670n });
  });

  it('rejects a keeper outside the group and a bad block', () => {
    expectCode(() => nextWindowFor(s, 99, 0n), 'SCHEDULE_UNKNOWN_KEEPER');
    expectCode(() => nextWindowFor(s, 1, -1n), 'SCHEDULE_INVALID_INPUT');
  });
});

describe('schedule properties', () => {
  const input = fc.record({
    user: fc.constant(user),
    pid: fc.constant(pid),
    ts: fc.bigInt(0n, 1_000_000n),
    keepers: fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 9 }),
    H: fc.bigInt(0n, 1000n),
    T: fc.bigInt(1n, 50n),
  });

  it('has exactly one leader for every te >= ts + H, whose window contains te', () => {
    fc.assert(
      fc.property(input, fc.bigInt(0n, 5000n), (s, offset) => {
        const te = s.ts + s.H + offset;
        const slot = leaderAt(s, te)!;
        const ranking = rankKeepers(s);
        expect(slot).not.toBeNull();
        expect(te >= slot.start && te < slot.end).toBe(true);
        expect(slot.keeperId).toBe(ranking[slot.position - 1]);
        expect(slot.excluded).toEqual(ranking.slice(0, slot.position - 1));
        expect(windowOf(s, slot.position, slot.cycle)).toEqual({ start: slot.start, end: slot.end });
        // Exactly one: every other keeper's current-or-next window does not contain te.
        for (const k of s.keepers) {
          const w = nextWindowFor(s, k, te);
          expect(te >= w.start && te < w.end).toBe(k === slot.keeperId);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives every keeper exactly one window per cycle, and the windows tile without gaps or overlap', () => {
    fc.assert(
      fc.property(input, fc.bigInt(0n, 20n), (s, cycle) => {
        const n = BigInt(s.keepers.length);
        const ranking = rankKeepers(s);
        expect([...ranking].sort((a, b) => a - b)).toEqual([...s.keepers].sort((a, b) => a - b));
        let cursor = s.ts + s.H + cycle * n * s.T;
        for (let position = 1; position <= s.keepers.length; position++) {
          const w = windowOf(s, position, cycle);
          expect(w.start).toBe(cursor);
          expect(w.end - w.start).toBe(s.T);
          cursor = w.end;
        }
        expect(cursor).toBe(s.ts + s.H + (cycle + 1n) * n * s.T);
      }),
      { numRuns: 60 },
    );
  });

  it('nextWindowFor returns the earliest window of the keeper not yet over', () => {
    fc.assert(
      fc.property(input, fc.nat(), fc.bigInt(0n, 5000n), (s, pick, from) => {
        const k = s.keepers[pick % s.keepers.length]!;
        const w = nextWindowFor(s, k, from + s.ts);
        expect(w.end > from + s.ts).toBe(true);
        if (w.cycle > 0n) expect(windowOf(s, w.position, w.cycle - 1n).end <= from + s.ts).toBe(true);
        const lead = leaderAt(s, w.start);
        expect(lead?.keeperId).toBe(k);
      }),
      { numRuns: 60 },
    );
  });
});
