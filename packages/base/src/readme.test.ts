import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serviceConfigSchema } from './config.js';
import { describeConfig, markdownTableCells, PIECE_PREFIX, readmeConfigTable } from './index.js';

describe('README', () => {
  it('documents exactly the config piece (generated table between the markers)', () => {
    const table = readmeConfigTable(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    expect(table).toBeDefined();
    expect(markdownTableCells(table!)).toEqual(
      markdownTableCells(describeConfig(serviceConfigSchema, PIECE_PREFIX)),
    );
  });
});
