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
    expect(doc).toContain('| `X_DB_PASSWORD` | yes |  | yes | database password |');
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
});
