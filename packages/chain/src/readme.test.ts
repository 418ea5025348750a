import { readFileSync } from 'node:fs';
import { describeConfig, markdownTableCells, PIECE_PREFIX, readmeConfigTable } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { chainConfigSchema } from './index.js';

describe('README', () => {
  it('documents exactly the config piece (generated table between the markers)', () => {
    const table = readmeConfigTable(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    expect(table).toBeDefined();
    expect(markdownTableCells(table!)).toEqual(
      markdownTableCells(describeConfig(chainConfigSchema, PIECE_PREFIX)),
    );
  });
});
