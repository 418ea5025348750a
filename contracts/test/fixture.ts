/**
 * Shared setup of the contract suites and the gas bench: one anvil (Prague), a factory, an Upkeeping with
 * `n` keepers whose BLS keys come from fixed seeds, a funded account and one provider; helpers to reach a
 * leader window and to build a correctly signed payment with @whitepay/bls and @whitepay/core.
 */
import {
  aggregateSignatures,
  g1ToEip2537,
  g2ToEip2537,
  provePossession,
  publicKeyOf,
  secretKeyFromSeed,
  sign,
  toHex,
} from '@whitepay/bls';
import { type BatchEntry, batchPaymentMessage, leaderAt, rankKeepers } from '@whitepay/core';
import { ANVIL_MNEMONIC, type AnvilServer, startAnvil } from '@whitepay/testkit';
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  type PublicClient,
  stringToHex,
  type TestClient,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { waitForTransactionReceipt, writeContract } from 'viem/actions';
import { upkeepingAbi } from '../generated/index.js';
import {
  addKeeper,
  addProvider,
  createUpkeeping,
  deployFactory,
  encodeGroup,
  fund,
  type GroupMember,
  readGroup,
  type UpkeepingClient,
  type UpkeepingConfig,
} from '../src/index.js';

export interface Keeper extends GroupMember {
  readonly sk: Uint8Array;
  readonly client: UpkeepingClient;
  readonly pop: Hex;
}

export interface Chain {
  readonly anvil: AnvilServer;
  readonly public: PublicClient;
  readonly test: TestClient;
  /** Wallet client of anvil account `i` (0 = the user, 1.. = keepers, 19 = the provider). */
  wallet(i: number): UpkeepingClient;
  stop(): Promise<void>;
}

export async function startChain(opts: { gasLimit?: bigint } = {}): Promise<Chain> {
  const anvil = await startAnvil({
    accounts: 40,
    ...(opts.gasLimit === undefined ? {} : { gasLimit: opts.gasLimit }),
  });
  const chain = defineChain({
    id: anvil.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.rpcUrl] } },
  });
  const transport = http(anvil.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const test = createTestClient({ chain, transport, mode: 'anvil' });
  const wallets = new Map<number, UpkeepingClient>();
  return {
    anvil,
    public: publicClient,
    test,
    wallet(i) {
      let w = wallets.get(i);
      if (!w) {
        w = createWalletClient({
          chain,
          transport,
          account: mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }),
          pollingInterval: 50,
        });
        wallets.set(i, w);
      }
      return w;
    },
    stop: () => anvil.stop(),
  };
}

/** A deterministic BLS key for keeper `id` (seed = 32 bytes of `id`). */
export function keeperKey(id: number): { sk: Uint8Array; publicKey: Hex; pop: Hex } {
  const sk = secretKeyFromSeed(
    new Uint8Array(32).fill(id & 0xff).map((b, i) => (i === 0 ? (id >> 8) & 0xff : b)),
  );
  return {
    sk,
    publicKey: toHex(g1ToEip2537(publicKeyOf(sk))),
    pop: toHex(g2ToEip2537(provePossession(sk))),
  };
}

export interface Setup {
  readonly chain: Chain;
  readonly user: UpkeepingClient;
  readonly factory: Address;
  readonly upkeeping: Address;
  readonly keepers: Keeper[];
  readonly group: Hex;
  readonly pid: Address;
  /** Block at which the provider was added (its first ts). */
  readonly ts0: bigint;
  readonly config: UpkeepingConfig;
}

export const PROVIDER_ACCOUNT = 39;

/**
 * Factory + Upkeeping (user = account 0) with keepers 1..n (keeper ids 101..100+n on accounts 1..n),
 * funded with `funding` wei, one provider (account 39).
 */
export async function setup(
  chain: Chain,
  opts: {
    n: number;
    config?: Partial<UpkeepingConfig>;
    funding?: bigint;
    userIndex?: number;
    factory?: Address;
  },
): Promise<Setup> {
  const user = chain.wallet(opts.userIndex ?? 0);
  const factory = opts.factory ?? (await deployFactory(user));
  const config: UpkeepingConfig = {
    price: 10n ** 18n, // 1 wei per byte·block
    period: 10n,
    window: 5n,
    threshold: 0,
    providerBps: 9000,
    leaderBonusBps: 0,
    ...opts.config,
  };
  const upkeeping = await createUpkeeping(user, { factory, config });
  const keepers: Keeper[] = [];
  for (let i = 1; i <= opts.n; i++) {
    const keeperId = 100 + i;
    const { sk, publicKey, pop } = keeperKey(keeperId);
    const client = chain.wallet(i);
    const member: Keeper = { keeperId, account: client.account.address, publicKey, sk, client, pop };
    await addKeeper(user, {
      upkeeping,
      keeperId,
      account: member.account,
      publicKey,
      proofOfPossession: pop,
    });
    keepers.push(member);
  }
  const pid = chain.wallet(PROVIDER_ACCOUNT).account.address;
  const receipt = await addProvider(user, { upkeeping, pid });
  if (opts.funding !== 0n) await fund(user, { upkeeping, value: opts.funding ?? 10n ** 18n });
  const group = await readGroup(user, { upkeeping });
  if (group !== encodeGroup(keepers)) throw new Error('group() differs from encodeGroup');
  return { chain, user, factory, upkeeping, keepers, group, pid, ts0: receipt.blockNumber, config };
}

