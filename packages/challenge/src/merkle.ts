import { ChallengeInputError, ProofError } from './errors.js';
import { sha256 } from './sha256.js';

/**
 * Merkle trees over fixed-size leaves (docs/encoding.md, "Challenges"): a
 * piece is split into `leafSize`-byte leaves, the last one zero-padded; the
 * leaf level holds `sha256(leaf)`, each parent `sha256(left ‖ right)`, and an
 * odd last node is promoted unchanged to the next level (it has no sibling,
 * so its path skips that level).
 *
 * Levels are packed: `levels[k]` is `width_k * 32` bytes, so a tree of a
 * 1 GiB piece in 256-byte leaves (4,194,304 leaves) is ~256 MiB and can be
 * written to disk as is.
 */

/**
 * 256-byte leaves by default (docs/encoding.md, "Record size"): a challenged
 * leaf travels in every record and every peer's copy of it, so the leaf is
 * most of a record. With two challenged leaves per piece a signed record of
 * one 64 MiB piece is ~2.1 KB at 256 B (9.5 KB at 4 KiB); the price is a
 * tree of 1/8 of the data (at 4 KiB, 1/64), kept by the provider.
 */
export const DEFAULT_LEAF_SIZE = 256;
export const HASH_SIZE = 32;
/** Leaf sizes accepted anywhere (a power of two between 32 B and 1 MiB). */
export const MIN_LEAF_SIZE = 32;
export const MAX_LEAF_SIZE = 1 << 20;

export interface MerkleTree {
  leafCount: number;
  /** `levels[0]` = leaf hashes, last level = `[root]`; each packed, 32 bytes per node. */
  levels: Uint8Array[];
}

export function checkLeafSize(leafSize: number): void {
  if (
    !Number.isInteger(leafSize) ||
    leafSize < MIN_LEAF_SIZE ||
    leafSize > MAX_LEAF_SIZE ||
    (leafSize & (leafSize - 1)) !== 0
  ) {
    throw new ChallengeInputError(
      `leaf size must be a power of two in [${MIN_LEAF_SIZE}, ${MAX_LEAF_SIZE}], got ${leafSize}`,
      { leafSize },
    );
  }
}

/** Number of leaves of a piece of `size` bytes (at least one; an empty piece is not a piece). */
export function leafCountOf(size: bigint | number, leafSize: number): number {
  checkLeafSize(leafSize);
  const s = BigInt(size);
  if (s <= 0n) throw new ChallengeInputError(`piece size must be positive, got ${s}`, { size: String(s) });
  const n = (s + BigInt(leafSize) - 1n) / BigInt(leafSize);
  if (n > 0xffff_ffffn) throw new ChallengeInputError(`piece too large: ${n} leaves`, { size: String(s) });
  return Number(n);
}

/** `sha256(leaf)` of a leaf, zero-padded to `leafSize` when shorter (the last leaf of a piece). */
export function hashLeaf(leaf: Uint8Array, leafSize: number): Uint8Array {
  if (leaf.length === leafSize) return sha256(leaf);
  if (leaf.length > leafSize) {
    throw new ChallengeInputError(`leaf of ${leaf.length} bytes exceeds leaf size ${leafSize}`);
  }
  const padded = new Uint8Array(leafSize);
  padded.set(leaf);
  return sha256(padded);
}

export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(2 * HASH_SIZE);
  buf.set(left, 0);
  buf.set(right, HASH_SIZE);
  return sha256(buf);
}

/** Widths of every level, leaf level first, ending with 1. */
export function levelWidths(leafCount: number): number[] {
  const widths = [leafCount];
  let w = leafCount;
  while (w > 1) {
    w = Math.ceil(w / 2);
    widths.push(w);
  }
  return widths;
}

/** Builds all levels from the packed leaf hashes (`leafCount * 32` bytes). */
export function buildTreeFromLeafHashes(leafHashes: Uint8Array): MerkleTree {
  if (leafHashes.length === 0 || leafHashes.length % HASH_SIZE !== 0) {
    throw new ChallengeInputError(`packed leaf hashes must be a positive multiple of 32 bytes`, {
      length: leafHashes.length,
    });
  }
  const leafCount = leafHashes.length / HASH_SIZE;
  const levels = [leafHashes];
  let cur = leafHashes;
  let w = leafCount;
  while (w > 1) {
    const nw = Math.ceil(w / 2);
    const next = new Uint8Array(nw * HASH_SIZE);
    for (let i = 0; i < nw; i++) {
      const l = 2 * i;
      if (l + 1 < w) next.set(sha256(cur.subarray(l * HASH_SIZE, (l + 2) * HASH_SIZE)), i * HASH_SIZE);
      else next.set(cur.subarray(l * HASH_SIZE, (l + 1) * HASH_SIZE), i * HASH_SIZE);
    }
    levels.push(next);
    cur = next;
    w = nw;
  }
  return { leafCount, levels };
}

