import type pg from 'pg';
import { checkBytes, checkInt8, checkUint32 } from './codec.js';
import { query } from './db.js';
import { invalidArgument } from './errors.js';

/**
 * Read queries of the st-calculator (SPEC 4) over `challenge_records` and
 * `peer_records`; nothing here writes. Two ways to one number:
 *
 * - `loadSpaceRecords` fetches the rows `(block, space)` of `[ts, te)` and the
 *   carry-over candidates, for `spaceTime` of `@whitepay/core` to integrate;
 * - `spaceTimeSql` integrates in PostgreSQL with a window function and returns
 *   only the total. A property test (`space-time.int.test.ts`) proves the two
 *   equal on random data.
 *
 * Which rows, and how rows that share a block merge:
 *
 * | source  | rows                                            | same block |
 * | ------- | ----------------------------------------------- | ---------- |
 * | `own`   | `challenge_records` (of `keeperId` when given)  | min space (core's `normalizeRecords`) |
 * | `peer`  | `peer_records` of `keeperId` (one peer keeper)  | min space  |
 * | `union` | both tables, every keeper (SPEC 6 step 4)       | **max** space: every stored record was verified (peer records re-verified from their proof), so the largest one is space the provider did prove at that block |
 *
 * The carry-over is the latest block before `ts` of the same rows, merged the
 * same way.
 */
export type SpaceSource = 'own' | 'peer' | 'union';

export interface SpaceTimeQuery {
  user: Uint8Array;
  pid: Uint8Array;
  /** Inclusive. */
  ts: bigint;
  /** Exclusive (`te >= ts`). */
  te: bigint;
  source: SpaceSource;
  /** Only this keeper's rows (required for `peer`; ignored for `union`). */
  keeperId?: number;
}

export interface SpaceTimeSqlQuery extends SpaceTimeQuery {
  /** A record counts on `[b, b + maxStaleness)` (>= 1). */
  maxStaleness: bigint;
}

export interface SpaceRow {
  block: bigint;
  space: bigint;
}

export interface SpaceRecords {
  /** Rows with ts <= block < te, ordered by block (several per block possible). */
  records: SpaceRow[];
  /** The carry-over: the latest block before ts, merged per the source's rule. */
  carry?: SpaceRow;
}

export interface SpaceTimeResult {
  /** Exact byte·blocks. */
  st: bigint;
  /** Rows with ts <= block < te (before merging per block). */
  records: number;
  /** Block of the carry-over record, if any. */
  carryBlock?: bigint;
}

interface Where {
  /** SQL fragments, one per table, each a `SELECT block, space ... WHERE <account>` prefix. */
  tables: string[];
  merge: 'min' | 'max';
}

/**
 * The SQL expressions a query is written over: `$n` parameters for one
 * account, or the columns of an `unnest` row for a batch (`spaceTimeSqlBatch`)
 * — one text of the integral for both.
 */
interface Args {
  user: string;
  pid: string;
  ts: string;
  te: string;
  /** Only this keeper's rows (`own` and `peer`). */
  keeperId?: string;
}

function checkSource(source: SpaceSource, keeperId: number | undefined): void {
  if (source !== 'own' && source !== 'peer' && source !== 'union')
    throw invalidArgument('unknown record source');
  if (source === 'peer' && keeperId === undefined) throw invalidArgument('peer records need a keeperId');
}

function where(source: SpaceSource, a: Args): Where {
  const account = `user_addr = ${a.user} AND pid = ${a.pid}`;
  if (source === 'union') {
    return {
      tables: [
        `SELECT block, space FROM challenge_records WHERE ${account}`,
        `SELECT block, space FROM peer_records WHERE ${account}`,
      ],
      merge: 'max',
    };
  }
  const table = source === 'own' ? 'challenge_records' : 'peer_records';
  const filter = a.keeperId === undefined ? account : `${account} AND keeper_id = ${a.keeperId}`;
  return { tables: [`SELECT block, space FROM ${table} WHERE ${filter}`], merge: 'min' };
}

/** One account's query: its checks, `$1..$4` = user, pid, ts, te (`$5` = keeperId when given). */
function single(q: SpaceTimeQuery): { w: Where; a: Args; values: unknown[] } {
  checkBytes('user', q.user, 20);
  checkBytes('pid', q.pid, 20);
  checkInt8('ts', q.ts);
  checkInt8('te', q.te);
  if (q.te < q.ts) throw invalidArgument('te is before ts', { ts: String(q.ts), te: String(q.te) });
  checkSource(q.source, q.keeperId);
  const values: unknown[] = [q.user, q.pid, q.ts.toString(), q.te.toString()];
  const a: Args = { user: '$1', pid: '$2', ts: '$3::int8', te: '$4::int8' };
  if (q.source !== 'union' && q.keeperId !== undefined) {
    values.push(checkUint32('keeperId', q.keeperId));
    a.keeperId = `$${values.length}`;
  }
  return { w: where(q.source, a), a, values };
}

