import { readFileSync } from 'node:fs';
import { describeConfig } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { configShape, PREFIX } from './config.js';

/** Cells of a markdown table, ignoring column padding (the formatter aligns tables). */
const cells = (table: string) =>
  table
    .trim()
    .split('\n')
    .map((row) =>
      row
        .split('|')
        .map((c) => c.trim())
        .map((c) => (/^-+$/.test(c) ? '---' : c)),
    );

describe('README', () => {
  it('documents exactly the config schema (generated table between the markers)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const m = readme.match(/<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/);
    expect(m).not.toBeNull();
    expect(cells(m![1]!)).toEqual(cells(describeConfig(configShape, PREFIX)));
  });
});
