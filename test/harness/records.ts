import type { challengeV1 } from '@whitepay/proto';
import { storeV1 } from '@whitepay/proto';
import { call, clientOptions, insecure } from '@whitepay/rpc';
import { type Address, hexToBytes } from 'viem';
import { HARNESS_INTERNAL_TOKEN, type KeeperHandle } from './keeper.js';

/**
 * Every record of (user, pid) in one keeper's store, through its
 * challenge-store's gRPC `QueryRecords` (all pages, without proofs): its own
 * records, or the peer records it received.
 */
export async function storedRecords(
  k: KeeperHandle,
  user: Address,
  pid: Address,
  source: 'own' | 'peer' = 'own',
): Promise<challengeV1.ChallengeRecord[]> {
  const client = new storeV1.ChallengeStoreServiceClient(
    k.urls['challenge-store']!.grpc!,
    insecure(),
    clientOptions({ token: HARNESS_INTERNAL_TOKEN }),
  );
  try {
    const out: challengeV1.ChallengeRecord[] = [];
    let pageToken = '';
    do {
      const res = await call(client, client.queryRecords, {
        account: { user: hexToBytes(user), pid: hexToBytes(pid) },
        range: { from: 0n, to: 1n << 62n },
        source:
          source === 'own' ? storeV1.RecordSource.RECORD_SOURCE_OWN : storeV1.RecordSource.RECORD_SOURCE_PEER,
        pageSize: 1000,
        pageToken,
        withoutProofs: true,
      });
      out.push(...res.records);
      pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
  } finally {
    client.close();
  }
}