/**
 * The carry-over: the latest block before ts (an index-only backward scan per
 * table), then that block's rows merged.
 */
function carrySql(w: Where, a: Args): string {
  const latest = w.tables
    .map((t) => `(${t} AND block < ${a.ts} ORDER BY block DESC LIMIT 1)`)
    .join(' UNION ALL ');
  const atBlock = w.tables.map((t) => `${t} AND block = (SELECT max(block) FROM latest)`).join(' UNION ALL ');
  return `latest AS (${latest}),
    carry AS (SELECT block, ${w.merge}(space) AS space FROM (${atBlock}) c GROUP BY block)`;
}

/** Rows of `[ts, te)` and the carry-over, for core's `spaceTime`. */
export async function loadSpaceRecords(
  db: pg.Pool | pg.PoolClient,
  q: SpaceTimeQuery,
): Promise<SpaceRecords> {
  const { w, a, values } = single(q);
  const inside = w.tables.map((t) => `${t} AND block >= ${a.ts} AND block < ${a.te}`).join(' UNION ALL ');
  const res = await query<{ block: string; space: string; carry: boolean }>(
    db,
    'load space records',
    `WITH ${carrySql(w, a)}
     SELECT block, space, false AS carry FROM (${inside}) r
     UNION ALL
     SELECT block, space, true AS carry FROM carry
     ORDER BY carry, block`,
    values,
  );
  const out: SpaceRecords = { records: [] };
  for (const r of res.rows) {
    const row = { block: BigInt(r.block), space: BigInt(r.space) };
    if (r.carry) out.carry = row;
    else out.records.push(row);
  }
  return out;
}

/**
 * The integral of SPEC 4 over one account, as one SELECT of `st`, `records`
 * and `carry_block`: the rows of `[ts, te)` merged per block, plus the
 * carry-over, ordered by block; each step counts from `greatest(block, ts)`
 * to `least(next block, block + maxStaleness, te)` (`LEAD(block) OVER (ORDER
 * BY block)`), times its space; the sum is `numeric` (exact, no overflow).
 * `end = least(next, block + maxStaleness)` is written so that block +
 * maxStaleness is only computed when it is below next (<= te), hence never
 * overflows int8.
 */
function integralSql(w: Where, a: Args, ms: string): string {
  const inside = w.tables.map((t) => `${t} AND block >= ${a.ts} AND block < ${a.te}`).join(' UNION ALL ');
  return `WITH ${carrySql(w, a)}
     SELECT coalesce(sum(space::numeric * greatest(
              (CASE WHEN nxt - block <= ${ms} THEN nxt ELSE block + ${ms} END) - greatest(block, ${a.ts}), 0)), 0)::text AS st,
            coalesce(sum(n), 0)::text AS records,
            (max(block) FILTER (WHERE n = 0))::text AS carry_block
       FROM (
         SELECT block, space, n, coalesce(LEAD(block) OVER (ORDER BY block), ${a.te}) AS nxt
           FROM (
             SELECT block, ${w.merge}(space) AS space, count(*) AS n FROM (${inside}) i GROUP BY block
             UNION ALL
             SELECT block, space, 0 FROM carry
           ) steps
       ) w`;
}

type IntegralRow = { st: string | null; records: string | null; carry_block: string | null };

function resultOf(r: IntegralRow | undefined): SpaceTimeResult {
  const out: SpaceTimeResult = { st: BigInt(r?.st ?? '0'), records: Number(r?.records ?? 0) };
  if (r?.carry_block != null) out.carryBlock = BigInt(r.carry_block);
  return out;
}

function checkStaleness(maxStaleness: bigint): void {
  checkInt8('maxStaleness', maxStaleness);
  if (maxStaleness < 1n) throw invalidArgument('maxStaleness must be at least 1 block');
}

/**
 * SPEC 4's integral computed in PostgreSQL (`integralSql`); only the total and
 * two counts leave the database.
 */
export async function spaceTimeSql(
  db: pg.Pool | pg.PoolClient,
  q: SpaceTimeSqlQuery,
): Promise<SpaceTimeResult> {
  const { w, a, values } = single(q);
  checkStaleness(q.maxStaleness);
  values.push(q.maxStaleness.toString());
  const res = await query<IntegralRow>(
    db,
    'space-time',
    integralSql(w, a, `$${values.length}::int8`),
    values,
  );
  return resultOf(res.rows[0]);
}

export interface SpaceTimeBatchEntry {
  user: Uint8Array;
  pid: Uint8Array;
  /** Inclusive. */
  ts: bigint;
  /** Exclusive (`te >= ts`). */
  te: bigint;
}

