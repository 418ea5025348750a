import type { BatchEntryJson } from '@whitepay/contracts';
import type { Redis } from 'ioredis';
import type { Address, Hex } from 'viem';
import { FencedError } from '../errors.js';

/** A ready payment: `pay()`'s arguments as contracts/ defines them, plus the leader position `r`. */
export interface PaymentRequest {
  upkeeping: Address;
  pid: Address;
  ts: string;
  te: string;
  st: string;
  leaderId: number;
  r: number;
  group: Hex;
  signers: number[];
  signature: Hex;
  /**
   * A batch (`payBatch`): the packed entries (docs/encoding.md). `pid`, `ts`,
   * `te` are then the first entry's and `st` the sum of the entries'; the
   * entry's tid is the batch id (core's `batchId`).
   */
  entries?: Hex;
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

export interface OutboxEntry {
  tid: Hex;
  user: Address;
  state: OutboxState;
  request: PaymentRequest;
  nonce: number | null;
  gas: string;
  txs: SentTx[];
  createdAt: number;
  updatedAt: number;
  error?: { code: string; message: string };
}

// KEYS[1] entry, KEYS[2] pending zset; ARGV: tid, json, createdAt
const CREATE = `
local st = redis.call('HGET', KEYS[1], 'state')
if st and st ~= 'failed' and st ~= 'reverted' then return st end
redis.call('HDEL', KEYS[1], 'nonce')
redis.call('HSET', KEYS[1], 'state', 'queued', 'entry', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 'created'
`;

// KEYS[1] lock, KEYS[2] entry, KEYS[3] pending zset; ARGV: lockValue, expectedState, newState, json, tid, nonce
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

// KEYS[1] lock, KEYS[2] entry, KEYS[3] nonce; ARGV: lockValue, chainPendingNonce.
// The fields `state` and `nonce` of the entry hash override the JSON (readers merge them).
const ASSIGN_NONCE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -2 end
if redis.call('HGET', KEYS[2], 'state') ~= 'queued' then return -1 end
local stored = tonumber(redis.call('GET', KEYS[3]) or '0')
local chain = tonumber(ARGV[2])
local n = stored
if chain > n then n = chain end
redis.call('SET', KEYS[3], n + 1)
redis.call('HSET', KEYS[2], 'state', 'signing', 'nonce', n)
return n
`;

// KEYS[1] lock, KEYS[2] nonce; ARGV: lockValue, value
const SET_NONCE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

function merge(state: string | null, entry: string | null, nonce: string | null): OutboxEntry | null {
  if (entry === null) return null;
  const e = JSON.parse(entry) as OutboxEntry;
  if (state !== null) e.state = state as OutboxState;
  if (nonce !== null) e.nonce = Number(nonce);
  return e;
}

/**
 * The persistent outbox in Redis, keyed by tid. Any replica may add an entry
 * (after its simulation passed); only the lock holder moves entries forward,
 * and every such write is fenced by the lock value in the same Lua script.
 */
export class Outbox {
  private readonly pendingKey: string;
  private readonly nonceKey: string;
  private readonly paymentsKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    account: string,
    private readonly paymentsKept: number,
  ) {
    this.pendingKey = `${prefix}:outbox:pending`;
    this.nonceKey = `${prefix}:nonce:${account.toLowerCase()}`;
    this.paymentsKey = `${prefix}:payments`;
  }

  private key(tid: string): string {
    return `${this.prefix}:outbox:${tid.toLowerCase()}`;
  }

  async get(tid: Hex): Promise<OutboxEntry | null> {
    const [state, entry, nonce] = await this.redis.hmget(this.key(tid), 'state', 'entry', 'nonce');
    return merge(state ?? null, entry ?? null, nonce ?? null);
  }

  /** Adds a queued entry unless one is in flight or done; returns `created` or the existing state. */
  async create(e: OutboxEntry): Promise<'created' | OutboxState> {
    return (await this.redis.eval(
      CREATE,
      2,
      this.key(e.tid),
      this.pendingKey,
      e.tid.toLowerCase(),
      JSON.stringify(e),
      String(e.createdAt),
    )) as 'created' | OutboxState;
  }

  async pending(): Promise<OutboxEntry[]> {
    const tids = await this.redis.zrange(this.pendingKey, '0', '-1');
    if (tids.length === 0) return [];
    const m = this.redis.multi();
    for (const t of tids) m.hmget(this.key(t), 'state', 'entry', 'nonce');
    const res = (await m.exec()) ?? [];
    return res
      .map(([, v]) => {
        const [state, entry, nonce] = (v ?? []) as Array<string | null>;
        return merge(state ?? null, entry ?? null, nonce ?? null);
      })
      .filter((e): e is OutboxEntry => e !== null);
  }

  /** Fenced compare-and-set of an entry's state. */
  async transition(lockKey: string, lockValue: string, from: OutboxState, e: OutboxEntry): Promise<void> {
    e.updatedAt = Date.now();
    const r = await this.redis.eval(
      TRANSITION,
      3,
      lockKey,
      this.key(e.tid),
      this.pendingKey,
      lockValue,
      from,
      e.state,
      JSON.stringify(e),
      e.tid.toLowerCase(),
      e.nonce === null ? '' : String(e.nonce),
    );
    if (r === 'fenced') throw new FencedError('sender lock lost before an outbox write');
    if (r !== 'ok') throw new FencedError(`outbox entry ${e.tid} is no longer ${from}`);
  }

  /** Binds the next nonce to a queued entry for good (fenced); returns the nonce. */
  async assignNonce(
    lockKey: string,
    lockValue: string,
    tid: Hex,
    chainPendingNonce: number,
  ): Promise<number> {
    const r = Number(
      await this.redis.eval(
        ASSIGN_NONCE,
        3,
        lockKey,
        this.key(tid),
        this.nonceKey,
        lockValue,
        chainPendingNonce,
      ),
    );
    if (r === -2) throw new FencedError('sender lock lost before assigning a nonce');
    if (r === -1) throw new FencedError(`outbox entry ${tid} is no longer queued`);
    return r;
  }

  async storedNonce(): Promise<number | null> {
    const v = await this.redis.get(this.nonceKey);
    return v === null ? null : Number(v);
  }

  async resetNonce(lockKey: string, lockValue: string, value: number): Promise<void> {
    await this.redis.eval(SET_NONCE, 2, lockKey, this.nonceKey, lockValue, value);
  }

  async recordResult(result: PaymentResult): Promise<void> {
    await this.redis
      .multi()
      .lpush(this.paymentsKey, JSON.stringify(result))
      .ltrim(this.paymentsKey, 0, this.paymentsKept - 1)
      .exec();
  }

  async recentResults(limit: number): Promise<PaymentResult[]> {
    const raw = await this.redis.lrange(this.paymentsKey, 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as PaymentResult);
  }
}

/** Published on `<ns>.payments` (JSON) and kept for `GET /v1/payments`. */
export interface PaymentResult {
  tid: Hex;
  upkeeping: Address;
  user: Address;
  pid: Address;
  ts: string;
  te: string;
  st: string;
  /** Wei paid by the contract (from `PaymentMade`), decimal; null unless confirmed. */
  amount: string | null;
  txHash: Hex | null;
  block: number | null;
  status: 'confirmed' | 'reverted' | 'rejected' | 'failed';
  errorCode: string | null;
  errorMessage?: string;
  at: number;
  /** Batches only: `batch`, and once confirmed the outcome of every entry in order. */
  kind?: 'batch';
  entries?: BatchEntryResult[];
}
