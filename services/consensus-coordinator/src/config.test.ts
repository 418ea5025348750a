import { ConfigError } from '@whitepay/base';
import { describe, expect, it } from 'vitest';
import { loadConfig, namespaceOf, queuePrefixOf, redisPrefixOf } from './config.js';
import { applyDelayFault, applyStFault, formatFault, parseFault } from './faults.js';

const base = {
  CONSENSUS_COORDINATOR_KEEPER_ID: '4',
  CONSENSUS_COORDINATOR_RPC_URL: 'http://127.0.0.1:8545',
  CONSENSUS_COORDINATOR_PRIVATE_KEY: `0x${'01'.repeat(32)}`,
  CONSENSUS_COORDINATOR_BLS_SECRET_KEY: `0x${'02'.repeat(32)}`,
  CONSENSUS_COORDINATOR_ST_CALCULATOR_URL: '127.0.0.1:7200',
};

describe('coordinator config', () => {
  it('parses peers, defaults namespaces and prefixes', () => {
    const cfg = loadConfig({ ...base, CONSENSUS_COORDINATOR_PEERS: '101=10.0.0.1:7300, 102=k2:7300' });
    expect(cfg.peers).toEqual({ 101: '10.0.0.1:7300', 102: 'k2:7300' });
    expect(namespaceOf(cfg)).toBe('k4');
    expect(redisPrefixOf(cfg)).toBe('whitepay:k4:coord');
    expect(queuePrefixOf(cfg)).toBe('whitepay:k4:bull');
    expect(cfg.fault).toBe('none');
    expect(cfg.tolBps).toBe(100);
  });
  it('rejects bad peers, keys and faults', () => {
    expect(() => loadConfig({ ...base, CONSENSUS_COORDINATOR_PEERS: 'x=host:1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, CONSENSUS_COORDINATOR_PRIVATE_KEY: '0x12' })).toThrow(/PRIVATE_KEY/);
    expect(() => loadConfig({ ...base, CONSENSUS_COORDINATOR_FAULT: 'lie' })).toThrow(/FAULT/);
    expect(() => loadConfig({ ...base, CONSENSUS_COORDINATOR_UPKEEPINGS: '0x1' })).toThrow(/UPKEEPINGS/);
  });
  it('applies test-only faults exactly', () => {
    expect(applyStFault(parseFault('lie-st:2.5'), 1000n)).toBe(2500n);
    expect(applyStFault(parseFault('lie-st:0.001'), 1_000_000n)).toBe(1000n);
    expect(applyStFault(parseFault('garbage-sig'), 7n)).toBe(7n);
    expect(formatFault(parseFault('lie-st:2.50'))).toBe('lie-st:2.50');
    expect(formatFault(parseFault('lie-st:3'))).toBe('lie-st:3');
    expect(() => parseFault('lie-st:x')).toThrow(/unknown fault/);
    expect(parseFault('slow:6500')).toEqual({ kind: 'slow', ms: 6500 });
    expect(formatFault(parseFault('slow:6500'))).toBe('slow:6500');
    expect(applyStFault(parseFault('slow:10'), 7n)).toBe(7n);
    expect(() => parseFault('slow:600001')).toThrow(/unknown fault/);
    expect(() => parseFault('slow:-1')).toThrow(/unknown fault/);
  });
  it('slow:<ms> delays by that long; other faults do not delay', async () => {
    const t0 = performance.now();
    await applyDelayFault(parseFault('none'));
    await applyDelayFault(parseFault('lie-st:2'));
    const fast = performance.now() - t0;
    await applyDelayFault(parseFault('slow:50'));
    expect(performance.now() - t0 - fast).toBeGreaterThanOrEqual(45);
  });
});
