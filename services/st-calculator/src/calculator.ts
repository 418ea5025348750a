import { asWhitePayError, type Logger } from '@whitepay/base';
import { CadenceSchedule } from '@whitepay/challenge';
import { type SpaceRecord, spaceTime } from '@whitepay/core';
import { type Admission, checkDeadline, createAdmission } from '@whitepay/rpc';
import {
  accountKnown,
  entriesAwaitingPeerRecords,
  entriesWithoutRecentRecord,
  firstVerifiedRecords,
  keeperActivity,
  loadSpaceRecords,
  type Pool,
  SPACE_TIME_BATCH_MAX,
  type SpaceTimeQuery,
  type SpaceTimeResult,
  spaceTimeSql,
  spaceTimeSqlBatch,
  toHex,
  unknownAccounts,
  VOUCH_KEEPERS_MAX,
} from '@whitepay/store';
import { StAccountUnknown, StQueryRejected } from './errors.js';
import type { Metrics } from './metrics.js';

export type Engine = 'sql' | 'core';

const INT8_MAX = 9_223_372_036_854_775_807n;

export interface StQuery {
  user: Uint8Array;
  pid: Uint8Array;
  ts: bigint;
  te: bigint;
  /** The union of every keeper's records (SPEC 6 step 4) instead of this keeper's own. */
  includePeers?: boolean;
}

export interface StBatchQuery {
  /** Every entry's st over its own [ts, te), in this order. */
  entries: readonly { user: Uint8Array; pid: Uint8Array; ts: bigint; te: bigint }[];
  /** The union of every keeper's records (SPEC 6 step 4) instead of this keeper's own. */
  includePeers?: boolean;
}

export interface StBatchAnswer {
  /** In the order of the query's entries. */
  results: SpaceTimeResult[];
  maxStaleness: bigint;
  engine: Engine;
}

export interface VouchQuery {
  /** One round's entries (at most SPACE_TIME_BATCH_MAX). */
  entries: readonly { user: Uint8Array; pid: Uint8Array; ts: bigint; te: bigint }[];
  /** The keepers to report (this keeper's own id reports its own records). */
  keeperIds: readonly number[];
}

export interface VouchAnswer {
  /** Per entry, in order: one `{keeperId, block}` per asked keeper with a verified record in [ts, te). */
  entries: { keeperId: number; block: bigint }[][];
}

export interface StAnswer extends SpaceTimeResult {
  maxStaleness: bigint;
  engine: Engine;
}

export interface AuditQuery {
  user: Uint8Array;
  pid: Uint8Array;
  from: bigint;
  to: bigint;
  /** Keepers to report even without records (besides the configured group and those seen). */
  keeperIds?: readonly number[];
}

export interface KeeperAudit {
  keeperId: number;
  own: boolean;
  records: number;
  verified: number;
  st: bigint;
  idle: boolean;
}

export interface AuditAnswer {
  keepers: KeeperAudit[];
  maxStaleness: bigint;
}

/**
 * What one caller may ask at once (issue "bounded work per caller"): every
 * bound refused with a typed error and counted, never queued or clamped.
 */
export interface Limits {
  /** Most keeper ids one AuditGroup names (ST_AUDIT_TOO_MANY_KEEPERS). */
  maxAuditKeepers: number;
  /** Longest interval te - ts of one query or entry, in blocks (ST_INTERVAL_TOO_LONG). */
  maxIntervalBlocks: bigint;
  /** Most blocks one call covers, summed over its entries (ST_CALL_TOO_LARGE). */
  maxCallBlocks: bigint;
  /**
   * Calls that query the database at once, in total (at most the pool: an admitted call never waits
   * for a connection) and per client; a client's further calls wait in its own queue, up to
   * `maxQueuedPerClient`, one more is refused (RPC_BUSY). Freed slots go to waiting clients in turn.
   */
  maxConcurrent: number;
  maxConcurrentPerClient: number;
  maxQueuedPerClient: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxAuditKeepers: 256,
  maxIntervalBlocks: 1_000_000n,
  maxCallBlocks: 20_000_000n,
  maxConcurrent: 10,
  maxConcurrentPerClient: 5,
  maxQueuedPerClient: 16,
};

/** Who asks, and until when (the gRPC deadline); both optional for in-process callers. */
export interface CallInfo {
  client?: string;
  deadline?: Date | undefined;
}

