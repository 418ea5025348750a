import { challengeV1 } from '@whitepay/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunksOf, PUT_CHUNK_BYTES, PUT_CHUNK_RECORDS } from './records.js';

const record = (block: number, proofBytes: number): challengeV1.SignedRecord => ({
  record: {
    user: new Uint8Array(20).fill(1),
    pid: new Uint8Array(20).fill(2),
    keeperId: 2,
    block: BigInt(block),
    blockHash: new Uint8Array(32),
    space: 1n,
    verdict: challengeV1.Verdict.VERDICT_OK,
    proof: { seed: new Uint8Array(32), leavesPerPiece: 2, leaves: [] },
    observedAtMs: 0n,
    pieces: [{ pieceId: new Uint8Array(proofBytes), size: 1n, verified: true, reason: '' }],
  },
  signature: new Uint8Array(65),
});
const size = (r: challengeV1.SignedRecord) => challengeV1.SignedRecord.encode(r).finish().length;

describe('chunksOf: the PutPeerRecords calls of a full sync', () => {
  it('keeps every record once, in order, each chunk within the byte and count budget (a larger record alone)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 * 1024 * 1024 }), { maxLength: 40 }), (sizes) => {
        const records = sizes.map((s, i) => record(i, s));
        const chunks = chunksOf(records);
        expect(chunks.flat()).toEqual(records);
        for (const c of chunks) {
          expect(c.length).toBeGreaterThan(0);
          expect(c.length).toBeLessThanOrEqual(PUT_CHUNK_RECORDS);
          const bytes = c.reduce((n, r) => n + size(r) + 4, 0);
          if (c.length > 1) expect(bytes).toBeLessThanOrEqual(PUT_CHUNK_BYTES);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('splits by count: 2,500 small records are three calls', () => {
    const chunks = chunksOf(Array.from({ length: 2_500 }, (_, i) => record(i, 0)));
    expect(chunks.map((c) => c.length)).toEqual([1_000, 1_000, 500]);
  });
});
