// The batch suites' network (issue "Scale"): 4 full keepers (their five real
// services, test/harness) , 6 real
// providers added to one Upkeeping in ONE block (so they share every ts while
// they are paid at the same te), and the chain readers the suites assert with:
// PaymentMade / PaymentSkipped / BatchSettled, balances, and the st a keeper
// computes from the challenge records (SPEC 4). Used by batch.int.test.ts and
// batch-faults.int.test.ts.
import { createWriteStream } from 'node:fs';
import { createLogger } from '@whitepay/base';
import { upkeepingAbi } from '@whitepay/contracts';
import { rankKeepers, type SpaceRecord, spaceTime, splitPayment } from '@whitepay/core';
import type { challengeV1 } from '@whitepay/proto';
import { type Address, createWalletClient, defineChain, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  anvilKey,
  type DeployedUpkeeping,
  deployUpkeeping,
  HARNESS_ADMIN_TOKEN,
  type Infra,
  type KeeperHandle,
  type KeeperKeys,
  keeperKeys,
  linkCoordinators,
  type Miner,
  type ProviderHandle,
  startGroup,
  startInfra,
  startMiner,
  startProviders,
  storedRecords,
} from '../harness/index.js';

export const BLOCK_MS = 1000;
export const H = 12n;
export const T = 8n;
export const MAX_STALENESS = 3n;
export const PROVIDERS = 6;
export const PIECES = [16 * 1024, 5_000];

/** One PaymentMade. */
export interface Paid {
  pid: Address;
  ts: bigint;
  te: bigint;
  st: bigint;
  amount: bigint;
  leaderId: number;
  position: number;
  excluded: number;
  signers: bigint;
  /** The entry's idle set (bit i = member index i). */
  idle: bigint;
  tid: Hex;
  txHash: Hex;
  blockNumber: bigint;
}

/** One PaymentSkipped (`reason`: the contract's PaymentSkipReason index). */
export interface Skipped {
  pid: Address;
  ts: bigint;
  te: bigint;
  reason: number;
  txHash: Hex;
  blockNumber: bigint;
}

/** One BatchSettled. */
export interface Settled {
  leaderId: number;
  entriesHash: Hex;
  paid: bigint;
  skipped: bigint;
  amount: bigint;
  txHash: Hex;
  blockNumber: bigint;
}

/** A round as `GET /v1/rounds` lists it (a list of k >= 1 entries). */
export interface BatchSummary {
  tid: Hex;
  leaderId: number;
  r: number;
  items: Array<{ pid: Address; ts: string; te: string }>;
  phase: string;
  attempt: number;
  proposal: number;
  sts: string[] | null;
  synced: boolean;
  outcome: string;
  txHash: Hex | null;
  entries: Array<{ pid: Address; ts: string; te: string; status: string; reason?: string }> | null;
}

