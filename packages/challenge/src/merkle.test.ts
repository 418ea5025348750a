import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProofError } from './errors.js';
import {
  buildTree,
  buildTreeFromLeafHashes,
  hashLeaf,
  hashPair,
  leafCountOf,
  pathLength,
  pathOf,
  rootOf,
  verifyLeafProof,
} from './merkle.js';

const LEAF = 32;

function leafAt(data: Uint8Array, i: number, leafSize: number): Uint8Array {
  const out = new Uint8Array(leafSize);
  out.set(data.subarray(i * leafSize, (i + 1) * leafSize));
  return out;
}

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[Math.floor(bit / 8) % c.length]! ^= 1 << (bit % 8);
  return c;
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ProofError);
    return (err as ProofError).code;
  }
}

describe('merkle tree', () => {
  it('hashes pairs and promotes an odd node unchanged', () => {
    const data = new Uint8Array(3 * LEAF).map((_, i) => i);
    const t = buildTree(data, LEAF);
    const [a, b, c] = [0, 1, 2].map((i) => hashLeaf(leafAt(data, i, LEAF), LEAF));
    expect(rootOf(t)).toEqual(hashPair(hashPair(a!, b!), c!));
    expect(pathLength(3, 2)).toBe(1);
    expect(pathOf(t, 2)).toEqual([hashPair(a!, b!)]);
    expect(pathLength(3, 0)).toBe(2);
  });

  it('zero-pads the last leaf and uses the leaf hash as the root of a one-leaf piece', () => {
    const data = new Uint8Array([1, 2, 3]);
    const t = buildTree(data, LEAF);
    const padded = new Uint8Array(LEAF);
    padded.set(data);
    expect(rootOf(t)).toEqual(hashLeaf(padded, LEAF));
    expect(pathOf(t, 0)).toEqual([]);
    expect(leafCountOf(4097n, 4096)).toBe(2);
  });

  it('builds a 1 GiB-equivalent tree depth (262,144 leaves) from leaf hashes', () => {
    const n = 1 << 18;
    const t = buildTreeFromLeafHashes(new Uint8Array(n * 32));
    expect(t.levels.length).toBe(19);
    expect(pathOf(t, n - 1).length).toBe(18);
  });

  it('property: any leaf of any random piece verifies with its path', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 * LEAF }), fc.nat(), (data, pick) => {
        const t = buildTree(data, LEAF);
        const index = pick % t.leafCount;
        verifyLeafProof({
          root: rootOf(t),
          leafCount: t.leafCount,
          leafSize: LEAF,
          index,
          leaf: leafAt(data, index, LEAF),
          path: pathOf(t, index),
        });
      }),
      { numRuns: 300 },
    );
  });

  it('property: any single-bit change to leaf, path or root fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 * LEAF }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('leaf', 'path', 'root'),
        (data, pick, bit, where) => {
          const t = buildTree(data, LEAF);
          const index = pick % t.leafCount;
          let leaf = leafAt(data, index, LEAF);
          let path = pathOf(t, index);
          let root = rootOf(t);
          if (where === 'leaf') leaf = flipBit(leaf, bit % (LEAF * 8));
          else if (where === 'root') root = flipBit(root, bit % 256);
          else if (path.length > 0) {
            const k = bit % path.length;
            path = path.map((n, i) => (i === k ? flipBit(n, bit % 256) : n));
          } else leaf = flipBit(leaf, bit % (LEAF * 8));
          const code = codeOf(() =>
            verifyLeafProof({ root, leafCount: t.leafCount, leafSize: LEAF, index, leaf, path }),
          );
          expect(code).toBe('PROOF_ROOT_MISMATCH');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects malformed proofs with typed errors, never a crash', () => {
    const data = new Uint8Array(5 * LEAF).map((_, i) => i * 7);
    const t = buildTree(data, LEAF);
    const good = {
      root: rootOf(t),
      leafCount: t.leafCount,
      leafSize: LEAF,
      index: 1,
      leaf: leafAt(data, 1, LEAF),
      path: pathOf(t, 1),
    };
    expect(codeOf(() => verifyLeafProof(good))).toBeUndefined();
    expect(codeOf(() => verifyLeafProof({ ...good, index: 5 }))).toBe('PROOF_INDEX_OUT_OF_RANGE');
    expect(codeOf(() => verifyLeafProof({ ...good, index: -1n }))).toBe('PROOF_INDEX_OUT_OF_RANGE');
    expect(codeOf(() => verifyLeafProof({ ...good, index: 1n << 70n }))).toBe('PROOF_INDEX_OUT_OF_RANGE');
    expect(codeOf(() => verifyLeafProof({ ...good, leaf: good.leaf.subarray(1) }))).toBe('PROOF_LEAF_LENGTH');
    expect(codeOf(() => verifyLeafProof({ ...good, path: good.path.slice(1) }))).toBe('PROOF_PATH_DEPTH');
    expect(codeOf(() => verifyLeafProof({ ...good, path: [...good.path, good.path[0]!] }))).toBe(
      'PROOF_PATH_DEPTH',
    );
    expect(
      codeOf(() => verifyLeafProof({ ...good, path: [good.path[0]!.subarray(2), ...good.path.slice(1)] })),
    ).toBe('PROOF_PATH_NODE_LENGTH');
    expect(codeOf(() => verifyLeafProof({ ...good, index: 2 }))).toBe('PROOF_ROOT_MISMATCH');
  });
});
