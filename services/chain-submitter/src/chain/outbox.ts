import type { BatchEntryJson } from '@whitepay/contracts';
import type { Redis } from 'ioredis';
import type { Address, Hex } from 'viem';
import { FencedError, OutboxLayoutError } from '../errors.js';

/** One entry of a batch as `payBatch` takes it (integers as decimal strings). */
export interface PaymentEntry {
  pid: Address;
  ts: string;
  te: string;
  st: string;
  /** The entry's idle set (bit i = member index i), decimal; absent = 0 (batches stored before it existed). */
  idle?: string;
}

/**
 * A ready batch: `payBatch`'s arguments, the entries as a list, plus the
 * leader position `r` common to every entry. A single payment is a list of one.
 */
export interface BatchRequest {
  upkeeping: Address;
  /** In the order signed (the packed bytes are `encodeBatchEntries` of this list). */
  entries: PaymentEntry[];
  leaderId: number;
  r: number;
  group: Hex;
  signers: number[];
  signature: Hex;
}

/** One entry of a confirmed batch: paid (its `PaymentMade`) or skipped (its `PaymentSkipped` reason). */
export type BatchEntryResult = BatchEntryJson;

export interface SentTx {
  hash: Hex;
  raw: Hex;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** Head when broadcast (bumping counts blocks from here). */
  sentAtBlock: number;
}

/**
 * `queued` → (nonce assigned) `signing` → (raw tx stored, broadcast) `sent` →
 * `confirmed` | `reverted` | `failed`. `signing` and `sent` own their nonce for
 * good: every later transaction of the entry (re-sign, fee bump) reuses it,
 * so at most one of them can be mined.
 */
export type OutboxState = 'queued' | 'signing' | 'sent' | 'confirmed' | 'reverted' | 'failed';
export const FINAL_STATES: readonly OutboxState[] = ['confirmed', 'reverted', 'failed'];

/** One outbox entry: a batch, keyed by its batch id (core's `batchId`). */
export interface OutboxEntry {
  /** The batch id (the `tid` of the submit request and of the result). */
  bid: Hex;
  user: Address;
  state: OutboxState;
  request: BatchRequest;
  nonce: number | null;
  /** Gas limit (the estimate plus margin), set with the nonce; null while queued. */
  gas: string | null;
  txs: SentTx[];
  createdAt: number;
  updatedAt: number;
  error?: { code: string; message: string };
}

// KEYS[1] entry, KEYS[2] pending zset; ARGV: bid, json, createdAt
const CREATE = `
local st = redis.call('HGET', KEYS[1], 'state')
if st and st ~= 'failed' and st ~= 'reverted' then return st end
redis.call('HDEL', KEYS[1], 'nonce', 'gas')
redis.call('HSET', KEYS[1], 'state', 'queued', 'entry', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 'created'
`;

// KEYS[1] lock, KEYS[2] entry, KEYS[3] pending zset; ARGV: lockValue, expectedState, newState, json, bid, nonce
const TRANSITION = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'fenced' end
if redis.call('HGET', KEYS[2], 'state') ~= ARGV[2] then return 'conflict' end
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'entry', ARGV[4])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'nonce', ARGV[6]) end
if ARGV[3] == 'confirmed' or ARGV[3] == 'reverted' or ARGV[3] == 'failed' then
  redis.call('ZREM', KEYS[3], ARGV[5])
end
return 'ok'
`;

// KEYS[1] lock, KEYS[2] entry, KEYS[3] nonce; ARGV: lockValue, chainPendingNonce, gas.
// The fields `state`, `nonce` and `gas` of the entry hash override the JSON (readers merge them).
const ASSIGN_NONCE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -2 end
if redis.call('HGET', KEYS[2], 'state') ~= 'queued' then return -1 end
local stored = tonumber(redis.call('GET', KEYS[3]) or '0')
local chain = tonumber(ARGV[2])
local n = stored
if chain > n then n = chain end
redis.call('SET', KEYS[3], n + 1)
redis.call('HSET', KEYS[2], 'state', 'signing', 'nonce', n, 'gas', ARGV[3])
return n
`;

// KEYS[1] lock, KEYS[2] nonce; ARGV: lockValue, value
const SET_NONCE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

const FIELDS = ['state', 'entry', 'nonce', 'gas'] as const;