export interface BatchNetwork {
  infra: Infra;
  miner: Miner;
  chain: DeployedUpkeeping;
  providers: ProviderHandle[];
  keys: KeeperKeys[];
  keepers: KeeperHandle[];
  /** The block every provider was added in (the ts of its first payment). */
  addedAt: bigint;
  byId(keeperId: number): KeeperHandle;
  /** Keepers in rank order for the payment of `pid` starting at `ts` (core's rankKeepers). */
  ranking(pid: Address, ts: bigint): KeeperHandle[];
  /** The provider's next ts (its last payment's te, or the block it was added). */
  nextTs(pid: Address): Promise<bigint>;
  balanceOf(account: Address): Promise<bigint>;
  /** Provider and keeper balances, keyed by lowercase address. */
  balances(): Promise<Map<string, bigint>>;
  payments(fromBlock?: bigint): Promise<Paid[]>;
  skipped(fromBlock?: bigint): Promise<Skipped[]>;
  settled(fromBlock?: bigint): Promise<Settled[]>;
  /** What `payments` credit each account (lowercase address): core's splitPayment, keepers ranked ahead of the leader and the idle set excluded. */
  credits(payments: readonly Paid[]): Map<string, bigint>;
  /** Own or peer records of (user, pid) in one keeper's challenge-store. */
  records(k: KeeperHandle, pid: Address, source: 'own' | 'peer'): Promise<challengeV1.ChallengeRecord[]>;
  /** SPEC 4 over one keeper's own records of `pid`, as its st-calculator computes an own st. */
  ownSt(k: KeeperHandle, pid: Address, ts: bigint, te: bigint): Promise<bigint>;
  /** The full sync's union (include_peers): every keeper's own records of `pid`, the largest space of a block. */
  unionSt(pid: Address, ts: bigint, te: bigint): Promise<bigint>;
  coordUrl(k: KeeperHandle): string;
  /** The coordinator's TEST-ONLY fault switch (`none`, `garbage-sig`, `lie-st:<factor>`). */
  setFault(k: KeeperHandle, fault: string): Promise<void>;
  /** Sum of the samples of a coordinator's metric lines matching `pattern`. */
  metric(k: KeeperHandle, pattern: RegExp): Promise<number>;
  batches(k: KeeperHandle): Promise<BatchSummary[]>;
  /** With the miner paused: mines one block at a time, `spacingMs` apart, until `done` holds (checked before each block). */
  mineUntil(what: string, done: () => Promise<boolean>, spacingMs: number, maxBlocks?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the network with the miner paused at the block after the providers
 * were added (`miner.resume()` starts the rounds). `logPrefix`: write each
 * keeper's debug log to `<logPrefix>.<keeperId>`.
 */
export async function startBatchNetwork(o: { logPrefix?: string | undefined } = {}): Promise<BatchNetwork> {
  const keys: KeeperKeys[] = [1, 2, 3, 4].map((i) => keeperKeys(i, anvilKey(i)));
  const keepers: KeeperHandle[] = [];
  const userKey = anvilKey(0);
  const infra = await startInfra();
  let providers: ProviderHandle[] = [];
  let miner: Miner | undefined;
  const stop = async () => {
    await miner?.stop();
    for (const k of keepers) await k.stop();
    for (const p of providers) await p.stop();
    await infra.stop();
  };
  try {
    providers = await startProviders(PROVIDERS);
    const chain = await deployUpkeeping({
      rpcUrl: infra.anvil.rpcUrl,
      chainId: infra.anvil.chainId,
      userKey,
      keepers: keys,
      providers: [],
      config: { period: H, window: T },
    });
    const addedAt = await addProvidersInOneBlock(infra, chain, userKey, providers);

    const pieces = new Map<Address, Awaited<ReturnType<ProviderHandle['put']>>>();
    for (const p of providers) pieces.set(p.pid, await p.put(chain.user, PIECES));
    keepers.push(
      ...(await startGroup({
        infra: infra.endpoints,
        chain,
        keys,
        userKey,
        pieces: providers.map((p) => ({ pid: p.pid, pieces: pieces.get(p.pid)!, block: addedAt })),
        providers: Object.fromEntries(providers.map((p) => [p.pid, p.grpcAddress])),
        ...(o.logPrefix
          ? {
              log: (id: number) =>
                createLogger({ service: 'batch', level: 'debug' }, createWriteStream(`${o.logPrefix}.${id}`)),
            }
          : {}),
        services: ['challenge-store', 'st-calculator'],
        env: {
          'st-calculator': { ST_CALCULATOR_MAX_STALENESS: String(MAX_STALENESS) },
          'chain-submitter': { CHAIN_SUBMITTER_POLL_INTERVAL_MS: '100' },
        },
      })),
    );
    miner = await startMiner(infra.anvil.rpcUrl, BLOCK_MS);
    for (const k of keepers) {
      await k.startService('challenger');
      await k.startService('chain-submitter');
      await k.startService('consensus-coordinator');
    }
    linkCoordinators(keepers);
    return network({ infra, miner, chain, providers, keys, keepers, addedAt, stop });
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Adds every provider in the same block: automine off, one transaction each, one block. */
async function addProvidersInOneBlock(
  infra: Infra,
  chain: DeployedUpkeeping,
  userKey: Hex,
  providers: readonly ProviderHandle[],
): Promise<bigint> {
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
  const addedAt = receipts[0]!.blockNumber;
  if (!receipts.every((r) => r.status === 'success' && r.blockNumber === addedAt)) {
    throw new Error('the providers were not all added in one block');
  }
  return addedAt;
}

function network(n: {
  infra: Infra;
  miner: Miner;
  chain: DeployedUpkeeping;
  providers: ProviderHandle[];
  keys: KeeperKeys[];
  keepers: KeeperHandle[];
  addedAt: bigint;
  stop(): Promise<void>;
}): BatchNetwork {
  const { chain, keepers, keys, miner } = n;
  const lower = (a: string) => a.toLowerCase() as Address;
  const byId = (id: number) => keepers.find((k) => k.keeperId === id)!;
  const ranking = (pid: Address, ts: bigint) =>
    rankKeepers({ user: chain.user, pid, ts, keepers: keys.map((k) => k.keeperId) }).map(byId);
  const read = <R>(functionName: 'provider' | 'balanceOf', args: [Address]) =>
    chain.publicClient.readContract({
      address: chain.upkeeping,
      abi: upkeepingAbi,
      functionName,
      args,
    }) as Promise<R>;
  const balanceOf = (account: Address) => read<bigint>('balanceOf', [account]);
  const events = <E extends 'PaymentMade' | 'PaymentSkipped' | 'BatchSettled'>(
    eventName: E,
    fromBlock?: bigint,
  ) =>
    chain.publicClient.getContractEvents({
      address: chain.upkeeping,
      abi: upkeepingAbi,
      eventName,
      fromBlock: fromBlock ?? chain.factoryBlock,
    });

  const records = (
    k: KeeperHandle,
    pid: Address,
    source: 'own' | 'peer',
  ): Promise<challengeV1.ChallengeRecord[]> => storedRecords(k, chain.user, pid, source);
  const space = (rs: readonly challengeV1.ChallengeRecord[]): SpaceRecord[] =>
    rs.map((r) => ({ block: r.block, space: r.space }));

  return {
    ...n,
    byId,
    ranking,
    nextTs: async (pid) => (await read<[boolean, bigint, bigint]>('provider', [pid]))[2],
    balanceOf,
    async balances() {
      const out = new Map<string, bigint>();
      for (const p of n.providers) out.set(lower(p.pid), await balanceOf(p.pid));
      for (const k of keys) out.set(lower(k.account), await balanceOf(k.account));
      return out;
    },
    async payments(fromBlock) {
      return (await events('PaymentMade', fromBlock)).map((e) => ({
        pid: lower(e.args.pid!),
        ts: e.args.ts!,
        te: e.args.te!,
        st: e.args.st!,
        amount: e.args.amount!,
        leaderId: Number(e.args.leaderId),
        position: Number(e.args.position),
        excluded: Number(e.args.excluded),
        signers: e.args.signers!,
        idle: e.args.idle!,
        tid: e.args.tid!,
        txHash: e.transactionHash!,
        blockNumber: e.blockNumber!,
      }));
    },
    async skipped(fromBlock) {
      return (await events('PaymentSkipped', fromBlock)).map((e) => ({
        pid: lower(e.args.pid!),
        ts: e.args.ts!,
        te: e.args.te!,
        reason: Number(e.args.reason),
        txHash: e.transactionHash!,
        blockNumber: e.blockNumber!,
      }));
    },
    async settled(fromBlock) {
      return (await events('BatchSettled', fromBlock)).map((e) => ({
        leaderId: Number(e.args.leaderId),
        entriesHash: e.args.entriesHash!,
        paid: e.args.paid!,
        skipped: e.args.skipped!,
        amount: e.args.amount!,
        txHash: e.transactionHash!,
        blockNumber: e.blockNumber!,
      }));
    },
    credits(payments) {
      const out = new Map<string, bigint>();
      const add = (k: string, v: bigint) => out.set(k, (out.get(k) ?? 0n) + v);
      for (const x of payments) {
        const ahead = ranking(x.pid, x.ts)
          .slice(0, x.position - 1)
          .map((k) => k.keeperId);
        // `keys` are in registration order, the member-index order of the idle bits (no keeper is removed).
        const { split, credits } = splitPayment({
          amount: x.amount,
          members: keys.map((k) => k.keeperId),
          leaderId: x.leaderId,
          failed: ahead,
          idle: x.idle,
        });
        add(x.pid, split.provider);
        for (const k of keys) {
          const credit = credits.get(k.keeperId)!;
          if (credit !== 0n) add(lower(k.account), credit);
        }
      }
      return out;
    },
    records,
    ownSt: async (k, pid, ts, te) =>
      spaceTime({ records: space(await records(k, pid, 'own')), ts, te, maxStaleness: MAX_STALENESS }),
    async unionSt(pid, ts, te) {
      const byBlock = new Map<bigint, bigint>();
      for (const k of keepers)
        for (const r of await records(k, pid, 'own'))
          byBlock.set(r.block, (byBlock.get(r.block) ?? 0n) > r.space ? byBlock.get(r.block)! : r.space);
      const merged = [...byBlock].map(([block, s]) => ({ block, space: s }));
      return spaceTime({ records: merged, ts, te, maxStaleness: MAX_STALENESS });
    },
    coordUrl: (k) => k.urls['consensus-coordinator']!.http,
    async setFault(k, fault) {
      const res = await fetch(`${k.urls['consensus-coordinator']!.http}/v1/admin/fault`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${HARNESS_ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ fault }),
      });
      if (res.status !== 200) throw new Error(`fault ${fault} at keeper ${k.keeperId}: HTTP ${res.status}`);
    },
    async metric(k, pattern) {
      const text = await (await fetch(`${k.urls['consensus-coordinator']!.http}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => pattern.test(l))
        .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    },
    async batches(k) {
      // The first page deliberately: the newest 1000 rounds hold every batch a test runs.
      const res = await fetch(`${k.urls['consensus-coordinator']!.http}/v1/rounds?limit=1000`);
      return ((await res.json()) as { rounds: BatchSummary[] }).rounds;
    },
    async mineUntil(what, done, spacingMs, maxBlocks = 200) {
      for (let i = 0; i < maxBlocks; i++) {
        if (await done()) return;
        await miner.mine(1, 0);
        await new Promise((r) => setTimeout(r, spacingMs));
      }
      if (await done()) return;
      throw new Error(`${what}: not reached in ${maxBlocks} blocks`);
    },
  };
}
