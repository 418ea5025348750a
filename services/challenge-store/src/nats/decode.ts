import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { challengeV1 } from '@whitepay/proto';
import { INT8_MAX, type RecordRow } from '@whitepay/store';
import { RecordRejected } from '../errors.js';

const VERDICT_MAX = 5;

function expectWire(field: string, got: WireType, want: WireType): void {
  if (got !== want)
    throw new RecordRejected('RECORD_MALFORMED', `field ${field} has wire type ${got}, expected ${want}`);
}

/**
 * Throws where `challengeV1.ChallengeProof.decode(bytes)` throws, building
 * nothing: the same reads in the same order as the generated decoder (tags
 * as plain varints, a known field only with its own tag, anything else
 * skipped, a zero tag or an end-group tag ending the message), with the
 * values discarded. Half the cost of the decode on the ingest path; a test
 * checks the two agree on random and mutated inputs.
 */
export function checkProofWire(bytes: Uint8Array): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === 10)
      r.bytes(); // seed
    else if (tag === 18)
      checkLeafWire(r, r.uint32()); // leaves
    else if (tag === 24)
      r.uint32(); // leaves_per_piece
    else if ((tag & 7) === 4 || tag === 0) break;
    else r.skip(tag & 7);
  }
}

function checkLeafWire(r: BinaryReader, length: number): void {
  const end = r.pos + length;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 10 || tag === 26 || tag === 34)
      r.bytes(); // piece_id, leaf, path
    else if (tag === 16)
      r.uint64(); // leaf_index
    else if ((tag & 7) === 4 || tag === 0) break;
    else r.skip(tag & 7);
  }
}

/**
 * Decodes a ChallengeRecord published by the challenger straight from the
 * protobuf wire format into a store row. The proof is kept as its encoded
 * bytes (a zero-copy slice, checked to parse as a ChallengeProof) — the store
 * keeps it for audits and peers, it is not re-encoded. Unknown fields are
 * skipped (forward compatible). Anything wrong is a RecordRejected whose code
 * says why.
 */
export function decodeRecord(data: Uint8Array, ownKeeperId?: number): RecordRow {
  let user: Uint8Array | undefined;
  let pid: Uint8Array | undefined;
  let keeperId = 0;
  let block = 0n;
  let blockHash: Uint8Array | undefined;
  let space = 0n;
  let verdict = 0;
  let proof: Uint8Array | null = null;
  let observed = 0n;
  try {
    const r = new BinaryReader(data);
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      switch (no) {
        case 1:
          expectWire('user', wt, WireType.LengthDelimited);
          user = r.bytes();
          break;
        case 2:
          expectWire('pid', wt, WireType.LengthDelimited);
          pid = r.bytes();
          break;
        case 3:
          expectWire('keeper_id', wt, WireType.Varint);
          keeperId = r.uint32();
          break;
        case 4:
          expectWire('block', wt, WireType.Varint);
          block = BigInt(r.uint64());
          break;
        case 5:
          expectWire('block_hash', wt, WireType.LengthDelimited);
          blockHash = r.bytes();
          break;
        case 6:
          expectWire('space', wt, WireType.Varint);
          space = BigInt(r.uint64());
          break;
        case 7:
          expectWire('verdict', wt, WireType.Varint);
          verdict = r.int32();
          break;
        case 8:
          expectWire('proof', wt, WireType.LengthDelimited);
          proof = r.bytes();
          break;
        case 9:
          expectWire('observed_at_ms', wt, WireType.Varint);
          observed = BigInt(r.uint64());
          break;
        default:
          r.skip(wt, no);
      }
    }
    if (proof) checkProofWire(proof);
  } catch (err) {
    if (err instanceof RecordRejected) throw err;
    throw new RecordRejected('RECORD_MALFORMED', `not a ChallengeRecord: ${(err as Error).message}`);
  }
  if (!user || user.length === 0) throw new RecordRejected('RECORD_FIELD_MISSING', 'user is missing');
  if (!pid || pid.length === 0) throw new RecordRejected('RECORD_FIELD_MISSING', 'pid is missing');
  if (!blockHash || blockHash.length === 0)
    throw new RecordRejected('RECORD_FIELD_MISSING', 'block_hash is missing');
  if (verdict === 0) throw new RecordRejected('RECORD_FIELD_MISSING', 'verdict is missing');
  if (user.length !== 20)
    throw new RecordRejected('RECORD_FIELD_LENGTH', `user is ${user.length} bytes, not 20`);
  if (pid.length !== 20)
    throw new RecordRejected('RECORD_FIELD_LENGTH', `pid is ${pid.length} bytes, not 20`);
  if (blockHash.length !== 32)
    throw new RecordRejected('RECORD_FIELD_LENGTH', `block_hash is ${blockHash.length} bytes, not 32`);
  if (verdict < 1 || verdict > VERDICT_MAX)
    throw new RecordRejected('RECORD_OUT_OF_RANGE', `unknown verdict ${verdict}`);
  if (block > INT8_MAX || space > INT8_MAX || observed > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RecordRejected('RECORD_OUT_OF_RANGE', 'block, space or observed_at_ms out of range');
  if (ownKeeperId !== undefined && keeperId !== ownKeeperId)
    throw new RecordRejected(
      'RECORD_KEEPER_MISMATCH',
      `record of keeper ${keeperId} on the stream of keeper ${ownKeeperId}`,
    );
  return {
    user,
    pid,
    keeperId,
    block,
    blockHash,
    space,
    verdict,
    proof,
    observedAtMs: Number(observed),
  };
}

/** A decoded (ts-proto) record → store row; the same checks as `decodeRecord`. */
export function recordToRow(rec: challengeV1.ChallengeRecord | undefined): RecordRow {
  if (!rec) throw new RecordRejected('RECORD_FIELD_MISSING', 'record is missing');
  // Re-encoding keeps one validation path (and the proof bytes are what we store).
  return decodeRecord(challengeV1.ChallengeRecord.encode(rec).finish());
}

/** Store row → protobuf record (proof decoded back unless omitted). */
export function rowToRecord(row: RecordRow): challengeV1.ChallengeRecord {
  return {
    user: row.user,
    pid: row.pid,
    keeperId: row.keeperId,
    block: row.block,
    blockHash: row.blockHash,
    space: row.space,
    verdict: row.verdict,
    proof: row.proof ? challengeV1.ChallengeProof.decode(row.proof) : undefined,
    observedAtMs: BigInt(row.observedAtMs),
    pieces: [],
  };
}