export interface CalculatorDeps {
  pool: Pool;
  log: Logger;
  metrics: Metrics;
  keeperId: number;
  maxStaleness: bigint;
  engine: Engine;
  /** Keeper ids AuditGroup always reports. */
  groupKeepers?: readonly number[];
  /** How long an own st waits for the record due before te (ingest lag); 0 does not wait. */
  settleWaitMs?: number;
  /** The challengers' cadence: the newest record before te is due at te - challengeEvery or later. */
  challengeEvery?: number;
  /** How long vouches wait for the peers' records of an interval's last blocks (broadcast lag); 0 does not wait. */
  peerSettleWaitMs?: number;
  limits?: Partial<Limits>;
}

export interface Calculator {
  computeSt(q: StQuery, call?: CallInfo): Promise<StAnswer>;
  /**
   * `computeSt` of many accounts at once (a batch payment's entries): one
   * settle wait for all, one statement with the `sql` engine. All or nothing:
   * one unknown account or bad interval rejects the whole batch.
   */
  computeStBatch(q: StBatchQuery, call?: CallInfo): Promise<StBatchAnswer>;
  auditGroup(q: AuditQuery, call?: CallInfo): Promise<AuditAnswer>;
  /**
   * What this keeper vouches for in a round (SPEC 3 item 5): per entry, the
   * first verified record in [ts, te) of each asked keeper it holds. Waits,
   * bounded, for peers' records still in flight; all or nothing as
   * `computeStBatch`.
   */
  listVouches(q: VouchQuery, call?: CallInfo): Promise<VouchAnswer>;
}

/**
 * Rows that share a block across keepers: the largest space counts (every
 * stored record was verified; see `@whitepay/store` `space-time.ts`). Sorted.
 */
export function mergeMaxPerBlock(records: readonly SpaceRecord[]): SpaceRecord[] {
  const byBlock = new Map<bigint, bigint>();
  for (const r of records) {
    const seen = byBlock.get(r.block);
    if (seen === undefined || r.space > seen) byBlock.set(r.block, r.space);
  }
  return [...byBlock.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([block, space]) => ({ block, space }));
}

/**
 * The `core` engine: fetch the rows, integrate with `spaceTime` (THE
 * definition of st). For the union, rows are merged per block (max) first, so
 * core's own duplicate rule (min) never applies to it.
 */
export async function coreSpaceTime(
  pool: Pool,
  q: SpaceTimeQuery & { maxStaleness: bigint },
): Promise<SpaceTimeResult> {
  const loaded = await loadSpaceRecords(pool, q);
  const records = q.source === 'union' ? mergeMaxPerBlock(loaded.records) : loaded.records;
  const st = spaceTime({ records, ts: q.ts, te: q.te, carry: loaded.carry, maxStaleness: q.maxStaleness });
  const out: SpaceTimeResult = { st, records: loaded.records.length };
  if (loaded.carry) out.carryBlock = loaded.carry.block;
  return out;
}

function checkAddress(name: string, v: Uint8Array | undefined): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 20)
    throw new StQueryRejected('ST_ADDRESS_LENGTH', `${name} must be a 20-byte address`, {
      field: name,
      length: v?.length ?? 0,
    });
  return v;
}

function checkInterval(a: string, from: bigint, b: string, to: bigint): void {
  for (const [name, v] of [
    [a, from],
    [b, to],
  ] as const) {
    if (typeof v !== 'bigint' || v < 0n || v > INT8_MAX)
      throw new StQueryRejected('ST_OUT_OF_RANGE', `${name} must be an integer in [0, 2^63)`, {
        field: name,
        value: String(v),
      });
  }
  if (to < from)
    throw new StQueryRejected('ST_INTERVAL_INVALID', `${b} (${to}) is before ${a} (${from})`, {
      [a]: String(from),
      [b]: String(to),
    });
}

function checkLength(field: string, from: bigint, to: bigint, limits: Limits): void {
  if (to - from > limits.maxIntervalBlocks)
    throw new StQueryRejected(
      'ST_INTERVAL_TOO_LONG',
      `${field} spans ${to - from} blocks, more than ${limits.maxIntervalBlocks}`,
      { field, blocks: String(to - from), max: String(limits.maxIntervalBlocks) },
    );
}

