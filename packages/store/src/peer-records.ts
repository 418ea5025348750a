import { createHash } from 'node:crypto';
import type pg from 'pg';
import { query } from './db.js';
import { invalidArgument } from './errors.js';
import {
  type InsertMethod,
  insertRows,
  lastBefore,
  queryRange,
  type RangePage,
  type RangeQuery,
  type RecordRow,
  validateRecord,
} from './record-rows.js';

/**
 * `peer_records`: records received from the other keepers of the group,
 * kept apart from our own, with the peer's signature. Nothing enters this
 * table without passing the verifier (signature recovered against the peer's
 * registered address, and the proof re-verified).
 */
export interface PeerRecordRow extends RecordRow {
  /** The peer keeper's EIP-191 signature over the record. */
  signature: Uint8Array;
}

export interface VerifyResult {
  ok: boolean;
  /** Stable reason code when not ok (counted by the caller). */
  reason?: string;
}

/** Injected: the pure verifier of a peer record (signature + proof). */
export type PeerRecordVerifier = (record: PeerRecordRow) => VerifyResult | Promise<VerifyResult>;

export interface PeerInsertResult {
  inserted: number;
  /** Rows already stored with the same content (not re-verified), or repeated within the batch. */
  duplicates: number;
  /**
   * Rows not stored, with their reason: malformed, refused by the verifier, or
   * `PEER_RECORD_CONFLICT` — the key (user, pid, block, keeper) is stored with
   * other signed content; the stored row is kept.
   */
  rejected: Array<{ index: number; reason: string }>;
}

/** A stored row whose key is stored with other signed content (block hash, space, verdict, proof). */
export const PEER_RECORD_CONFLICT = 'PEER_RECORD_CONFLICT';

const keyOf = (r: { user: Uint8Array; pid: Uint8Array; block: bigint; keeperId: number }) =>
  `${Buffer.from(r.user).toString('hex')}:${Buffer.from(r.pid).toString('hex')}:${r.block}:${r.keeperId}`;

interface StoredContent {
  blockHash: Buffer;
  space: bigint;
  verdict: number;
  /** sha256 of the stored proof; null when it has none. */
  proofHash: Buffer | null;
}

/**
 * The signed content of the stored rows among `rows`, by key: one query on
 * the table's unique key (user, pid, block, keeper) for the whole batch.
 */
async function storedContent(
  db: pg.Pool,
  rows: readonly PeerRecordRow[],
): Promise<Map<string, StoredContent>> {
  const out = new Map<string, StoredContent>();
  if (rows.length === 0) return out;
  const res = await query<{
    user_addr: Buffer;
    pid: Buffer;
    block: string;
    keeper_id: string;
    block_hash: Buffer;
    space: string;
    verdict: number;
    proof_hash: Buffer | null;
  }>(
    db,
    'stored peer_records',
    `SELECT t.user_addr, t.pid, t.block, t.keeper_id, t.block_hash, t.space, t.verdict, sha256(t.proof) AS proof_hash
       FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[]) AS k(u, p, b, kid)
       JOIN peer_records t ON t.user_addr = k.u AND t.pid = k.p AND t.block = k.b AND t.keeper_id = k.kid`,
    [
      rows.map((r) => r.user),
      rows.map((r) => r.pid),
      rows.map((r) => r.block.toString()),
      rows.map((r) => r.keeperId),
    ],
  );
  for (const r of res.rows) {
    out.set(keyOf({ user: r.user_addr, pid: r.pid, block: BigInt(r.block), keeperId: Number(r.keeper_id) }), {
      blockHash: r.block_hash,
      space: BigInt(r.space),
      verdict: r.verdict,
      proofHash: r.proof_hash,
    });
  }
  return out;
}

function sameContent(stored: StoredContent, r: PeerRecordRow): boolean {
  const proofHash = r.proof === null ? null : createHash('sha256').update(r.proof).digest();
  return (
    stored.blockHash.equals(r.blockHash) &&
    stored.space === r.space &&
    stored.verdict === r.verdict &&
    (stored.proofHash === null
      ? proofHash === null
      : proofHash !== null && stored.proofHash.equals(proofHash))
  );
}

/**
 * Stores peer records. Rows already stored are found first (one query on the
 * key for the whole batch): those with the same signed content are
 * duplicates and are not re-verified — a redelivered batch costs one read —
 * and those with other content are refused as `PEER_RECORD_CONFLICT` (the
 * stored, verified row is kept: nothing replaces it). Each remaining row is
 * verified, then the verified ones are inserted in one transaction
 * (idempotently, so a concurrent insert of the same rows counts them as
 * duplicates). Invalid or unverifiable records are returned with their
 * reason, never stored.
 */
export async function insertPeerRecords(
  pool: pg.Pool,
  rows: readonly PeerRecordRow[],
  verify: PeerRecordVerifier,
  opts: { method?: InsertMethod } = {},
): Promise<PeerInsertResult> {
  const wellFormed: Array<{ r: PeerRecordRow; index: number }> = [];
  const rejected: Array<{ index: number; reason: string }> = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    try {
      validateRecord(r, i);
      if (!(r.signature instanceof Uint8Array) || r.signature.length === 0)
        throw invalidArgument('signature missing', { index: i });
      wellFormed.push({ r, index: i });
    } catch {
      rejected.push({ index: i, reason: 'PEER_RECORD_MALFORMED' });
    }
  }
  const stored = await storedContent(
    pool,
    wellFormed.map((w) => w.r),
  );
  const ok: PeerRecordRow[] = [];
  let stillStored = 0;
  for (const { r, index } of wellFormed) {
    const s = stored.get(keyOf(r));
    if (s) {
      if (sameContent(s, r)) stillStored++;
      else rejected.push({ index, reason: PEER_RECORD_CONFLICT });
      continue;
    }
    let v: VerifyResult;
    try {
      v = await verify(r);
    } catch {
      v = { ok: false, reason: 'PEER_RECORD_VERIFY_FAILED' };
    }
    if (v.ok) ok.push(r);
    else rejected.push({ index, reason: v.reason ?? 'PEER_RECORD_INVALID' });
  }
  rejected.sort((a, b) => a.index - b.index);
  const res = await insertRows(pool, 'peer_records', ok, {
    ...opts,
    extra: { column: 'signature', type: 'bytea', values: ok.map((r) => r.signature) },
  });
  return { inserted: res.inserted, duplicates: res.duplicates + stillStored, rejected };
}

export async function queryPeerRecords(
  db: pg.Pool | pg.PoolClient,
  q: RangeQuery,
): Promise<RangePage<PeerRecordRow>> {
  return queryRange(db, 'peer_records', q) as Promise<RangePage<PeerRecordRow>>;
}

export function lastPeerRecordBefore(
  db: pg.Pool | pg.PoolClient,
  q: { user: Uint8Array; pid: Uint8Array; keeperId: number; block: bigint; withProofs?: boolean },
): Promise<PeerRecordRow | undefined> {
  return lastBefore(db, 'peer_records', q) as Promise<PeerRecordRow | undefined>;
}
