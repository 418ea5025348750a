import { type Address, encodeAbiParameters, type Hex, hexToBigInt, isAddress, isHex, keccak256 } from 'viem';
import { ChallengeInputError } from './errors.js';

/**
 * Seed and leaf selection (docs/encoding.md, "Challenges"):
 *   seed  = keccak256(abi.encode(bytes32 blockHash, uint32 keeperId, address user, address pid))
 *   index = keccak256(abi.encode(bytes32 seed, bytes32 pieceId, uint32 j)) mod leafCount
 * for j = 0 .. leavesPerPiece-1. Repeated indices are challenged once, so a
 * piece yields at most `leavesPerPiece` distinct indices (fewer when it has
 * fewer leaves or the draws collide).
 */

export const MAX_LEAVES_PER_PIECE = 1024;

export function checkBytes32(value: unknown, what: string): asserts value is Hex {
  if (typeof value !== 'string' || !isHex(value, { strict: true }) || value.length !== 66) {
    throw new ChallengeInputError(`${what} must be 32 bytes of hex, got ${String(value)}`, { what });
  }
}

export function checkAddress(value: unknown, what: string): asserts value is Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new ChallengeInputError(`${what} must be a 20-byte hex address, got ${String(value)}`, { what });
  }
}

export function checkUint32(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new ChallengeInputError(`${what} must be a uint32, got ${String(value)}`, { what });
  }
}

export function deriveSeed(blockHash: Hex, keeperId: number, user: Address, pid: Address): Hex {
  checkBytes32(blockHash, 'blockHash');
  checkUint32(keeperId, 'keeperId');
  checkAddress(user, 'user');
  checkAddress(pid, 'pid');
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'uint32' }, { type: 'address' }, { type: 'address' }],
      [blockHash, keeperId, user, pid],
    ),
  );
}

export function checkLeavesPerPiece(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_LEAVES_PER_PIECE) {
    throw new ChallengeInputError(`leavesPerPiece must be an integer in [1, ${MAX_LEAVES_PER_PIECE}]`, {
      leavesPerPiece: n,
    });
  }
}

/** The `j`-th draw for a piece (may repeat an earlier draw). */
export function leafIndexAt(seed: Hex, pieceId: Hex, j: number, leafCount: number): number {
  const h = keccak256(
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint32' }], [seed, pieceId, j]),
  );
  return Number(hexToBigInt(h) % BigInt(leafCount));
}

/** The distinct leaf indices the seed selects in a piece, in order of first draw. */
export function selectLeaves(seed: Hex, pieceId: Hex, leafCount: number, leavesPerPiece: number): number[] {
  checkBytes32(seed, 'seed');
  checkBytes32(pieceId, 'pieceId');
  checkLeavesPerPiece(leavesPerPiece);
  if (!Number.isInteger(leafCount) || leafCount < 1) {
    throw new ChallengeInputError(`leafCount must be a positive integer, got ${leafCount}`);
  }
  const seen = new Set<number>();
  const out: number[] = [];
  for (let j = 0; j < leavesPerPiece; j++) {
    const i = leafIndexAt(seed, pieceId, j, leafCount);
    if (!seen.has(i)) {
      seen.add(i);
      out.push(i);
    }
  }
  return out;
}
