import { readFileSync } from 'node:fs';
import { ConfigError, describeConfig, markdownTableCells, readmeConfigTable } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_PREFIX,
  configShape,
  loadConfig,
  namespaceOf,
  queuePrefixOf,
  redisPrefixOf,
} from './config.js';

const KEY = `0x${'11'.repeat(32)}`;

describe('config', () => {
  it('parses the environment with defaults', () => {
    const cfg = loadConfig({
      CHAIN_SUBMITTER_KEEPER_ID: '3',
      CHAIN_SUBMITTER_RPC_URL: 'http://127.0.0.1:8545',
      CHAIN_SUBMITTER_PRIVATE_KEY: KEY,
    });
    expect(cfg).toMatchObject({ keeperId: 3, confirmations: 2, feeBumpBps: 1250, readOpen: true });
    expect(namespaceOf(cfg)).toBe('k3');
    expect(redisPrefixOf(cfg)).toBe('whitepay:k3:chain');
    expect(queuePrefixOf(cfg)).toBe('whitepay:k3:bull');
  });

  it('rejects a bad key and names the variable', () => {
    expect(() =>
      loadConfig({
        CHAIN_SUBMITTER_KEEPER_ID: '3',
        CHAIN_SUBMITTER_RPC_URL: 'http://x',
        CHAIN_SUBMITTER_PRIVATE_KEY: '0x12',
      }),
    ).toThrow(ConfigError);
  });

  it('README carries exactly the generated config table', () => {
    const table = readmeConfigTable(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    expect(table).toBeDefined();
    // Cell by cell: the formatter pads markdown tables, which changes no content.
    expect(markdownTableCells(table!)).toEqual(
      markdownTableCells(describeConfig(configShape, CONFIG_PREFIX)),
    );
  });
});
