import { createWriteStream } from 'node:fs';
import { createLogger } from '@whitepay/base';
import { upkeepingAbi } from '@whitepay/contracts';
import { rankKeepers, splitReward } from '@whitepay/core';
import { waitFor } from '@whitepay/testkit';
import { type Address, createWalletClient, defineChain, type Hex, http, toFunctionSelector } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anvilKey,
  type DeployedUpkeeping,
  deployUpkeeping,
  type Infra,
  type KeeperHandle,
  type KeeperKeys,
  keeperKeys,
  linkCoordinators,
  type Miner,
  type ProviderHandle,
  registerPieces,
  startInfra,
  startKeeper,
  startMiner,
  startProviders,
} from '../harness/index.js';

// Issue "Scale": batch payments. 4 full keepers with CONSENSUS_COORDINATOR_BATCH=on
// and 6 real providers, all added in one block (so they share every ts): per
// block, each keeper leads every provider whose window it holds in ONE batch
// round, settled by ONE payBatch transaction.

const BLOCK_MS = 1000;
const H = 12n;
const T = 8n;
const MAX_STALENESS = 3n;
const PROVIDERS = 6;
const PIECES = [16 * 1024, 5_000];

interface Paid {
  pid: Address;
  ts: bigint;
  te: bigint;
  st: bigint;
  amount: bigint;
  leaderId: number;
  position: number;
  txHash: Hex;
}

