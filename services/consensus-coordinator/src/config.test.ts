import { ConfigError } from '@whitepay/base';
import { MAX_ROUND_ENTRIES } from '@whitepay/core';
import { bytesToHex, stringToBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { loadConfig, namespaceOf, queuePrefixOf, redisPrefixOf } from './config.js';
import { faultySigner, faultySt, formatFault, parseFault } from './faults.js';
import type { PaymentSigner } from './round/driver.js';
import type { StSource } from './st.js';

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
  it('takes every fault value the grammar names at boot (slow:<ms> too), with TEST_FAULTS off by default', () => {
    for (const f of ['none', 'garbage-sig', 'lie-st:3', 'lie-st:0.997', 'slow:6500'])
      expect(loadConfig({ ...base, CONSENSUS_COORDINATOR_FAULT: f }).fault).toBe(f);
    expect(() => loadConfig({ ...base, CONSENSUS_COORDINATOR_FAULT: 'slow:600001' })).toThrow(/FAULT/);
    expect(loadConfig(base).testFaults).toBe(false);
    expect(loadConfig({ ...base, CONSENSUS_COORDINATOR_TEST_FAULTS: 'on' }).testFaults).toBe(true);
  });
  it('caps BATCH_MAX at core`s MAX_ROUND_ENTRIES', () => {
    expect(loadConfig(base).batchMax).toBe(500);
    expect(loadConfig({ ...base, CONSENSUS_COORDINATOR_BATCH_MAX: String(MAX_ROUND_ENTRIES) }).batchMax).toBe(
      MAX_ROUND_ENTRIES,
    );
    expect(() =>
      loadConfig({ ...base, CONSENSUS_COORDINATOR_BATCH_MAX: String(MAX_ROUND_ENTRIES + 1) }),
    ).toThrow(/BATCH_MAX/);
  });
  it('parses and formats fault values with one grammar', () => {
    expect(formatFault(parseFault('lie-st:2.50'))).toBe('lie-st:2.50');
    expect(formatFault(parseFault('lie-st:3'))).toBe('lie-st:3');
    expect(() => parseFault('lie-st:x')).toThrow(/unknown fault/);
    expect(parseFault('slow:6500')).toEqual({ kind: 'slow', ms: 6500 });
    expect(formatFault(parseFault('slow:6500'))).toBe('slow:6500');
    expect(() => parseFault('slow:600001')).toThrow(/unknown fault/);
    expect(() => parseFault('slow:-1')).toThrow(/unknown fault/);
  });
});

describe('test faults are wrappers around the st source and the signer', () => {
  const source = (values: bigint[]): StSource => ({
    computeStBatch: async () => values,
    listVouches: async () => [],
    ready: async () => {},
    close: () => {},
  });
  const q = { user: base.CONSENSUS_COORDINATOR_RPC_URL as never, entries: [], includePeers: false };

  it('lie-st scales every value exactly; other faults pass the truth', async () => {
    let fault = parseFault('lie-st:2.5');
    const st = faultySt(source([1000n, 4n]), () => fault, { delays: true });
    expect(await st.computeStBatch(q)).toEqual([2500n, 10n]);
    fault = parseFault('lie-st:0.001');
    expect(await faultySt(source([1_000_000n]), () => fault, { delays: true }).computeStBatch(q)).toEqual([
      1000n,
    ]);
    for (const f of ['none', 'garbage-sig', 'slow:1']) {
      fault = parseFault(f);
      expect(await st.computeStBatch(q)).toEqual([1000n, 4n]);
    }
  });

  it('slow:<ms> delays the st by that long; other faults do not delay', async () => {
    let fault = parseFault('none');
    const st = faultySt(source([1n]), () => fault, { delays: true });
    const t0 = performance.now();
    await st.computeStBatch(q);
    fault = parseFault('lie-st:2');
    await st.computeStBatch(q);
    const fast = performance.now() - t0;
    fault = parseFault('slow:50');
    await st.computeStBatch(q);
    expect(performance.now() - t0 - fast).toBeGreaterThanOrEqual(45);
    // The leader's own source lies but is not delayed.
    const own = faultySt(source([1n]), () => fault, { delays: false });
    const t1 = performance.now();
    await own.computeStBatch(q);
    expect(performance.now() - t1).toBeLessThan(45);
  });

  it('garbage-sig signs other bytes; other faults sign the message', () => {
    const seen: string[] = [];
    const signer: PaymentSigner = {
      sign: (m) => {
        seen.push(bytesToHex(m));
        return '0x01';
      },
    };
    let fault = parseFault('garbage-sig');
    const s = faultySigner(signer, () => fault);
    s.sign(new Uint8Array([1, 2]));
    fault = parseFault('lie-st:2');
    s.sign(new Uint8Array([1, 2]));
    expect(seen).toEqual([bytesToHex(stringToBytes('garbage')), '0x0102']);
  });
});
