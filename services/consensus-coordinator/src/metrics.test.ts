import { Registry } from '@whitepay/base';
import { blsBackend } from '@whitepay/bls';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('metrics', () => {
  it('report the BLS backend of the process', async () => {
    const registry = new Registry();
    createMetrics(registry);
    const text = await registry.metrics();
    expect(text).toContain(`whitepay_bls_backend_info{backend="${blsBackend()}"} 1`);
    if (process.platform === 'linux' && process.arch === 'x64' && !process.env.WHITEPAY_BLS_BACKEND) {
      expect(blsBackend()).toBe('blst');
    }
  });
});
