import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@whitepay/base';
import { buildTree, checkLeafSize, HASH_SIZE, levelWidths, pathPositions, rootOf } from '@whitepay/challenge';
import type { challengeV1 } from '@whitepay/proto';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { invalid, ProviderError } from './errors.js';

/**
 * Pieces on disk, one directory per piece:
 *
 *   <dataDir>/<user>/<pieceId>/data.bin   the piece as stored
 *   <dataDir>/<user>/<pieceId>/tree.bin   every Merkle level, leaf level first, 32 bytes per node
 *   <dataDir>/<user>/<pieceId>/meta.json  size, root, leaf size
 *
 * A piece is written to a temp directory and renamed into place, so a crash
 * never leaves half a piece. Answering a leaf reads one leaf and one node per
 * level (positioned reads), so a challenge costs O(depth) small reads.
 */
export interface PieceMeta {
  user: Hex;
  pieceId: Hex;
  size: number;
  root: Hex;
  leafSize: number;
  leafCount: number;
  storedAtMs: number;
}

const key = (user: Hex, pieceId: Hex) => `${user.toLowerCase()}/${pieceId.toLowerCase()}`;

export class PieceStore {
  private readonly index = new Map<string, PieceMeta>();
  private readonly log: Logger;

  constructor(
    private readonly dir: string,
    log: Logger,
  ) {
    this.log = log.child({ component: 'pieces' });
  }

  /** Loads the index of what is on disk (temp leftovers of a crash are removed). */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const user of await readdir(this.dir)) {
      if (user.startsWith('.tmp-')) {
        await rm(join(this.dir, user), { recursive: true, force: true });
        continue;
      }
      if (!/^0x[0-9a-f]{40}$/.test(user)) continue;
      for (const pieceId of await readdir(join(this.dir, user))) {
        try {
          const meta = JSON.parse(
            await readFile(join(this.dir, user, pieceId, 'meta.json'), 'utf8'),
          ) as PieceMeta;
          this.index.set(key(meta.user, meta.pieceId), meta);
        } catch (err) {
          this.log.warn({ err, user, pieceId }, 'skipping unreadable piece');
        }
      }
    }
    this.log.info({ pieces: this.index.size }, 'piece index loaded');
  }

  private pieceDir(user: Hex, pieceId: Hex): string {
    return join(this.dir, user.toLowerCase(), pieceId.toLowerCase());
  }

  get(user: Hex, pieceId: Hex): PieceMeta | undefined {
    return this.index.get(key(user, pieceId));
  }

  list(user?: Hex): PieceMeta[] {
    const all = [...this.index.values()];
    const mine = user ? all.filter((m) => m.user === user.toLowerCase()) : all;
    return mine.sort((a, b) => (a.user + a.pieceId).localeCompare(b.user + b.pieceId));
  }

  stats(): { pieces: number; bytes: number } {
    let bytes = 0;
    for (const m of this.index.values()) bytes += m.size;
    return { pieces: this.index.size, bytes };
  }

  /** Stores a piece; storing the same bytes again is a no-op, other bytes under the same id a conflict. */
  async put(user: Hex, pieceId: Hex | undefined, data: Uint8Array, leafSize: number): Promise<PieceMeta> {
    checkLeafSize(leafSize);
    if (data.length === 0) throw invalid('PIECE_EMPTY', 'a piece must not be empty');
    const tree = buildTree(data, leafSize);
    const root = bytesToHex(rootOf(tree));
    const id = (pieceId ?? root).toLowerCase() as Hex;
    const u = user.toLowerCase() as Hex;
    const existing = this.get(u, id);
    if (existing) {
      if (existing.root === root && existing.leafSize === leafSize) return existing;
      throw new ProviderError('PIECE_EXISTS', `piece ${id} already stored with another root`, {
        kind: 'conflict',
        details: { pieceId: id },
      });
    }
    const meta: PieceMeta = {
      user: u,
      pieceId: id,
      size: data.length,
      root,
      leafSize,
      leafCount: tree.leafCount,
      storedAtMs: Date.now(),
    };
    const tmp = join(this.dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'data.bin'), data);
    await writeFile(join(tmp, 'tree.bin'), Buffer.concat(tree.levels));
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta));
    await mkdir(join(this.dir, u), { recursive: true });
    await rename(tmp, this.pieceDir(u, id));
    this.index.set(key(u, id), meta);
    this.log.info({ user: u, pieceId: id, size: meta.size }, 'piece stored');
    return meta;
  }

  /** Fault control: forgets a piece and deletes its files. */
  async lose(user: Hex, pieceId: Hex): Promise<PieceMeta> {
    const meta = this.require(user, pieceId);
    this.index.delete(key(user, pieceId));
    await rm(this.pieceDir(user, pieceId), { recursive: true, force: true });
    this.log.warn({ user, pieceId }, 'piece lost (fault injected)');
    return meta;
  }

  /** Fault control: flips one byte in every leaf of the data (the tree is kept, so proofs fail). */
  async corrupt(user: Hex, pieceId: Hex): Promise<PieceMeta> {
    const meta = this.require(user, pieceId);
    const fh = await open(join(this.pieceDir(user, pieceId), 'data.bin'), 'r+');
    try {
      const b = Buffer.alloc(1);
      for (let i = 0; i < meta.leafCount; i++) {
        const pos = i * meta.leafSize;
        await fh.read(b, 0, 1, pos);
        b[0] = b[0]! ^ 0xff;
        await fh.write(b, 0, 1, pos);
      }
    } finally {
      await fh.close();
    }
    this.log.warn({ user, pieceId }, 'piece corrupted (fault injected)');
    return meta;
  }

  private require(user: Hex, pieceId: Hex): PieceMeta {
    const meta = this.get(user, pieceId);
    if (!meta) {
      throw new ProviderError('PIECE_NOT_FOUND', `no piece ${pieceId} for user ${user}`, {
        kind: 'not_found',
        details: { user, pieceId },
      });
    }
    return meta;
  }

  /**
   * Proofs of the selected leaves of one piece, from disk. Indices out of
   * range are skipped (the keeper counts them as missing).
   */
  async prove(meta: PieceMeta, indices: readonly number[]): Promise<challengeV1.LeafProof[]> {
    const dir = this.pieceDir(meta.user, meta.pieceId);
    const data = await open(join(dir, 'data.bin'), 'r');
    const tree = await open(join(dir, 'tree.bin'), 'r');
    try {
      const widths = levelWidths(meta.leafCount);
      const offsets: number[] = [];
      let off = 0;
      for (const w of widths) {
        offsets.push(off);
        off += w * HASH_SIZE;
      }
      const pieceId = hexToBytes(meta.pieceId);
      const out: challengeV1.LeafProof[] = [];
      for (const index of indices) {
        if (!Number.isInteger(index) || index < 0 || index >= meta.leafCount) continue;
        const leaf = new Uint8Array(meta.leafSize);
        const len = Math.min(meta.leafSize, meta.size - index * meta.leafSize);
        await data.read(leaf, 0, len, index * meta.leafSize);
        const path = await Promise.all(
          pathPositions(meta.leafCount, index).map(async ([level, node]) => {
            const buf = new Uint8Array(HASH_SIZE);
            await tree.read(buf, 0, HASH_SIZE, offsets[level]! + node * HASH_SIZE);
            return buf;
          }),
        );
        out.push({ pieceId, leafIndex: BigInt(index), leaf, path });
      }
      return out;
    } finally {
      await Promise.all([data.close(), tree.close()]);
    }
  }
}
