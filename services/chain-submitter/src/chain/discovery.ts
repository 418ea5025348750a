import type { Logger } from '@whitepay/base';
import { upkeepingAbi, upkeepingFactoryAbi } from '@whitepay/contracts';
import { rankKeepers } from '@whitepay/core';
import { type Address, getAddress, type PublicClient } from 'viem';
import type { Metrics } from '../metrics.js';
import { withRetry } from './retry.js';

export interface DiscoveredUpkeeping {
  upkeeping: Address;
  user: Address;
  createdAt: number;
  /** Whether this keeper's account is an active keeper of it (it serves this user). */
  serving: boolean;
  /** The members in member-index order (as the contract keeps them: the last takes a removed one's index). */
  keepers: Array<{ keeperId: number; account: Address }>;
  providers: Array<{ pid: Address; addedAt: number }>;
}

export interface DiscoveryOptions {
  client: PublicClient;
  factory: Address;
  fromBlock: number;
  chunk: number;
  account: Address;
  log: Logger;
  metrics: Metrics;
  rpcRetries: number;
  /** The last confirmed block (the follower's last published one). */
  confirmedHead: () => number | null;
}

/**
 * Maintains the users, Upkeeping contracts and providers this keeper serves
 * from the chain's events, up to the last confirmed block: `UpkeepingCreated`
 * of the factory, then `KeeperAdded/Removed` and `ProviderAdded/Removed` of
 * every Upkeeping, applied in (block, log index) order. State is in memory and
 * rebuilt from `fromBlock` at start.
 *
 * The same scan counts what this keeper earns (`whitepay_fees_earned_wei_total`):
 * of every `PaymentMade` of a group it is in, its keeper share unless the payment
 * excluded it (the `excluded` keepers ranked before the leader: core's ranking of
 * the members at that log; and the event's `idle` set, by member index) and the
 * bonus when it led (the event's `bonus` is 0 when the leader was idle). Only payments confirmed
 * after the scan first reached the head count: a restart starts the counter at
 * zero, as Prometheus expects, instead of adding the group's history again.
 */
export class Discovery {
  private scanned: number;
  /** Fees count once the first sync has caught up with the head. */
  private counting = false;
  private readonly map = new Map<Address, DiscoveredUpkeeping>();
  private readonly log: Logger;

  constructor(private readonly o: DiscoveryOptions) {
    this.scanned = o.fromBlock - 1;
    this.log = o.log.child({ component: 'discovery' });
  }

  list(): DiscoveredUpkeeping[] {
    return [...this.map.values()];
  }

  get scannedTo(): number {
    return this.scanned;
  }

