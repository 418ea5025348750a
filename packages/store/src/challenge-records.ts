import type pg from 'pg';
import { checkBytes, checkInt8 } from './codec.js';
import { query } from './db.js';
import {
  type InsertMethod,
  type InsertResult,
  insertRows,
  lastBefore,
  queryRange,
  type RangePage,
  type RangeQuery,
  type RecordRow,
} from './record-rows.js';

/**
 * `challenge_records`: this keeper's own verified challenge records — the
 * input of its `st` (SPEC 4). Idempotent on (user, pid, block, keeper).
 */
export type ChallengeRecordRow = RecordRow;

/** Inserts a batch in one transaction; duplicates (already stored) are skipped and counted. */
export function insertChallengeRecords(
  pool: pg.Pool,
  rows: readonly ChallengeRecordRow[],
  opts: { method?: InsertMethod } = {},
): Promise<InsertResult> {
  return insertRows(pool, 'challenge_records', rows, opts);
}

/** One page of (user, pid) records with from <= block < to, ordered by (block, keeper). */
export async function queryChallengeRecords(
  db: pg.Pool | pg.PoolClient,
  q: RangeQuery,
): Promise<RangePage<ChallengeRecordRow>> {
  return queryRange(db, 'challenge_records', q);
}

/** The carry-over of SPEC 4: the last record of `keeperId` strictly before `block`. */
export function lastRecordBefore(
  db: pg.Pool | pg.PoolClient,
  q: { user: Uint8Array; pid: Uint8Array; keeperId: number; block: bigint; withProofs?: boolean },
): Promise<ChallengeRecordRow | undefined> {
  return lastBefore(db, 'challenge_records', q);
}

/**
 * Compaction of settled intervals: drops the proofs of (user, pid) records
 * with block < `beforeBlock` (the te of the last payment), keeping (block,
 * space, verdict) — all that `st` and the carry-over need. Returns the number
 * of records compacted.
 */
export async function compactSettled(
  db: pg.Pool | pg.PoolClient,
  user: Uint8Array,
  pid: Uint8Array,
  beforeBlock: bigint,
): Promise<number> {
  checkBytes('user', user, 20);
  checkBytes('pid', pid, 20);
  checkInt8('beforeBlock', beforeBlock);
  const res = await query(
    db,
    'compact challenge_records',
    `UPDATE challenge_records SET proof = NULL
      WHERE user_addr = $1 AND pid = $2 AND block < $3 AND proof IS NOT NULL`,
    [user, pid, beforeBlock.toString()],
  );
  return res.rowCount ?? 0;
}

/** Highest block stored (for the ingest block-lag metric); undefined when empty. */
export async function maxChallengeBlock(db: pg.Pool | pg.PoolClient): Promise<bigint | undefined> {
  const res = await query<{ m: string | null }>(
    db,
    'max block',
    'SELECT max(block)::text AS m FROM challenge_records',
  );
  const m = res.rows[0]?.m;
  return m ? BigInt(m) : undefined;
}
