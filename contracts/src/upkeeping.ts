import { WhitePayError } from '@whitepay/base';
import type { Account, Address, Chain, Client, Hex, TransactionReceipt, Transport, WalletClient } from 'viem';
import { parseEventLogs } from 'viem';
import { deployContract, getBlockNumber, readContract, writeContract } from 'viem/actions';
import { upkeepingAbi, upkeepingFactoryAbi, upkeepingFactoryBytecode } from '../generated/index.js';
import { UpkeepingError } from './errors.js';
import { call } from './tx.js';

/** A viem wallet client with an account and a chain (actions also need its transport to read). */
export type UpkeepingClient = WalletClient<Transport, Chain, Account>;

/** An account's parameters (the contract's `Config`). */
export interface UpkeepingConfig {
  /** wei per byte·block scaled by 1e18. */
  readonly price: bigint;
  /** H, blocks. */
  readonly period: bigint;
  /** T, blocks (>= 1). */
  readonly window: bigint;
  /** Minimum signers; 0 = the default f + 1. */
  readonly threshold: number;
  readonly providerBps: number;
  readonly leaderBonusBps: number;
}

/** SPEC defaults for everything but the price and the schedule. */
export const DEFAULT_SHARES = { threshold: 0, providerBps: 9000, leaderBonusBps: 0 } as const;

/** Deploys an UpkeepingFactory (and with it the Upkeeping implementation); returns its address. */
export async function deployFactory(client: UpkeepingClient): Promise<Address> {
  const receipt = await call(client, () =>
    deployContract(client, { abi: upkeepingFactoryAbi, bytecode: upkeepingFactoryBytecode, args: [] }),
  );
  if (!receipt.contractAddress) throw new UpkeepingError('InvalidInitialization', ['no contract address']);
  return receipt.contractAddress;
}

/** Creates the caller's Upkeeping through `factory`; returns its address. */
export async function createUpkeeping(
  client: UpkeepingClient,
  args: {
    factory: Address;
    config: Partial<UpkeepingConfig> & Pick<UpkeepingConfig, 'price' | 'period' | 'window'>;
  },
): Promise<Address> {
  const config = { ...DEFAULT_SHARES, ...args.config };
  const receipt = await call(client, () =>
    writeContract(client, {
      address: args.factory,
      abi: upkeepingFactoryAbi,
      functionName: 'createUpkeeping',
      args: [config],
    }),
  );
  const [created] = parseEventLogs({
    abi: upkeepingFactoryAbi,
    logs: receipt.logs,
    eventName: 'UpkeepingCreated',
  });
  if (!created) throw new UpkeepingError('InvalidInitialization', ['no UpkeepingCreated event']);
  return created.args.upkeeping;
}

/** The Upkeeping of `user` (zero address before it is created). */
export function upkeepingOf(
  client: UpkeepingClient,
  args: { factory: Address; user: Address },
): Promise<Address> {
  return readContract(client, {
    address: args.factory,
    abi: upkeepingFactoryAbi,
    functionName: 'upkeepingOf',
    args: [args.user],
  });
}

/** Registers a keeper: EIP-2537 G1 key (128 bytes) and its proof of possession (EIP-2537 G2, 256 bytes). */
export function addKeeper(
  client: UpkeepingClient,
  args: { upkeeping: Address; keeperId: number; account: Address; publicKey: Hex; proofOfPossession: Hex },
): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'addKeeper',
      args: [args.keeperId, args.account, args.publicKey, args.proofOfPossession],
    }),
  );
}

/** Removes a keeper (its accrued shares stay withdrawable). */
export function removeKeeper(
  client: UpkeepingClient,
  args: { upkeeping: Address; keeperId: number },
): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'removeKeeper',
      args: [args.keeperId],
    }),
  );
}

/** Adds a provider; its first interval starts at the block of this transaction. */
export function addProvider(
  client: UpkeepingClient,
  args: { upkeeping: Address; pid: Address },
): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'addProvider',
      args: [args.pid],
    }),
  );
}

/** Removes a provider: no further payments; its credits stay withdrawable. */
export function removeProvider(
  client: UpkeepingClient,
  args: { upkeeping: Address; pid: Address },
): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'removeProvider',
      args: [args.pid],
    }),
  );
}

/** Changes the parameters. */
export function setConfig(
  client: UpkeepingClient,
  args: { upkeeping: Address; config: UpkeepingConfig },
): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'setConfig',
      args: [args.config],
    }),
  );
}

/** Funds the account with `value` wei. */
export function fund(
  client: UpkeepingClient,
  args: { upkeeping: Address; value: bigint },
): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'fund',
      value: args.value,
    }),
  );
}

