// Challenge verification throughput (plain script; prints a table, asserts nothing).
// Trees have the depth of 1 GiB pieces (262,144 leaves of 4 KiB): leaf hashes are
// random except at the leaves the seed selects, whose data is real.
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import type { challengeV1 } from '@whitepay/proto';
import { bytesToHex, keccak256, toHex } from 'viem';
import {
  buildTreeFromLeafHashes,
  deriveSeed,
  type MerkleTree,
  pathOf,
  type RegisteredPiece,
  rootOf,
  selectLeaves,
  verifyChallenge,
} from '../src/index.js';

const LEAF = 4096;
const LEAVES = 1 << 18;
const user = '0x1111111111111111111111111111111111111111';
const pid = '0x2222222222222222222222222222222222222222';
const seed = deriveSeed(keccak256(toHex('bench block')), 1, user, pid);

function makePiece(n: number, leavesPerPiece: number) {
  const pieceId = keccak256(toHex(`bench piece ${n}`));
  const indices = selectLeaves(seed, pieceId, LEAVES, leavesPerPiece);
  const hashes = new Uint8Array(randomBytes(LEAVES * 32));
  const leaves = new Map<number, Uint8Array>();
  for (const i of indices) {
    const leaf = new Uint8Array(randomBytes(LEAF));
    leaves.set(i, leaf);
    hashes.set(sha256(leaf), i * 32);
  }
  const tree: MerkleTree = buildTreeFromLeafHashes(hashes);
  const reg: RegisteredPiece = {
    pieceId,
    size: BigInt(LEAVES * LEAF),
    root: bytesToHex(rootOf(tree)),
    leafSize: LEAF,
  };
  const proofs: challengeV1.LeafProof[] = indices.map((i) => ({
    pieceId: new Uint8Array(Buffer.from(pieceId.slice(2), 'hex')),
    leafIndex: BigInt(i),
    leaf: leaves.get(i)!,
    path: pathOf(tree, i),
  }));
  return { reg, proofs };
}

function run(pieces: number, leavesPerPiece: number, minMs = 1500) {
  const made = Array.from({ length: pieces }, (_, n) => makePiece(n, leavesPerPiece));
  const regs = made.map((m) => m.reg);
  const leaves = made.flatMap((m) => m.proofs);
  const spec = { seed, leavesPerPiece };
  for (let i = 0; i < 20; i++) verifyChallenge(regs, spec, { leaves });
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    const v = verifyChallenge(regs, spec, { leaves });
    if (v.space !== BigInt(pieces * LEAVES * LEAF)) throw new Error('bench proof did not verify');
    n++;
  }
  const ms = performance.now() - t0;
  return {
    case: `${pieces} piece(s) x ${leavesPerPiece} leaves of 4 KiB, depth 18 (1 GiB pieces)`,
    'challenges/s': Math.round((n / ms) * 1000),
    'leaf proofs/s': Math.round(((n * leaves.length) / ms) * 1000),
    'µs/challenge': Math.round((ms / n) * 1000),
  };
}

console.log(`challenge verification, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.table([run(1, 2), run(1, 8), run(16, 2), run(64, 2)]);
