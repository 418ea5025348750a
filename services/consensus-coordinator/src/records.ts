import { signRecord } from '@whitepay/challenge';
import { challengeV1, storeV1 } from '@whitepay/proto';
import { call, clientOptions, type grpc, insecure } from '@whitepay/rpc';
import { type Address, type Hex, hexToBytes } from 'viem';
import { CoordinatorError } from './errors.js';

/** One page of this keeper's own signed records: bounded in bytes by the challenge-store's page budget. */
export interface RecordPage {
  records: challengeV1.SignedRecord[];
  /** Where the next page starts (the challenge-store's opaque token); empty on the last page. */
  nextPageToken: string;
}

/** Records handed to `PutPeerRecords` per call: a full sync of any length crosses in calls of this size. */
export const PUT_CHUNK_BYTES = 4 * 1024 * 1024;
export const PUT_CHUNK_RECORDS = 1_000;

/** The full sync's access to this keeper's challenge-store (SPEC 6.4). */
export interface RecordStore {
  /**
   * One page of this keeper's own records of `[from, to)`, signed with its account key (what a peer
   * pulls, page by page: `pageToken` is the previous page's `nextPageToken`).
   */
  ownSignedPage(q: {
    user: Address;
    pid: Address;
    from: bigint;
    to: bigint;
    pageToken?: string;
  }): Promise<RecordPage>;
  /**
   * Hands peers' records to the challenge-store, which re-verifies each before storing it; any
   * number of records, sent in calls of at most `PUT_CHUNK_BYTES` / `PUT_CHUNK_RECORDS`.
   */
  putPeerRecords(
    records: challengeV1.SignedRecord[],
  ): Promise<{ accepted: number; duplicates: number; rejected: number }>;
  ready(): Promise<void>;
  close(): void;
}

/** The challenge-store over gRPC: `QueryRecords` (own, with proofs, paged) and `PutPeerRecords`. */
export class GrpcRecordStore implements RecordStore {
  private readonly client: storeV1.ChallengeStoreServiceClient;
  constructor(
    address: string,
    private readonly deadlineMs: number,
    private readonly privateKey: Hex,
    /** The release's internal token, when the challenge-store requires one. */
    token?: string,
    /** Deadline of a PutPeerRecords of `n` records (ms); default `deadlineMs` whatever `n`. */
    private readonly putDeadlineMs: (n: number) => number = () => deadlineMs,
  ) {
    this.client = new storeV1.ChallengeStoreServiceClient(address, insecure(), clientOptions({ token }));
  }

  async ownSignedPage(q: {
    user: Address;
    pid: Address;
    from: bigint;
    to: bigint;
    pageToken?: string;
  }): Promise<RecordPage> {
    let res: storeV1.QueryRecordsResponse;
    try {
      res = await call(
        this.client,
        this.client.queryRecords,
        {
          account: { user: hexToBytes(q.user), pid: hexToBytes(q.pid) },
          range: { from: q.from, to: q.to },
          source: storeV1.RecordSource.RECORD_SOURCE_OWN,
          withoutProofs: false,
          pageSize: 500,
          pageToken: q.pageToken ?? '',
        },
        { deadlineMs: this.deadlineMs, name: 'QueryRecords' },
      );
    } catch (err) {
      // A page token this store never issued (a peer's, passed on) is the caller's error, not an outage.
      if ((err as { kind?: string }).kind === 'invalid_argument') {
        throw new CoordinatorError('ROUND_MALFORMED', `records query refused: ${(err as Error).message}`, {
          cause: err,
        });
      }
      throw new CoordinatorError('COORD_PEER_UNAVAILABLE', `challenge-store: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const records: challengeV1.SignedRecord[] = [];
    for (const r of res.records) records.push(await signRecord(r, this.privateKey));
    return { records, nextPageToken: res.nextPageToken };
  }

  async putPeerRecords(records: challengeV1.SignedRecord[]) {
    const total = { accepted: 0, duplicates: 0, rejected: 0 };
    for (const chunk of chunksOf(records)) {
      try {
        const res = await call(
          this.client,
          this.client.putPeerRecords,
          { records: chunk },
          { deadlineMs: this.putDeadlineMs(chunk.length), name: 'PutPeerRecords' },
        );
        total.accepted += res.accepted;
        total.duplicates += res.duplicates;
        total.rejected += res.rejected;
      } catch (err) {
        throw new CoordinatorError('COORD_PEER_UNAVAILABLE', `challenge-store: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    return total;
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.waitForReady(Date.now() + 1_000, (err?: Error) => (err ? reject(err) : resolve())),
    );
  }

  close(): void {
    this.client.close();
  }
}

export type { grpc };

/** Consecutive runs of records, each at most `PUT_CHUNK_BYTES` encoded (a larger record goes alone) and `PUT_CHUNK_RECORDS` long. */
export function chunksOf(records: readonly challengeV1.SignedRecord[]): challengeV1.SignedRecord[][] {
  const out: challengeV1.SignedRecord[][] = [];
  let chunk: challengeV1.SignedRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = challengeV1.SignedRecord.encode(r).finish().length + 4;
    if (chunk.length > 0 && (bytes + size > PUT_CHUNK_BYTES || chunk.length >= PUT_CHUNK_RECORDS)) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}
