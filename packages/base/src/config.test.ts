import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, common, describeConfig, envName, parseConfig, redactConfig, secret } from './index.js';

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
});
