import { ConfigError } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = {
  CHALLENGER_KEEPER_ID: '3',
  CHALLENGER_NATS_URL: 'nats://127.0.0.1:4222',
  CHALLENGER_STORE_GRPC_URL: '127.0.0.1:7000',
  CHALLENGER_RPC_URL: 'http://127.0.0.1:8545',
};

describe('challenger config', () => {
  it('defaults the namespace from the keeper id and parses the provider map', () => {
    const cfg = loadConfig({
      ...base,
      CHALLENGER_PROVIDERS:
        ' 0xAbCdEf0000000000000000000000000000000001=10.0.0.1:7070, 0x0000000000000000000000000000000000000002=p2:7070',
    });
    expect(cfg.namespace).toBe('k3');
    expect(cfg.providers).toEqual({
      '0xabcdef0000000000000000000000000000000001': '10.0.0.1:7070',
      '0x0000000000000000000000000000000000000002': 'p2:7070',
    });
    expect(cfg.deadlineMs).toBe(2000);
    expect(cfg.leavesPerPiece).toBe(2);
    expect(cfg.challengeEvery).toBe(1);
    const any = loadConfig({ ...base, CHALLENGER_PROVIDERS: '*=mt:7070', CHALLENGER_CHALLENGE_EVERY: '10' });
    expect(any.providers).toEqual({ '*': 'mt:7070' });
    expect(any.challengeEvery).toBe(10);
    expect(() => loadConfig({ ...base, CHALLENGER_CHALLENGE_EVERY: '0' })).toThrow(/CHALLENGE_EVERY/);
  });
  it('rejects bad provider entries, a bad NATS URL and an ack wait shorter than two deadlines', () => {
    expect(() => loadConfig({ ...base, CHALLENGER_PROVIDERS: '0x12=host:1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, CHALLENGER_NATS_URL: 'not a url' })).toThrow(/CHALLENGER_NATS_URL/);
    // The NATS piece of @whitepay/bus: unset is the loopback server, as in every service.
    expect(loadConfig({ ...base, CHALLENGER_NATS_URL: '' }).natsUrl).toBe('nats://127.0.0.1:4222');
    expect(() => loadConfig({ ...base, CHALLENGER_DEADLINE_MS: '20000' })).toThrow(/ACK_WAIT_MS/);
    expect(() => loadConfig({ ...base, CHALLENGER_KEEPER_PRIVATE_KEY: '0x1234' })).toThrow(ConfigError);
  });
});