  /** Scans new confirmed blocks; returns whether it advanced. */
  async sync(): Promise<boolean> {
    const to = this.o.confirmedHead();
    if (to === null || to <= this.scanned) return false;
    while (this.scanned < to) {
      const from = this.scanned + 1;
      const end = Math.min(to, from + this.o.chunk - 1);
      await this.scan(BigInt(from), BigInt(end));
      this.scanned = end;
    }
    this.o.metrics.upkeepings.set(this.list().filter((u) => u.serving).length);
    this.counting = true;
    return true;
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, { retries: this.o.rpcRetries, log: this.log, what });
  }

  private async scan(fromBlock: bigint, toBlock: bigint): Promise<void> {
    const created = await this.retry('getLogs UpkeepingCreated', () =>
      this.o.client.getContractEvents({
        address: this.o.factory,
        abi: upkeepingFactoryAbi,
        eventName: 'UpkeepingCreated',
        fromBlock,
        toBlock,
      }),
    );
    for (const l of created) {
      const upkeeping = getAddress(l.args.upkeeping!);
      if (!this.map.has(upkeeping))
        this.map.set(upkeeping, {
          upkeeping,
          user: getAddress(l.args.user!),
          createdAt: Number(l.blockNumber),
          serving: false,
          keepers: [],
          providers: [],
        });
    }
    if (this.map.size === 0) return;
    const logs = await this.retry('getLogs Upkeeping', () =>
      this.o.client.getContractEvents({
        address: [...this.map.keys()],
        abi: upkeepingAbi,
        fromBlock,
        toBlock,
      }),
    );
    logs.sort(
      (a, b) =>
        Number((a.blockNumber ?? 0n) - (b.blockNumber ?? 0n)) || (a.logIndex ?? 0) - (b.logIndex ?? 0),
    );
    const me = this.o.account.toLowerCase();
    for (const l of logs) {
      const u = this.map.get(getAddress(l.address));
      if (!u) continue;
      switch (l.eventName) {
        case 'KeeperAdded':
          u.keepers.push({ keeperId: l.args.keeperId!, account: getAddress(l.args.account!) });
          break;
        case 'KeeperRemoved': {
          // As the contract does: the last member takes the removed one's index, so `keepers` stays in
          // member-index order (the order of a payment's signers and idle bits).
          const i = u.keepers.findIndex((k) => k.keeperId === l.args.keeperId);
          const last = u.keepers.pop();
          if (last !== undefined && i >= 0 && i < u.keepers.length) u.keepers[i] = last;
          break;
        }
        case 'ProviderAdded':
          u.providers.push({
            pid: getAddress(l.args.pid!),
            addedAt: Number(l.args.startBlock ?? l.blockNumber),
          });
          break;
        case 'ProviderRemoved':
          u.providers = u.providers.filter((p) => p.pid !== getAddress(l.args.pid!));
          break;
        case 'PaymentMade': {
          if (!this.counting) break;
          const earned = earnedOf(u, me, l.args);
          if (earned > 0n) this.o.metrics.feesEarned.inc(Number(earned));
          if (countedIdle(u, me, l.args)) {
            this.o.metrics.countedIdle.inc();
            if (l.args.te !== undefined) this.o.metrics.countedIdleLastTe.set(Number(l.args.te));
          }
          break;
        }
        default:
          break;
      }
      u.serving = u.keepers.some((k) => k.account.toLowerCase() === me);
    }
  }
}

/** Whether a payment of group `u` (members as at the log, in member-index order) counted `me` idle. */
export function countedIdle(
  u: Pick<DiscoveredUpkeeping, 'keepers'>,
  me: string,
  p: { idle?: bigint | undefined },
): boolean {
  const index = u.keepers.findIndex((k) => k.account.toLowerCase() === me.toLowerCase());
  return index >= 0 && (((p.idle ?? 0n) >> BigInt(index)) & 1n) === 1n;
}

/**
 * What the keeper of account `me` earned from one payment of group `u` (members as at the log, in
 * member-index order): its keeper share unless it was among the `excluded` keepers ranked before the
 * leader or in the payment's `idle` set (bit i = member index i), plus the bonus when it led and was not
 * idle (SPEC 3 item 5: an idle keeper earns nothing for the entry).
 */
export function earnedOf(
  u: Pick<DiscoveredUpkeeping, 'user' | 'keepers'>,
  me: string,
  p: {
    pid?: Address | undefined;
    ts?: bigint | undefined;
    leaderId?: number | undefined;
    excluded?: number | undefined;
    keeperShare?: bigint | undefined;
    bonus?: bigint | undefined;
    idle?: bigint | undefined;
  },
): bigint {
  const mine = u.keepers.find((k) => k.account.toLowerCase() === me.toLowerCase());
  if (!mine || p.pid === undefined || p.ts === undefined) return 0n;
  const ranking = rankKeepers({
    user: u.user,
    pid: p.pid,
    ts: p.ts,
    keepers: u.keepers.map((k) => k.keeperId),
  });
  const excluded = ranking.slice(0, p.excluded ?? 0);
  if (countedIdle(u, me, p)) return 0n;
  let earned = excluded.includes(mine.keeperId) ? 0n : (p.keeperShare ?? 0n);
  if (p.leaderId === mine.keeperId) earned += p.bonus ?? 0n;
  return earned;
}