/** The arguments of `pay`. */
export interface PayArgs {
  readonly upkeeping: Address;
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly st: bigint;
  /** The entry's idle set: bit i = member index i (group order, as `signers`); default `0n`. */
  readonly idle?: bigint;
  readonly leaderId: number;
  /** The registered group bytes (`group()` view, or `encodeGroup`). */
  readonly group: Hex;
  /** Strictly increasing member indices of the signers. */
  readonly signers: readonly number[];
  /**
   * Aggregate signature, EIP-2537 G2 form (256 bytes), over the batch message of this one entry
   * (`@whitepay/core`'s `batchPaymentMessage` with `entries: [{ pid, ts, te, st, idle }]`).
   */
  readonly signature: Hex;
  /** Gas limit; when given, no estimate is made (the transaction is sent even if it would revert). */
  readonly gas?: bigint;
}

/**
 * Submits a payment of one entry: a `payBatch` of one (same message, checks, split and events) that reverts
 * where the batch would skip, with `UpkeepingPaymentRefused` and the reason (`UpkeepingError.reason`). The
 * sender must be the leader's account. Reverts surface as `UpkeepingError`.
 */
export function pay(client: UpkeepingClient, args: PayArgs): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'pay',
      args: [
        args.pid,
        args.ts,
        args.te,
        args.st,
        args.idle ?? 0n,
        args.leaderId,
        args.group,
        args.signers,
        args.signature,
      ],
      ...(args.gas === undefined ? {} : { gas: args.gas }),
    }),
  );
}

/** Withdraws the sender's whole balance. */
export function withdraw(client: UpkeepingClient, args: { upkeeping: Address }): Promise<TransactionReceipt> {
  return call(client, () =>
    writeContract(client, { address: args.upkeeping, abi: upkeepingAbi, functionName: 'withdraw' }),
  );
}

/** The group bytes `pay` needs. */
export function readGroup(client: UpkeepingClient, args: { upkeeping: Address }): Promise<Hex> {
  return readContract(client, { address: args.upkeeping, abi: upkeepingAbi, functionName: 'group' });
}

/** What `account` can withdraw now. */
export function balanceOf(
  client: UpkeepingClient,
  args: { upkeeping: Address; account: Address },
): Promise<bigint> {
  return readContract(client, {
    address: args.upkeeping,
    abi: upkeepingAbi,
    functionName: 'balanceOf',
    args: [args.account],
  });
}

/** One provider of an Upkeeping as {@link readProviderStates} returns it. */
export interface ProviderState {
  /** Lowercase (decoded without checksumming: thousands per read). */
  readonly pid: Address;
  readonly active: boolean;
  /** The `ts` its next payment must carry (the block it was added, before its first payment). */
  readonly nextTs: bigint;
}

/** Providers per `providerStates` call: ~3 storage reads each, well inside a node's `eth_call` gas cap. */
export const PROVIDER_PAGE = 2_000;

/** Bytes of one provider in `providerStates`' packed list: `address pid ‖ uint64 nextTs ‖ uint8 active`. */
export const PROVIDER_STATE_BYTES = 29;

/** Decodes `providerStates`' packed list (docs/encoding.md). */
export function decodeProviderStates(packed: Hex): ProviderState[] {
  const hex = packed.slice(2);
  const width = PROVIDER_STATE_BYTES * 2;
  if (hex.length % width !== 0) {
    throw new WhitePayError(
      'UPKEEPING_BAD_RESPONSE',
      `providerStates: ${hex.length / 2} bytes is not a multiple of ${PROVIDER_STATE_BYTES}`,
      { kind: 'unavailable' },
    );
  }
  const out: ProviderState[] = [];
  for (let off = 0; off < hex.length; off += width) {
    out.push({
      pid: `0x${hex.slice(off, off + 40).toLowerCase()}` as Address,
      nextTs: BigInt(`0x${hex.slice(off + 40, off + 56)}`),
      active: hex.slice(off + 56, off + 58) !== '00',
    });
  }
  return out;
}

/**
 * Every provider ever added (removed ones with `active = false`), in list
 * order, read in pages of `pageSize` through `providerStates` — a few calls
 * for thousands of providers instead of one `provider` call each. All pages
 * are read at one block (`blockNumber`, or the head when the first page is
 * read) so that the list is consistent.
 */
export async function readProviderStates(
  client: Client,
  args: { upkeeping: Address; blockNumber?: bigint; pageSize?: number },
): Promise<ProviderState[]> {
  const pageSize = BigInt(args.pageSize ?? PROVIDER_PAGE);
  const blockNumber = args.blockNumber ?? (await getBlockNumber(client, { cacheTime: 0 }));
  const out: ProviderState[] = [];
  for (let start = 0n; ; start += pageSize) {
    const [total, packed] = await readContract(client, {
      address: args.upkeeping,
      abi: upkeepingAbi,
      functionName: 'providerStates',
      args: [start, pageSize],
      blockNumber,
    });
    out.push(...decodeProviderStates(packed));
    if (start + pageSize >= total) return out;
  }
}