/** Mines until the chain's next block number is at least `block` (so `te = block` is in the past). */
export async function mineTo(chain: Chain, block: bigint): Promise<void> {
  const now = await chain.public.getBlockNumber({ cacheTime: 0 });
  if (now < block) await chain.test.mine({ blocks: Number(block - now) });
}

/** The leader and window for position `position` (1-based) of the first cycle after `ts`. */
export function leaderFor(s: Setup, ts: bigint, position: number) {
  const te = ts + s.config.period + BigInt(position - 1) * s.config.window;
  const slot = leaderAt(
    {
      user: s.user.account.address,
      pid: s.pid,
      ts,
      keepers: s.keepers.map((k) => k.keeperId),
      H: s.config.period,
      T: s.config.window,
    },
    te,
  );
  if (!slot || slot.position !== position) throw new Error('schedule mismatch');
  const leader = s.keepers.find((k) => k.keeperId === slot.keeperId)!;
  return { te, leader, excluded: slot.excluded, position };
}

/**
 * The message `pay` verifies for the setup's provider: the batch message (from @whitepay/core) over the one
 * entry `(pid, ts, te, st, idle)` — a payment of one is a list of one. `pid` defaults to the setup's
 * provider, `idle` to 0.
 */
export function messageFor(
  s: Setup,
  p: { ts: bigint; te: bigint; st: bigint; leaderId: number; pid?: Address; idle?: bigint },
): Hex {
  return batchMessageFor(s, p.leaderId, [
    { pid: p.pid ?? s.pid, ts: p.ts, te: p.te, st: p.st, idle: p.idle ?? 0n },
  ]);
}

/** Aggregate signature (EIP-2537 G2 hex) of `signers` (member indices) over `message`. */
export function aggregate(s: Setup, signers: readonly number[], message: Hex): Hex {
  const msg = hexToBytes(message);
  const sigs = signers.map((i) => sign(s.keepers[i]!.sk, msg));
  return toHex(g2ToEip2537(aggregateSignatures(sigs)));
}

/** First `count` member indices. */
export function firstSigners(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/**
 * `count` provider addresses (not accounts) for which keeper `leaderId` has rank `rank` at `ts`: a batch
 * at a `te` in window `rank` is then led by it for all of them. `salt` keeps sets apart.
 */
export function pidsRanked(
  s: Setup,
  opts: { ts: bigint; leaderId: number; rank: number; count: number; salt?: string },
): Address[] {
  const out: Address[] = [];
  const keepers = s.keepers.map((k) => k.keeperId);
  for (let i = 0; out.length < opts.count; i++) {
    const pid = `0x${keccak256(stringToHex(`${opts.salt ?? 'pid'}/${i}`)).slice(26)}` as Address;
    const ranking = rankKeepers({ user: s.user.account.address, pid, ts: opts.ts, keepers });
    if (ranking[opts.rank - 1] === opts.leaderId) out.push(pid);
  }
  return out;
}

/** Adds `pids` in one block (automine paused), so they share their first `ts`; returns that block. */
export async function addProvidersInOneBlock(s: Setup, pids: readonly Address[]): Promise<bigint> {
  const chain = s.chain;
  await chain.test.setAutomine(false);
  const hashes: Hex[] = [];
  try {
    for (const pid of pids) {
      hashes.push(
        await writeContract(s.user, {
          address: s.upkeeping,
          abi: upkeepingAbi,
          functionName: 'addProvider',
          args: [pid],
          gas: 200_000n,
        }),
      );
    }
    await chain.test.mine({ blocks: 1 });
  } finally {
    await chain.test.setAutomine(true);
  }
  let block = 0n;
  for (const hash of hashes) {
    const r = await waitForTransactionReceipt(s.user, { hash });
    if (r.status !== 'success') throw new Error(`addProvider reverted in ${hash}`);
    if (block !== 0n && r.blockNumber !== block) throw new Error('providers landed in different blocks');
    block = r.blockNumber;
  }
  return block;
}

/** The next block number (what `addProvidersInOneBlock` will mine). */
export async function nextBlock(chain: Chain): Promise<bigint> {
  return (await chain.public.getBlockNumber({ cacheTime: 0 })) + 1n;
}

/** The batch message bytes (from @whitepay/core) for the setup. */
export function batchMessageFor(s: Setup, leaderId: number, entries: readonly BatchEntry[]): Hex {
  return batchPaymentMessage({
    chainId: BigInt(s.chain.anvil.chainId),
    upkeeping: s.upkeeping,
    user: s.user.account.address,
    leaderId,
    entries,
  });
}
