import { readFileSync } from 'node:fs';
import { ConfigError, describeConfig, markdownTableCells, readmeConfigTable } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { mergeMaxPerBlock } from './calculator.js';
import { CONFIG_PREFIX, configShape, loadConfig } from './config.js';

describe('config', () => {
  it('parses the environment with defaults', () => {
    const cfg = loadConfig({ ST_CALCULATOR_KEEPER_ID: '4', ST_CALCULATOR_DATABASE_URL: 'postgres://x/y' });
    expect(cfg).toMatchObject({
      keeperId: 4,
      engine: 'sql',
      maxStaleness: 1000n,
      groupKeepers: [],
      grpcPort: 9090,
    });
    expect(
      loadConfig({
        ST_CALCULATOR_KEEPER_ID: '4',
        ST_CALCULATOR_DATABASE_URL: 'postgres://x/y',
        ST_CALCULATOR_ENGINE: 'core',
        ST_CALCULATOR_MAX_STALENESS: '9223372036854775807',
        ST_CALCULATOR_GROUP_KEEPERS: '1,2,2,3',
      }),
    ).toMatchObject({ engine: 'core', maxStaleness: 9223372036854775807n, groupKeepers: [1, 2, 3] });
  });

  it('holds the concurrent queries within the database pool', () => {
    const base = { ST_CALCULATOR_KEEPER_ID: '1', ST_CALCULATOR_DATABASE_URL: 'postgres://x/y' };
    expect(loadConfig(base)).toMatchObject({ maxConcurrent: 10, maxConcurrentPerClient: 5, dbPoolSize: 10 });
    expect(loadConfig({ ...base, ST_CALCULATOR_DB_POOL_SIZE: '4' })).toMatchObject({
      maxConcurrent: 4,
      maxConcurrentPerClient: 2,
    });
    expect(() => loadConfig({ ...base, ST_CALCULATOR_MAX_CONCURRENT: '11' })).toThrow(
      expect.objectContaining({ details: { problems: ['maxConcurrent'] } }),
    );
    expect(
      loadConfig({ ...base, ST_CALCULATOR_MAX_CONCURRENT: '20', ST_CALCULATOR_DB_POOL_SIZE: '20' })
        .maxConcurrent,
    ).toBe(20);
  });

  it('rejects bad values and names the variables', () => {
    for (const [k, v] of [
      ['MAX_STALENESS', '0'],
      ['MAX_STALENESS', '9223372036854775808'],
      ['MAX_STALENESS', '-1'],
      ['ENGINE', 'js'],
      ['GROUP_KEEPERS', '1,x'],
    ] as const) {
      expect(() =>
        loadConfig({
          ST_CALCULATOR_KEEPER_ID: '1',
          ST_CALCULATOR_DATABASE_URL: 'p://x',
          [`ST_CALCULATOR_${k}`]: v,
        }),
      ).toThrow(ConfigError);
    }
    expect(() => loadConfig({ ST_CALCULATOR_KEEPER_ID: '1' })).toThrow(/ST_CALCULATOR_DATABASE_URL/);
  });

  it('README carries exactly the generated config table', () => {
    const table = readmeConfigTable(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    expect(table).toBeDefined();
    expect(markdownTableCells(table!)).toEqual(
      markdownTableCells(describeConfig(configShape, CONFIG_PREFIX)),
    );
  });
});

describe('mergeMaxPerBlock', () => {
  it('keeps the largest space of a block and sorts', () => {
    expect(
      mergeMaxPerBlock([
        { block: 5n, space: 1n },
        { block: 2n, space: 0n },
        { block: 5n, space: 9n },
        { block: 5n, space: 3n },
      ]),
    ).toEqual([
      { block: 2n, space: 0n },
      { block: 5n, space: 9n },
    ]);
  });
});
