import { challengeV1 } from '@whitepay/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProofWire, decodeRecord, recordToRow, rowToRecord } from './decode.js';

export function sampleRecord(over: Partial<challengeV1.ChallengeRecord> = {}): challengeV1.ChallengeRecord {
  return {
    user: new Uint8Array(20).fill(1),
    pid: new Uint8Array(20).fill(2),
    keeperId: 7,
    block: 1234n,
    blockHash: new Uint8Array(32).fill(3),
    space: 1n << 40n,
    verdict: challengeV1.Verdict.VERDICT_OK,
    proof: {
      seed: new Uint8Array(32).fill(4),
      leavesPerPiece: 2,
      leaves: [
        {
          pieceId: new Uint8Array(32).fill(5),
          leafIndex: 9n,
          leaf: new Uint8Array(64),
          path: [new Uint8Array(32)],
        },
      ],
    },
    observedAtMs: 1_700_000_000_123n,
    pieces: [{ pieceId: new Uint8Array(32).fill(5), size: 4096n, verified: true, reason: '' }],
    ...over,
  };
}
const enc = (r: challengeV1.ChallengeRecord) => challengeV1.ChallengeRecord.encode(r).finish();

describe('decodeRecord', () => {
  it('decodes every field and keeps the proof bytes', () => {
    const rec = sampleRecord();
    const row = decodeRecord(enc(rec), 7);
    expect(row).toMatchObject({
      keeperId: 7,
      block: 1234n,
      space: 1n << 40n,
      verdict: 1,
      observedAtMs: 1_700_000_000_123,
    });
    expect(row.user).toEqual(rec.user);
    expect(challengeV1.ChallengeProof.decode(row.proof!)).toEqual(rec.proof);
    expect(rowToRecord(row)).toEqual({ ...rec, pieces: [] });
    expect(recordToRow(rec)).toEqual(row);
    expect(decodeRecord(enc(sampleRecord({ proof: undefined, verdict: 4, space: 0n }))).proof).toBeNull();
  });

  it.each([
    ['garbage', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]), 'RECORD_MALFORMED'],
    ['truncated', enc(sampleRecord()).slice(0, 30), 'RECORD_MALFORMED'],
    ['wrong wire type', new Uint8Array([0x08, 0x01]), 'RECORD_MALFORMED'],
    ['empty', new Uint8Array(0), 'RECORD_FIELD_MISSING'],
    ['no user', enc(sampleRecord({ user: new Uint8Array(0) })), 'RECORD_FIELD_MISSING'],
    ['no verdict', enc(sampleRecord({ verdict: 0 })), 'RECORD_FIELD_MISSING'],
    ['short pid', enc(sampleRecord({ pid: new Uint8Array(19) })), 'RECORD_FIELD_LENGTH'],
    ['long hash', enc(sampleRecord({ blockHash: new Uint8Array(33) })), 'RECORD_FIELD_LENGTH'],
    ['verdict 9', enc(sampleRecord({ verdict: 9 as challengeV1.Verdict })), 'RECORD_OUT_OF_RANGE'],
    ['huge block', enc(sampleRecord({ block: 1n << 63n })), 'RECORD_OUT_OF_RANGE'],
    ['bad proof', withBadProof(), 'RECORD_MALFORMED'],
  ])('rejects %s', (_name, data, code) => {
    expect(() => decodeRecord(data)).toThrow(expect.objectContaining({ code, kind: 'invalid_argument' }));
  });

  it('rejects a record of another keeper on the own stream', () => {
    expect(() => decodeRecord(enc(sampleRecord()), 8)).toThrow(
      expect.objectContaining({ code: 'RECORD_KEEPER_MISMATCH' }),
    );
  });
});

function withBadProof(): Uint8Array {
  const base = enc(sampleRecord({ proof: undefined }));
  // field 8, length-delimited, 3 bytes that are not a ChallengeProof (field 1 with a truncated length)
  return new Uint8Array([...base, 0x42, 0x03, 0x0a, 0x09, 0x01]);
}

describe('checkProofWire', () => {
  const throws = (f: () => unknown) => {
    try {
      f();
      return false;
    } catch {
      return true;
    }
  };
  const agrees = (b: Uint8Array): void => {
    expect(
      throws(() => checkProofWire(b)),
      `bytes ${Buffer.from(b).toString('hex')}`,
    ).toBe(throws(() => challengeV1.ChallengeProof.decode(b)));
  };
  const proof = challengeV1.ChallengeProof.encode(sampleRecord().proof!).finish();

  it('accepts and refuses exactly what ChallengeProof.decode does: random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => agrees(b)),
      { numRuns: 5000 },
    );
  });

  it('… and a real proof truncated, with bytes changed, or with bytes appended', () => {
    agrees(proof);
    expect(throws(() => checkProofWire(proof))).toBe(false);
    for (let n = 0; n <= proof.length; n++) agrees(proof.slice(0, n));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: proof.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.uint8Array({ maxLength: 12 }),
        (edits, tail) => {
          const b = new Uint8Array([...proof, ...tail]);
          for (const [i, v] of edits) b[i] = v;
          agrees(b);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
