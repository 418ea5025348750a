import { createRegistry } from '@whitepay/base';
import { type AnvilServer, startAnvil } from '@whitepay/testkit';
import { createPublicClient, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainTransport, rpcErrorCode } from './index.js';

// The chain client's RPC metrics against a real anvil: every request timed by method,
// a failing one counted with the code the node answered, all under the registry's labels.

describe('chainTransport with a registry', () => {
  let anvil: AnvilServer;
  beforeAll(async () => {
    anvil = await startAnvil();
  });
  afterAll(async () => {
    await anvil?.stop();
  });

  it('times every request by method and counts failures by method and code, labelled keeper and service', async () => {
    const registry = createRegistry('chain-submitter', { keeper: '7' });
    const client = createPublicClient({
      cacheTime: 0,
      transport: chainTransport({ rpcUrl: anvil.rpcUrl }, { retryCount: 0, registry }),
    }) as PublicClient;
    await client.getBlockNumber();
    await client.getBlockNumber();
    await client.getChainId();
    // A method anvil does not have: the node answers JSON-RPC error -32601 (method not found).
    const err = await client.request({ method: 'wp_nope' as 'eth_chainId' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);

    const text = await registry.metrics();
    const count = (method: string) =>
      Number(
        new RegExp(
          `whitepay_rpc_request_duration_seconds_count\\{[^}]*method="${method}"[^}]*\\} (\\d+)`,
        ).exec(text)?.[1],
      );
    expect(count('eth_blockNumber')).toBe(2);
    expect(count('eth_chainId')).toBe(1);
    expect(count('wp_nope')).toBe(1);
    expect(text).toMatch(
      /whitepay_rpc_request_duration_seconds_bucket\{le="0\.005",[^}]*method="eth_blockNumber"[^}]*\}/,
    );
    const errors = (await registry.getSingleMetricAsString('whitepay_rpc_request_errors_total'))
      .split('\n')
      .filter((l) => l.startsWith('whitepay_rpc_request_errors_total{'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('method="wp_nope"');
    expect(errors[0]).toContain(`code="${rpcErrorCode(err)}"`);
    expect(rpcErrorCode(err)).toMatch(/^-32\d{3}$/);
    expect(errors[0]).toContain('keeper="7"');
    expect(errors[0]).toContain('whitepay_service="chain-submitter"');
    expect(errors[0]).toMatch(/\} 1$/);
  });

  it('counts a node that does not answer as network, and an HTTP failure by its status', async () => {
    const registry = createRegistry('consensus-coordinator', { keeper: '1' });
    const down = createPublicClient({
      transport: chainTransport(
        { rpcUrl: 'http://127.0.0.1:1' },
        { retryCount: 0, timeoutMs: 2_000, registry },
      ),
    }) as PublicClient;
    await expect(down.getBlockNumber()).rejects.toThrow();
    const text = await registry.getSingleMetricAsString('whitepay_rpc_request_errors_total');
    expect(text).toMatch(
      /whitepay_rpc_request_errors_total\{[^}]*method="eth_blockNumber",code="network"[^}]*\} 1/,
    );
    expect(rpcErrorCode({ name: 'HttpRequestError', status: 503 })).toBe('http_503');
    expect(rpcErrorCode({ name: 'TimeoutError' })).toBe('timeout');
    // A viem error wrapping the node's answer: the code of the cause.
    expect(rpcErrorCode({ name: 'CallExecutionError', cause: { code: 3 } })).toBe('3');
  });

  it('is not instrumented without a registry (the transport is viem http as before)', () => {
    expect(chainTransport({ rpcUrl: anvil.rpcUrl })({}).config.type).toBe('http');
  });
});
