import fc from 'fast-check';
import { type Address, concatHex, hexToBigInt, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { CadenceSchedule, cadencePhase, isDue, isDueAtPhase, lastDueBefore } from './cadence.js';
import { ChallengeInputError } from './errors.js';

const addr = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as Address);

describe('challenge cadence', () => {
  it('matches the documented formula', () => {
    const user = '0x1111111111111111111111111111111111111111';
    const pid = '0x2222222222222222222222222222222222222222';
    const h = hexToBigInt(keccak256(concatHex([user, pid])));
    for (const k of [1, 2, 7, 10, 1000]) {
      for (let b = 0; b < 30; b++) expect(isDue(user, pid, b, k)).toBe((h + BigInt(b)) % BigInt(k) === 0n);
    }
    // case of the hex does not matter
    expect(cadencePhase(user, pid.toUpperCase().replace('0X', '0x') as Address, 7)).toBe(
      cadencePhase(user, pid, 7),
    );
  });

  it('each pair exactly once in any K consecutive blocks', () => {
    fc.assert(
      fc.property(
        addr,
        addr,
        fc.integer({ min: 1, max: 50 }),
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        (u, p, k, start) => {
          let n = 0;
          let at = -1n;
          for (let i = 0n; i < BigInt(k); i++) {
            if (isDue(u, p, start + i, k)) {
              n++;
              at = start + i;
            }
          }
          expect(n).toBe(1);
          // and again exactly K blocks later
          expect(isDue(u, p, at + BigInt(k), k)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spreads pairs evenly over the phases; the memoised schedule agrees', () => {
    const k = 10;
    const s = new CadenceSchedule(k, 500);
    const perBlock = new Array<number>(k).fill(0);
    for (let i = 0; i < 2000; i++) {
      const u = `0x${(i + 1).toString(16).padStart(40, '0')}` as Address;
      const p = `0x${(7 * i + 3).toString(16).padStart(40, 'a')}` as Address;
      for (let b = 100; b < 100 + k; b++) {
        const due = s.due(u, p, BigInt(b));
        expect(due).toBe(isDue(u, p, b, k));
        if (due) perBlock[b - 100]!++;
      }
    }
    expect(perBlock.reduce((a, b) => a + b, 0)).toBe(2000);
    for (const n of perBlock) expect(Math.abs(n - 200)).toBeLessThan(60);
  });

  it('lastDueBefore is the last due block before te: due there, and at no block after it below te', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        fc.bigInt({ min: 1n, max: 1n << 40n }),
        (k, phaseSeed, te) => {
          const phase = phaseSeed % k;
          const b = lastDueBefore(phase, te, k);
          expect(b < te).toBe(true);
          expect(te - b <= BigInt(k)).toBe(true);
          expect(isDueAtPhase(phase, b, k)).toBe(true);
          for (let x = b + 1n; x < te; x++) expect(isDueAtPhase(phase, x, k)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
    expect(lastDueBefore(0, 100n, 1)).toBe(99n);
    // The memoised schedule gives the same block from the pair's phase.
    const u = '0x1111111111111111111111111111111111111111' as Address;
    const p = '0x2222222222222222222222222222222222222222' as Address;
    const s = new CadenceSchedule(50);
    for (const te of [1n, 49n, 50n, 1234n])
      expect(s.lastDueBefore(u, p, te)).toBe(lastDueBefore(cadencePhase(u, p, 50), te, 50));
    expect(new CadenceSchedule(1).lastDueBefore(u, p, 100n)).toBe(99n);
  });

  it('refuses bad input', () => {
    expect(() => isDue('0x12' as Address, '0x2222222222222222222222222222222222222222', 1, 2)).toThrow(
      ChallengeInputError,
    );
    expect(() => new CadenceSchedule(0)).toThrow(ChallengeInputError);
    expect(() => new CadenceSchedule(1.5)).toThrow(ChallengeInputError);
  });
});
