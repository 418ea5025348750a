import { recoverSigner } from '@whitepay/ecdsa';
import { encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { checkBytes, checkInt8, checkUint32, toHex } from './codec.js';
import { invalidArgument, StoreError } from './errors.js';

/**
 * The user's signed piece registration (SPEC 3), pure: the digest the user
 * signs and its verification. The user signs the 32-byte digest as an EIP-191
 * personal message (`signMessage({ message: { raw: digest } })`); the keeper
 * recovers the signer and accepts only the user itself — never the provider,
 * which must not add pieces to its own account. The nonce makes each request
 * single-use (replay protection, per user).
 *
 * add:    keccak256(abi.encode("WhitePay/pieces/v1", uint8 1, address user, address pid,
 *                              uint64 nonce, uint64 block,
 *                              (bytes32 pieceId, uint64 size, bytes32 root, uint32 leafSize)[]))
 * remove: keccak256(abi.encode("WhitePay/pieces/v1", uint8 2, address user, address pid,
 *                              uint64 nonce, uint64 block, bytes32[] pieceIds))
 */
export const PIECES_DOMAIN = 'WhitePay/pieces/v1';
export const OP_ADD = 1;
export const OP_REMOVE = 2;

export interface PieceSpec {
  /** 32 bytes. */
  pieceId: Uint8Array;
  /** Bytes. */
  size: bigint;
  /** Merkle root, 32 bytes. */
  root: Uint8Array;
  /** Leaf size in bytes (default 4096 in the protocol). */
  leafSize: number;
}

export interface AddPiecesRequest {
  user: Uint8Array;
  pid: Uint8Array;
  nonce: bigint;
  /** Block from which the pieces count. */
  block: bigint;
  pieces: PieceSpec[];
}

export interface RemovePiecesRequest {
  user: Uint8Array;
  pid: Uint8Array;
  nonce: bigint;
  /** Block from which the pieces stop counting. */
  block: bigint;
  pieceIds: Uint8Array[];
}

export const MAX_PIECES_PER_REQUEST = 10_000;

function checkHeader(r: { user: Uint8Array; pid: Uint8Array; nonce: bigint; block: bigint }): void {
  checkBytes('user', r.user, 20);
  checkBytes('pid', r.pid, 20);
  checkInt8('nonce', r.nonce);
  checkInt8('block', r.block);
  if (Buffer.compare(Buffer.from(r.user), Buffer.from(r.pid)) === 0)
    throw invalidArgument('user and provider must differ');
}

export function validateAdd(r: AddPiecesRequest): void {
  checkHeader(r);
  if (r.pieces.length === 0 || r.pieces.length > MAX_PIECES_PER_REQUEST)
    throw invalidArgument(`a request carries 1..${MAX_PIECES_PER_REQUEST} pieces`);
  const seen = new Set<string>();
  for (const p of r.pieces) {
    checkBytes('pieceId', p.pieceId, 32);
    checkBytes('root', p.root, 32);
    checkInt8('size', p.size);
    if (p.size === 0n) throw invalidArgument('piece size must be positive');
    checkUint32('leafSize', p.leafSize);
    if (p.leafSize === 0) throw invalidArgument('leafSize must be positive');
    const k = toHex(p.pieceId);
    if (seen.has(k)) throw invalidArgument('duplicate piece id in request', { pieceId: k });
    seen.add(k);
  }
}

export function validateRemove(r: RemovePiecesRequest): void {
  checkHeader(r);
  if (r.pieceIds.length === 0 || r.pieceIds.length > MAX_PIECES_PER_REQUEST)
    throw invalidArgument(`a request carries 1..${MAX_PIECES_PER_REQUEST} piece ids`);
  for (const id of r.pieceIds) checkBytes('pieceId', id, 32);
}

export function addPiecesDigest(r: AddPiecesRequest): Hex {
  validateAdd(r);
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'string' },
        { type: 'uint8' },
        { type: 'address' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'uint64' },
        {
          type: 'tuple[]',
          components: [
            { name: 'pieceId', type: 'bytes32' },
            { name: 'size', type: 'uint64' },
            { name: 'root', type: 'bytes32' },
            { name: 'leafSize', type: 'uint32' },
          ],
        },
      ],
      [
        PIECES_DOMAIN,
        OP_ADD,
        toHex(r.user),
        toHex(r.pid),
        r.nonce,
        r.block,
        r.pieces.map((p) => ({
          pieceId: toHex(p.pieceId),
          size: p.size,
          root: toHex(p.root),
          leafSize: p.leafSize,
        })),
      ],
    ),
  );
}

export function removePiecesDigest(r: RemovePiecesRequest): Hex {
  validateRemove(r);
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'string' },
        { type: 'uint8' },
        { type: 'address' },
        { type: 'address' },
        { type: 'uint64' },
        { type: 'uint64' },
        { type: 'bytes32[]' },
      ],
      [PIECES_DOMAIN, OP_REMOVE, toHex(r.user), toHex(r.pid), r.nonce, r.block, r.pieceIds.map(toHex)],
    ),
  );
}

/**
 * Recovers the signer of `digest` and checks it is `user`. A signature by the
 * provider is refused with its own code (PIECE_SIGNER_IS_PROVIDER); any other
 * signer, or an unparsable signature, is PIECE_SIGNATURE_INVALID.
 */
export async function verifyUserSignature(
  digest: Hex,
  signature: Uint8Array,
  user: Uint8Array,
  pid: Uint8Array,
): Promise<void> {
  let signer: string;
  try {
    signer = recoverSigner(digest, signature).toLowerCase();
  } catch (err) {
    throw new StoreError('PIECE_SIGNATURE_INVALID', 'signature cannot be parsed', {
      kind: 'unauthenticated',
      cause: err,
    });
  }
  if (signer === toHex(pid).toLowerCase())
    throw new StoreError('PIECE_SIGNER_IS_PROVIDER', 'a provider cannot register pieces on its own account', {
      kind: 'permission_denied',
      details: { signer },
    });
  if (signer !== toHex(user).toLowerCase())
    throw new StoreError('PIECE_SIGNATURE_INVALID', 'request is not signed by the user', {
      kind: 'unauthenticated',
      details: { signer, user: toHex(user) },
    });
}
