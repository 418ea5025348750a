import type { Logger } from '@whitepay/base';
import { g1FromEip2537 } from '@whitepay/bls';
import { decodeGroup, readProviderStates, upkeepingAbi, upkeepingFactoryAbi } from '@whitepay/contracts';
import type { Group } from '@whitepay/peer';
import { type Address, getAddress, type Hex, hexToBytes, type PublicClient } from 'viem';
import { CoordinatorError } from '../errors.js';

/** One keeper of a group, with its BLS key ready for verification. */
export interface Member {
  readonly keeperId: number;
  readonly account: Address;
  /** 48-byte compressed G1 public key. */
  readonly publicKey: Uint8Array;
}

/** What a round needs to know about one Upkeeping, read at one block. */
export interface UpkeepingView {
  readonly upkeeping: Address;
  readonly user: Address;
  /** Block the view was read at. */
  readonly block: bigint;
  /** Payment period H and window T, blocks. */
  readonly H: bigint;
  readonly T: bigint;
  /** Effective signer threshold (the contract's `threshold()` view). */
  readonly threshold: number;
  /** Members in the order of the group bytes (the order of `pay`'s signer indices). */
  readonly members: readonly Member[];
  /** The contract's `group()` bytes, passed to `pay` as they are. */
  readonly group: Hex;
  /** Active providers with the `ts` of their next payment (the last te, or the add block). */
  readonly providers: ReadonlyArray<{ readonly pid: Address; readonly ts: bigint }>;
}

/** The peer group of a view: its members' accounts by keeper id (what envelopes are checked against). */
export function groupOf(view: Pick<UpkeepingView, 'upkeeping' | 'members'>): Group {
  return { upkeeping: view.upkeeping, members: new Map(view.members.map((m) => [m.keeperId, m.account])) };
}

export interface ChainViewOptions {
  client: PublicClient;
  /** This keeper's account: an Upkeeping is served when its group holds it. */
  account: Address;
  factory?: Address | undefined;
  factoryFromBlock: number;
  /** Upkeepings configured explicitly. */
  upkeepings: readonly Address[];
  log: Logger;
  /** How long the latest view of a contract is reused by the follower side (ms). */
  latestTtlMs?: number;
}

function unavailable(what: string, cause: unknown): CoordinatorError {
  return new CoordinatorError('COORD_CHAIN_UNAVAILABLE', `${what}: ${(cause as Error)?.message ?? cause}`, {
    cause,
  });
}

/** Views kept (per contract and block): each holds every provider, so a few dozen blocks' worth. */
const VIEWS_KEPT = 64;

/**
 * The coordinator's read-only view of the chain (viem): the head, the
 * Upkeeping contracts this keeper serves (configured, plus those created by
 * the factory whose group holds this keeper's account), and per contract its
 * group, schedule parameters and providers. Views at a block are cached per
 * block (the election reads each once per block); the latest view is cached
 * briefly and refreshed on demand when a peer message disagrees with it.
 */
export class ChainView {
  private readonly atBlock = new Map<string, Promise<UpkeepingView>>();
  private readonly known = new Set<Address>();
  private readonly groups = new Map<Hex, readonly Member[]>();
  private scanned: bigint;
  private head: { at: number; value: bigint } | null = null;
  private chainIdValue: number | null = null;

  constructor(private readonly o: ChainViewOptions) {
    for (const u of o.upkeepings) this.known.add(getAddress(u));
    this.scanned = BigInt(o.factoryFromBlock) - 1n;
  }

  async chainId(): Promise<number> {
    if (this.chainIdValue === null) {
      try {
        this.chainIdValue = await this.o.client.getChainId();
      } catch (err) {
        throw unavailable('eth_chainId', err);
      }
    }
    return this.chainIdValue;
  }

  /** The chain head; `maxAgeMs` 0 always asks the node. */
  async headBlock(maxAgeMs = 0): Promise<bigint> {
    const now = Date.now();
    if (this.head && now - this.head.at <= maxAgeMs) return this.head.value;
    try {
      const value = await this.o.client.getBlockNumber({ cacheTime: 0 });
      this.head = { at: now, value };
      return value;
    } catch (err) {
      throw unavailable('eth_blockNumber', err);
    }
  }

  /** Upkeeping contracts whose group may hold this keeper (configured + found through the factory up to `block`). */
  async candidates(block: bigint): Promise<Address[]> {
    if (this.o.factory && block > this.scanned) {
      const fromBlock = this.scanned + 1n;
      try {
        const logs = await this.o.client.getContractEvents({
          address: this.o.factory,
          abi: upkeepingFactoryAbi,
          eventName: 'UpkeepingCreated',
          fromBlock,
          toBlock: block,
        });
        for (const l of logs) if (l.args.upkeeping) this.known.add(getAddress(l.args.upkeeping));
        this.scanned = block;
      } catch (err) {
        throw unavailable('getLogs UpkeepingCreated', err);
      }
    }
    return [...this.known];
  }

