import { readFileSync } from 'node:fs';
import { ConfigError, describeConfig, markdownTableCells, readmeConfigTable } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { CONFIG_PREFIX, configShape, loadConfig, namespaceOf, parsePeerKeepers } from './config.js';

describe('config', () => {
  it('parses the environment with defaults', () => {
    const cfg = loadConfig({
      CHALLENGE_STORE_KEEPER_ID: '4',
      CHALLENGE_STORE_DATABASE_URL: 'postgres://x/y',
    });
    expect(cfg).toMatchObject({
      keeperId: 4,
      batchMax: 1000,
      batchWaitMs: 5,
      migrate: true,
      consumerName: 'challenge-store',
    });
    expect(namespaceOf(cfg)).toBe('k4');
  });

  it('rejects bad values and names the variables', () => {
    expect(() =>
      loadConfig({ CHALLENGE_STORE_KEEPER_ID: 'x', CHALLENGE_STORE_PEER_KEEPERS: '1=0x12' }),
    ).toThrow(ConfigError);
  });

  it('parses the peer group', () => {
    const a = `0x${'Ab'.repeat(20)}`;
    expect(parsePeerKeepers(`1=${a},2=${a}`)).toEqual(
      new Map([
        [1, a.toLowerCase()],
        [2, a.toLowerCase()],
      ]),
    );
  });

  it('README carries exactly the generated config table', () => {
    const table = readmeConfigTable(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    expect(table).toBeDefined();
    expect(markdownTableCells(table!)).toEqual(
      markdownTableCells(describeConfig(configShape, CONFIG_PREFIX)),
    );
  });
});
