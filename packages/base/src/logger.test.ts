import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createLogger,
  type DestinationStream,
  redactConfig,
  redactUrlCredentials,
  scrubLine,
  secret,
  secretKeys,
  serviceLogger,
} from './index.js';

const shape = {
  natsUrl: z.string().describe('NATS URL'),
  privateKey: secret(z.string(), 'account key'),
  adminToken: secret(z.string().optional(), 'admin token'),
  logLevel: z.string().default('info'),
};

function capture(): { destination: DestinationStream; out: () => string } {
  const lines: string[] = [];
  return { destination: { write: (s: string) => void lines.push(s) }, out: () => lines.join('') };
}

describe('redactUrlCredentials', () => {
  it.each([
    ['redis://default:pw@redis:6379/0', 'redis://[redacted]@redis:6379/0'],
    ['rediss://:pw@redis:6380', 'rediss://[redacted]@redis:6380'],
    ['postgres://wp:p%40ss@pg:5432/wp?sslmode=require', 'postgres://[redacted]@pg:5432/wp?sslmode=require'],
    ['postgresql://wp:p@ss@pg/wp', 'postgresql://[redacted]@pg/wp'],
    ['nats://token@nats:4222', 'nats://[redacted]@nats:4222'],
    [
      'https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef',
      'https://mainnet.infura.io/v3/[redacted]',
    ],
    [
      'https://eth-mainnet.g.alchemy.com/v2/Ab3_dEf-GhIjKlMnOpQrStUv',
      'https://eth-mainnet.g.alchemy.com/v2/[redacted]',
    ],
    ['https://rpc.example/?apikey=K3Y&chain=1', 'https://rpc.example/?apikey=[redacted]&chain=1'],
    ['wss://rpc.example/ws?token=abc', 'wss://rpc.example/ws?token=[redacted]'],
  ])('%s', (input, expected) => {
    expect(redactUrlCredentials(input)).toBe(expected);
    expect(redactUrlCredentials(`{"msg":"cannot connect to ${input}: refused"}`)).toBe(
      `{"msg":"cannot connect to ${expected}: refused"}`,
    );
  });
  it('leaves URLs without credentials, routes and hashes alone', () => {
    for (const s of [
      'nats://127.0.0.1:4222',
      'http://127.0.0.1:8545',
      'https://rpc.example/v1/upkeepings/0x5FbDB2315678afecb367f032d93F642f64180aa3',
      'GET /v1/rounds?limit=10',
      'mail user@example.com',
    ])
      expect(redactUrlCredentials(s)).toBe(s);
  });
});

describe('secret markers drive redaction', () => {
  it('lists the secret keys of a shape', () => {
    expect(secretKeys(shape)).toEqual(['privateKey', 'adminToken']);
  });
  it('redactConfig hides secrets and URL credentials', () => {
    expect(redactConfig(shape, { natsUrl: 'nats://u:p@n:4222', privateKey: '0xkey' })).toEqual({
      natsUrl: 'nats://[redacted]@n:4222',
      privateKey: '[redacted]',
    });
  });
  it('serviceLogger censors secret fields and secret values anywhere in a line', () => {
    const key = `0x${'ab'.repeat(32)}`;
    const config = {
      natsUrl: 'nats://u:natspass@n:4222',
      privateKey: key,
      adminToken: 'token-0123456789',
      logLevel: 'info',
    };
    const { destination, out } = capture();
    const log = serviceLogger({ service: 'svc', shape, config, base: { keeperId: 1 } }, destination);
    log.info({ config }, 'raw');
    log.info({ deep: { privateKey: key } }, 'nested');
    log.warn(`the key is ${key.slice(2)} and the token ${config.adminToken}`);
    log.error({ err: new Error(`connect ${config.natsUrl} failed`) }, 'failed');
    const text = out();
    expect(text).not.toContain(key.slice(2));
    expect(text).not.toContain('token-0123456789');
    expect(text).not.toContain('natspass');
    expect(text).toContain('nats://[redacted]@n:4222');
    expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({ service: 'svc', keeperId: 1, msg: 'raw' });
  });
  it('writes one msg per line: a msg field of the logged object becomes reason', () => {
    const { destination, out } = capture();
    const log = createLogger({ service: 'svc' }, destination);
    log.warn({ code: 'X', msg: 'the cause' }, 'record rejected');
    const line = out().split('\n')[0]!;
    expect(line.match(/"msg":/g)).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ msg: 'record rejected', reason: 'the cause', code: 'X' });
  });

  it('scrubLine leaves short values to the path redaction', () => {
    expect(scrubLine('id 1234 and secret-value', ['1234', 'secret-value'])).toBe('id 1234 and [redacted]');
  });
});
