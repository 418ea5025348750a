import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  common,
  describeConfig,
  envName,
  parseConfig,
  redactConfig,
  secret,
  unknownVariables,
} from './index.js';

const shape = {
  natsUrl: z.string().url().describe('NATS server URL'),
  batchSize: z.coerce.number().int().positive().default(500).describe('rows per insert'),
  dbPassword: secret(z.string(), 'database password'),
  logLevel: common.logLevel,
};

describe('config', () => {
  it('maps camelCase keys to prefixed env names', () => {
    expect(envName('CHALLENGER', 'natsUrl')).toBe('CHALLENGER_NATS_URL');
  });
  it('parses, coerces and defaults', () => {
    const cfg = parseConfig(shape, 'X', { X_NATS_URL: 'nats://127.0.0.1:4222', X_DB_PASSWORD: 'pw' });
    expect(cfg).toEqual({
      natsUrl: 'nats://127.0.0.1:4222',
      batchSize: 500,
      dbPassword: 'pw',
      logLevel: 'info',
    });
  });
  it('names every bad variable in one typed error', () => {
    try {
      parseConfig(shape, 'X', { X_NATS_URL: 'nope', X_BATCH_SIZE: '-1' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain('X_NATS_URL');
      expect(e.message).toContain('X_BATCH_SIZE');
      expect(e.message).toContain('X_DB_PASSWORD');
    }
  });
  it('redacts secrets and documents every variable', () => {
    expect(redactConfig(shape, { natsUrl: 'u', dbPassword: 'pw' })).toEqual({
      natsUrl: 'u',
      dbPassword: '[redacted]',
    });
    const doc = describeConfig(shape, 'X');
    expect(doc).toContain('| `X_DB_PASSWORD` | yes |  | yes (or `_FILE`) | database password |');
    expect(doc).toContain('| `X_BATCH_SIZE` | no | `500` |  | rows per insert |');
  });
  it('refuses a variable with its prefix that the shape does not read, naming the closest known one', () => {
    const env = {
      X_NATS_URL: 'nats://127.0.0.1:4222',
      X_DB_PASSWORD: 'pw',
      X_BATCH_SIZ: '10',
      X_ACCOUNT_KEY: '0x00',
      XY_OTHER: 'not ours',
      OTHER_NATS_URL: 'not ours',
    };
    expect(unknownVariables(shape, 'X', env)).toEqual([
      { name: 'X_ACCOUNT_KEY', closest: expect.any(String) },
      { name: 'X_BATCH_SIZ', closest: 'X_BATCH_SIZE' },
    ]);
    try {
      parseConfig(shape, 'X', env);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.details.problems).toContain('X_BATCH_SIZ: unknown variable (did you mean X_BATCH_SIZE?)');
      expect(e.message).toContain('X_ACCOUNT_KEY: unknown variable');
      expect(e.message).not.toContain('XY_OTHER');
    }
  });
  it('reports unknown and invalid variables together', () => {
    expect(() =>
      parseConfig(shape, 'X', { X_NATS_URL: 'nope', X_LOG_LEVL: 'debug', X_DB_PASSWORD: 'p' }),
    ).toThrow(/X_LOG_LEVL: unknown variable \(did you mean X_LOG_LEVEL\?\).*X_NATS_URL/);
  });

  it('reads a secret from the file its _FILE variable names (a mounted Secret), one of the two only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'db-password');
    writeFileSync(file, 's3cret-from-file\n');
    const fromFile = parseConfig(shape, 'X', { X_NATS_URL: 'nats://h:4222', X_DB_PASSWORD_FILE: file });
    expect(fromFile.dbPassword).toBe('s3cret-from-file');
    expect(() =>
      parseConfig(shape, 'X', { X_NATS_URL: 'nats://h:4222', X_DB_PASSWORD: 'a', X_DB_PASSWORD_FILE: file }),
    ).toThrow(/X_DB_PASSWORD: set either X_DB_PASSWORD or X_DB_PASSWORD_FILE, not both/);
    expect(() =>
      parseConfig(shape, 'X', { X_NATS_URL: 'nats://h:4222', X_DB_PASSWORD_FILE: join(dir, 'missing') }),
    ).toThrow(/X_DB_PASSWORD_FILE: cannot read .*missing \(ENOENT\)/);
    // Only secrets have a _FILE form.
    expect(() =>
      parseConfig(shape, 'X', { X_NATS_URL: 'nats://h:4222', X_DB_PASSWORD: 'a', X_BATCH_SIZE_FILE: file }),
    ).toThrow(/X_BATCH_SIZE_FILE: unknown variable/);
    expect(describeConfig(shape, 'X')).toContain('| `X_DB_PASSWORD` | yes |  | yes (or `_FILE`) |');
  });
  it('parses CORS origins: a list, null for file:// pages, * for any; nothing by default', () => {
    const cors = { corsOrigins: common.corsOrigins };
    expect(parseConfig(cors, 'X', {}).corsOrigins).toEqual([]);
    expect(parseConfig(cors, 'X', { X_CORS_ORIGINS: 'https://dash.example.org,null' }).corsOrigins).toEqual([
      'https://dash.example.org',
      'null',
    ]);
    expect(parseConfig(cors, 'X', { X_CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    expect(() => parseConfig(cors, 'X', { X_CORS_ORIGINS: 'dash.example.org' })).toThrow(/X_CORS_ORIGINS/);
  });
});
