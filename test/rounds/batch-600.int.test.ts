import { upkeepingAbi } from '@whitepay/contracts';
import { MAX_ROUND_ENTRIES, rankKeepers } from '@whitepay/core';
import { waitFor } from '@whitepay/testkit';
import { type Address, getAddress, type Hex, keccak256, toFunctionSelector, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster.js';

// Issue 15: the limit on entries per round lives in one place (core's
// MAX_ROUND_ENTRIES) — followers used to refuse any batch of more than 256
// entries while the leader split at BATCH_MAX = 500. Here 600 providers of one
// user, added in ONE block and chosen so that one keeper is first in every
// ranking, are all due at the same te at the same position: the leader runs
// ONE round of 600 entries with the 3 other keepers and ONE payBatch settles
// every entry. Real keepers (4 chain-submitters and 4 consensus-coordinators,
// anvil, NATS, Redis) from cluster.ts; each keeper's st comes from a stub
// st-calculator (a fixed value), so the round protocol is under test, not the
// challenge pipeline of 600 providers.

const N = 600;

describe('a round of 600 entries at one position', () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await startCluster({
      coordEnv: {
        CONSENSUS_COORDINATOR_BATCH_MAX: String(MAX_ROUND_ENTRIES),
        CONSENSUS_COORDINATOR_PEER_DEADLINE_MS: '5000',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('every entry settles in one payBatch (no 256 cap)', async () => {
    expect(N).toBeGreaterThan(256);
    expect(N).toBeLessThanOrEqual(MAX_ROUND_ENTRIES);
    const { u } = c;
    const user = u.user.account.address;
    const keepers = c.keepers.map((k) => k.id);
    const leader = c.keepers[0]!;
    const rpc = async (method: string, params: unknown[] = []) => {
      const res = await fetch(c.srv.anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      return ((await res.json()) as { result: unknown }).result;
    };

    // 600 providers added in the next block, each ranking `leader` first for ts = that block.
    await rpc('evm_setAutomine', [false]);
    await rpc('evm_setBlockGasLimit', [toHex(1_000_000_000n)]);
    const ts = (await c.head()) + 1n;
    const pids: Address[] = [];
    for (let i = 0; pids.length < N; i++) {
      const pid = getAddress(keccak256(toHex(`issue-15-provider-${i}`)).slice(0, 42));
      if (rankKeepers({ user, pid, ts, keepers })[0] === leader.id) pids.push(pid);
    }
    let nonce = await u.public.getTransactionCount({ address: user, blockTag: 'pending' });
    const hashes: Hex[] = [];
    for (const pid of pids) {
      hashes.push(
        await u.user.writeContract({
          address: u.upkeeping,
          abi: upkeepingAbi,
          functionName: 'addProvider',
          args: [pid],
          nonce: nonce++,
          gas: 300_000n,
        }),
      );
    }
    await rpc('evm_mine');
    await rpc('evm_setAutomine', [true]);
    for (const hash of hashes.slice(-3)) {
      const r = await u.public.getTransactionReceipt({ hash });
      expect([r.status, r.blockNumber]).toEqual(['success', ts]);
    }

    // At te = ts + H `leader` leads all 600 at position 1: one round, one payBatch.
    await c.mineTo(ts + u.H);
    const paid = new Map<string, { te: bigint; txHash: Hex; position: number; leaderId: number }>();
    const stop = { done: false };
    const miner = (async () => {
      // Blocks keep coming (the submitter waits for confirmations), slowly enough for the window.
      while (!stop.done) {
        await new Promise((r) => setTimeout(r, 1_000));
        if (!stop.done) await u.test.mine({ blocks: 1 });
      }
    })();
    try {
      await waitFor(
        'every one of the 600 entries paid',
        async () => {
          const logs = await u.public.getContractEvents({
            address: u.upkeeping,
            abi: upkeepingAbi,
            eventName: 'PaymentMade',
            fromBlock: ts,
          });
          for (const l of logs) {
            const a = l.args as { pid: Address; ts: bigint; te: bigint; position: number; leaderId: number };
            if (a.ts === ts)
              paid.set(a.pid.toLowerCase(), {
                te: a.te,
                txHash: l.transactionHash,
                position: Number(a.position),
                leaderId: Number(a.leaderId),
              });
          }
          return pids.every((p) => paid.has(p.toLowerCase()));
        },
        180_000,
        500,
      );
    } finally {
      stop.done = true;
      await miner;
    }

    const ours = pids.map((p) => paid.get(p.toLowerCase())!);
    expect(new Set(ours.map((x) => x.txHash)).size).toBe(1);
    expect(new Set(ours.map((x) => `${x.leaderId}:${x.position}:${x.te}`))).toEqual(
      new Set([`${leader.id}:1:${ts + u.H}`]),
    );
    const tx = await u.public.getTransaction({ hash: ours[0]!.txHash });
    expect(tx.input.slice(0, 10)).toBe(
      toFunctionSelector(upkeepingAbi.find((f) => f.type === 'function' && f.name === 'payBatch')!),
    );
    // The leader's record: one round holding the 600 entries, every one paid.
    // The first page deliberately (newest 1000 rounds; this test runs a handful).
    const res = await leader.coord!.http.inject({ method: 'GET', url: '/v1/rounds?limit=1000' });
    const rounds = res.json().rounds as Array<{
      items: Array<{ pid: Address }>;
      outcome: string;
      entries: Array<{ pid: Address; status: string }> | null;
    }>;
    const big = rounds.find((r) => r.items.length >= N);
    expect(big?.outcome).toBe('confirmed');
    const wanted = new Set(pids.map((p) => p.toLowerCase()));
    const settled = (big?.entries ?? []).filter((e) => wanted.has(e.pid.toLowerCase()));
    expect(settled).toHaveLength(N);
    expect(settled.every((e) => e.status === 'paid')).toBe(true);
  }, 400_000);
});