/** Splits `data` into leaves and builds its tree. */
export function buildTree(data: Uint8Array, leafSize = DEFAULT_LEAF_SIZE): MerkleTree {
  const n = leafCountOf(data.length, leafSize);
  const hashes = new Uint8Array(n * HASH_SIZE);
  for (let i = 0; i < n; i++) {
    hashes.set(hashLeaf(data.subarray(i * leafSize, (i + 1) * leafSize), leafSize), i * HASH_SIZE);
  }
  return buildTreeFromLeafHashes(hashes);
}

export function rootOf(tree: MerkleTree): Uint8Array {
  const top = tree.levels[tree.levels.length - 1];
  if (!top) throw new ChallengeInputError('empty tree');
  return top.slice(0, HASH_SIZE);
}

/** Number of siblings on the path of leaf `index` (promoted levels have none). */
export function pathLength(leafCount: number, index: number): number {
  let n = 0;
  let i = index;
  let w = leafCount;
  while (w > 1) {
    if (!(i === w - 1 && w % 2 === 1)) n++;
    i >>>= 1;
    w = Math.ceil(w / 2);
  }
  return n;
}

/** Positions of the siblings on the path of `index`: `[level, nodeIndex]` pairs, leaf level first. */
export function pathPositions(leafCount: number, index: number): Array<[number, number]> {
  if (!Number.isInteger(index) || index < 0 || index >= leafCount) {
    throw new ChallengeInputError(`leaf index ${index} out of range [0, ${leafCount})`);
  }
  const out: Array<[number, number]> = [];
  let i = index;
  let w = leafCount;
  let level = 0;
  while (w > 1) {
    if (!(i === w - 1 && w % 2 === 1)) out.push([level, i ^ 1]);
    i >>>= 1;
    w = Math.ceil(w / 2);
    level++;
  }
  return out;
}

/** The Merkle path (sibling hashes, leaf level first) of leaf `index`. */
export function pathOf(tree: MerkleTree, index: number): Uint8Array[] {
  return pathPositions(tree.leafCount, index).map(([level, node]) =>
    tree.levels[level]!.slice(node * HASH_SIZE, (node + 1) * HASH_SIZE),
  );
}

export interface LeafProofInput {
  root: Uint8Array;
  leafCount: number;
  leafSize: number;
  index: bigint | number;
  leaf: Uint8Array;
  path: readonly Uint8Array[];
}

/**
 * Verifies one leaf against a root. Throws a `ProofError` naming what is
 * wrong (leaf length, index, path depth, node length, root mismatch); never
 * anything else, whatever the input.
 */
export function verifyLeafProof(p: LeafProofInput): void {
  const index = typeof p.index === 'bigint' ? p.index : BigInt(p.index);
  if (index < 0n || index >= BigInt(p.leafCount)) {
    throw new ProofError('PROOF_INDEX_OUT_OF_RANGE', `leaf index ${index} out of range [0, ${p.leafCount})`, {
      index: String(index),
      leafCount: p.leafCount,
    });
  }
  if (p.leaf.length !== p.leafSize) {
    throw new ProofError('PROOF_LEAF_LENGTH', `leaf has ${p.leaf.length} bytes, expected ${p.leafSize}`, {
      length: p.leaf.length,
    });
  }
  let i = Number(index);
  const depth = pathLength(p.leafCount, i);
  if (p.path.length !== depth) {
    throw new ProofError('PROOF_PATH_DEPTH', `path has ${p.path.length} nodes, expected ${depth}`, {
      length: p.path.length,
      expected: depth,
    });
  }
  let h = sha256(p.leaf);
  let k = 0;
  let w = p.leafCount;
  while (w > 1) {
    if (!(i === w - 1 && w % 2 === 1)) {
      const sib = p.path[k++]!;
      if (sib.length !== HASH_SIZE) {
        throw new ProofError('PROOF_PATH_NODE_LENGTH', `path node ${k - 1} has ${sib.length} bytes`, {
          node: k - 1,
        });
      }
      h = i % 2 === 0 ? hashPair(h, sib) : hashPair(sib, h);
    }
    i >>>= 1;
    w = Math.ceil(w / 2);
  }
  if (!equalBytes(h, p.root)) throw new ProofError('PROOF_ROOT_MISMATCH', 'path does not lead to the root');
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
