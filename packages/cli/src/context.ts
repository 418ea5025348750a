import { isAbsolute, resolve } from 'node:path';
import { type UpkeepingClient, upkeepingOf } from '@whitepay/contracts';
import { InvalidArgumentError } from 'commander';
import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  isHex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  zeroAddress,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { CliError, EXIT, usageError } from './errors.js';
import { formatPairs, type Io, toJson } from './io.js';
import { parseAddress } from './parse.js';

/** The global options as commander parsed them. */
export interface GlobalOptions {
  readonly rpcUrl?: string;
  readonly privateKey?: string;
  readonly json?: boolean;
  readonly factory?: Address;
  readonly upkeeping?: Address;
  readonly pollInterval?: number;
  readonly quiet?: boolean;
}

export const DEFAULT_RPC_URL = 'http://127.0.0.1:8545';

/** What every command gets: output, the chain, the signer and the addresses it works on. */
export interface Context {
  readonly io: Io;
  readonly json: boolean;
  readonly rpcUrl: string;
  /** Prints the JSON value with --json, else the human text (both on stdout). */
  result(human: string | (() => string), json: unknown): void;
  /** A progress line on stderr (not with --quiet). */
  progress(message: string): void;
  publicClient(): Promise<PublicClient<Transport, Chain>>;
  /** The signer's wallet client; a usage error without --private-key / WHITEPAY_PRIVATE_KEY. */
  wallet(): Promise<UpkeepingClient>;
  /** The signer's address, when a key was given (no network access). */
  signer(): Address | undefined;
  /** The factory address (--factory / WHITEPAY_FACTORY); a usage error without one. */
  factory(): Address;
  /** --upkeeping, else the signer's Upkeeping found through the factory. */
  upkeeping(): Promise<Address>;
  /** Runs a transaction, telling stderr while it waits for the receipt (and the block it landed in). */
  send<T>(label: string, run: (wallet: UpkeepingClient) => Promise<T>): Promise<T>;
  /** A path relative to the run's working directory. */
  path(file: string): string;
}

function envAddress(io: Io, name: string): Address | undefined {
  const raw = io.env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    return parseAddress(raw);
  } catch (err) {
    throw usageError(`${name}: ${err instanceof InvalidArgumentError ? err.message : 'invalid address'}`);
  }
}

function loadAccount(raw: string | undefined): PrivateKeyAccount | undefined {
  if (raw === undefined || raw === '') return undefined;
  const hex = (raw.startsWith('0x') ? raw : `0x${raw}`) as Hex;
  // Never echo the value: the message names the option only.
  if (!isHex(hex, { strict: true }) || hex.length !== 66) {
    throw usageError('the private key (--private-key / WHITEPAY_PRIVATE_KEY) must be 32 bytes of hex');
  }
  try {
    return privateKeyToAccount(hex);
  } catch {
    throw usageError('the private key (--private-key / WHITEPAY_PRIVATE_KEY) is not a valid secp256k1 key');
  }
}

export function createContext(io: Io, opts: GlobalOptions): Context {
  const json = opts.json === true;
  const rpcUrl = opts.rpcUrl ?? (io.env.WHITEPAY_RPC_URL || DEFAULT_RPC_URL);
  const account = loadAccount(opts.privateKey ?? io.env.WHITEPAY_PRIVATE_KEY);
  const factoryAddress = opts.factory ?? envAddress(io, 'WHITEPAY_FACTORY');
  const upkeepingAddress = opts.upkeeping ?? envAddress(io, 'WHITEPAY_UPKEEPING');
  const pollingInterval = opts.pollInterval ?? 1000;
  const transport = http(rpcUrl, { retryCount: 1, timeout: 30_000 });

  let chain: Promise<Chain> | undefined;
  const getChain = () => {
    chain ??= createPublicClient({ transport })
      .getChainId()
      .then((id) =>
        defineChain({
          id,
          name: `chain ${id}`,
          nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
          rpcUrls: { default: { http: [rpcUrl] } },
        }),
      );
    return chain;
  };
  let publicClient: PublicClient<Transport, Chain> | undefined;
  let wallet: UpkeepingClient | undefined;

  const ctx: Context = {
    io,
    json,
    rpcUrl,
    result(human, value) {
      if (json) io.stdout.write(`${toJson(value)}\n`);
      else io.stdout.write(`${typeof human === 'function' ? human() : human}\n`);
    },
    progress(message) {
      if (opts.quiet !== true) io.stderr.write(`${message}\n`);
    },
    async publicClient() {
      publicClient ??= createPublicClient({ chain: await getChain(), transport, pollingInterval });
      return publicClient;
    },
    async wallet() {
      if (!account) {
        throw usageError('this command sends a transaction: give --private-key or set WHITEPAY_PRIVATE_KEY');
      }
      wallet ??= createWalletClient({ chain: await getChain(), transport, account, pollingInterval });
      return wallet;
    },
    signer: () => account?.address,
    factory() {
      if (!factoryAddress) throw usageError('give the factory address: --factory or WHITEPAY_FACTORY');
      return factoryAddress;
    },
    async upkeeping() {
      if (upkeepingAddress) return upkeepingAddress;
      if (!factoryAddress || !account) {
        throw usageError(
          'give the Upkeeping address (--upkeeping or WHITEPAY_UPKEEPING), or --factory with the user’s --private-key',
        );
      }
      const found = await upkeepingOf(await ctx.wallet(), { factory: factoryAddress, user: account.address });
      if (found === zeroAddress) {
        throw new CliError(
          'UPKEEPING_NOT_FOUND',
          `user ${account.address} has no Upkeeping at factory ${factoryAddress} (run \`whitepay user create\`)`,
          EXIT.rejected,
        );
      }
      return found;
    },
    async send(label, run) {
      const w = await ctx.wallet();
      ctx.progress(`${label}: sending from ${w.account.address}, waiting for the receipt…`);
      const started = Date.now();
      const result = await run(w);
      const ms = Date.now() - started;
      const r = result as Partial<TransactionReceipt>;
      ctx.progress(
        r.blockNumber !== undefined && r.transactionHash !== undefined
          ? `${label}: confirmed in block ${r.blockNumber} (tx ${r.transactionHash}, gas ${r.gasUsed}, ${ms} ms)`
          : `${label}: confirmed (${ms} ms)`,
      );
      return result;
    },
    path: (file) => (isAbsolute(file) ? file : resolve(io.cwd ?? process.cwd(), file)),
  };
  return ctx;
}

/** `key  value` text for a result object of scalars. */
export function pairs(record: Record<string, string | number | bigint | boolean | null | undefined>): string {
  return formatPairs(Object.entries(record));
}
