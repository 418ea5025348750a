import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listAdapter } from './testing/list-adapter.js';
import { playScript, type RoundScript } from './testing/round-script.js';
import { faultTolerance } from './tolerance.js';

/**
 * The regression of the one payment path: `generated/round-k1.golden.json`
 * holds the decisions of the single-entry reducer that `round.ts` held
 * before issue 15 (fast-check seed 15, 200 random event sequences), and the
 * list reducer over one entry must make every one of them again — except the
 * cases whose threshold is below f+1, which a round now refuses to start
 * (SPEC 8 holds a threshold within [f+1, n]; the old reducer took 1..n).
 */
const golden = JSON.parse(
  readFileSync(new URL('./testing/generated/round-k1.golden.json', import.meta.url), 'utf8'),
) as { cases: Array<{ script: RoundScript; decisions: unknown[] }> };

describe('the list reducer at k = 1 replays the single round’s decisions', () => {
  it('holds enough cases to mean something', () => {
    expect(golden.cases.length).toBe(200);
    const types = new Set(
      golden.cases.flatMap((c) =>
        c.decisions.flatMap((d) =>
          'decisions' in (d as object)
            ? (d as { decisions: Array<{ type: string }> }).decisions.map((x) => x.type)
            : [],
        ),
      ),
    );
    expect([...types].sort()).toEqual(['broadcast', 'failed', 'full_sync', 'rejected', 'submit']);
  });

  const belowF1 = (s: RoundScript) =>
    s.threshold !== undefined && s.threshold < faultTolerance(s.members.length) + 1;
  const kept = golden.cases.map((c, i) => [i, c] as const).filter(([, c]) => !belowF1(c.script));
  const refused = golden.cases.map((c, i) => [i, c] as const).filter(([, c]) => belowF1(c.script));

  it('most cases have a threshold a round still takes', () => {
    expect(kept.length).toBeGreaterThanOrEqual(180);
    expect(kept.length + refused.length).toBe(200);
  });

  it.each(kept)('case %i', (_i, c) => {
    expect(playScript(listAdapter, c.script)).toEqual(c.decisions);
  });

  it.each(refused)('case %i (threshold below f+1): refused at creation', (_i, c) => {
    expect(playScript(listAdapter, c.script)).toEqual([{ error: 'ROUND_INVALID_CONFIG' }]);
  });
});
