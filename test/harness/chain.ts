import { g1ToEip2537, g2ToEip2537, generateSecretKey, provePossession, publicKeyOf } from '@whitepay/bls';
import {
  addKeeper,
  addProvider,
  createUpkeeping,
  deployFactory,
  fund,
  type UpkeepingConfig,
} from '@whitepay/contracts';
import { storeV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { addPiecesDigest } from '@whitepay/store';
import { ANVIL_MNEMONIC } from '@whitepay/testkit';
import {
  type Address,
  bytesToHex,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import type { StoredPiece } from './providers.js';

/** Private key of anvil's dev account `i` (funded with 10k ETH). */
export function anvilKey(i: number): Hex {
  const key = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }).getHdKey().privateKey;
  if (!key) throw new Error(`no key for anvil account ${i}`);
  return bytesToHex(key);
}

/** A keeper's keys: secp256k1 account and BLS12-381 (hex), with the on-chain encodings of the latter. */
export interface KeeperKeys {
  keeperId: number;
  accountKey: Hex;
  account: Address;
  blsSecretKey: Hex;
  /** EIP-2537 G1 public key and G2 proof of possession, as `addKeeper` takes them. */
  blsPublicKey: Hex;
  proofOfPossession: Hex;
}

export function keeperKeys(keeperId: number, accountKey: Hex): KeeperKeys {
  const sk = generateSecretKey();
  return {
    keeperId,
    accountKey,
    account: privateKeyToAccount(accountKey).address,
    blsSecretKey: bytesToHex(sk),
    blsPublicKey: bytesToHex(g1ToEip2537(publicKeyOf(sk))),
    proofOfPossession: bytesToHex(g2ToEip2537(provePossession(sk))),
  };
}

export interface DeployedUpkeeping {
  factory: Address;
  /** Block before the factory was deployed (discovery starts there). */
  factoryBlock: bigint;
  upkeeping: Address;
  user: Address;
  /** Block each provider was added at (the `ts` of its first payment). */
  providersAddedAt: Record<Address, bigint>;
  publicClient: PublicClient;
}

/**
 * Deploys the factory, creates the user's Upkeeping, registers the keepers
 * (BLS key + proof of possession), adds the providers and funds it — through
 * `@whitepay/contracts`.
 */
export async function deployUpkeeping(opts: {
  rpcUrl: string;
  chainId: number;
  userKey: Hex;
  keepers: readonly KeeperKeys[];
  providers: readonly Address[];
  config?: Partial<UpkeepingConfig>;
  funding?: bigint;
}): Promise<DeployedUpkeeping> {
  const chain = defineChain({
    id: opts.chainId,
    name: 'whitepay-test',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  });
  const transport = http(opts.rpcUrl, { timeout: 30_000 });
  const wallet = createWalletClient({
    chain,
    transport,
    account: privateKeyToAccount(opts.userKey),
    pollingInterval: 100,
  });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient;
  const factoryBlock = await publicClient.getBlockNumber();
  const factory = await deployFactory(wallet);
  const upkeeping = await createUpkeeping(wallet, {
    factory,
    config: { price: 10n ** 18n, period: 20n, window: 5n, ...opts.config },
  });
  for (const k of opts.keepers) {
    await addKeeper(wallet, {
      upkeeping,
      keeperId: k.keeperId,
      account: k.account,
      publicKey: k.blsPublicKey,
      proofOfPossession: k.proofOfPossession,
    });
  }
  const providersAddedAt: Record<Address, bigint> = {};
  for (const pid of opts.providers) {
    const receipt = await addProvider(wallet, { upkeeping, pid });
    providersAddedAt[pid] = receipt.blockNumber;
  }
  await fund(wallet, { upkeeping, value: opts.funding ?? 10n ** 20n });
  return { factory, factoryBlock, upkeeping, user: wallet.account.address, providersAddedAt, publicClient };
}

/**
 * Registers pieces of `pid` with one keeper's challenge-store (gRPC
 * RegisterPieces), in a request the user signs (EIP-191 over `addPiecesDigest`).
 */
export async function registerPieces(opts: {
  storeGrpc: string;
  userKey: Hex;
  pid: Address;
  pieces: readonly StoredPiece[];
  nonce: bigint;
  block: bigint;
}): Promise<{ added: number; alreadyPresent: number }> {
  const userAccount = privateKeyToAccount(opts.userKey);
  const request = {
    user: hexToBytes(userAccount.address),
    pid: hexToBytes(opts.pid),
    nonce: opts.nonce,
    block: opts.block,
    pieces: opts.pieces.map((p) => ({
      pieceId: hexToBytes(p.pieceId),
      size: p.size,
      root: hexToBytes(p.root),
      leafSize: p.leafSize,
    })),
  };
  const signature = await userAccount.signMessage({ message: { raw: addPiecesDigest(request) } });
  const client = new storeV1.ChallengeStoreServiceClient(opts.storeGrpc, insecure());
  try {
    return await call(
      client,
      client.registerPieces,
      {
        account: { user: request.user, pid: request.pid },
        nonce: opts.nonce,
        block: opts.block,
        pieces: request.pieces,
        signature: hexToBytes(signature),
      },
      { deadlineMs: 10_000, name: 'RegisterPieces' },
    );
  } finally {
    client.close();
  }
}

/** A block producer the suite controls: anvil's automine off, one block every `intervalMs` while running. */
export interface Miner {
  /** Mines `n` blocks now, `spacingMs` apart (works while paused). */
  mine(n: number, spacingMs?: number): Promise<void>;
  pause(): void;
  resume(): void;
  head(): Promise<bigint>;
  stop(): Promise<void>;
}

/**
 * Turns anvil's automine off and mines on a timer instead, so transactions
 * wait for the next block as on a real chain and a test can hold the chain
 * still (`pause`) while it prepares a scenario.
 */
export async function startMiner(rpcUrl: string, intervalMs: number): Promise<Miner> {
  let id = 0;
  const rpc = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  };
  await rpc('evm_setAutomine', [false]);
  let running = false;
  let busy: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (running) busy = busy.then(() => rpc('evm_mine')).catch(() => undefined);
  }, intervalMs);
  return {
    async mine(n, spacingMs = intervalMs) {
      for (let i = 0; i < n; i++) {
        await rpc('evm_mine');
        if (i < n - 1 || spacingMs > 0) await new Promise((r) => setTimeout(r, spacingMs));
      }
    },
    pause() {
      running = false;
    },
    resume() {
      running = true;
    },
    head: async () => BigInt(String(await rpc('eth_blockNumber'))),
    async stop() {
      running = false;
      clearInterval(timer);
      await busy;
      await rpc('evm_setAutomine', [true]).catch(() => undefined);
    },
  };
}