/** A batch's entries checked (count, addresses, intervals, total length). @throws StQueryRejected */
function checkBatch(
  list: StBatchQuery['entries'],
  limits: Limits,
): { user: Uint8Array; pid: Uint8Array; ts: bigint; te: bigint }[] {
  if (!Array.isArray(list) || list.length > SPACE_TIME_BATCH_MAX)
    throw new StQueryRejected('ST_BATCH_SIZE', `a batch has 0 to ${SPACE_TIME_BATCH_MAX} entries`, {
      entries: Array.isArray(list) ? list.length : 0,
    });
  const entries = list.map((e, i) => {
    const user = checkAddress(`entries[${i}].user`, e.user);
    const pid = checkAddress(`entries[${i}].pid`, e.pid);
    checkInterval(`entries[${i}].ts`, e.ts, `entries[${i}].te`, e.te);
    checkLength(`entries[${i}]`, e.ts, e.te, limits);
    return { user, pid, ts: e.ts, te: e.te };
  });
  let blocks = 0n;
  for (const e of entries) blocks += BigInt(e.te) - BigInt(e.ts);
  if (blocks > limits.maxCallBlocks)
    throw new StQueryRejected(
      'ST_CALL_TOO_LARGE',
      `the entries span ${blocks} blocks in all, more than ${limits.maxCallBlocks} per call`,
      { blocks: String(blocks), max: String(limits.maxCallBlocks), entries: entries.length },
    );
  return entries;
}

/** Which settle rule waited: an own st's (ingest lag) or a vouch's (broadcast lag). */
export type SettleRule = 'own' | 'peer';
/** What ended a settle wait that ran out: its configured length, or the caller's deadline. */
export type SettleBound = 'wait' | 'deadline';

/** How often a settle wait asks again for the records still missing (ms). */
export const SETTLE_POLL_MS = 100;

/**
 * How long a settle wait may last (ms) when it starts at `now`: the configured `waitMs`, and at most
 * half of what the caller's `deadline` leaves, the other half being for the admission queue and the
 * query itself (no deadline: `waitMs`). `bound` says which of the two limits it.
 */
export function settleBudget(
  waitMs: number,
  deadline: Date | undefined,
  now: number,
): { ms: number; bound: SettleBound } {
  if (!deadline) return { ms: waitMs, bound: 'wait' };
  const half = Math.max(0, Math.floor((deadline.getTime() - now) / 2));
  return half < waitMs ? { ms: half, bound: 'deadline' } : { ms: waitMs, bound: 'wait' };
}

/**
 * Blocks before te within which an own record's challenge may still be running or its record in flight:
 * the own settle wait waits for records due there only.
 */
export const SETTLE_RECENT_BLOCKS = 2n;

