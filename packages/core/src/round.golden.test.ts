import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listAdapter } from './testing/list-adapter.js';
import { playScript, type RoundScript } from './testing/round-script.js';

/**
 * The regression of the one payment path: `generated/round-k1.golden.json`
 * holds the decisions of the single-entry reducer that `round.ts` held
 * before issue 15 (fast-check seed 15, 200 random event sequences), and the
 * list reducer over one entry must make every one of them again.
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

  it.each(golden.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    expect(playScript(listAdapter, c.script)).toEqual(c.decisions);
  });
});