export interface SpaceTimeBatchQuery {
  entries: readonly SpaceTimeBatchEntry[];
  source: SpaceSource;
  /** Only this keeper's rows (required for `peer`; ignored for `union`). */
  keeperId?: number;
  /** A record counts on `[b, b + maxStaleness)` (>= 1). */
  maxStaleness: bigint;
}

/** At most this many entries per `spaceTimeSqlBatch` (a batch payment has at most 500). */
export const SPACE_TIME_BATCH_MAX = 2_000;

/** Checks a batch of entries (count, addresses, integers, `ts <= te`). @throws StoreError `INVALID_ARGUMENT`. */
export function checkEntries(entries: readonly SpaceTimeBatchEntry[]): void {
  if (entries.length > SPACE_TIME_BATCH_MAX)
    throw invalidArgument(`at most ${SPACE_TIME_BATCH_MAX} entries per batch`, { entries: entries.length });
  entries.forEach((e, i) => {
    checkBytes(`entries[${i}].user`, e.user, 20);
    checkBytes(`entries[${i}].pid`, e.pid, 20);
    checkInt8(`entries[${i}].ts`, e.ts);
    checkInt8(`entries[${i}].te`, e.te);
    if (e.te < e.ts)
      throw invalidArgument(`entries[${i}]: te is before ts`, { ts: String(e.ts), te: String(e.te) });
  });
}

/**
 * `spaceTimeSql` for many accounts in one statement: the entries are
 * `unnest`ed and the same integral runs per row (`CROSS JOIN LATERAL`), so a
 * batch payment of n providers costs one round trip instead of n. Results
 * are in the order of `entries`; each equals `spaceTimeSql` of that entry
 * (the property test in the st-calculator's `engines.int.test.ts`).
 */
export async function spaceTimeSqlBatch(
  db: pg.Pool | pg.PoolClient,
  q: SpaceTimeBatchQuery,
): Promise<SpaceTimeResult[]> {
  checkEntries(q.entries);
  checkSource(q.source, q.keeperId);
  checkStaleness(q.maxStaleness);
  if (q.entries.length === 0) return [];
  const values: unknown[] = [
    q.entries.map((e) => e.user),
    q.entries.map((e) => e.pid),
    q.entries.map((e) => e.ts.toString()),
    q.entries.map((e) => e.te.toString()),
    q.maxStaleness.toString(),
  ];
  const a: Args = { user: 'e.user_addr', pid: 'e.pid', ts: 'e.ts', te: 'e.te' };
  if (q.source !== 'union' && q.keeperId !== undefined) {
    values.push(checkUint32('keeperId', q.keeperId));
    a.keeperId = `$${values.length}`;
  }
  const res = await query<IntegralRow & { idx: string }>(
    db,
    'space-time batch',
    `SELECT e.idx::text AS idx, s.st, s.records, s.carry_block
       FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[])
            WITH ORDINALITY AS e(user_addr, pid, ts, te, idx)
       CROSS JOIN LATERAL (${integralSql(where(q.source, a), a, '$5::int8')}) s
      ORDER BY e.idx`,
    values,
  );
  const out: SpaceTimeResult[] = q.entries.map(() => ({ st: 0n, records: 0 }));
  for (const r of res.rows) out[Number(r.idx) - 1] = resultOf(r);
  return out;
}

/**
 * Of `entries`, the indexes (0-based) of those without a `challenge_records`
 * row of `keeperId` in `[te - window, te)`: the records still in flight
 * (the st-calculator's settle wait), for a whole batch in one statement.
 */
export async function entriesWithoutRecentRecord(
  db: pg.Pool | pg.PoolClient,
  q: {
    entries: readonly Pick<SpaceTimeBatchEntry, 'user' | 'pid' | 'te'>[];
    keeperId: number;
    window: bigint;
  },
): Promise<number[]> {
  checkEntries(q.entries.map((e) => ({ ...e, ts: 0n })));
  checkInt8('window', q.window);
  if (q.entries.length === 0) return [];
  const res = await query<{ idx: string }>(
    db,
    'entries without a recent record',
    `SELECT e.idx::text AS idx
       FROM unnest($1::bytea[], $2::bytea[], $3::int8[]) WITH ORDINALITY AS e(user_addr, pid, te, idx)
      WHERE NOT EXISTS (
        SELECT 1 FROM challenge_records c
         WHERE c.user_addr = e.user_addr AND c.pid = e.pid AND c.keeper_id = $4
           AND c.block >= e.te - $5::int8 AND c.block < e.te)
      ORDER BY e.idx`,
    [
      q.entries.map((e) => e.user),
      q.entries.map((e) => e.pid),
      q.entries.map((e) => e.te.toString()),
      checkUint32('keeperId', q.keeperId),
      q.window.toString(),
    ],
  );
  return res.rows.map((r) => Number(r.idx) - 1);
}

