import { challengeV1, type providerV1 } from '@whitepay/proto';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { ChallengeInputError, ProofError, type ProofErrorCode } from './errors.js';
import { checkLeafSize, leafCountOf, verifyLeafProof } from './merkle.js';
import { checkBytes32, checkLeavesPerPiece, selectLeaves } from './seed.js';

/** A piece as the user registered it with the keepers (SPEC 3). */
export interface RegisteredPiece {
  pieceId: Hex;
  size: bigint;
  root: Hex;
  leafSize: number;
}

export interface ChallengeSpec {
  seed: Hex;
  leavesPerPiece: number;
}

export interface PieceVerification {
  pieceId: Hex;
  size: bigint;
  leafIndices: number[];
  verified: boolean;
  /** Why the piece failed; absent when it verified. */
  reason?: ProofErrorCode;
}

export interface ChallengeVerification {
  /** Total size of the pieces whose every selected leaf verified. */
  space: bigint;
  verdict: challengeV1.Verdict;
  pieces: PieceVerification[];
}

interface PreparedPiece {
  piece: RegisteredPiece;
  root: Uint8Array;
  leafCount: number;
  leafIndices: number[];
}

function prepare(pieces: readonly RegisteredPiece[], spec: ChallengeSpec): PreparedPiece[] {
  checkBytes32(spec.seed, 'seed');
  checkLeavesPerPiece(spec.leavesPerPiece);
  const seen = new Set<string>();
  return pieces.map((piece, k) => {
    checkBytes32(piece.pieceId, `pieces[${k}].pieceId`);
    checkBytes32(piece.root, `pieces[${k}].root`);
    checkLeafSize(piece.leafSize);
    if (typeof piece.size !== 'bigint') throw new ChallengeInputError(`pieces[${k}].size must be a bigint`);
    const id = piece.pieceId.toLowerCase();
    if (seen.has(id)) throw new ChallengeInputError(`piece ${id} registered twice`, { pieceId: id });
    seen.add(id);
    const leafCount = leafCountOf(piece.size, piece.leafSize);
    return {
      piece,
      root: hexToBytes(piece.root),
      leafCount,
      leafIndices: selectLeaves(spec.seed, piece.pieceId, leafCount, spec.leavesPerPiece),
    };
  });
}

function toRequest(prepared: readonly PreparedPiece[]): providerV1.PieceChallenge[] {
  return prepared.map((p) => ({
    pieceId: hexToBytes(p.piece.pieceId),
    leafIndices: p.leafIndices.map(BigInt),
  }));
}

/** The challenge to send to the provider: every registered piece with its selected leaves. */
export function buildChallenge(
  pieces: readonly RegisteredPiece[],
  spec: ChallengeSpec,
): providerV1.PieceChallenge[] {
  return toRequest(prepare(pieces, spec));
}

export interface ChallengePlan {
  /** What to send to the provider (as `buildChallenge`). */
  request: providerV1.PieceChallenge[];
  /** Verifies the provider's answer (as `verifyChallenge`), without drawing the leaves again. */
  verify(response: { leaves: readonly challengeV1.LeafProof[] }): ChallengeVerification;
}

/**
 * `buildChallenge` and `verifyChallenge` sharing one leaf selection (the
 * selection costs a keccak per drawn leaf; a challenger does both for every
 * challenge). Same inputs, same errors, same results.
 */
export function planChallenge(pieces: readonly RegisteredPiece[], spec: ChallengeSpec): ChallengePlan {
  const prepared = prepare(pieces, spec);
  return { request: toRequest(prepared), verify: (response) => verifyPrepared(prepared, response) };
}

/**
 * Verifies a provider's answer against the registered pieces (SPEC 3 step 3).
 * A piece counts when every selected leaf has a proof that verifies; proofs
 * for other pieces or leaves are ignored. Bad registry or spec input throws a
 * `ChallengeInputError`; anything wrong in the response only fails the piece
 * it concerns, with the reason recorded.
 */
export function verifyChallenge(
  pieces: readonly RegisteredPiece[],
  spec: ChallengeSpec,
  response: { leaves: readonly challengeV1.LeafProof[] },
): ChallengeVerification {
  return verifyPrepared(prepare(pieces, spec), response);
}

function verifyPrepared(
  prepared: readonly PreparedPiece[],
  response: { leaves: readonly challengeV1.LeafProof[] },
): ChallengeVerification {
  const byKey = new Map<string, challengeV1.LeafProof>();
  for (const leaf of response.leaves) {
    if (leaf.pieceId.length !== 32) continue;
    const key = `${bytesToHex(leaf.pieceId)}:${leaf.leafIndex}`;
    if (!byKey.has(key)) byKey.set(key, leaf);
  }
  let space = 0n;
  let ok = 0;
  const results: PieceVerification[] = prepared.map((p) => {
    const id = p.piece.pieceId.toLowerCase() as Hex;
    const result: PieceVerification = {
      pieceId: id,
      size: p.piece.size,
      leafIndices: p.leafIndices,
      verified: true,
    };
    for (const index of p.leafIndices) {
      const proof = byKey.get(`${id}:${index}`);
      try {
        if (!proof) throw new ProofError('PROOF_MISSING', `no proof for leaf ${index}`);
        verifyLeafProof({
          root: p.root,
          leafCount: p.leafCount,
          leafSize: p.piece.leafSize,
          index: proof.leafIndex,
          leaf: proof.leaf,
          path: proof.path,
        });
      } catch (err) {
        if (!(err instanceof ProofError)) throw err;
        result.verified = false;
        result.reason = err.code;
        break;
      }
    }
    if (result.verified) {
      space += p.piece.size;
      ok++;
    }
    return result;
  });
  const verdict =
    ok === prepared.length
      ? challengeV1.Verdict.VERDICT_OK
      : ok === 0
        ? challengeV1.Verdict.VERDICT_INVALID_PROOF
        : challengeV1.Verdict.VERDICT_PARTIAL;
  return { space, verdict, pieces: results };
}
