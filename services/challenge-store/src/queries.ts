import {
  type InsertResult,
  type PeerRecordRow,
  type Pool,
  queryChallengeRecords,
  queryPeerRecords,
  type RangePage,
  type RangeQuery,
  type RecordRow,
} from '@whitepay/store';

export type Source = 'own' | 'peer' | 'all';

/**
 * A page of records from own, peer or both tables, merged by (block,
 * keeper). Own and peer records never share a keeper id (a peer record
 * naming this keeper is refused), so one (block, keeper) cursor pages both.
 */
export async function queryRecords(
  pool: Pool,
  source: Source,
  q: RangeQuery & { limit: number },
): Promise<RangePage<RecordRow & { signature?: Uint8Array }>> {
  if (source === 'own') return queryChallengeRecords(pool, q);
  if (source === 'peer') return queryPeerRecords(pool, q);
  const [own, peer] = await Promise.all([queryChallengeRecords(pool, q), queryPeerRecords(pool, q)]);
  const merged: Array<RecordRow | PeerRecordRow> = [...own.records, ...peer.records].sort((a, b) =>
    a.block === b.block ? a.keeperId - b.keeperId : a.block < b.block ? -1 : 1,
  );
  const records = merged.slice(0, q.limit);
  const more = merged.length > q.limit || own.next !== undefined || peer.next !== undefined;
  const last = records[records.length - 1];
  return more && last ? { records, next: { block: last.block, keeperId: last.keeperId } } : { records };
}

export type { InsertResult };