/** Of `accounts`, the indexes (0-based) of those that never had a registered piece. */
export async function unknownAccounts(
  db: pg.Pool | pg.PoolClient,
  accounts: readonly { user: Uint8Array; pid: Uint8Array }[],
): Promise<number[]> {
  accounts.forEach((e, i) => {
    checkBytes(`accounts[${i}].user`, e.user, 20);
    checkBytes(`accounts[${i}].pid`, e.pid, 20);
  });
  if (accounts.length === 0) return [];
  const res = await query<{ idx: string }>(
    db,
    'unknown accounts',
    `SELECT e.idx::text AS idx
       FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS e(user_addr, pid, idx)
      WHERE NOT EXISTS (SELECT 1 FROM pieces p WHERE p.user_addr = e.user_addr AND p.pid = e.pid)
      ORDER BY e.idx`,
    [accounts.map((e) => e.user), accounts.map((e) => e.pid)],
  );
  return res.rows.map((r) => Number(r.idx) - 1);
}

/** Whether (user, pid) ever had a registered piece (removed ones included). */
export async function accountKnown(
  db: pg.Pool | pg.PoolClient,
  user: Uint8Array,
  pid: Uint8Array,
): Promise<boolean> {
  checkBytes('user', user, 20);
  checkBytes('pid', pid, 20);
  const res = await query<{ known: boolean }>(
    db,
    'account known',
    'SELECT EXISTS (SELECT 1 FROM pieces WHERE user_addr = $1 AND pid = $2) AS known',
    [user, pid],
  );
  return res.rows[0]?.known === true;
}

export interface KeeperActivity {
  keeperId: number;
  /** `own` = challenge_records, `peer` = peer_records. */
  source: 'own' | 'peer';
  /** Records with from <= block < to. */
  records: number;
  /** Of those, verdict OK (1) or PARTIAL (2): a proof verified. */
  verified: number;
}

/**
 * Per keeper, its records of (user, pid) in `[from, to)` — own ones from
 * `challenge_records`, others' from `peer_records` — and every keeper seen in
 * the peer records of the account at any block (reported with zero counts
 * when it has none in the interval: an idle keeper).
 */
export async function keeperActivity(
  db: pg.Pool | pg.PoolClient,
  q: { user: Uint8Array; pid: Uint8Array; from: bigint; to: bigint },
): Promise<KeeperActivity[]> {
  checkBytes('user', q.user, 20);
  checkBytes('pid', q.pid, 20);
  checkInt8('from', q.from);
  checkInt8('to', q.to);
  if (q.to < q.from) throw invalidArgument('to is before from', { from: String(q.from), to: String(q.to) });
  const res = await query<{ keeper_id: string; source: 'own' | 'peer'; records: string; verified: string }>(
    db,
    'keeper activity',
    `WITH counted AS (
       SELECT keeper_id, 'own' AS source, count(*) AS records, count(*) FILTER (WHERE verdict IN (1, 2)) AS verified
         FROM challenge_records WHERE user_addr = $1 AND pid = $2 AND block >= $3 AND block < $4
         GROUP BY keeper_id
       UNION ALL
       SELECT keeper_id, 'peer', count(*), count(*) FILTER (WHERE verdict IN (1, 2))
         FROM peer_records WHERE user_addr = $1 AND pid = $2 AND block >= $3 AND block < $4
         GROUP BY keeper_id
     ), seen AS (
       SELECT DISTINCT keeper_id FROM peer_records WHERE user_addr = $1 AND pid = $2
     )
     SELECT keeper_id::text, source, records::text, verified::text FROM counted
     UNION ALL
     SELECT keeper_id::text, 'peer', '0', '0' FROM seen
      WHERE keeper_id NOT IN (SELECT keeper_id FROM counted WHERE source = 'peer')`,
    [q.user, q.pid, q.from.toString(), q.to.toString()],
  );
  return res.rows
    .map((r) => ({
      keeperId: Number(r.keeper_id),
      source: r.source,
      records: Number(r.records),
      verified: Number(r.verified),
    }))
    .sort((a, b) => a.keeperId - b.keeperId || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
}

/**
 * The same connection string with every session read-only
 * (`-c default_transaction_read_only=on` in libpq's `options`): a reader such
 * as the st-calculator cannot write even when its role could.
 */
export function readOnlyUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidArgument('database URL is not a URL');
  }
  const flag = '-c default_transaction_read_only=on';
  const options = u.searchParams.get('options');
  u.searchParams.set('options', options ? `${options} ${flag}` : flag);
  return u.toString();
}
