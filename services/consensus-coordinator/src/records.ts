import { signRecord } from '@whitepay/challenge';
import { type challengeV1, storeV1 } from '@whitepay/proto';
import { call, clientOptions, type grpc, insecure } from '@whitepay/rpc';
import { type Address, type Hex, hexToBytes } from 'viem';
import { CoordinatorError } from './errors.js';

/** The full sync's access to this keeper's challenge-store (SPEC 6.4). */
export interface RecordStore {
  /** This keeper's own records of `[from, to)`, signed with its account key (what a peer pulls). */
  ownSignedRecords(q: {
    user: Address;
    pid: Address;
    from: bigint;
    to: bigint;
  }): Promise<challengeV1.SignedRecord[]>;
  /** Hands peers' records to the challenge-store, which re-verifies each before storing it. */
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

  async ownSignedRecords(q: { user: Address; pid: Address; from: bigint; to: bigint }) {
    const out: challengeV1.SignedRecord[] = [];
    let pageToken = '';
    try {
      do {
        const res = await call(
          this.client,
          this.client.queryRecords,
          {
            account: { user: hexToBytes(q.user), pid: hexToBytes(q.pid) },
            range: { from: q.from, to: q.to },
            source: storeV1.RecordSource.RECORD_SOURCE_OWN,
            withoutProofs: false,
            pageSize: 500,
            pageToken,
          },
          { deadlineMs: this.deadlineMs, name: 'QueryRecords' },
        );
        for (const r of res.records) out.push(await signRecord(r, this.privateKey));
        pageToken = res.nextPageToken;
      } while (pageToken !== '');
    } catch (err) {
      throw new CoordinatorError('COORD_PEER_UNAVAILABLE', `challenge-store: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return out;
  }

  async putPeerRecords(records: challengeV1.SignedRecord[]) {
    if (records.length === 0) return { accepted: 0, duplicates: 0, rejected: 0 };
    try {
      return await call(
        this.client,
        this.client.putPeerRecords,
        { records },
        { deadlineMs: this.putDeadlineMs(records.length), name: 'PutPeerRecords' },
      );
    } catch (err) {
      throw new CoordinatorError('COORD_PEER_UNAVAILABLE', `challenge-store: ${(err as Error).message}`, {
        cause: err,
      });
    }
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
