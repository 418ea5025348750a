import {
  deserializeRoundState,
  type LeaderState,
  type RecordRef,
  type RoundItem,
  serializeRoundState,
} from '@whitepay/core';
import type { Redis } from 'ioredis';
import type { Address, Hex } from 'viem';
import type { RoundInfo } from '../peer/messages.js';
import type { BatchEntryOutcome } from './submit.js';

/** How a round ended for the operator (`running` until it does). */
export type RoundOutcome = 'running' | 'submitting' | 'confirmed' | 'reverted' | 'rejected' | 'failed';
export const FINAL_OUTCOMES: readonly RoundOutcome[] = ['confirmed', 'reverted', 'rejected', 'failed'];

/** The leader's persisted round (key `round:<tid>`): core's state plus what the service adds around it. */
export interface RoundRecord {
  readonly info: RoundInfo;
  readonly state: LeaderState;
  /** A full sync happened: later commit requests ask for st over own + peer records. */
  readonly synced: boolean;
  readonly outcome: RoundOutcome;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
  readonly txHash?: Hex;
  readonly amount?: string;
  readonly error?: { code: string; message: string };
  /** Once confirmed: every entry paid or skipped (with the contract's reason). */
  readonly entries?: BatchEntryOutcome[];
  /**
   * The idle sets of the attempt being proposed (SPEC 3 item 5), decided once per attempt before its
   * first proposal: per entry, the idle keeper ids and the reference that vouches for each active one.
   */
  readonly idle?: StoredIdle;
}

/** One attempt's idle decision, as stored (blocks as decimal strings). */
export interface StoredIdle {
  readonly attempt: number;
  readonly entries: readonly {
    idle: readonly number[];
    active: readonly { keeperId: number; block: string }[];
  }[];
}

/** The order key of a round in `rounds` (newest first): its start, then its tid. */
export interface RoundKey {
  startedAt: number;
  tid: Hex;
}

/** A follower's commitment to its vector for one attempt (key `commit:<tid>:<attempt>`), kept until it has revealed (SPEC 6.1). */
export interface StoredCommit {
  readonly info: RoundInfo;
  readonly items: readonly RoundItem[];
  readonly sts: readonly bigint[];
  readonly nonce: Hex;
  readonly includePeers: boolean;
  /**
   * Per entry, the records this member holds (SPEC 3 item 5), at most one per keeper: its vouches for the
   * others, and its own first record (which vouches for nobody; it checks a reference to itself).
   */
  readonly held: readonly (readonly RecordRef[])[];
}

function encodeItems(items: readonly RoundItem[]) {
  return items.map((it) => ({ pid: it.pid, ts: it.ts.toString(), te: it.te.toString() }));
}
function decodeItems(raw: ReturnType<typeof encodeItems>): RoundItem[] {
  return raw.map((it) => ({ pid: it.pid, ts: BigInt(it.ts), te: BigInt(it.te) }));
}

const DAY_S = 24 * 3600;

/**
 * Round persistence in Redis (keys under the coordinator's prefix), one
 * layout for every round (a list of `k >= 1` entries; tid = core's
 * `roundId`): `round:<tid>` the leader's record (written after every reducer
 * event, so a crashed replica's job resumes it), `rounds` a sorted set of
 * recent tids, `commit:<tid>:<attempt>` a follower's (items, st vector,
 * nonce) written before it answers the commit request, `lead:<upkeeping>:<pid>:<ts>:<cycle>:<position>` the
 * claim that one round runs per leader window.
 */
