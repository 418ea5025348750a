// Peer records (issue 20, "a broadcast that keeps up"): one PutPeerRecords batch of 256 records
// stored new, then the same 256 again as duplicates (what a PushRecords re-sent after a timeout
// brings), through the store's `insertPeerRecords` with the challenge-store's real verifier
// (signature recovered against the group's registered address, proof re-verified against the
// piece registry) on a real PostgreSQL; against the verifier alone over the same 256 records —
// what a duplicate batch cost before stored rows were looked up first.
// Records: 4 registered pieces of 16 MiB (4 KiB leaves, depth 12), 2 leaves per piece
// (the challenger's default), signed by keeper 2.
// Run: pnpm exec tsx --conditions=development services/challenge-store/bench/peer-records.bench.ts
// env: BENCH_BATCH (default 256), BENCH_ROUNDS (default 5)
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { silentLogger } from '@whitepay/base';
import {
  buildTree,
  deriveSeed,
  type MerkleTree,
  pathOf,
  rootOf,
  selectLeaves,
  signRecord,
} from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import {
  addPiecesDigest,
  closePool,
  createPool,
  fromHex,
  insertPeerRecords,
  migrate,
  type PeerRecordRow,
  registerPieces,
} from '@whitepay/store';
import { startPostgres } from '@whitepay/testkit';
import { bytesToHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { recordToRow } from '../src/nats/decode.js';
import { createPeerVerifier } from '../src/peer-verifier.js';

const BATCH = Number(process.env.BENCH_BATCH ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PIECES = 4;
const LEAF = 4096;
const LEAVES = 4096;
const LEAVES_PER_PIECE = 2;

const pg = await startPostgres();
const pool = createPool({ url: await pg.createDatabase('bench_peer'), log: silentLogger() });
await migrate(pool);

const user = privateKeyToAccount(generatePrivateKey());
const provider = privateKeyToAccount(generatePrivateKey());
const peerKey = generatePrivateKey();
const userBytes = fromHex('user', user.address);
const pidBytes = fromHex('pid', provider.address);

const pieces = Array.from({ length: PIECES }, () => {
  const data = new Uint8Array(randomBytes(LEAF * LEAVES));
  const tree: MerkleTree = buildTree(data, LEAF);
  return { id: new Uint8Array(randomBytes(32)), data, tree, root: rootOf(tree) };
});
const request = {
  user: userBytes,
  pid: pidBytes,
  nonce: 1n,
  block: 10n,
  pieces: pieces.map((p) => ({ pieceId: p.id, size: BigInt(LEAF * LEAVES), root: p.root, leafSize: LEAF })),
};
await registerPieces(pool, {
  request,
  signature: fromHex('sig', await user.signMessage({ message: { raw: addPiecesDigest(request) } })),
});

/** One record of keeper 2 at `block`, with a real proof for its seed, signed; as the store's row. */
async function peerRow(block: bigint): Promise<PeerRecordRow> {
  const blockHash = new Uint8Array(randomBytes(32));
  const seed = deriveSeed(bytesToHex(blockHash), 2, user.address, provider.address);
  const leaves = pieces.flatMap((p) =>
    selectLeaves(seed, bytesToHex(p.id) as Hex, LEAVES, LEAVES_PER_PIECE).map((i) => ({
      pieceId: p.id,
      leafIndex: BigInt(i),
      leaf: p.data.subarray(i * LEAF, (i + 1) * LEAF),
      path: pathOf(p.tree, i),
    })),
  );
  const record: challengeV1.ChallengeRecord = {
    user: userBytes,
    pid: pidBytes,
    keeperId: 2,
    block,
    blockHash,
    space: BigInt(PIECES * LEAF * LEAVES),
    verdict: challengeV1.Verdict.VERDICT_OK,
    proof: { seed: fromHex('seed', seed), leavesPerPiece: LEAVES_PER_PIECE, leaves },
    observedAtMs: BigInt(Date.now()),
    pieces: [],
  };
  const signed = await signRecord(record, peerKey);
  return { ...recordToRow(signed.record), signature: signed.signature };
}

const real = createPeerVerifier({
  ownKeeperId: 1,
  keepers: new Map([[2, privateKeyToAccount(peerKey).address.toLowerCase() as `0x${string}`]]),
  pool,
});
let calls = 0;
const verify = (r: PeerRecordRow) => {
  calls++;
  return real(r);
};

const runs: Record<'new' | 'duplicate' | 'verifier', number[]> = { new: [], duplicate: [], verifier: [] };
let proofBytes = 0;
for (let round = 0; round < ROUNDS + 1; round++) {
  const rows = await Promise.all(
    Array.from({ length: BATCH }, (_, i) => peerRow(BigInt(1_000 + round * BATCH + i))),
  );
  proofBytes = rows[0]!.proof!.length;
  calls = 0;
  let t = performance.now();
  const first = await insertPeerRecords(pool, rows, verify);
  const newMs = performance.now() - t;
  if (first.inserted !== BATCH || calls !== BATCH)
    throw new Error(`new batch: ${JSON.stringify({ ...first, calls })}`);
  calls = 0;
  t = performance.now();
  const again = await insertPeerRecords(pool, rows, verify);
  const dupMs = performance.now() - t;
  if (again.duplicates !== BATCH || calls !== 0)
    throw new Error(`duplicate batch: ${JSON.stringify({ ...again, calls })}`);
  t = performance.now();
  for (const r of rows) if (!(await real(r)).ok) throw new Error('bench record did not verify');
  const verifyMs = performance.now() - t;
  // The first round warms the JIT, the pool and the partitions: not counted.
  if (round === 0) continue;
  runs.new.push(newMs);
  runs.duplicate.push(dupMs);
  runs.verifier.push(verifyMs);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (what: string, xs: number[], verified: number) => ({
  batch: what,
  records: BATCH,
  'verifier calls': verified,
  'median ms': Math.round(median(xs)),
  'min ms': Math.round(Math.min(...xs)),
  'max ms': Math.round(Math.max(...xs)),
  'ms/record': Number((median(xs) / BATCH).toFixed(2)),
});
console.log(
  `peer records, ${BATCH} per batch, ${ROUNDS} rounds (median), proof ${proofBytes} B/record; node ${process.version}, ${cpus().length} cpus, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${new Date().toISOString().slice(0, 16)}Z`,
);
console.table([
  row('new (verified, inserted)', runs.new, BATCH),
  row('same again: duplicates (one key lookup)', runs.duplicate, 0),
  row('verifier alone over them (duplicates before)', runs.verifier, BATCH),
]);
await closePool(pool);
await pg.stop();
