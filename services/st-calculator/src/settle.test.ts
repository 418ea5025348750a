import { describe, expect, it } from 'vitest';
import { settleBudget } from './calculator.js';

describe('settleBudget', () => {
  const now = 1_000_000;
  it('is the configured wait without a deadline', () => {
    expect(settleBudget(2000, undefined, now)).toEqual({ ms: 2000, bound: 'wait' });
  });
  it('is the configured wait when half the deadline leaves more', () => {
    expect(settleBudget(2000, new Date(now + 10_000), now)).toEqual({ ms: 2000, bound: 'wait' });
    expect(settleBudget(2000, new Date(now + 4000), now)).toEqual({ ms: 2000, bound: 'wait' });
  });
  it("is half of what the caller's deadline leaves when that is less", () => {
    expect(settleBudget(2000, new Date(now + 3000), now)).toEqual({ ms: 1500, bound: 'deadline' });
    expect(settleBudget(2000, new Date(now + 1), now)).toEqual({ ms: 0, bound: 'deadline' });
  });
  it('is nothing once the deadline has passed', () => {
    expect(settleBudget(2000, new Date(now - 500), now)).toEqual({ ms: 0, bound: 'deadline' });
  });
});
