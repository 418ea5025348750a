import type { RegisteredPiece } from '@whitepay/challenge';
import { storeV1 } from '@whitepay/proto';
import { call, clientOptions, insecure } from '@whitepay/rpc';
import { bytesToHex, hexToBytes } from 'viem';
import { RegistryError } from '../errors.js';
import type { Account, PieceRegistry } from './registry.js';

/** Accounts per ListPiecesBulk call (the challenge-store takes up to 10,000). */
export const BULK_CHUNK = 5_000;

function toPieces(pieces: readonly storeV1.Piece[]): RegisteredPiece[] {
  return pieces.flatMap((p) =>
    p.spec
      ? [
          {
            pieceId: bytesToHex(p.spec.pieceId),
            size: p.spec.size,
            root: bytesToHex(p.spec.root),
            leafSize: p.spec.leafSize,
          },
        ]
      : [],
  );
}

/** The piece registry of the challenge-store, over gRPC (`ChallengeStoreService`). */
export class GrpcPieceRegistry implements PieceRegistry {
  private readonly client: storeV1.ChallengeStoreServiceClient;

  constructor(
    address: string,
    private readonly deadlineMs: number,
    /** The release's internal token, when the challenge-store requires one. */
    token?: string,
  ) {
    this.client = new storeV1.ChallengeStoreServiceClient(address, insecure(), clientOptions({ token }));
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

  /** ListPiecesBulk in calls of at most `BULK_CHUNK` accounts. */
  async listPiecesBulk(accounts: readonly Account[], block: bigint): Promise<RegisteredPiece[][]> {
    const out: RegisteredPiece[][] = [];
    for (let i = 0; i < accounts.length; i += BULK_CHUNK) {
      const chunk = accounts.slice(i, i + BULK_CHUNK);
      let res: storeV1.ListPiecesBulkResponse;
      try {
        res = await call(
          this.client,
          this.client.listPiecesBulk,
          {
            accounts: chunk.map((a) => ({ user: hexToBytes(a.user), pid: hexToBytes(a.pid) })),
            atBlock: block,
          },
          { deadlineMs: this.deadlineMs },
        );
      } catch (err) {
        throw new RegistryError('cannot list pieces in bulk from the challenge-store', err);
      }
      if (res.accounts.length !== chunk.length) {
        throw new RegistryError(
          `ListPiecesBulk answered ${res.accounts.length} accounts for ${chunk.length} asked`,
        );
      }
      for (const a of res.accounts) out.push(toPieces(a.pieces));
    }
    return out;
  }

  async listPieces(account: Account, block: bigint): Promise<RegisteredPiece[]> {
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
    return toPieces(res.pieces);
  }

  close(): void {
    this.client.close();
  }
}