function merge(v: ReadonlyArray<string | null | undefined>): OutboxEntry | null {
  const [state, entry, nonce, gas] = v;
  if (entry === null || entry === undefined) return null;
  const e = JSON.parse(entry) as OutboxEntry;
  if (state) e.state = state as OutboxState;
  if (nonce) e.nonce = Number(nonce);
  if (gas) e.gas = gas;
  return e;
}

/**
 * The version of the keys below. Layout 1 (before issue 15) kept one entry
 * per payment or batch under `<prefix>:outbox:<tid>` with "the first entry's"
 * pid/ts/te standing in for a batch; layout 2 keeps one shape, a batch with
 * its list of entries, under `<prefix>:outbox:v2:<bid>`. The nonce counter is
 * the same in both.
 */
export const OUTBOX_LAYOUT = 2;

/**
 * The persistent outbox in Redis, keyed by batch id. Any replica may add an
 * entry (after its revert check passed); only the lock holder moves entries
 * forward, and every such write is fenced by the lock value in the same Lua
 * script.
 */
export class Outbox {
  private readonly pendingKey: string;
  private readonly nonceKey: string;
  private readonly paymentsKey: string;
  private readonly paymentsSeqKey: string;
  private readonly legacyPaymentsKey: string;
  private readonly layoutKey: string;
  private readonly legacyPendingKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    account: string,
    private readonly paymentsKept: number,
  ) {
    this.pendingKey = `${prefix}:outbox:v2:pending`;
    this.nonceKey = `${prefix}:nonce:${account.toLowerCase()}`;
    this.paymentsKey = `${prefix}:payments:v3`;
    this.paymentsSeqKey = `${prefix}:payments:v3:seq`;
    this.legacyPaymentsKey = `${prefix}:payments:v2`;
    this.layoutKey = `${prefix}:outbox:layout`;
    this.legacyPendingKey = `${prefix}:outbox:pending`;
  }

  private key(bid: string): string {
    return `${this.prefix}:outbox:v2:${bid.toLowerCase()}`;
  }

  /**
   * Refuses a Redis that still holds pending entries of layout 1 (they would
   * never be sent, and their payments would be silently dropped), then
   * records the layout. Run before the sender starts.
   *
   * @throws OutboxLayoutError listing the pending legacy ids.
   */
  async checkLayout(): Promise<void> {
    const legacy = await this.redis.zrange(this.legacyPendingKey, '0', '-1');
    if (legacy.length > 0) {
      throw new OutboxLayoutError(
        `${legacy.length} payment(s) pending in the outbox layout 1 (${this.legacyPendingKey}); ` +
          'let the previous release finish them (GET /v1/outbox empty) before upgrading',
        { key: this.legacyPendingKey, pending: legacy },
      );
    }
    const layout = await this.redis.get(this.layoutKey);
    if (layout !== null && Number(layout) > OUTBOX_LAYOUT) {
      throw new OutboxLayoutError(`outbox layout ${layout} is newer than this release's ${OUTBOX_LAYOUT}`, {
        key: this.layoutKey,
        layout: Number(layout),
      });
    }
    if (layout === null) await this.redis.set(this.layoutKey, String(OUTBOX_LAYOUT));
  }

  async get(bid: Hex): Promise<OutboxEntry | null> {
    return merge(await this.redis.hmget(this.key(bid), ...FIELDS));
  }

  /** Adds a queued entry unless one is in flight or done; returns `created` or the existing state. */
  async create(e: OutboxEntry): Promise<'created' | OutboxState> {
    return (await this.redis.eval(
      CREATE,
      2,
      this.key(e.bid),
      this.pendingKey,
      e.bid.toLowerCase(),
      JSON.stringify(e),
      String(e.createdAt),
    )) as 'created' | OutboxState;
  }

  async pending(): Promise<OutboxEntry[]> {
    const bids = await this.redis.zrange(this.pendingKey, '0', '-1');
    if (bids.length === 0) return [];
    const m = this.redis.multi();
    for (const b of bids) m.hmget(this.key(b), ...FIELDS);
    const res = (await m.exec()) ?? [];
    return res
      .map(([, v]) => merge((v ?? []) as Array<string | null>))
      .filter((e): e is OutboxEntry => e !== null);
  }

  /** Fenced compare-and-set of an entry's state. */
  async transition(lockKey: string, lockValue: string, from: OutboxState, e: OutboxEntry): Promise<void> {
    e.updatedAt = Date.now();
    const r = await this.redis.eval(
      TRANSITION,
      3,
      lockKey,
      this.key(e.bid),
      this.pendingKey,
      lockValue,
      from,
      e.state,
      JSON.stringify(e),
      e.bid.toLowerCase(),
      e.nonce === null ? '' : String(e.nonce),
    );
    if (r === 'fenced') throw new FencedError('sender lock lost before an outbox write');
    if (r !== 'ok') throw new FencedError(`outbox entry ${e.bid} is no longer ${from}`);
  }

  /** Binds the next nonce and the gas limit to a queued entry for good (fenced); returns the nonce. */
  async assignNonce(
    lockKey: string,
    lockValue: string,
    bid: Hex,
    chainPendingNonce: number,
    gas: bigint,
  ): Promise<number> {
    const r = Number(
      await this.redis.eval(
        ASSIGN_NONCE,
        3,
        lockKey,
        this.key(bid),
        this.nonceKey,
        lockValue,
        chainPendingNonce,
        gas.toString(),
      ),
    );
    if (r === -2) throw new FencedError('sender lock lost before assigning a nonce');
    if (r === -1) throw new FencedError(`outbox entry ${bid} is no longer queued`);
    return r;
  }

  async storedNonce(): Promise<number | null> {
    const v = await this.redis.get(this.nonceKey);
    return v === null ? null : Number(v);
  }

  async resetNonce(lockKey: string, lockValue: string, value: number): Promise<void> {
    await this.redis.eval(SET_NONCE, 2, lockKey, this.nonceKey, lockValue, value);
  }

  /**
   * Keeps a final result for `GET /v1/payments`: a sorted set scored by a
   * monotonic sequence number (INCR), trimmed to the newest `paymentsKept`,
   * so a page keyed by the sequence is stable while results keep arriving.
   */
  async recordResult(result: PaymentResult): Promise<void> {
    const seq = await this.redis.incr(this.paymentsSeqKey);
    await this.redis
      .multi()
      .zadd(this.paymentsKey, seq, JSON.stringify(result))
      .zremrangebyrank(this.paymentsKey, 0, -this.paymentsKept - 1)
      .exec();
  }

  /** The newest results, newest first. */
  async recentResults(limit: number): Promise<PaymentResult[]> {
    return (await this.resultsBefore(limit)).map((r) => r.result);
  }

  /** Up to `limit` results newest first, with their sequence numbers; those older than `before` when given. */
  async resultsBefore(limit: number, before?: number): Promise<{ seq: number; result: PaymentResult }[]> {
    await this.migrateLegacyResults();
    const raw = await this.redis.zrevrangebyscore(
      this.paymentsKey,
      before === undefined ? '+inf' : `(${before}`,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const out: { seq: number; result: PaymentResult }[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2)
      out.push({ seq: Number(raw[i + 1]), result: JSON.parse(raw[i]!) as PaymentResult });
    return out;
  }

  private legacyChecked = false;

  /** Moves the results a release before the sequenced set kept (a newest-first list) into it, once. */
  private async migrateLegacyResults(): Promise<void> {
    if (this.legacyChecked) return;
    const legacy = await this.redis.lrange(this.legacyPaymentsKey, 0, -1);
    if (legacy.length > 0) {
      const multi = this.redis.multi();
      // Oldest first, numbered below any result recorded by this release (scores 1..n are the
      // first INCRs, so the legacy ones take 1-n..0).
      legacy.reverse().forEach((json, i) => {
        multi.zadd(this.paymentsKey, i + 1 - legacy.length, json);
      });
      await multi.del(this.legacyPaymentsKey).exec();
    }
    this.legacyChecked = true;
  }
}

/**
 * The final result of a batch: published on `<ns>.payments` (JSON,
 * Nats-Msg-Id `payment:<tid>:<status>:…`) and kept for `GET /v1/payments`.
 */
export interface PaymentResult {
  /** The batch id. */
  tid: Hex;
  upkeeping: Address;
  user: Address;
  leaderId: number;
  r: number;
  /** Entries in the batch. */
  size: number;
  /** Wei paid by the contract in total (its `BatchSettled`), decimal; null unless confirmed. */
  amount: string | null;
  txHash: Hex | null;
  /** The block that included the transaction; null unless mined (a decimal string on the HTTP API). */
  block: number | null;
  status: 'confirmed' | 'reverted' | 'rejected' | 'failed';
  errorCode: string | null;
  errorMessage?: string;
  at: number;
  /** Once confirmed: the outcome of every entry (paid, or skipped with the contract's reason), paid first. */
  entries?: BatchEntryResult[];
}