describe('batch payments across 4 full keepers and 6 providers', () => {
  let infra: Infra;
  let miner: Miner;
  let chain: DeployedUpkeeping;
  let providers: ProviderHandle[] = [];
  let addedAt: bigint;
  const keys: KeeperKeys[] = [1, 2, 3, 4].map((i) => keeperKeys(i, anvilKey(i)));
  const keepers: KeeperHandle[] = [];
  const userKey = anvilKey(0);

  const read = <R>(functionName: 'provider' | 'balanceOf', args: [Address]) =>
    chain.publicClient.readContract({
      address: chain.upkeeping,
      abi: upkeepingAbi,
      functionName,
      args,
    }) as Promise<R>;
  const nextTs = async (pid: Address) => (await read<[boolean, bigint, bigint]>('provider', [pid]))[2];
  const payments = async (): Promise<Paid[]> =>
    (
      await chain.publicClient.getContractEvents({
        address: chain.upkeeping,
        abi: upkeepingAbi,
        eventName: 'PaymentMade',
        fromBlock: chain.factoryBlock,
      })
    ).map((e) => ({
      pid: e.args.pid!.toLowerCase() as Address,
      ts: e.args.ts!,
      te: e.args.te!,
      st: e.args.st!,
      amount: e.args.amount!,
      leaderId: Number(e.args.leaderId),
      position: Number(e.args.position),
      txHash: e.transactionHash!,
    }));

  beforeAll(async () => {
    infra = await startInfra();
    providers = await startProviders(PROVIDERS);
    chain = await deployUpkeeping({
      rpcUrl: infra.anvil.rpcUrl,
      chainId: infra.anvil.chainId,
      userKey,
      keepers: keys,
      providers: [],
      config: { period: H, window: T },
    });
    // Every provider added in the same block: automine off, six transactions, one block.
    const rpc = async (method: string, params: unknown[] = []) => {
      const res = await fetch(infra.anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      });
      return ((await res.json()) as { result: unknown }).result;
    };
    const wallet = createWalletClient({
      chain: defineChain({
        id: infra.anvil.chainId,
        name: 'batch-test',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [infra.anvil.rpcUrl] } },
      }),
      transport: http(infra.anvil.rpcUrl),
      account: privateKeyToAccount(userKey),
    });
    await rpc('evm_setAutomine', [false]);
    let nonce = await chain.publicClient.getTransactionCount({
      address: wallet.account.address,
      blockTag: 'pending',
    });
    const hashes: Hex[] = [];
    for (const p of providers) {
      hashes.push(
        await wallet.writeContract({
          address: chain.upkeeping,
          abi: upkeepingAbi,
          functionName: 'addProvider',
          args: [p.pid],
          nonce: nonce++,
          gas: 500_000n,
        }),
      );
    }
    await rpc('evm_mine');
    await rpc('evm_setAutomine', [true]);
    const receipts = await Promise.all(
      hashes.map((hash) => chain.publicClient.waitForTransactionReceipt({ hash })),
    );
    expect(receipts.every((r) => r.status === 'success')).toBe(true);
    addedAt = receipts[0]!.blockNumber;
    expect(receipts.every((r) => r.blockNumber === addedAt)).toBe(true);

    const pieces = new Map<Address, Awaited<ReturnType<ProviderHandle['put']>>>();
    for (const p of providers) pieces.set(p.pid, await p.put(chain.user, PIECES));
    for (const k of keys) {
      const keeper = await startKeeper({
        keeperId: k.keeperId,
        infra: infra.endpoints,
        accountKey: k.accountKey,
        blsSecretKey: k.blsSecretKey,
        upkeeping: { factory: chain.factory, fromBlock: chain.factoryBlock },
        peers: keys.filter((p) => p.keeperId !== k.keeperId),
        providers: Object.fromEntries(providers.map((p) => [p.pid, p.grpcAddress])),
        ...(process.env.BATCH_LOG
          ? {
              log: createLogger(
                { service: 'batch', level: 'debug' },
                createWriteStream(`${process.env.BATCH_LOG}.${k.keeperId}`),
              ),
            }
          : {}),
        services: ['challenge-store', 'st-calculator'],
        env: {
          'st-calculator': { ST_CALCULATOR_MAX_STALENESS: String(MAX_STALENESS) },
          'chain-submitter': { CHAIN_SUBMITTER_POLL_INTERVAL_MS: '100' },
          'consensus-coordinator': { CONSENSUS_COORDINATOR_BATCH: 'on' },
        },
      });
      keepers.push(keeper);
      for (const [i, p] of providers.entries()) {
        await registerPieces({
          storeGrpc: keeper.urls['challenge-store']!.grpc!,
          userKey,
          pid: p.pid,
          pieces: pieces.get(p.pid)!,
          nonce: BigInt(i + 1), // one nonce per request of this user
          block: addedAt,
        });
      }
    }
    miner = await startMiner(infra.anvil.rpcUrl, BLOCK_MS);
    for (const k of keepers) {
      await k.startService('challenger');
      await k.startService('chain-submitter');
      await k.startService('consensus-coordinator');
    }
    linkCoordinators(keepers);
  }, 240_000);

  afterAll(async () => {
    await miner?.stop();
    for (const k of keepers) await k.stop();
    for (const p of providers) await p.stop();
    await infra?.stop();
  });

  it('one payBatch per leader pays every provider whose window it holds; two periods without gaps; exact split', async () => {
    miner.resume();
    await waitFor(
      'two payments of every provider',
      async () => {
        for (const p of providers) if ((await nextTs(p.pid)) < addedAt + 2n * H) return false;
        return true;
      },
      150_000,
      200,
    );
    miner.pause();
    const all = await payments();

    // No gaps: each provider's payments chain from the block it was added, ts = previous te.
    for (const p of providers) {
      const mine = all.filter((x) => x.pid === p.pid).sort((a, b) => (a.ts < b.ts ? -1 : 1));
      expect(mine.length).toBeGreaterThanOrEqual(2);
      expect(mine[0]!.ts).toBe(addedAt);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.ts).toBe(mine[i - 1]!.te);
      for (const x of mine) {
        expect(x.st).toBeGreaterThan(0n);
        expect(x.amount).toBe(x.st); // price 1e18 per byte·block, scaled by 1e18
      }
    }

    // Every payment went through payBatch; one transaction = one leader, one te.
    const selector = toFunctionSelector(
      upkeepingAbi.find((f) => f.type === 'function' && f.name === 'payBatch')!,
    );
    const byTx = new Map<Hex, Paid[]>();
    for (const x of all) byTx.set(x.txHash, [...(byTx.get(x.txHash) ?? []), x]);
    for (const [hash, list] of byTx) {
      const tx = await chain.publicClient.getTransaction({ hash });
      expect(tx.input.slice(0, 10)).toBe(selector);
      expect(new Set(list.map((x) => `${x.leaderId}:${x.te}:${x.position}`)).size).toBe(1);
    }

    // First period: all providers share ts = addedAt; each rank-1 keeper pays exactly the
    // providers it leads, all of them, in one transaction at the start of its window.
    const rank1 = new Map<number, Address[]>();
    for (const p of providers) {
      const leader = rankKeepers({
        user: chain.user,
        pid: p.pid,
        ts: addedAt,
        keepers: keys.map((k) => k.keeperId),
      })[0]!;
      rank1.set(leader, [...(rank1.get(leader) ?? []), p.pid]);
    }
    const first = all.filter((x) => x.ts === addedAt);
    expect(first).toHaveLength(PROVIDERS);
    for (const [leader, pids] of rank1) {
      const txs = new Set(first.filter((x) => pids.includes(x.pid)).map((x) => x.txHash));
      expect(txs.size).toBe(1);
      const [hash] = [...txs];
      expect(
        byTx
          .get(hash!)!
          .map((x) => x.pid)
          .sort(),
      ).toEqual([...pids].sort());
      expect(byTx.get(hash!)!.every((x) => x.leaderId === leader && x.position === 1)).toBe(true);
    }
    // Six providers over four keepers: some transaction settled several providers at once.
    expect(Math.max(...[...byTx.values()].map((l) => l.length))).toBeGreaterThanOrEqual(2);

    // Exact balances: every payment split as core's splitReward, keepers ranked ahead of the payer excluded.
    const expected = new Map<string, bigint>();
    const add = (k: string, v: bigint) => expected.set(k, (expected.get(k) ?? 0n) + v);
    for (const x of all) {
      const ahead = rankKeepers({
        user: chain.user,
        pid: x.pid,
        ts: x.ts,
        keepers: keys.map((k) => k.keeperId),
      }).slice(0, x.position - 1);
      const split = splitReward({ amount: x.amount, keeperCount: keys.length - ahead.length });
      add(x.pid, split.provider);
      for (const k of keys) if (!ahead.includes(k.keeperId)) add(k.account.toLowerCase(), split.perKeeper);
    }
    for (const p of providers) expect(await read<bigint>('balanceOf', [p.pid])).toBe(expected.get(p.pid));
    for (const k of keys) {
      expect(await read<bigint>('balanceOf', [k.account])).toBe(expected.get(k.account.toLowerCase()) ?? 0n);
    }

    // Each leader's batch record: confirmed, every entry paid.
    for (const leader of rank1.keys()) {
      const k = keepers.find((x) => x.keeperId === leader)!;
      const res = await fetch(`${k.urls['consensus-coordinator']!.http}/v1/batches`);
      const { batches } = (await res.json()) as {
        batches: Array<{ outcome: string; items: Array<{ ts: string }>; entries: Array<{ status: string }> }>;
      };
      const firstBatch = batches.find((b) => b.items.every((it) => it.ts === String(addedAt)));
      expect(firstBatch).toMatchObject({ outcome: 'confirmed' });
      expect(firstBatch!.entries).toHaveLength(rank1.get(leader)!.length);
      expect(firstBatch!.entries.every((e) => e.status === 'paid')).toBe(true);
    }
  }, 200_000);
});
