import type pg from 'pg';
import { checkInt8, checkUint32 } from './codec.js';
import { query } from './db.js';
import { invalidArgument } from './errors.js';
import { checkEntries, type SpaceTimeBatchEntry } from './space-time.js';

/** At most this many keepers per vouch query (a group has at most 128; rounds ask for their members). */
export const VOUCH_KEEPERS_MAX = 128;

/** One keeper's record named by its block (SPEC 3 item 5). */
export interface VouchRef {
  keeperId: number;
  block: bigint;
}

function checkKeepers(keeperIds: readonly number[]): string[] {
  if (keeperIds.length > VOUCH_KEEPERS_MAX)
    throw invalidArgument(`at most ${VOUCH_KEEPERS_MAX} keepers per query`, { keepers: keeperIds.length });
  return keeperIds.map((k, i) => String(checkUint32(`keeperIds[${i}]`, k)));
}

/**
 * What this keeper can vouch for (SPEC 3 item 5), for a whole batch in one
 * statement: per entry and per asked keeper, the first block in `[ts, te)`
 * of a record with a verified proof (`space > 0`; a record without one
 * could be made up) — a re-verified `peer_records` row for another keeper,
 * a `challenge_records` row for `selfId`. Entries in order; refs by keeper id.
 */
export async function firstVerifiedRecords(
  db: pg.Pool | pg.PoolClient,
  q: { entries: readonly SpaceTimeBatchEntry[]; keeperIds: readonly number[]; selfId: number },
): Promise<VouchRef[][]> {
  checkEntries(q.entries);
  const keepers = checkKeepers(q.keeperIds);
  const out: VouchRef[][] = q.entries.map(() => []);
  if (q.entries.length === 0 || keepers.length === 0) return out;
  const res = await query<{ idx: string; keeper_id: string; block: string }>(
    db,
    'first verified records',
    `SELECT e.idx::text AS idx, r.keeper_id::text AS keeper_id, min(r.block)::text AS block
       FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[]) WITH ORDINALITY AS e(user_addr, pid, ts, te, idx)
       CROSS JOIN LATERAL (
         SELECT p.keeper_id, p.block FROM peer_records p
          WHERE p.user_addr = e.user_addr AND p.pid = e.pid AND p.block >= e.ts AND p.block < e.te
            AND p.space > 0 AND p.keeper_id = ANY($5::int8[]) AND p.keeper_id <> $6
         UNION ALL
         SELECT c.keeper_id, c.block FROM challenge_records c
          WHERE c.user_addr = e.user_addr AND c.pid = e.pid AND c.block >= e.ts AND c.block < e.te
            AND c.space > 0 AND c.keeper_id = $6 AND $6 = ANY($5::int8[])
       ) r
      GROUP BY e.idx, r.keeper_id
      ORDER BY e.idx, r.keeper_id`,
    [
      q.entries.map((e) => e.user),
      q.entries.map((e) => e.pid),
      q.entries.map((e) => e.ts.toString()),
      q.entries.map((e) => e.te.toString()),
      keepers,
      checkUint32('selfId', q.selfId),
    ],
  );
  for (const row of res.rows)
    out[Number(row.idx) - 1]!.push({ keeperId: Number(row.keeper_id), block: BigInt(row.block) });
  return out;
}

/**
 * Of `entries`, the indexes (0-based) of those still waiting on a peer's
 * broadcast: some keeper of `keeperIds` has a peer record in
 * `[ts, te - window)` (it is challenging) but none yet in `[te - window, te)`
 * (its newest record is in flight), and none of its records in `[ts, te)`
 * has a verified proof yet — one that has is vouched for already (the vouch is
 * its first verified record, which a later record cannot change). A keeper
 * with no record in the interval at all is not waited for: it is not
 * challenging, and waiting would only delay every round by the bound. One
 * statement for the batch.
 */
export async function entriesAwaitingPeerRecords(
  db: pg.Pool | pg.PoolClient,
  q: { entries: readonly SpaceTimeBatchEntry[]; keeperIds: readonly number[]; window: bigint },
): Promise<number[]> {
  checkEntries(q.entries);
  const keepers = checkKeepers(q.keeperIds);
  checkInt8('window', q.window);
  if (q.entries.length === 0 || keepers.length === 0) return [];
  const res = await query<{ idx: string }>(
    db,
    'entries awaiting peer records',
    `SELECT e.idx::text AS idx
       FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[]) WITH ORDINALITY AS e(user_addr, pid, ts, te, idx)
      WHERE EXISTS (
        SELECT 1 FROM unnest($5::int8[]) AS k(id)
         WHERE EXISTS (SELECT 1 FROM peer_records p
                        WHERE p.user_addr = e.user_addr AND p.pid = e.pid AND p.keeper_id = k.id
                          AND p.block >= e.ts AND p.block < e.te - $6::int8)
           AND NOT EXISTS (SELECT 1 FROM peer_records p
                            WHERE p.user_addr = e.user_addr AND p.pid = e.pid AND p.keeper_id = k.id
                              AND p.block >= e.te - $6::int8 AND p.block < e.te)
           AND NOT EXISTS (SELECT 1 FROM peer_records p
                            WHERE p.user_addr = e.user_addr AND p.pid = e.pid AND p.keeper_id = k.id
                              AND p.block >= e.ts AND p.block < e.te AND p.space > 0))
      ORDER BY e.idx`,
    [
      q.entries.map((e) => e.user),
      q.entries.map((e) => e.pid),
      q.entries.map((e) => e.ts.toString()),
      q.entries.map((e) => e.te.toString()),
      keepers,
      q.window.toString(),
    ],
  );
  return res.rows.map((r) => Number(r.idx) - 1);
}
