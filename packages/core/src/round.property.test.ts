import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approveThreshold } from './index.js';
import { listAdapter } from './testing/list-adapter.js';
import { playScript, type StepResult } from './testing/round-script.js';
import { roundScript } from './testing/round-script-arb.js';

/**
 * Safety of the one reducer over fresh random event sequences (the generator
 * that produced the golden k = 1 fixture, new seeds each run): whatever
 * members send and whenever timeouts fire, it submits at most once, only with
 * enough distinct signers, and says nothing after it has submitted or failed.
 */
describe('the one round reducer, over random event sequences', () => {
  it('submits at most once, with at least the threshold of distinct signers, and is silent after it ends', () => {
    fc.assert(
      fc.property(roundScript, (script) => {
        const played = playScript(listAdapter, script);
        // A step the reducer refuses is a typed error (a code), never a crash of the script.
        for (const r of played) if ('error' in r) expect(r.error).toMatch(/^[A-Z][A-Z0-9_]+$/);
        const results = played.filter((r): r is StepResult => 'decisions' in r);
        const decisions = results.flatMap((r) => r.decisions);
        const submits = decisions.filter((d) => d.type === 'submit');
        expect(submits.length).toBeLessThanOrEqual(1);
        const needed = script.threshold ?? approveThreshold(script.members.length);
        for (const s of submits) {
          expect(new Set(s.signers).size).toBe(s.signers.length);
          expect(s.signers.length).toBeGreaterThanOrEqual(needed);
          expect(s.signatures).toHaveLength(s.signers.length);
        }
        const end = results.findIndex((r) =>
          r.decisions.some((d) => d.type === 'submit' || d.type === 'failed'),
        );
        if (end >= 0)
          for (const r of results.slice(end + 1))
            expect(r.decisions.filter((d) => d.type !== 'rejected')).toEqual([]);
        // Playing the same events again decides the same (a replica resuming from Redis relies on it).
        expect(playScript(listAdapter, script)).toEqual(played);
      }),
      { numRuns: 300 },
    );
  });
});
