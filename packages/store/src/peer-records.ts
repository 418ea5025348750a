import type pg from 'pg';
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
  duplicates: number;
  rejected: Array<{ index: number; reason: string }>;
}

/**
 * Verifies each record, then inserts the verified ones in one transaction
 * (idempotent). Invalid or unverifiable records are returned with their
 * reason, never stored.
 */
export async function insertPeerRecords(
  pool: pg.Pool,
  rows: readonly PeerRecordRow[],
  verify: PeerRecordVerifier,
  opts: { method?: InsertMethod } = {},
): Promise<PeerInsertResult> {
  const ok: PeerRecordRow[] = [];
  const rejected: Array<{ index: number; reason: string }> = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    try {
      validateRecord(r, i);
      if (!(r.signature instanceof Uint8Array) || r.signature.length === 0)
        throw invalidArgument('signature missing', { index: i });
    } catch {
      rejected.push({ index: i, reason: 'PEER_RECORD_MALFORMED' });
      continue;
    }
    let v: VerifyResult;
    try {
      v = await verify(r);
    } catch {
      v = { ok: false, reason: 'PEER_RECORD_VERIFY_FAILED' };
    }
    if (v.ok) ok.push(r);
    else rejected.push({ index: i, reason: v.reason ?? 'PEER_RECORD_INVALID' });
  }
  const res = await insertRows(pool, 'peer_records', ok, {
    ...opts,
    extra: { column: 'signature', type: 'bytea', values: ok.map((r) => r.signature) },
  });
  return { ...res, rejected };
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
