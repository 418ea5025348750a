import { randomBytes } from 'node:crypto';
import { providerV1, storeV1 } from '@whitepay/proto';
import { call, insecure } from '@whitepay/rpc';
import { addPiecesDigest, fromHex, toHex } from '@whitepay/store';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { DevnetState, KeeperState, PieceState, ProviderState } from './state.js';

/** Stores one piece of random data of each size in a provider node (gRPC PutPiece). */
export async function storePieces(
  state: DevnetState,
  p: ProviderState,
  sizes: readonly number[],
  block: bigint,
  /** The node's gRPC `host:port` (default: the local network's loopback port). */
  address = `127.0.0.1:${p.grpcPort}`,
): Promise<PieceState[]> {
  const client = new providerV1.ProviderServiceClient(address, insecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  try {
    const out: PieceState[] = [];
    for (const size of sizes) {
      const res = await call(
        client,
        client.putPiece,
        {
          user: fromHex('user', state.chain.user),
          pieceId: new Uint8Array(),
          data: randomBytes(size),
          leafSize: 0,
        },
        { deadlineMs: 30_000, name: 'PutPiece' },
      );
      out.push({
        pieceId: toHex(res.pieceId),
        size: Number(res.size),
        root: toHex(res.root),
        leafSize: res.leafSize,
        block: String(block),
      });
    }
    return out;
  } finally {
    client.close();
  }
}

/**
 * Registers a provider's pieces with one keeper's challenge-store: a request signed by the user (EIP-191
 * over `addPiecesDigest`), single-use nonce. Pieces already live there are reported, not duplicated.
 */
export async function registerPieces(
  state: DevnetState,
  k: KeeperState,
  p: ProviderState,
  pieces: readonly PieceState[],
  nonce: bigint,
  /** The keeper's challenge-store gRPC `host:port` (default: the local network's loopback port). */
  storeAddress = `127.0.0.1:${k.ports.storeGrpc}`,
): Promise<void> {
  const user = privateKeyToAccount(state.chain.userKey);
  const block = BigInt(pieces[0]!.block);
  const request = {
    user: fromHex('user', state.chain.user),
    pid: fromHex('pid', p.pid),
    nonce,
    block,
    pieces: pieces.map((x) => ({
      pieceId: fromHex('pieceId', x.pieceId),
      size: BigInt(x.size),
      root: fromHex('root', x.root),
      leafSize: x.leafSize,
    })),
  };
  const signature = await user.signMessage({ message: { raw: addPiecesDigest(request) } });
  const client = new storeV1.ChallengeStoreServiceClient(storeAddress, insecure());
  try {
    await call(
      client,
      client.registerPieces,
      {
        account: { user: request.user, pid: request.pid },
        nonce,
        block,
        pieces: request.pieces,
        signature: fromHex('signature', signature as Hex),
      },
      { deadlineMs: 10_000, name: 'RegisterPieces' },
    );
  } finally {
    client.close();
  }
}
