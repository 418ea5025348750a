import { upkeepingAbi } from '@whitepay/contracts';
import { startAnvil, startNats, startRedis, waitFor } from '@whitepay/testkit';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anvilKey, type Servers, startApp } from '../testing/harness.js';
import { deployUpkeeping, signedBatch, type TestUpkeeping } from '../testing/upkeeping.js';
import type { PaymentResult } from './outbox.js';

/** Methods every sender tick calls whether or not a payment is in flight (the head, the wallet balance). */
const PER_TICK = new Set(['eth_blockNumber', 'eth_getBalance']);

describe('JSON-RPC calls per payment on real anvil (issue 18)', () => {
  let srv: Servers;
  let u: TestUpkeeping;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const [anvil, nats, redis] = await Promise.all([startAnvil(), startNats(), startRedis()]);
    srv = { anvil, nats, redis };
    stops.push(anvil.stop, nats.stop, redis.stop);
    u = await deployUpkeeping(anvil);
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('a payment (a batch of one) costs one eth_call, one eth_estimateGas, one receipt and no eth_getLogs', async () => {
    const leader = u.keepers[0]!;
    let counting = false;
    const calls: Record<string, number> = {};
    let broadcast: (() => void) | undefined;
    const h = await startApp(
      srv,
      {
        CHAIN_SUBMITTER_NATS_NAMESPACE: 'rpc1',
        CHAIN_SUBMITTER_PRIVATE_KEY: anvilKey(leader.index),
        // The loops tick only when the test says so.
        CHAIN_SUBMITTER_POLL_INTERVAL_MS: '600000',
        CHAIN_SUBMITTER_LOCK_TTL_MS: '600000',
      },
      {
        onRpc: (m) => {
          if (counting) calls[m] = (calls[m] ?? 0) + 1;
        },
        afterBroadcast: async () => broadcast?.(),
      },
    );
    stops.push(h.close);
    await waitFor('holder', async () => h.app.submitter.isHolder());
    // Warm the per-contract cache (user()) with a first payment, then count the second.
    const pay = async (ts: bigint) => {
      const { te, ...req } = await signedBatch(u, leader, ts);
      return { te, req };
    };
    const last = () =>
      u.public.readContract({
        address: u.upkeeping,
        abi: upkeepingAbi,
        functionName: 'lastPayment',
        args: [u.pid],
      });
    const settle = async (req: Awaited<ReturnType<typeof pay>>['req']) => {
      const broadcasted = new Promise<void>((r) => {
        broadcast = r;
      });
      await h.app.submitter.submit(req); // queues and wakes the sender: nonce, fees, sign, broadcast
      await broadcasted;
      await new Promise((r) => setTimeout(r, 100)); // that tick ends; the loop sleeps
      await h.app.submitter.tick(); // the receipt (automine: already mined)
      let found: PaymentResult | undefined;
      await waitFor('final', async () => {
        found = (await h.app.outbox.recentResults(10)).find((r) => r.tid === (req.tid as Hex));
        return found !== undefined;
      });
      return found!;
    };
    const first = await pay(u.ts0);
    expect((await settle(first.req)).status).toBe('confirmed');

    const second = await pay((await last()).te);
    counting = true;
    const result = await settle(second.req);
    counting = false;
    expect(result.status).toBe('confirmed');
    const perPayment = Object.fromEntries(Object.entries(calls).filter(([m]) => !PER_TICK.has(m)));
    // Before issue 18 (two getLogs "already paid?" checks, two estimates, each an eth_fillTransaction
    // with a nonce and fees behind it since the account was local, eth_chainId per signature, and the
    // receipt read twice) the same payment took 12 of these.
    expect(perPayment).toEqual({
      eth_call: 1, // the revert check when it is submitted
      eth_estimateGas: 1, // the gas limit (and the revert check again) before the nonce is spent
      eth_getTransactionCount: 1, // the pending nonce
      eth_getBlockByNumber: 1, // fees: the base fee
      eth_maxPriorityFeePerGas: 1, // fees: the tip
      eth_sendRawTransaction: 1,
      eth_getTransactionReceipt: 1, // the outcome of every entry, from its logs
    });
    // Two sender ticks: the one that sent it, the one that read its receipt.
    expect([calls.eth_blockNumber, calls.eth_getBalance]).toEqual([2, 2]);
  });
});
