import {
  addKeeper,
  addProvider,
  createUpkeeping,
  deployFactory,
  fund,
  type UpkeepingClient,
  upkeepingAbi,
} from '@whitepay/contracts';
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type PublicClient,
  type Transport,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { DevnetState, ProviderState } from './state.js';

export type Reader = PublicClient<Transport, Chain>;

export function devnetChain(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: 'whitepay-devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export function readerFor(rpcUrl: string, chainId: number): Reader {
  return createPublicClient({
    chain: devnetChain(rpcUrl, chainId),
    transport: http(rpcUrl, { retryCount: 1, timeout: 5_000 }),
    pollingInterval: 200,
  });
}

export function userWallet(rpcUrl: string, state: DevnetState): UpkeepingClient {
  return createWalletClient({
    chain: devnetChain(rpcUrl, state.chain.chainId),
    transport: http(rpcUrl, { timeout: 30_000 }),
    account: privateKeyToAccount(state.chain.userKey),
    pollingInterval: 200,
  });
}

type Step = (label: string) => void;

/**
 * Brings the chain to the network's state, idempotently (each step is checked against the chain, so a
 * resumed network whose chain was wiped or which gained keepers is completed, not duplicated): factory,
 * the user's Upkeeping (funded), every keeper registered with its BLS key and proof of possession.
 * Saves progress through `save`.
 */
export async function setupChain(
  rpcUrl: string,
  state: DevnetState,
  save: () => void,
  step: Step,
): Promise<void> {
  const reader = readerFor(rpcUrl, state.chain.chainId);
  const wallet = userWallet(rpcUrl, state);
  const hasCode = async (a: Address | undefined) =>
    a !== undefined && ((await reader.getCode({ address: a })) ?? '0x') !== '0x';
  if (!(await hasCode(state.chain.factory))) {
    step('deploying the UpkeepingFactory');
    const from = await reader.getBlockNumber();
    state.chain.factory = await deployFactory(wallet);
    state.chain.factoryBlock = String(from);
    delete state.chain.upkeeping;
    state.chain.funded = false;
    for (const p of state.providers) delete p.addedAt;
    save();
  }
  if (!(await hasCode(state.chain.upkeeping))) {
    const c = state.chain.config;
    step(`creating the user's Upkeeping (H=${c.period}, T=${c.window} blocks)`);
    state.chain.upkeeping = await createUpkeeping(wallet, {
      factory: state.chain.factory!,
      config: { price: BigInt(c.price), period: BigInt(c.period), window: BigInt(c.window) },
    });
    state.chain.funded = false;
    save();
  }
  const upkeeping = state.chain.upkeeping!;
  if (!state.chain.funded) {
    step('funding the Upkeeping with 1000 ETH');
    await fund(wallet, { upkeeping, value: 1000n * 10n ** 18n });
    state.chain.funded = true;
    save();
  }
  const [ids] = await reader.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'members' });
  const registered = new Set(ids);
  for (const k of state.keepers) {
    if (registered.has(k.id)) continue;
    step(`registering keeper ${k.id} (BLS key + proof of possession)`);
    await addKeeper(wallet, {
      upkeeping,
      keeperId: k.id,
      account: k.account,
      publicKey: k.blsPublicKey,
      proofOfPossession: k.proofOfPossession,
    });
  }
}

/** Adds a provider to the Upkeeping unless it is already active; records the block. */
export async function ensureProvider(rpcUrl: string, state: DevnetState, p: ProviderState): Promise<void> {
  const reader = readerFor(rpcUrl, state.chain.chainId);
  const upkeeping = state.chain.upkeeping!;
  const [active, addedAt] = await reader.readContract({
    address: upkeeping,
    abi: upkeepingAbi,
    functionName: 'provider',
    args: [p.pid],
  });
  if (active) {
    p.addedAt = String(addedAt);
    return;
  }
  const receipt = await addProvider(userWallet(rpcUrl, state), { upkeeping, pid: p.pid });
  p.addedAt = String(receipt.blockNumber);
}
