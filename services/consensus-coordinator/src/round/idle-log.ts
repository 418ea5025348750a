import { idleMembers, type RoundItem } from '@whitepay/core';
import type { Redis } from 'ioredis';
import type { Address, Hex } from 'viem';
import type { Metrics } from '../metrics.js';
import type { RoundInfo } from '../peer/messages.js';

/** The latest interval a payment this keeper signed counted one keeper idle for one provider. */
export interface IdleNote {
  readonly keeperId: number;
  readonly upkeeping: Address;
  readonly user: Address;
  readonly pid: Address;
  /** Decimal block numbers (docs/api.md). */
  readonly ts: string;
  readonly te: string;
  /** The round that proposed it, and when this keeper answered the proposal (Unix ms). */
  readonly tid: Hex;
  readonly at: number;
  /** Whether this keeper signed that proposal (false: it refused it, or its st did not agree). */
  readonly signed: boolean;
}

/**
 * What operators see of SPEC 3 item 5 (idle keepers are not paid): for each
 * keeper and provider, the latest interval a proposal this keeper answered
 * counted that keeper idle, and whether this keeper signed it — kept in Redis
 * (hash `<prefix>:idle`, field `<keeperId>:<upkeeping>:<pid>`, shared by
 * replicas) and counted in `whitepay_keeper_idle_entries_total` /
 * `whitepay_keeper_idle_last_te` (labels `keeper`, `self`, `signed`). A keeper
 * counted idle itself rarely signs (its st, without records, does not agree),
 * so unsigned proposals are noted too: the alert fires on `self="true"`.
 * Noted when the proposal is answered (a payment may still fail, e.g. its slot
 * over; the next interval then counts again).
 */
export class IdleLog {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly selfId: number,
    private readonly metrics: Metrics,
  ) {}

  private get key(): string {
    return `${this.prefix}:idle`;
  }

  /** Notes every idle keeper of an answered proposal (`bits` per entry over `members` in group order). */
  async answered(
    info: RoundInfo,
    items: readonly RoundItem[],
    bits: readonly bigint[],
    members: readonly number[],
    signed: boolean,
  ): Promise<void> {
    const now = Date.now();
    const fields: string[] = [];
    items.forEach((it, i) => {
      let idle: number[];
      try {
        idle = idleMembers(members, bits[i] ?? 0n);
      } catch {
        return; // a malformed entry names nobody reliably: not noted
      }
      for (const keeperId of idle) {
        const note: IdleNote = {
          keeperId,
          upkeeping: info.upkeeping,
          user: info.user,
          pid: it.pid,
          ts: it.ts.toString(),
          te: it.te.toString(),
          tid: info.tid,
          at: now,
          signed,
        };
        fields.push(
          `${keeperId}:${info.upkeeping.toLowerCase()}:${it.pid.toLowerCase()}`,
          JSON.stringify(note),
        );
        const labels = {
          keeper: String(keeperId),
          self: String(keeperId === this.selfId),
          signed: String(signed),
        };
        this.metrics.idleCounted.inc(labels);
        this.metrics.idleLastTe.set(labels, Number(it.te));
      }
    });
    if (fields.length > 0) await this.redis.hset(this.key, ...fields);
  }

  /**
   * Up to `limit` notes in the order of their key — (keeper id, upkeeping, pid), a key a note keeps when
   * a later interval replaces it — strictly after `after` when given, of one keeper when given: the
   * keyset page of `GET /v1/idle`.
   */
  async page(q: { keeperId?: number; after?: IdleKey; limit: number }): Promise<IdleNote[]> {
    const raw = await this.redis.hgetall(this.key);
    const notes = Object.values(raw).map((v) => JSON.parse(v) as IdleNote);
    return notes
      .filter((n) => q.keeperId === undefined || n.keeperId === q.keeperId)
      .sort(compareKeys)
      .filter((n) => q.after === undefined || compareKeys(n, q.after) > 0)
      .slice(0, q.limit);
  }
}

/** A note's key: the keeper and the provider (addresses compared lower-case). */
export interface IdleKey {
  readonly keeperId: number;
  readonly upkeeping: string;
  readonly pid: string;
}

export function idleKeyOf(n: IdleKey): IdleKey {
  return { keeperId: n.keeperId, upkeeping: n.upkeeping.toLowerCase(), pid: n.pid.toLowerCase() };
}

function compareKeys(a: IdleKey, b: IdleKey): number {
  const x = idleKeyOf(a);
  const y = idleKeyOf(b);
  if (x.keeperId !== y.keeperId) return x.keeperId - y.keeperId;
  if (x.upkeeping !== y.upkeeping) return x.upkeeping < y.upkeeping ? -1 : 1;
  return x.pid < y.pid ? -1 : x.pid > y.pid ? 1 : 0;
}