/** The st-calculator's logic, shared by the gRPC and HTTP boundaries. */
export function createCalculator(deps: CalculatorDeps): Calculator {
  const { pool, metrics, keeperId, maxStaleness, engine } = deps;
  const log = deps.log.child({ component: 'calculator' });
  const limits: Limits = { ...DEFAULT_LIMITS, ...deps.limits };
  // The challengers' cadence: which block each pair's record is due at (phases memoised).
  const cadence = new CadenceSchedule(deps.challengeEvery ?? 1);
  const admission: Admission = createAdmission({
    name: 'st-calculator',
    total: limits.maxConcurrent,
    perClient: limits.maxConcurrentPerClient,
    queuePerClient: limits.maxQueuedPerClient,
  });
  const admitted = <T>(call: CallInfo | undefined, fn: () => Promise<T>): Promise<T> =>
    admission.run(call?.client ?? 'local', fn, call?.deadline);
  const integrate = (q: SpaceTimeQuery): Promise<SpaceTimeResult> =>
    engine === 'sql'
      ? spaceTimeSql(pool, { ...q, maxStaleness })
      : coreSpaceTime(pool, { ...q, maxStaleness });

  async function measured<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const end = metrics.seconds.startTimer({ op, engine });
    try {
      const out = await fn();
      end();
      metrics.queries.inc({ op, outcome: 'ok' });
      return out;
    } catch (err) {
      const e = asWhitePayError(err);
      metrics.queries.inc({ op, outcome: e.code });
      throw e;
    }
  }

  /**
   * The one bounded wait of both settle rules: polls `stillMissing` (the indexes of the entries whose
   * records are not in yet) every 100 ms over the entries still missing, until none is or the wait is
   * over; then `late` gets those left (the caller computes with what is there). The wait is not work:
   * only each poll takes an admission slot (the caller's client queue, as any query), so waiting calls
   * never hold the slots the queries need. It lasts `waitMs` at most, and at most half the time the
   * caller's deadline leaves: the other half is for the queue and the query, so that a wait never makes
   * the answer late (a follower's answer past the leader's peer deadline counts for nothing).
   */
  async function waitSettled<E>(
    rule: SettleRule,
    entries: readonly E[],
    waitMs: number,
    call: CallInfo | undefined,
    stillMissing: (pending: readonly E[]) => Promise<number[]>,
    late: (pending: readonly E[], bound: SettleBound, waitedMs: number) => void,
  ): Promise<void> {
    if (waitMs === 0 || entries.length === 0) return;
    const start = Date.now();
    const { ms, bound } = settleBudget(waitMs, call?.deadline, start);
    const end = start + ms;
    let pending = entries;
    for (;;) {
      const missing = await admitted(call, () => stillMissing(pending));
      if (missing.length === 0) return;
      pending = missing.map((i) => pending[i]!);
      if (Date.now() + SETTLE_POLL_MS > end) {
        metrics.settleTimeouts.inc({ rule, bound });
        return late(pending, bound, Date.now() - start);
      }
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
  }

  /**
   * A record is published when its challenge ends and stored when the
   * challenge-store's batch commits, so at te the record of te - 1 may still
   * be in flight: computing then would carry an older record over a block
   * whose measurement exists. Wait, bounded, until the record due before te is
   * stored; past the bound (a stopped challenger), compute with what is there.
   * Only entries whose record is due in the last `SETTLE_RECENT_BLOCKS` blocks
   * before te can still be in flight: one due earlier and missing means the
   * challenger is behind or stopped, which no wait mends (and waiting for it
   * made every batch of a loaded network wait the whole bound).
   */
  const settle = (
    entries: readonly { user: Uint8Array; pid: Uint8Array; te: bigint }[],
    call: CallInfo | undefined,
  ): Promise<void> => {
    const window = BigInt(cadence.k);
    const recent = entries.filter(
      (e) => e.te - cadence.lastDueBefore(toHex(e.user), toHex(e.pid), e.te) <= SETTLE_RECENT_BLOCKS,
    );
    return waitSettled(
      'own',
      recent,
      deps.settleWaitMs ?? 0,
      call,
      (pending) => entriesWithoutRecentRecord(pool, { entries: pending, keeperId, window }),
      (pending, bound, waitedMs) =>
        log.debug(
          {
            missing: pending.length,
            bound,
            waitedMs,
            first: { user: toHex(pending[0]!.user), pid: toHex(pending[0]!.pid), te: String(pending[0]!.te) },
          },
          'records before te not ingested in time',
        ),
    );
  };

  /**
   * A peer's record is published when its challenge ends and reaches this
   * keeper through the broadcast, later than its own: vouch with the records
   * of an interval's last blocks in (bounded; a peer that sends nothing at all
   * for the interval is not waited for, see `entriesAwaitingPeerRecords`).
   */
  const settlePeers = (
    entries: readonly { user: Uint8Array; pid: Uint8Array; ts: bigint; te: bigint }[],
    peers: readonly number[],
    call: CallInfo | undefined,
  ): Promise<void> => {
    if (peers.length === 0) return Promise.resolve();
    const window = BigInt(cadence.k);
    return waitSettled(
      'peer',
      entries,
      deps.peerSettleWaitMs ?? 0,
      call,
      (pending) => entriesAwaitingPeerRecords(pool, { entries: pending, keeperIds: peers, window }),
      (pending, bound, waitedMs) =>
        log.info(
          {
            missing: pending.length,
            bound,
            waitedMs,
            first: { pid: toHex(pending[0]!.pid), te: String(pending[0]!.te) },
          },
          "peers' records of the interval's last blocks not received in time: vouching with what is here",
        ),
    );
  };

  async function known(user: Uint8Array, pid: Uint8Array): Promise<void> {
    if (!(await accountKnown(pool, user, pid))) throw new StAccountUnknown(toHex(user), toHex(pid));
  }

  return {
    computeSt: (q, call) =>
      measured('compute_st', async () => {
        const user = checkAddress('user', q.user);
        const pid = checkAddress('pid', q.pid);
        checkInterval('ts', q.ts, 'te', q.te);
        checkLength('te - ts', q.ts, q.te, limits);
        await admitted(call, () => known(user, pid));
        if (!q.includePeers) await settle([{ user, pid, te: q.te }], call);
        return admitted(call, async () => {
          const res = await integrate(
            q.includePeers
              ? { user, pid, ts: q.ts, te: q.te, source: 'union' }
              : { user, pid, ts: q.ts, te: q.te, source: 'own', keeperId },
          );
          log.debug(
            { user: toHex(user), pid: toHex(pid), ts: String(q.ts), te: String(q.te), st: String(res.st) },
            'st computed',
          );
          return { ...res, maxStaleness, engine };
        });
      }),

    computeStBatch: (q, call) =>
      measured('compute_st_batch', async () => {
        const entries = checkBatch(q.entries, limits);
        const unknown = await admitted(call, () => unknownAccounts(pool, entries));
        if (unknown.length > 0) {
          const first = entries[unknown[0]!]!;
          throw new StAccountUnknown(toHex(first.user), toHex(first.pid), {
            entry: unknown[0]!,
            unknown: unknown.length,
          });
        }
        if (!q.includePeers) await settle(entries, call);
        return admitted(call, async () => {
          const source = q.includePeers ? ('union' as const) : ('own' as const);
          const results =
            engine === 'sql'
              ? await spaceTimeSqlBatch(pool, { entries, source, keeperId, maxStaleness })
              : await Promise.all(
                  entries.map((e) => coreSpaceTime(pool, { ...e, source, keeperId, maxStaleness })),
                );
          metrics.batchEntries.observe(entries.length);
          log.debug({ entries: entries.length, includePeers: q.includePeers === true }, 'st batch computed');
          return { results, maxStaleness, engine };
        });
      }),

    listVouches: (q, call) =>
      measured('list_vouches', async () => {
        const entries = checkBatch(q.entries, limits);
        if (!Array.isArray(q.keeperIds) || q.keeperIds.length > VOUCH_KEEPERS_MAX)
          throw new StQueryRejected('ST_AUDIT_TOO_MANY_KEEPERS', `at most ${VOUCH_KEEPERS_MAX} keepers`, {
            keepers: Array.isArray(q.keeperIds) ? q.keeperIds.length : 0,
          });
        const keeperIds = [...new Set(q.keeperIds)];
        await settlePeers(
          entries,
          keeperIds.filter((k) => k !== keeperId),
          call,
        );
        return admitted(call, async () => {
          const refs = await firstVerifiedRecords(pool, { entries, keeperIds, selfId: keeperId });
          return { entries: refs };
        });
      }),

    auditGroup: (q, call) =>
      measured('audit_group', async () => {
        const user = checkAddress('user', q.user);
        const pid = checkAddress('pid', q.pid);
        checkInterval('from', q.from, 'to', q.to);
        checkLength('to - from', q.from, q.to, limits);
        const named = new Set(q.keeperIds ?? []);
        if (named.size > limits.maxAuditKeepers)
          throw new StQueryRejected(
            'ST_AUDIT_TOO_MANY_KEEPERS',
            `AuditGroup names ${named.size} keepers, at most ${limits.maxAuditKeepers}`,
            { keepers: named.size, max: limits.maxAuditKeepers },
          );
        return admitted(call, async () => {
          await known(user, pid);
          const activity = await keeperActivity(pool, { user, pid, from: q.from, to: q.to });
          const keepers = new Map<number, { records: number; verified: number }>();
          keepers.set(keeperId, { records: 0, verified: 0 });
          for (const id of [...(deps.groupKeepers ?? []), ...named])
            if (!keepers.has(id)) keepers.set(id, { records: 0, verified: 0 });
          for (const a of activity) {
            // Own rows count for this keeper only; a peer row never stands for this keeper.
            if ((a.source === 'own') !== (a.keeperId === keeperId)) continue;
            keepers.set(a.keeperId, { records: a.records, verified: a.verified });
          }
          const out: KeeperAudit[] = [];
          for (const [id, c] of [...keepers.entries()].sort(([a], [b]) => a - b)) {
            // One integral per keeper: stop as soon as the caller has given up.
            checkDeadline(call?.deadline, 'AuditGroup');
            const own = id === keeperId;
            // A keeper idle in [from, to) can still be paid through its carry-over: st is computed anyway.
            const { st } = await integrate({
              user,
              pid,
              ts: q.from,
              te: q.to,
              source: own ? 'own' : 'peer',
              keeperId: id,
            });
            out.push({
              keeperId: id,
              own,
              records: c.records,
              verified: c.verified,
              st,
              idle: c.records === 0,
            });
          }
          return { keepers: out, maxStaleness };
        });
      }),
  };
}
