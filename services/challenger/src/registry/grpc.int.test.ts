import { silentLogger } from '@whitepay/base';
import { storeV1 } from '@whitepay/proto';
import { listenGrpc, unary } from '@whitepay/rpc';
import { bytesToHex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { addressOf } from '../testing/harness.js';
import { BULK_CHUNK, GrpcPieceRegistry } from './grpc.js';

// A stand-in challenge-store speaking the real ChallengeStoreService wire
// protocol (only the registry methods), to check the client's mapping.
describe('GrpcPieceRegistry over the ChallengeStoreService wire', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('maps ListAccounts, ListPieces and ListPiecesBulk (at the block, chunked) and turns failures into REGISTRY_UNAVAILABLE', async () => {
    const log = silentLogger();
    const seen: storeV1.ListPiecesRequest[] = [];
    const user = addressOf(0xa);
    const pid = addressOf(0xb);
    const bytes = (h: string) => Buffer.from(h.slice(2), 'hex');
    const handle = await listenGrpc(
      (server) =>
        server.addService(storeV1.ChallengeStoreServiceService, {
          listAccounts: unary<storeV1.ListAccountsRequest, storeV1.ListAccountsResponse>(
            'ListAccounts',
            { log },
            async () => ({
              accounts: [
                { account: { user: bytes(user), pid: bytes(pid) }, pieces: 1, size: 10n },
                { account: { user: new Uint8Array(3), pid: bytes(pid) }, pieces: 1, size: 10n },
              ],
            }),
          ),
          listPiecesBulk: unary<storeV1.ListPiecesBulkRequest, storeV1.ListPiecesBulkResponse>(
            'ListPiecesBulk',
            { log },
            async (req) => ({
              accounts: req.accounts.map((account, i) => ({
                account,
                pieces:
                  i % 2 === 0
                    ? [
                        {
                          spec: {
                            pieceId: new Uint8Array(32).fill(i),
                            size: BigInt(i + 1),
                            root: new Uint8Array(32).fill(2),
                            leafSize: 256,
                          },
                          addedBlock: req.atBlock,
                          removedBlock: undefined,
                        },
                      ]
                    : [],
              })),
            }),
          ),
          listPieces: unary<storeV1.ListPiecesRequest, storeV1.ListPiecesResponse>(
            'ListPieces',
            { log },
            async (req) => {
              seen.push(req);
              return {
                pieces: [
                  {
                    spec: {
                      pieceId: new Uint8Array(32).fill(1),
                      size: 10n,
                      root: new Uint8Array(32).fill(2),
                      leafSize: 256,
                    },
                    addedBlock: 1n,
                    removedBlock: undefined,
                  },
                ],
              };
            },
          ),
        }),
      '127.0.0.1',
      0,
    );
    stops.push(() => handle.stop());
    const reg = new GrpcPieceRegistry(`127.0.0.1:${handle.port}`, 2_000);
    stops.push(async () => reg.close());
    expect(await reg.listAccounts()).toEqual([{ user, pid }]);
    const pieces = await reg.listPieces({ user, pid }, 42n);
    expect(pieces).toEqual([
      {
        pieceId: bytesToHex(new Uint8Array(32).fill(1)),
        size: 10n,
        root: bytesToHex(new Uint8Array(32).fill(2)),
        leafSize: 256,
      },
    ]);
    expect(seen[0]).toMatchObject({ atBlock: 42n, includeRemoved: false });
    expect(bytesToHex(seen[0]!.account!.user)).toBe(user);
    const many = Array.from({ length: BULK_CHUNK + 3 }, (_, i) => ({ user, pid: addressOf(i + 1) }));
    const bulk = await reg.listPiecesBulk(many, 9n);
    expect(bulk).toHaveLength(many.length);
    expect(bulk[0]).toEqual([
      {
        pieceId: bytesToHex(new Uint8Array(32)),
        size: 1n,
        root: bytesToHex(new Uint8Array(32).fill(2)),
        leafSize: 256,
      },
    ]);
    expect(bulk[1]).toEqual([]);
    // the second chunk starts again at index 0 on the server
    expect(bulk[BULK_CHUNK]![0]!.size).toBe(1n);
    const down = new GrpcPieceRegistry('127.0.0.1:1', 500);
    await expect(down.listAccounts()).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    down.close();
  });
});
