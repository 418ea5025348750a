import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@whitepay/base';
import { buildChallenge, deriveSeed, type RegisteredPiece, verifyChallenge } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import { bytesToHex, keccak256, toHex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { PieceStore } from './pieces.js';

const user = '0x1111111111111111111111111111111111111111';
const pid = '0x2222222222222222222222222222222222222222';
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function store() {
  const dir = await mkdtemp(join(tmpdir(), 'pieces-'));
  dirs.push(dir);
  const s = new PieceStore(dir, silentLogger());
  await s.open();
  return { s, dir };
}

const data = (n: number, size: number) => new Uint8Array(size).map((_, i) => (i * 13 + n) & 255);

async function answer(s: PieceStore, regs: RegisteredPiece[], seed: `0x${string}`) {
  const spec = { seed, leavesPerPiece: 4 };
  const leaves: challengeV1.LeafProof[] = [];
  for (const c of buildChallenge(regs, spec)) {
    const meta = s.get(user, bytesToHex(c.pieceId));
    if (meta) leaves.push(...(await s.prove(meta, c.leafIndices.map(Number))));
  }
  return verifyChallenge(regs, spec, { leaves });
}

describe('piece store', () => {
  it('stores pieces, answers verifying proofs, survives a reopen', async () => {
    const { s, dir } = await store();
    const a = await s.put(user, undefined, data(1, 100_000), 4096);
    const b = await s.put(user, keccak256(toHex('b')), data(2, 4096 * 3), 4096);
    expect(a.pieceId).toBe(a.root);
    expect(await s.put(user, undefined, data(1, 100_000), 4096)).toEqual(a);
    await expect(s.put(user, b.pieceId, data(3, 10), 4096)).rejects.toMatchObject({ code: 'PIECE_EXISTS' });
    const regs = [a, b].map((m) => ({
      pieceId: m.pieceId,
      size: BigInt(m.size),
      root: m.root,
      leafSize: m.leafSize,
    }));
    const seed = deriveSeed(keccak256(toHex('blk')), 1, user, pid);
    const v = await answer(s, regs, seed);
    expect(v.verdict).toBe(challengeV1.Verdict.VERDICT_OK);
    expect(v.space).toBe(100_000n + 4096n * 3n);

    const again = new PieceStore(dir, silentLogger());
    await again.open();
    expect(again.list(user)).toEqual(s.list(user));
    expect((await answer(again, regs, seed)).space).toBe(v.space);

    await s.corrupt(user, a.pieceId);
    const c = await answer(s, regs, seed);
    expect(c.verdict).toBe(challengeV1.Verdict.VERDICT_PARTIAL);
    expect(c.pieces[0]).toMatchObject({ verified: false, reason: 'PROOF_ROOT_MISMATCH' });
    await s.lose(user, b.pieceId);
    const l = await answer(s, regs, seed);
    expect(l.verdict).toBe(challengeV1.Verdict.VERDICT_INVALID_PROOF);
    expect(l.space).toBe(0n);
    await expect(s.lose(user, b.pieceId)).rejects.toMatchObject({ code: 'PIECE_NOT_FOUND' });
  });
});

describe('piece store, multi-tenant', () => {
  const pidA = '0x00000000000000000000000000000000000000aa';
  const pidB = '0x00000000000000000000000000000000000000bb';

  it('keys pieces by (pid, user, piece id); a pid also sees the pieces stored without one', async () => {
    const { s, dir } = await store();
    const shared = await s.put(user, undefined, data(1, 5_000), 4096);
    const a = await s.put(user, undefined, data(2, 9_000), 4096, pidA);
    // the same bytes for another pid: a piece of its own
    const b = await s.put(user, undefined, data(2, 9_000), 4096, pidB);
    expect(b.pieceId).toBe(a.pieceId);
    expect(a.pid).toBe(pidA);
    expect(shared.pid).toBeUndefined();
    expect(s.stats()).toEqual({ pieces: 3, bytes: 23_000 });
    expect(s.get(user, a.pieceId, pidA)).toEqual(a);
    expect(s.get(user, a.pieceId, pidB)).toEqual(b);
    expect(s.get(user, a.pieceId)).toBeUndefined();
    expect(s.get(user, shared.pieceId, pidA)).toEqual(shared);
    expect(s.list(user, pidA).map((m) => m.pieceId)).toEqual([shared.pieceId, a.pieceId]);
    expect(s.list(user)).toEqual([shared]);
    expect(s.list()).toHaveLength(3);

    const again = new PieceStore(dir, silentLogger());
    await again.open();
    expect(again.list()).toEqual(s.list());
    expect(again.stats()).toEqual(s.stats());

    await s.lose(user, a.pieceId, pidA);
    expect(s.get(user, a.pieceId, pidA)).toBeUndefined();
    expect(s.get(user, b.pieceId, pidB)).toEqual(b);
    await expect(s.lose(user, a.pieceId, pidA)).rejects.toMatchObject({ code: 'PIECE_NOT_FOUND' });
    expect(s.stats()).toEqual({ pieces: 2, bytes: 14_000 });
  });

  it('answers many pieces with a bounded number of open files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pieces-'));
    dirs.push(dir);
    const s = new PieceStore(dir, silentLogger(), { maxOpenFiles: 4 });
    await s.open();
    const pids = Array.from({ length: 20 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as const);
    const metas = [];
    for (const [i, p] of pids.entries()) metas.push(await s.put(user, undefined, data(i, 8192), 4096, p));
    for (let round = 0; round < 3; round++) {
      for (const [i, p] of pids.entries()) {
        const meta = metas[i]!;
        const regs = [{ pieceId: meta.pieceId, size: BigInt(meta.size), root: meta.root, leafSize: 4096 }];
        const spec = { seed: deriveSeed(keccak256(toHex(`b${round}`)), 1, user, p), leavesPerPiece: 2 };
        const leaves = [];
        for (const c of buildChallenge(regs, spec)) {
          const m = s.get(user, bytesToHex(c.pieceId), p);
          if (m) leaves.push(...s.prove(m, c.leafIndices.map(Number)));
        }
        expect(verifyChallenge(regs, spec, { leaves }).verdict).toBe(challengeV1.Verdict.VERDICT_OK);
        expect(s.openFiles()).toBeLessThanOrEqual(4);
      }
    }
    s.close();
    expect(s.openFiles()).toBe(0);
  });
});
