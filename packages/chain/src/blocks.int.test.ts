import { type AnvilServer, startAnvil } from '@whitepay/testkit';
import { createPublicClient, type Hex, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBlocks, chainTransport } from './index.js';

// Block hashes a record claims, checked against a real anvil's chain.

describe('canonicalBlocks', () => {
  let anvil: AnvilServer;
  let client: PublicClient;
  let calls = 0;
  beforeAll(async () => {
    anvil = await startAnvil();
    const transport = chainTransport({ rpcUrl: anvil.rpcUrl }, { retryCount: 0 });
    client = createPublicClient({
      cacheTime: 0,
      transport: (o) => {
        const t = transport(o);
        return {
          ...t,
          request: (args: Parameters<typeof t.request>[0]) => {
            if (args.method === 'eth_getBlockByNumber') calls++;
            return t.request(args);
          },
        } as typeof t;
      },
    }) as PublicClient;
    await client.request({ method: 'anvil_mine' as 'eth_chainId', params: ['0x5'] as never });
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it('canonical, future and not-canonical blocks, one call per distinct block', async () => {
    const blocks = canonicalBlocks(client);
    const b3 = await client.getBlock({ blockNumber: 3n });
    calls = 0;
    const checks = await Promise.all(Array.from({ length: 50 }, () => blocks.check(3n, b3.hash!)));
    expect(new Set(checks)).toEqual(new Set(['canonical']));
    expect(calls).toBe(1); // concurrent checks share the call, later ones hit the cache
    expect(await blocks.check(3n, b3.hash!.toUpperCase().replace('0X', '0x') as Hex)).toBe('canonical');
    const forged = `0x${'ab'.repeat(32)}` as Hex;
    expect(await blocks.check(3n, forged)).toBe('not_canonical');
    expect(await blocks.check(100_000n, forged)).toBe('future');
    expect(await blocks.check(100_000n, forged)).toBe('future'); // never cached: asked again
    expect(calls).toBe(4);
  });

  it('a node that cannot be asked is CHAIN_UNAVAILABLE, not a verdict on the block', async () => {
    const dead = createPublicClient({
      transport: chainTransport({ rpcUrl: 'http://127.0.0.1:1' }, { retryCount: 0, timeoutMs: 1000 }),
    }) as PublicClient;
    await expect(canonicalBlocks(dead).check(1n, `0x${'00'.repeat(32)}`)).rejects.toMatchObject({
      code: 'CHAIN_UNAVAILABLE',
      kind: 'unavailable',
    });
  });
});