  /** The contracts served at `block`, with their views. */
  async served(block: bigint): Promise<UpkeepingView[]> {
    const me = this.o.account.toLowerCase();
    const out: UpkeepingView[] = [];
    for (const u of await this.candidates(block)) {
      const v = await this.viewAt(u, block);
      if (v.members.some((m) => m.account.toLowerCase() === me)) out.push(v);
    }
    return out;
  }

  /** The view of `upkeeping` at `block` (cached per block). */
  viewAt(upkeeping: Address, block: bigint): Promise<UpkeepingView> {
    const key = `${upkeeping.toLowerCase()}:${block}`;
    let v = this.atBlock.get(key);
    if (!v) {
      v = this.read(upkeeping, block);
      v.catch(() => this.atBlock.delete(key));
      this.atBlock.set(key, v);
      if (this.atBlock.size > VIEWS_KEPT) {
        const first = this.atBlock.keys().next().value;
        if (first !== undefined) this.atBlock.delete(first);
      }
    }
    return v;
  }

  /**
   * The view at the head: the head block is cached for `latestTtlMs` (`fresh`
   * asks the node), the view itself per block (`viewAt`), so peers' messages
   * checked within one block share one read of the contract.
   */
  async current(upkeeping: Address, fresh = false): Promise<UpkeepingView> {
    const head = await this.headBlock(fresh ? 0 : (this.o.latestTtlMs ?? 1_000));
    return this.viewAt(upkeeping, head);
  }

  /** The envelope group (`openEnvelope`) of a contract we may serve; unknown contracts are refused. */
  async peerGroup(upkeeping: Address, fresh = false): Promise<{ group: Group; view: UpkeepingView }> {
    const addr = getAddress(upkeeping);
    if (!this.known.has(addr)) {
      await this.candidates(await this.headBlock(250));
      if (!this.known.has(addr)) {
        throw new CoordinatorError('ROUND_UNKNOWN_GROUP', `${addr} is not an Upkeeping this keeper serves`);
      }
    }
    const view = await this.current(addr, fresh);
    return {
      view,
      group: groupOf(view),
    };
  }

  /**
   * The group's members with their public keys decoded, cached by the group
   * bytes: decoding checks each key's subgroup (a G1 scalar multiplication),
   * and the group is read with every view — once per block — while it rarely changes.
   */
  private membersOf(group: Hex): readonly Member[] {
    let members = this.groups.get(group);
    if (!members) {
      members = decodeGroup(group).map((m) => ({
        keeperId: m.keeperId,
        account: m.account,
        publicKey: g1FromEip2537(hexToBytes(m.publicKey)),
      }));
      if (this.groups.size >= 256) this.groups.clear();
      this.groups.set(group, members);
    }
    return members;
  }

  private async read(upkeeping: Address, block: bigint): Promise<UpkeepingView> {
    const c = { address: upkeeping, abi: upkeepingAbi, blockNumber: block } as const;
    const client = this.o.client;
    try {
      const [user, config, threshold, group, providers] = await Promise.all([
        client.readContract({ ...c, functionName: 'user' }),
        client.readContract({ ...c, functionName: 'config' }),
        client.readContract({ ...c, functionName: 'threshold' }),
        client.readContract({ ...c, functionName: 'group' }),
        readProviderStates(client, { upkeeping, blockNumber: block }),
      ]);
      return {
        upkeeping: getAddress(upkeeping),
        user: getAddress(user),
        block,
        H: config.period,
        T: config.window,
        threshold: Number(threshold),
        group,
        members: this.membersOf(group),
        providers: providers.filter((p) => p.active).map(({ pid, nextTs }) => ({ pid, ts: nextTs })),
      };
    } catch (err) {
      if (err instanceof CoordinatorError) throw err;
      throw unavailable(`read Upkeeping ${upkeeping} at ${block}`, err);
    }
  }
}

const providerIndex = new WeakMap<UpkeepingView, Map<string, bigint>>();

/**
 * The next `ts` of active provider `pid` in `view` (undefined when it is not
 * one): an index built once per view, since a batch looks up hundreds of
 * entries in a list of thousands.
 */
export function nextTsOf(view: UpkeepingView, pid: Address): bigint | undefined {
  let index = providerIndex.get(view);
  if (!index) {
    index = new Map(view.providers.map((p) => [p.pid.toLowerCase(), p.ts]));
    providerIndex.set(view, index);
  }
  return index.get(pid.toLowerCase());
}
