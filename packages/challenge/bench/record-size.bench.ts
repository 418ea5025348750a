// Size of a signed challenge record by leaf size and piece size (plain script; prints a table,
// asserts nothing). A record carries each challenged leaf and its Merkle path, so its size is
// leavesPerPiece × (leafSize + 32 × depth) per piece plus ~200 bytes of header and signature.
// Records are real: protobuf `SignedRecord`s signed with a keeper key, the proofs verified
// against trees built from random leaf hashes (real data at the selected leaves).
import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { challengeV1 } from '@whitepay/proto';
import { bytesToHex, hexToBytes, keccak256, toHex } from 'viem';
import {
  buildRecord,
  buildTree,
  buildTreeFromLeafHashes,
  deriveSeed,
  pathOf,
  type RegisteredPiece,
  rootOf,
  selectLeaves,
  signRecord,
  verifyChallenge,
} from '../src/index.js';

const user = '0x1111111111111111111111111111111111111111';
const pid = '0x2222222222222222222222222222222222222222';
const blockHash = keccak256(toHex('bench block'));
const seed = deriveSeed(blockHash, 1, user, pid);
const KEY = keccak256(toHex('bench keeper key'));
const LEAVES_PER_PIECE = 2;
const MiB = 1 << 20;

async function measure(leafSize: number, pieceBytes: number) {
  const leafCount = pieceBytes / leafSize;
  const pieceId = keccak256(toHex(`bench piece ${leafSize}/${pieceBytes}`));
  const indices = selectLeaves(seed, pieceId, leafCount, LEAVES_PER_PIECE);
  const hashes = new Uint8Array(randomBytes(leafCount * 32));
  const leaves = new Map<number, Uint8Array>();
  for (const i of indices) {
    const leaf = new Uint8Array(randomBytes(leafSize));
    leaves.set(i, leaf);
    hashes.set(sha256(leaf), i * 32);
  }
  const tree = buildTreeFromLeafHashes(hashes);
  const reg: RegisteredPiece = {
    pieceId,
    size: BigInt(pieceBytes),
    root: bytesToHex(rootOf(tree)),
    leafSize,
  };
  const proofs: challengeV1.LeafProof[] = indices.map((i) => ({
    pieceId: hexToBytes(pieceId),
    leafIndex: BigInt(i),
    leaf: leaves.get(i)!,
    path: pathOf(tree, i),
  }));
  const spec = { seed, leavesPerPiece: LEAVES_PER_PIECE };
  const v = verifyChallenge([reg], spec, { leaves: proofs });
  if (v.space !== BigInt(pieceBytes)) throw new Error('bench proof did not verify');
  const record = buildRecord({
    user,
    pid,
    keeperId: 1,
    block: 1_000_000n,
    blockHash,
    seed,
    leavesPerPiece: LEAVES_PER_PIECE,
    leaves: proofs,
    verdict: challengeV1.Verdict.VERDICT_OK,
    space: v.space,
    pieces: v.pieces,
    observedAtMs: Date.now(),
  });
  const signed = await signRecord(record, KEY);
  const bytes = challengeV1.SignedRecord.encode(signed).finish().length;
  return { bytes, depth: proofs[0]!.path.length, treeBytes: hashes.length * 2 };
}

const pieces = [MiB, 64 * MiB, 1024 * MiB];
const rows: Array<Record<string, string | number>> = [];
for (const leafSize of [4096, 1024, 256, 128]) {
  const row: Record<string, string | number> = { 'leaf size (B)': leafSize };
  for (const p of pieces) {
    // The 1 GiB tree at 128 B leaves is 8M leaf hashes (256 MiB): its record is the 64 MiB one plus
    // 4 path nodes per leaf, so it is computed from the depth instead of allocated.
    if (p === 1024 * MiB && leafSize < 1024) {
      const small = await measure(leafSize, 64 * MiB);
      row[`${p / MiB} MiB piece: record (B)`] = small.bytes + LEAVES_PER_PIECE * 4 * 34;
      continue;
    }
    const m = await measure(leafSize, p);
    row[`${p / MiB} MiB piece: record (B)`] = m.bytes;
  }
  row['tree / data'] = `${((64 / leafSize) * 100).toFixed(1)} %`;
  // What the provider pays once per piece: the tree of 16 MiB of data (PutPiece), best of 3.
  const data = new Uint8Array(randomBytes(16 * MiB));
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    buildTree(data, leafSize);
    best = Math.min(best, performance.now() - t0);
  }
  row['tree of 16 MiB (ms)'] = Math.round(best);
  rows.push(row);
}
console.log(
  `signed record size, one piece, ${LEAVES_PER_PIECE} challenged leaves, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
);
console.table(rows);
