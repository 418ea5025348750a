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
  values: unknown[];
  merge: 'min' | 'max';
}

function where(q: SpaceTimeQuery): Where {
  checkBytes('user', q.user, 20);
  checkBytes('pid', q.pid, 20);
  checkInt8('ts', q.ts);
  checkInt8('te', q.te);
  if (q.te < q.ts) throw invalidArgument('te is before ts', { ts: String(q.ts), te: String(q.te) });
  const values: unknown[] = [q.user, q.pid, q.ts.toString(), q.te.toString()];
  const account = 'user_addr = $1 AND pid = $2';
  if (q.source === 'union') {
    return {
      tables: [
        `SELECT block, space FROM challenge_records WHERE ${account}`,
        `SELECT block, space FROM peer_records WHERE ${account}`,
      ],
      values,
      merge: 'max',
    };
  }
  if (q.source !== 'own' && q.source !== 'peer') throw invalidArgument('unknown record source');
  const table = q.source === 'own' ? 'challenge_records' : 'peer_records';
  let filter = account;
  if (q.keeperId !== undefined) {
    values.push(checkUint32('keeperId', q.keeperId));
    filter += ` AND keeper_id = $${values.length}`;
  } else if (q.source === 'peer') {
    throw invalidArgument('peer records need a keeperId');
  }
  return { tables: [`SELECT block, space FROM ${table} WHERE ${filter}`], values, merge: 'min' };
}

/**
 * The carry-over: the latest block before ts (an index-only backward scan per
 * table), then that block's rows merged. `$3` is ts.
 */
function carrySql(w: Where): string {
  const latest = w.tables.map((t) => `(${t} AND block < $3 ORDER BY block DESC LIMIT 1)`).join(' UNION ALL ');
  const atBlock = w.tables.map((t) => `${t} AND block = (SELECT max(block) FROM latest)`).join(' UNION ALL ');
  return `latest AS (${latest}),
    carry AS (SELECT block, ${w.merge}(space) AS space FROM (${atBlock}) c GROUP BY block)`;
}

/** Rows of `[ts, te)` and the carry-over, for core's `spaceTime`. */
export async function loadSpaceRecords(
  db: pg.Pool | pg.PoolClient,
  q: SpaceTimeQuery,
): Promise<SpaceRecords> {
  const w = where(q);
  const inside = w.tables.map((t) => `${t} AND block >= $3 AND block < $4`).join(' UNION ALL ');
  const res = await query<{ block: string; space: string; carry: boolean }>(
    db,
    'load space records',
    `WITH ${carrySql(w)}
     SELECT block, space, false AS carry FROM (${inside}) r
     UNION ALL
     SELECT block, space, true AS carry FROM carry
     ORDER BY carry, block`,
    w.values,
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
 * SPEC 4's integral computed in PostgreSQL: the rows of `[ts, te)` merged per
 * block, plus the carry-over, ordered by block; each step counts from
 * `greatest(block, ts)` to `least(next block, block + maxStaleness, te)`
 * (`LEAD(block) OVER (ORDER BY block)`), times its space; the sum is `numeric`
 * (exact, no overflow). Only the total and two counts leave the database.
 */
export async function spaceTimeSql(
  db: pg.Pool | pg.PoolClient,
  q: SpaceTimeSqlQuery,
): Promise<SpaceTimeResult> {
  const w = where(q);
  checkInt8('maxStaleness', q.maxStaleness);
  if (q.maxStaleness < 1n) throw invalidArgument('maxStaleness must be at least 1 block');
  w.values.push(q.maxStaleness.toString());
  const ms = `$${w.values.length}::int8`;
  const inside = w.tables.map((t) => `${t} AND block >= $3 AND block < $4`).join(' UNION ALL ');
  // One pass: the merged steps (with their row counts) and the carry, LEAD over
  // block, then one aggregate. `end = least(next, block + maxStaleness)` is
  // written so that block + maxStaleness is only computed when it is below
  // next (<= te), hence never overflows int8.
  const res = await query<{ st: string; records: string; carry_block: string | null }>(
    db,
    'space-time',
    `WITH ${carrySql(w)}
     SELECT coalesce(sum(space::numeric * greatest(
              (CASE WHEN nxt - block <= ${ms} THEN nxt ELSE block + ${ms} END) - greatest(block, $3::int8), 0)), 0)::text AS st,
            coalesce(sum(n), 0)::text AS records,
            (max(block) FILTER (WHERE n = 0))::text AS carry_block
       FROM (
         SELECT block, space, n, coalesce(LEAD(block) OVER (ORDER BY block), $4::int8) AS nxt
           FROM (
             SELECT block, ${w.merge}(space) AS space, count(*) AS n FROM (${inside}) i GROUP BY block
             UNION ALL
             SELECT block, space, 0 FROM carry
           ) steps
       ) w`,
    w.values,
  );
  const r = res.rows[0];
  const out: SpaceTimeResult = { st: BigInt(r?.st ?? '0'), records: Number(r?.records ?? 0) };
  if (r?.carry_block != null) out.carryBlock = BigInt(r.carry_block);
  return out;
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
