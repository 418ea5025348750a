import { challengeV1 } from '@whitepay/proto';
import fc from 'fast-check';
import { bytesToHex, type Hex, hexToBytes, keccak256, toHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { ChallengeInputError } from './errors.js';
import { buildTree, pathOf, rootOf } from './merkle.js';
import { deriveSeed, selectLeaves } from './seed.js';
import { buildChallenge, type RegisteredPiece, verifyChallenge } from './verify.js';

const LEAF = 64;
const user = '0x1111111111111111111111111111111111111111';
const pid = '0x2222222222222222222222222222222222222222';
const blockHash = keccak256(toHex('block 7'));

interface Held {
  reg: RegisteredPiece;
  data: Uint8Array;
}

function piece(n: number, size: number): Held {
  const data = new Uint8Array(size).map((_, i) => (i * 31 + n * 17) & 255);
  const t = buildTree(data, LEAF);
  return {
    data,
    reg: {
      pieceId: keccak256(toHex(`piece ${n}`)),
      size: BigInt(size),
      root: bytesToHex(rootOf(t)),
      leafSize: LEAF,
    },
  };
}

/** What an honest provider answers. */
function answer(held: Held[], challenge: ReturnType<typeof buildChallenge>): challengeV1.LeafProof[] {
  const out: challengeV1.LeafProof[] = [];
  for (const c of challenge) {
    const h = held.find((p) => p.reg.pieceId === bytesToHex(c.pieceId));
    if (!h) continue;
    const t = buildTree(h.data, LEAF);
    for (const i of c.leafIndices) {
      const leaf = new Uint8Array(LEAF);
      leaf.set(h.data.subarray(Number(i) * LEAF, (Number(i) + 1) * LEAF));
      out.push({ pieceId: c.pieceId, leafIndex: i, leaf, path: pathOf(t, Number(i)) });
    }
  }
  return out;
}

describe('seed and selection', () => {
  it('derives the seed from the encoding in docs/encoding.md', () => {
    const s1 = deriveSeed(blockHash, 1, user, pid);
    expect(s1).toMatch(/^0x[0-9a-f]{64}$/);
    expect(deriveSeed(blockHash, 2, user, pid)).not.toBe(s1);
    expect(deriveSeed(blockHash, 1, pid, user)).not.toBe(s1);
    expect(() => deriveSeed('0x12', 1, user, pid)).toThrow(ChallengeInputError);
    expect(() => deriveSeed(blockHash, -1, user, pid)).toThrow(ChallengeInputError);
  });
  it('selects distinct in-range indices, deterministically', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.integer({ min: 1, max: 16 }), (n, k) => {
        const seed = deriveSeed(blockHash, n, user, pid);
        const a = selectLeaves(seed, blockHash, n, k);
        expect(a).toEqual(selectLeaves(seed, blockHash, n, k));
        expect(new Set(a).size).toBe(a.length);
        expect(a.length).toBeLessThanOrEqual(Math.min(n, k));
        for (const i of a) expect(i >= 0 && i < n).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('verifyChallenge', () => {
  const held = [piece(1, 10 * LEAF), piece(2, 3 * LEAF + 5), piece(3, 1)];
  const regs = held.map((h) => h.reg);
  const spec = { seed: deriveSeed(blockHash, 1, user, pid), leavesPerPiece: 3 };
  const challenge = buildChallenge(regs, spec);
  const total = regs.reduce((a, p) => a + p.size, 0n);

  it('an honest answer proves the total size', () => {
    const v = verifyChallenge(regs, spec, { leaves: answer(held, challenge) });
    expect(v.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
    expect(v.space).toBe(total);
    expect(v.pieces.every((p) => p.verified)).toBe(true);
  });

  it('a lost piece lowers the space by exactly its size', () => {
    const v = verifyChallenge(regs, spec, { leaves: answer(held.slice(1), challenge) });
    expect(v.verdict).toBe(challengeV1.Verdict.VERDICT_PARTIAL);
    expect(v.space).toBe(total - regs[0]!.size);
    expect(v.pieces[0]).toMatchObject({ verified: false, reason: 'PROOF_MISSING' });
  });

  it('a corrupted answer fails its piece; nothing verified is INVALID_PROOF', () => {
    const leaves = answer(held, challenge).map((l) => ({ ...l, leaf: l.leaf.map((b) => b ^ 0xff) }));
    const v = verifyChallenge(regs, spec, { leaves });
    expect(v.verdict).toBe(challengeV1.Verdict.VERDICT_INVALID_PROOF);
    expect(v.space).toBe(0n);
    expect(v.pieces.map((p) => p.reason)).toEqual(regs.map(() => 'PROOF_ROOT_MISMATCH'));
  });

  it('never throws on garbage answers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pieceId: fc.oneof(
              fc.uint8Array({ maxLength: 40 }),
              fc.constantFrom(...challenge.map((c) => c.pieceId)),
            ),
            leafIndex: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
            leaf: fc.uint8Array({ maxLength: 2 * LEAF }),
            path: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
          }),
          { maxLength: 20 },
        ),
        (leaves) => {
          const v = verifyChallenge(regs, spec, { leaves });
          expect(v.space).toBe(0n);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a malformed registry or spec with a typed error', () => {
    const bad = (p: Partial<RegisteredPiece>) => () =>
      verifyChallenge([{ ...regs[0]!, ...p }], spec, { leaves: [] });
    expect(bad({ root: '0x1234' })).toThrow(ChallengeInputError);
    expect(bad({ pieceId: '0xzz' as Hex })).toThrow(ChallengeInputError);
    expect(bad({ leafSize: 100 })).toThrow(ChallengeInputError);
    expect(bad({ size: 0n })).toThrow(ChallengeInputError);
    expect(() => verifyChallenge([regs[0]!, regs[0]!], spec, { leaves: [] })).toThrow(ChallengeInputError);
    expect(() => verifyChallenge(regs, { ...spec, leavesPerPiece: 0 }, { leaves: [] })).toThrow(
      ChallengeInputError,
    );
    expect(() => verifyChallenge(regs, { ...spec, seed: '0x' }, { leaves: [] })).toThrow(ChallengeInputError);
    // the ids are compared as bytes, whatever their hex case
    expect(hexToBytes(regs[0]!.pieceId)).toEqual(challenge[0]!.pieceId);
  });

  it('no registered pieces is OK with space 0', () => {
    expect(verifyChallenge([], spec, { leaves: [] })).toMatchObject({
      space: 0n,
      verdict: challengeV1.Verdict.VERDICT_OK,
    });
  });
});
