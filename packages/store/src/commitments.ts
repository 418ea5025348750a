import type pg from 'pg';
import { bytes, checkBytes, checkUint32, checkUint256 } from './codec.js';
import { query } from './db.js';
import { StoreError } from './errors.js';

/**
 * `commitments`: the commit step of a consensus round (SPEC 6.1), one per
 * (tid, keeper). Our own carries st and nonce from the start; a peer's gets
 * them at its reveal.
 */
export interface Commitment {
  tid: Uint8Array;
  keeperId: number;
  commitment: Uint8Array;
  st: bigint | null;
  nonce: Uint8Array | null;
}

/**
 * Stores a commitment; the same one again is a no-op (returns false), a
 * different commitment for the same (tid, keeper) is a conflict.
 */
export async function putCommitment(db: pg.Pool | pg.PoolClient, c: Commitment): Promise<boolean> {
  checkBytes('tid', c.tid, 32);
  checkUint32('keeperId', c.keeperId);
  checkBytes('commitment', c.commitment, 32);
  if (c.st !== null) checkUint256('st', c.st);
  const res = await query<{ inserted: boolean; same: boolean }>(
    db,
    'put commitment',
    `WITH ins AS (
       INSERT INTO commitments (tid, keeper_id, commitment, st, nonce, revealed_at)
       VALUES ($1, $2, $3, $4::numeric, $5, CASE WHEN $4::numeric IS NULL THEN NULL ELSE now() END)
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM ins) AS inserted,
            EXISTS (SELECT 1 FROM commitments WHERE tid = $1 AND keeper_id = $2 AND commitment = $3) AS same`,
    [c.tid, c.keeperId, c.commitment, c.st === null ? null : c.st.toString(), c.nonce],
  );
  const row = res.rows[0]!;
  if (row.inserted) return true;
  if (!row.same)
    throw new StoreError('COMMITMENT_CONFLICT', 'another commitment exists for this round and keeper', {
      kind: 'conflict',
      details: { keeperId: c.keeperId },
    });
  return false;
}

/** Records a reveal (st, nonce) for a stored commitment; the caller has checked it against the hash. */
export async function revealCommitment(
  db: pg.Pool | pg.PoolClient,
  tid: Uint8Array,
  keeperId: number,
  st: bigint,
  nonce: Uint8Array,
): Promise<void> {
  checkBytes('tid', tid, 32);
  checkUint32('keeperId', keeperId);
  checkUint256('st', st);
  const res = await query(
    db,
    'reveal commitment',
    `UPDATE commitments SET st = $3::numeric, nonce = $4, revealed_at = now()
      WHERE tid = $1 AND keeper_id = $2 AND (st IS NULL OR (st = $3::numeric AND nonce = $4))`,
    [tid, keeperId, st.toString(), nonce],
  );
  if (res.rowCount !== 1)
    throw new StoreError('COMMITMENT_NOT_FOUND', 'no open commitment for this round and keeper', {
      kind: 'not_found',
      details: { keeperId },
    });
}

export async function listCommitments(db: pg.Pool | pg.PoolClient, tid: Uint8Array): Promise<Commitment[]> {
  checkBytes('tid', tid, 32);
  const res = await query<{
    tid: Buffer;
    keeper_id: string;
    commitment: Buffer;
    st: string | null;
    nonce: Buffer | null;
  }>(
    db,
    'list commitments',
    'SELECT tid, keeper_id, commitment, st::text AS st, nonce FROM commitments WHERE tid = $1 ORDER BY keeper_id',
    [tid],
  );
  return res.rows.map((r) => ({
    tid: bytes(r.tid),
    keeperId: Number(r.keeper_id),
    commitment: bytes(r.commitment),
    st: r.st === null ? null : BigInt(r.st),
    nonce: r.nonce === null ? null : bytes(r.nonce),
  }));
}
