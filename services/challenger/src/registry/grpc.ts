import { storeV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { bytesToHex, hexToBytes } from 'viem';
import { RegistryError } from '../errors.js';
import type { Account, PieceRegistry } from './registry.js';

/** The piece registry of the challenge-store, over gRPC (`ChallengeStoreService`). */
export class GrpcPieceRegistry implements PieceRegistry {
  private readonly client: storeV1.ChallengeStoreServiceClient;

  constructor(
    address: string,
    private readonly deadlineMs: number,
  ) {
    this.client = new storeV1.ChallengeStoreServiceClient(address, insecure());
  }

  async listAccounts(): Promise<Account[]> {
    try {
      const res = await call(this.client, this.client.listAccounts, {}, { deadlineMs: this.deadlineMs });
      return res.accounts.flatMap((a) =>
        a.account && a.account.user.length === 20 && a.account.pid.length === 20
          ? [{ user: bytesToHex(a.account.user), pid: bytesToHex(a.account.pid) }]
          : [],
      );
    } catch (err) {
      throw new RegistryError('cannot list accounts from the challenge-store', err);
    }
  }

  async listPieces(account: Account, block: bigint) {
    let res: storeV1.ListPiecesResponse;
    try {
      res = await call(
        this.client,
        this.client.listPieces,
        {
          account: { user: hexToBytes(account.user), pid: hexToBytes(account.pid) },
          atBlock: block,
          includeRemoved: false,
        },
        { deadlineMs: this.deadlineMs },
      );
    } catch (err) {
      throw new RegistryError('cannot list pieces from the challenge-store', err);
    }
    return res.pieces.flatMap((p) =>
      p.spec
        ? [
            {
              pieceId: bytesToHex(p.spec.pieceId),
              size: p.spec.size,
              root: bytesToHex(p.spec.root),
              leafSize: p.spec.leafSize || 4096,
            },
          ]
        : [],
    );
  }

  close(): void {
    this.client.close();
  }
}
