import { recoverSigner, Signer } from '@whitepay/ecdsa';
import { challengeV1 } from '@whitepay/proto';
import { type Address, bytesToHex, encodeAbiParameters, type Hex, hexToBytes, keccak256 } from 'viem';
import { RecordError } from './errors.js';
import { sha256 } from './sha256.js';
import type { ChallengeVerification } from './verify.js';

/**
 * Canonical digest of a challenge record, signed by its keeper when the record
 * is broadcast to peers (docs/encoding.md, "Signatures between keepers"):
 *
 *   proofDigest  = keccak256(abi.encode(bytes seed, uint32 leavesPerPiece,
 *                    (bytes pieceId, uint64 leafIndex, bytes32 sha256(leaf), bytes[] path)[] leaves))
 *   recordDigest = keccak256(abi.encode(string "WhitePay/record/v1", address user, address pid,
 *                    uint32 keeperId, uint64 block, bytes32 blockHash, uint64 space,
 *                    uint8 verdict, bytes32 proofDigest))
 *
 * `observedAtMs` (wall-clock) and the per-piece results (derivable from the
 * proof) are not signed. Proof fields are encoded as `bytes`, so a record
 * carrying a provider's malformed answer still has a digest.
 */
export const RECORD_DOMAIN = 'WhitePay/record/v1';

const UINT64_MAX = (1n << 64n) - 1n;

export function proofDigest(proof: challengeV1.ChallengeProof | undefined): Hex {
  const p = proof ?? challengeV1.ChallengeProof.create();
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'bytes' },
        { type: 'uint32' },
        {
          type: 'tuple[]',
          components: [
            { name: 'pieceId', type: 'bytes' },
            { name: 'leafIndex', type: 'uint64' },
            { name: 'leafHash', type: 'bytes32' },
            { name: 'path', type: 'bytes[]' },
          ],
        },
      ],
      [
        bytesToHex(p.seed),
        p.leavesPerPiece,
        p.leaves.map((l) => ({
          pieceId: bytesToHex(l.pieceId),
          leafIndex: l.leafIndex,
          leafHash: bytesToHex(sha256(l.leaf)),
          path: l.path.map((n) => bytesToHex(n)),
        })),
      ],
    ),
  );
}

function invalid(message: string, details: Record<string, unknown> = {}): RecordError {
  return new RecordError('RECORD_INVALID', message, details);
}

export function recordDigest(r: challengeV1.ChallengeRecord): Hex {
  if (r.user.length !== 20) throw invalid(`record user must be 20 bytes, got ${r.user.length}`);
  if (r.pid.length !== 20) throw invalid(`record pid must be 20 bytes, got ${r.pid.length}`);
  if (r.blockHash.length !== 32)
    throw invalid(`record blockHash must be 32 bytes, got ${r.blockHash.length}`);
  if (r.block < 0n || r.block > UINT64_MAX) throw invalid(`record block out of uint64 range`);
  if (r.space < 0n || r.space > UINT64_MAX) throw invalid(`record space out of uint64 range`);
  if (!Number.isInteger(r.verdict) || r.verdict < 0 || r.verdict > 255)
    throw invalid('record verdict invalid');
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'string' },
        { type: 'address' },
        { type: 'address' },
        { type: 'uint32' },
        { type: 'uint64' },
        { type: 'bytes32' },
        { type: 'uint64' },
        { type: 'uint8' },
        { type: 'bytes32' },
      ],
      [
        RECORD_DOMAIN,
        bytesToHex(r.user),
        bytesToHex(r.pid),
        r.keeperId,
        r.block,
        bytesToHex(r.blockHash),
        r.space,
        r.verdict,
        proofDigest(r.proof),
      ],
    ),
  );
}

/**
 * Signers by private key, derived once: deriving the public key and address
 * costs about as much as a signature, and a keeper signs every record with the
 * same key. Bounded (a process holds one or a few keys; tests many).
 */
const signers = new Map<Hex, Signer>();
function signerOf(privateKey: Hex): Signer {
  let s = signers.get(privateKey);
  if (!s) {
    s = new Signer(privateKey);
    if (signers.size >= 64) signers.clear();
    signers.set(privateKey, s);
  }
  return s;
}

/** Signs a record with the keeper's secp256k1 account key (EIP-191 over the digest). */
export async function signRecord(
  record: challengeV1.ChallengeRecord,
  privateKey: Hex,
): Promise<challengeV1.SignedRecord> {
  return { record, signature: signerOf(privateKey).sign(recordDigest(record)) };
}

/** The address that signed a record; throws `RECORD_SIGNATURE_INVALID` when none can be recovered. */
export async function recoverRecordSigner(signed: challengeV1.SignedRecord): Promise<Address> {
  if (!signed.record) throw invalid('signed record has no record');
  const digest = recordDigest(signed.record);
  if (signed.signature.length !== 65) {
    throw new RecordError(
      'RECORD_SIGNATURE_INVALID',
      `signature must be 65 bytes, got ${signed.signature.length}`,
    );
  }
  try {
    return recoverSigner(digest, signed.signature);
  } catch (err) {
    throw new RecordError('RECORD_SIGNATURE_INVALID', 'cannot recover the signer', {
      cause: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Checks that one of `allowed` (the group's registered keeper addresses) signed the record. */
export async function verifySignedRecord(
  signed: challengeV1.SignedRecord,
  allowed: readonly Address[],
): Promise<Address> {
  const signer = await recoverRecordSigner(signed);
  if (!allowed.some((a) => a.toLowerCase() === signer.toLowerCase())) {
    throw new RecordError('RECORD_SIGNATURE_INVALID', `signer ${signer} is not a member of the group`, {
      signer,
    });
  }
  return signer;
}

export interface BuildRecordInput {
  user: Address;
  pid: Address;
  keeperId: number;
  block: bigint;
  blockHash: Hex;
  seed: Hex;
  leavesPerPiece: number;
  /** The provider's answer (empty for a timeout or an unreachable provider). */
  leaves: readonly challengeV1.LeafProof[];
  verdict: challengeV1.Verdict;
  space: bigint;
  pieces?: ChallengeVerification['pieces'];
  observedAtMs: number;
}

/** Assembles a `ChallengeRecord` message from a challenge's parts. */
export function buildRecord(i: BuildRecordInput): challengeV1.ChallengeRecord {
  return {
    user: hexToBytes(i.user),
    pid: hexToBytes(i.pid),
    keeperId: i.keeperId,
    block: i.block,
    blockHash: hexToBytes(i.blockHash),
    space: i.space,
    verdict: i.verdict,
    proof: { seed: hexToBytes(i.seed), leaves: [...i.leaves], leavesPerPiece: i.leavesPerPiece },
    observedAtMs: BigInt(i.observedAtMs),
    pieces: (i.pieces ?? []).map((p) => ({
      pieceId: hexToBytes(p.pieceId),
      size: p.size,
      verified: p.verified,
      reason: p.reason ?? '',
    })),
  };
}
