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
import type { SubmitRequest } from '@whitepay/bus';
import {
  addKeeper,
  addProvider,
  createUpkeeping,
  deployFactory,
  fund,
  readGroup,
  type UpkeepingClient,
} from '@whitepay/contracts';
import { batchPaymentMessage, encodeBatchEntries, nextWindowFor, roundId } from '@whitepay/core';
import { ANVIL_MNEMONIC, type AnvilServer } from '@whitepay/testkit';
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
  type TestClient,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

export interface TestKeeper {
  keeperId: number;
  account: Address;
  /** anvil account index (its key is `anvilKey(index)`). */
  index: number;
  sk: Uint8Array;
}

export interface TestUpkeeping {
  public: PublicClient;
  test: TestClient;
  user: UpkeepingClient;
  factory: Address;
  factoryBlock: bigint;
  upkeeping: Address;
  keepers: TestKeeper[];
  group: Hex;
  pid: Address;
  ts0: bigint;
  H: bigint;
  T: bigint;
  chainId: number;
}

/** Factory + Upkeeping (user = anvil account 0), keepers 101..100+n on accounts 1..n, one provider (account 19), funded. */
export async function deployUpkeeping(anvil: AnvilServer, n = 4): Promise<TestUpkeeping> {
  const chain = defineChain({
    id: anvil.chainId,
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.rpcUrl] } },
  });
  const transport = http(anvil.rpcUrl);
  const pub = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient;
  const test = createTestClient({ chain, transport, mode: 'anvil' });
  const user = createWalletClient({
    chain,
    transport,
    account: mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 0 }),
    pollingInterval: 50,
  });
  const factoryBlock = await pub.getBlockNumber({ cacheTime: 0 });
  const factory = await deployFactory(user);
  const H = 10n;
  const T = 5n;
  const upkeeping = await createUpkeeping(user, {
    factory,
    config: { price: 10n ** 18n, period: H, window: T },
  });
  const keepers: TestKeeper[] = [];
  for (let i = 1; i <= n; i++) {
    const keeperId = 100 + i;
    const sk = secretKeyFromSeed(new Uint8Array(32).fill(keeperId));
    const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }).address;
    await addKeeper(user, {
      upkeeping,
      keeperId,
      account,
      publicKey: toHex(g1ToEip2537(publicKeyOf(sk))),
      proofOfPossession: toHex(g2ToEip2537(provePossession(sk))),
    });
    keepers.push({ keeperId, account, index: i, sk });
  }
  const pid = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 19 }).address;
  const receipt = await addProvider(user, { upkeeping, pid });
  await fund(user, { upkeeping, value: 10n ** 18n });
  const group = await readGroup(user, { upkeeping });
  return {
    public: pub,
    test,
    user,
    factory,
    factoryBlock,
    upkeeping,
    keepers,
    group,
    pid,
    ts0: receipt.blockNumber,
    H,
    T,
    chainId: anvil.chainId,
  };
}

/**
 * The leader's next window for the interval starting at `ts`: `te` is its
 * start (mined until it is in the past), `r` the leader's position there.
 */
async function leaderWindow(
  u: TestUpkeeping,
  leader: TestKeeper,
  ts: bigint,
): Promise<{ te: bigint; r: number }> {
  const w = nextWindowFor(
    {
      user: u.user.account.address,
      pid: u.pid,
      ts,
      keepers: u.keepers.map((k) => k.keeperId),
      H: u.H,
      T: u.T,
    },
    leader.keeperId,
    0n,
  );
  const te = w.start;
  const now = await u.public.getBlockNumber({ cacheTime: 0 });
  if (now < te) await u.test.mine({ blocks: Number(te - now) });
  return { te, r: w.position };
}

/**
 * A correctly signed batch led by `leader`: the provider's interval from `ts`
 * to the start of the leader's next window (mined), plus `extra` entries with
 * the same `te` (e.g. an unknown provider, which the contract skips).
 * `signers` sign (threshold f + 1 = 2 for n = 4). `idle` is every entry's idle set (bit i = member index i).
 */
export async function signedBatch(
  u: TestUpkeeping,
  leader: TestKeeper,
  ts: bigint,
  extra: Address[] = [],
  st = 1_000_000n,
  signers = [0, 1, 2],
  idle = 0n,
): Promise<SubmitRequest & { te: bigint; tid: Hex }> {
  const { te, r } = await leaderWindow(u, leader, ts);
  const entries = [u.pid, ...extra].map((pid) => ({ pid, ts, te, st, idle }));
  const message = batchPaymentMessage({
    chainId: BigInt(u.chainId),
    upkeeping: u.upkeeping,
    user: u.user.account.address,
    leaderId: leader.keeperId,
    entries,
  });
  const sigs = signers.map((i) => sign(u.keepers[i]!.sk, hexToBytes(message)));
  return {
    upkeeping: u.upkeeping,
    entries: encodeBatchEntries(entries),
    leaderId: leader.keeperId,
    r,
    group: u.group,
    signers,
    signature: toHex(g2ToEip2537(aggregateSignatures(sigs))),
    tid: roundId({ user: u.user.account.address, leaderId: leader.keeperId, r, items: entries }),
    te,
  };
}

/** A single payment, i.e. a batch of one (see {@link signedBatch}), with its `ts`, `te` and `st` as decimal strings. */
export async function signedPayment(
  u: TestUpkeeping,
  leader: TestKeeper,
  ts: bigint,
  st = 1_000_000n,
): Promise<SubmitRequest & { ts: string; te: string; st: string; tid: Hex }> {
  const b = await signedBatch(u, leader, ts, [], st);
  return { ...b, ts: ts.toString(), te: b.te.toString(), st: st.toString() };
}