export class RoundStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly kept: number,
  ) {}

  private roundKey(tid: Hex): string {
    return `${this.prefix}:round:${tid.toLowerCase()}`;
  }

  async getRound(tid: Hex): Promise<RoundRecord | null> {
    const raw = await this.redis.get(this.roundKey(tid));
    if (raw === null) return null;
    const o = JSON.parse(raw) as Omit<RoundRecord, 'state'> & { state: string };
    return { ...o, state: deserializeRoundState(o.state) };
  }

  async putRound(r: RoundRecord): Promise<void> {
    const json = JSON.stringify({ ...r, state: serializeRoundState(r.state) });
    await this.redis
      .multi()
      .set(this.roundKey(r.info.tid), json, 'EX', 7 * DAY_S)
      .zadd(`${this.prefix}:rounds`, r.startedAt, r.info.tid.toLowerCase())
      .zremrangebyrank(`${this.prefix}:rounds`, 0, -this.kept - 1)
      .exec();
  }

  /** The most recent rounds, newest first. */
  async recent(limit: number): Promise<RoundRecord[]> {
    return this.before(limit);
  }

  /**
   * Up to `limit` rounds newest first — ordered by (startedAt, tid) descending,
   * a key a round keeps for good — strictly older than `before` when given:
   * the keyset page of `GET /v1/rounds` (a round started meanwhile sorts
   * before every page already given, so paging neither skips nor repeats).
   */
  async before(limit: number, before?: RoundKey): Promise<RoundRecord[]> {
    const key = `${this.prefix}:rounds`;
    let tids: string[];
    if (!before) tids = await this.redis.zrevrange(key, 0, limit - 1);
    else {
      // Members of one score come in descending tid order: skip those at or after the cursor's tid.
      const ties = await this.redis.zcount(key, before.startedAt, before.startedAt);
      const raw = await this.redis.zrevrangebyscore(
        key,
        before.startedAt,
        '-inf',
        'WITHSCORES',
        'LIMIT',
        0,
        limit + ties,
      );
      tids = [];
      for (let i = 0; i + 1 < raw.length && tids.length < limit; i += 2) {
        const tid = raw[i]!;
        if (Number(raw[i + 1]) === before.startedAt && tid >= before.tid.toLowerCase()) continue;
        tids.push(tid);
      }
    }
    const out: RoundRecord[] = [];
    for (const tid of tids) {
      const r = await this.getRound(tid as Hex);
      if (r) out.push(r);
    }
    return out;
  }

  private commitKey(tid: Hex, attempt: number): string {
    return `${this.prefix}:commit:${tid.toLowerCase()}:${attempt}`;
  }

  async getCommit(tid: Hex, attempt: number): Promise<StoredCommit | null> {
    const raw = await this.redis.get(this.commitKey(tid, attempt));
    if (raw === null) return null;
    const o = JSON.parse(raw) as {
      info: RoundInfo;
      items: ReturnType<typeof encodeItems>;
      sts: string[];
      nonce: Hex;
      includePeers: boolean;
      held?: { keeperId: number; block: string }[][];
    };
    return {
      info: o.info,
      items: decodeItems(o.items),
      sts: o.sts.map((x) => BigInt(x)),
      nonce: o.nonce,
      includePeers: o.includePeers,
      held: (o.held ?? []).map((refs) => refs.map((r) => ({ keeperId: r.keeperId, block: BigInt(r.block) }))),
    };
  }

  /** Stores the commitment unless one exists for (tid, attempt); returns the one that is stored. */
  async putCommit(c: StoredCommit, attempt: number): Promise<StoredCommit> {
    const json = JSON.stringify({
      ...c,
      items: encodeItems(c.items),
      sts: c.sts.map(String),
      held: c.held.map((refs) => refs.map((r) => ({ keeperId: r.keeperId, block: r.block.toString() }))),
    });
    const ok = await this.redis.set(this.commitKey(c.info.tid, attempt), json, 'EX', 2 * DAY_S, 'NX');
    if (ok === 'OK') return c;
    return (await this.getCommit(c.info.tid, attempt)) ?? c;
  }

  private leadKey(upkeeping: Address, pid: Address, ts: bigint, cycle: bigint, position: number): string {
    return `${this.prefix}:lead:${upkeeping.toLowerCase()}:${pid.toLowerCase()}:${ts}:${cycle}:${position}`;
  }

  /**
   * Claims the leader windows of a round's entries in one round trip (a
   * pipeline; one round per window, so two replicas never lead the same
   * window twice): which of `keys` this call claimed, in order. An election
   * claims hundreds of windows per block.
   */
  async claimLeads(
    keys: ReadonlyArray<{ upkeeping: Address; pid: Address; ts: bigint; cycle: bigint; position: number }>,
    tid: Hex,
  ): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const k of keys)
      pipe.set(this.leadKey(k.upkeeping, k.pid, k.ts, k.cycle, k.position), tid, 'EX', DAY_S, 'NX');
    const results = (await pipe.exec()) ?? [];
    return keys.map((_, i) => {
      const [err, ok] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      return ok === 'OK';
    });
  }

  /** Releases a window claim (after a failed round, so a later block of the window may try again). */
  async releaseLead(
    k: { upkeeping: Address; pid: Address; ts: bigint; cycle: bigint; position: number },
    tid: Hex,
  ) {
    const key = this.leadKey(k.upkeeping, k.pid, k.ts, k.cycle, k.position);
    const cur = await this.redis.get(key);
    if (cur === tid) await this.redis.del(key);
  }
}
