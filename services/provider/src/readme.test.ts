import { readFileSync } from 'node:fs';
import { describeConfig, markdownTableCells, readmeConfigTable } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { configShape, PREFIX } from './config.js';

describe('README', () => {
  it('documents exactly the config schema (generated table between the markers)', () => {
    const table = readmeConfigTable(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    expect(table).toBeDefined();
    expect(markdownTableCells(table!)).toEqual(markdownTableCells(describeConfig(configShape, PREFIX)));
  });
});
