import { deriveSeed, type RegisteredPiece, recoverRecordSigner, verifyChallenge } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import { listPieces, type PeerRecordRow, type PeerRecordVerifier, type Pool, toHex } from '@whitepay/store';
import { rowToRecord } from './nats/decode.js';

export interface PeerVerifierDeps {
  /** This keeper's id: a "peer" record carrying it is refused. */
  ownKeeperId: number;
  /** The group's keepers: id → registered secp256k1 address (lowercase). */
  keepers: ReadonlyMap<number, `0x${string}`>;
  pool: Pool;
}

/**
 * The real verifier of peer records (SPEC 3 step 4): the signature must
 * recover to the registered address of the keeper the record names, and the
 * proof must re-verify against this keeper's piece registry at the record's
 * block, giving the same space and verdict.
 */
export function createPeerVerifier(deps: PeerVerifierDeps): PeerRecordVerifier {
  return async (row: PeerRecordRow) => {
    if (row.keeperId === deps.ownKeeperId) return { ok: false, reason: 'PEER_RECORD_IS_OWN' };
    const expected = deps.keepers.get(row.keeperId);
    if (!expected) return { ok: false, reason: 'PEER_NOT_IN_GROUP' };
    const record = rowToRecord(row);
    let signer: string;
    try {
      signer = (await recoverRecordSigner({ record, signature: row.signature })).toLowerCase();
    } catch {
      return { ok: false, reason: 'PEER_SIGNATURE_INVALID' };
    }
    if (signer !== expected) return { ok: false, reason: 'PEER_SIGNATURE_INVALID' };
    const timedOut =
      row.verdict === challengeV1.Verdict.VERDICT_TIMEOUT ||
      row.verdict === challengeV1.Verdict.VERDICT_UNREACHABLE;
    if (timedOut) return row.space === 0n ? { ok: true } : { ok: false, reason: 'PEER_PROOF_MISMATCH' };
    const proof = record.proof;
    if (!proof) return { ok: false, reason: 'PEER_PROOF_MISSING' };
    const seed = deriveSeed(toHex(row.blockHash), row.keeperId, toHex(row.user), toHex(row.pid));
    if (toHex(proof.seed) !== seed) return { ok: false, reason: 'PEER_SEED_MISMATCH' };
    const pieces: RegisteredPiece[] = (
      await listPieces(deps.pool, row.user, row.pid, { atBlock: row.block })
    ).map((p) => ({ pieceId: toHex(p.pieceId), size: p.size, root: toHex(p.root), leafSize: p.leafSize }));
    try {
      const v = verifyChallenge(
        pieces,
        { seed, leavesPerPiece: proof.leavesPerPiece },
        { leaves: proof.leaves },
      );
      return v.space === row.space && v.verdict === row.verdict
        ? { ok: true }
        : { ok: false, reason: 'PEER_PROOF_MISMATCH' };
    } catch {
      return { ok: false, reason: 'PEER_PROOF_INVALID' };
    }
  };
}

/** Without a configured group no peer record can be checked: refuse them all (fail closed). */
export const refuseAllPeers: PeerRecordVerifier = () => ({ ok: false, reason: 'PEER_GROUP_UNKNOWN' });
