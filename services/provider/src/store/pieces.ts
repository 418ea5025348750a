import { readSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Logger } from '@whitepay/base';
import { buildTree, checkLeafSize, HASH_SIZE, levelWidths, pathPositions, rootOf } from '@whitepay/challenge';
import type { challengeV1 } from '@whitepay/proto';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { invalid, ProviderError } from './errors.js';
import { FdCache } from './fds.js';

/**
 * Pieces on disk, one directory per piece:
 *
 *   <dataDir>/<user>/<pieceId>/…             a piece stored without a pid (served for every pid)
 *   <dataDir>/pids/<pid>/<user>/<pieceId>/…  a piece stored for one provider account (multi-tenant)
 *
 * each holding `data.bin` (the piece), `tree.bin` (every Merkle level, leaf
 * level first, 32 bytes per node) and `meta.json` (size, root, leaf size).
 *
 * A piece is written to a temp directory and renamed into place, so a crash
 * never leaves half a piece. The index of every piece is in memory (loaded
 * once at open), keyed by (pid, user) then piece id, so a challenge never
 * touches a directory. Answering a leaf reads one leaf and one node per level
 * (positioned reads on descriptors kept in a bounded LRU).
 */
export interface PieceMeta {
  /** The provider account the piece is stored for; absent: stored without one (served for every pid). */
  pid?: Hex;
  user: Hex;
  pieceId: Hex;
  size: number;
  root: Hex;
  leafSize: number;
  leafCount: number;
  storedAtMs: number;
}

const ADDRESS = /^0x[0-9a-f]{40}$/;
const lc = (h: Hex) => h.toLowerCase() as Hex;
/** Tenant key: the pid, or '' for pieces stored without one. */
const tenantOf = (pid: Hex | undefined) => (pid ? lc(pid) : '');
const groupKey = (tenant: string, user: Hex) => `${tenant}/${lc(user)}`;

export interface PieceStoreOptions {
  /** Most files kept open for reading (two per recently challenged piece). */
  maxOpenFiles?: number;
}

export class PieceStore {
  /** `<pid or ''>/<user>` → piece id → meta. */
  private readonly index = new Map<string, Map<Hex, PieceMeta>>();
  private readonly log: Logger;
  private readonly fds: FdCache;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly dir: string,
    log: Logger,
    opts: PieceStoreOptions = {},
  ) {
    this.log = log.child({ component: 'pieces' });
    this.fds = new FdCache(opts.maxOpenFiles ?? 256);
  }

  /** Loads the index of what is on disk (temp leftovers of a crash are removed). */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.loadUsers(this.dir);
    const pids = join(this.dir, 'pids');
    for (const pid of await readdir(pids).catch(() => [] as string[])) {
      if (ADDRESS.test(pid)) await this.loadUsers(join(pids, pid));
    }
    this.log.info({ pieces: this.count, bytes: this.bytes }, 'piece index loaded');
  }

  private async loadUsers(base: string): Promise<void> {
    for (const user of await readdir(base)) {
      if (user.startsWith('.tmp-')) {
        await rm(join(base, user), { recursive: true, force: true });
        continue;
      }
      if (!ADDRESS.test(user)) continue;
      const ids = await readdir(join(base, user));
      // Bounded parallelism: tens of thousands of small metadata files load in seconds.
      for (let i = 0; i < ids.length; i += 64) {
        await Promise.all(
          ids.slice(i, i + 64).map(async (pieceId) => {
            try {
              const meta = JSON.parse(
                await readFile(join(base, user, pieceId, 'meta.json'), 'utf8'),
              ) as PieceMeta;
              this.remember(meta);
            } catch (err) {
              this.log.warn({ err, user, pieceId }, 'skipping unreadable piece');
            }
          }),
        );
      }
    }
  }

  private remember(meta: PieceMeta): void {
    const k = groupKey(tenantOf(meta.pid), meta.user);
    let group = this.index.get(k);
    if (!group) {
      group = new Map();
      this.index.set(k, group);
    }
    const before = group.get(meta.pieceId);
    if (before) {
      this.count--;
      this.bytes -= before.size;
    }
    group.set(meta.pieceId, meta);
    this.count++;
    this.bytes += meta.size;
  }

  private forget(meta: PieceMeta): void {
    const k = groupKey(tenantOf(meta.pid), meta.user);
    const group = this.index.get(k);
    if (!group?.delete(meta.pieceId)) return;
    if (group.size === 0) this.index.delete(k);
    this.count--;
    this.bytes -= meta.size;
  }

  private pieceDir(pid: Hex | undefined, user: Hex, pieceId: Hex): string {
    const base = pid ? join(this.dir, 'pids', lc(pid)) : this.dir;
    return join(base, lc(user), lc(pieceId));
  }

  /**
   * The piece `pieceId` of `user` a challenge naming `pid` is answered from:
   * the one stored for `pid`, else the one stored without a pid.
   */
  get(user: Hex, pieceId: Hex, pid?: Hex): PieceMeta | undefined {
    const id = lc(pieceId);
    if (pid) {
      const own = this.index.get(groupKey(tenantOf(pid), user))?.get(id);
      if (own) return own;
    }
    return this.index.get(groupKey('', user))?.get(id);
  }

  /** The piece stored exactly under `pid` (or without a pid when undefined). */
  private exact(user: Hex, pieceId: Hex, pid: Hex | undefined): PieceMeta | undefined {
    return this.index.get(groupKey(tenantOf(pid), user))?.get(lc(pieceId));
  }

  /**
   * Pieces held, sorted by (pid, user, piece id). With `user`: that user's;
   * with `pid` too: the ones a challenge naming `pid` is answered from
   * (stored for `pid` or without a pid).
   */
  list(user?: Hex, pid?: Hex): PieceMeta[] {
    let out: PieceMeta[];
    if (user) {
      out = [...(this.index.get(groupKey('', user))?.values() ?? [])];
      if (pid) out.push(...(this.index.get(groupKey(tenantOf(pid), user))?.values() ?? []));
    } else {
      out = [];
      for (const g of this.index.values()) out.push(...g.values());
    }
    const k = (m: PieceMeta) => `${m.pid ?? ''}/${m.user}/${m.pieceId}`;
    return out.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
  }

  stats(): { pieces: number; bytes: number } {
    return { pieces: this.count, bytes: this.bytes };
  }

  /** Files currently kept open for reading. */
  openFiles(): number {
    return this.fds.size;
  }

  /** Stores a piece; storing the same bytes again is a no-op, other bytes under the same id a conflict. */
  async put(
    user: Hex,
    pieceId: Hex | undefined,
    data: Uint8Array,
    leafSize: number,
    pid?: Hex,
  ): Promise<PieceMeta> {
    checkLeafSize(leafSize);
    if (data.length === 0) throw invalid('PIECE_EMPTY', 'a piece must not be empty');
    const tree = buildTree(data, leafSize);
    const root = bytesToHex(rootOf(tree));
    const id = lc(pieceId ?? root);
    const u = lc(user);
    const existing = this.exact(u, id, pid);
    if (existing) {
      if (existing.root === root && existing.leafSize === leafSize) return existing;
      throw new ProviderError('PIECE_EXISTS', `piece ${id} already stored with another root`, {
        kind: 'conflict',
        details: { pieceId: id },
      });
    }
    const meta: PieceMeta = {
      ...(pid ? { pid: lc(pid) } : {}),
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
    const target = this.pieceDir(meta.pid, u, id);
    await mkdir(join(target, '..'), { recursive: true });
    await rename(tmp, target);
    this.remember(meta);
    this.log.debug({ pid: meta.pid, user: u, pieceId: id, size: meta.size }, 'piece stored');
    return meta;
  }

  /** Fault control: forgets a piece and deletes its files. */
  async lose(user: Hex, pieceId: Hex, pid?: Hex): Promise<PieceMeta> {
    const meta = this.require(user, pieceId, pid);
    this.forget(meta);
    const dir = this.pieceDir(meta.pid, meta.user, meta.pieceId);
    this.fds.forget(dir + sep);
    await rm(dir, { recursive: true, force: true });
    this.log.warn({ pid: meta.pid, user, pieceId }, 'piece lost (fault injected)');
    return meta;
  }

  /** Fault control: flips one byte in every leaf of the data (the tree is kept, so proofs fail). */
  async corrupt(user: Hex, pieceId: Hex, pid?: Hex): Promise<PieceMeta> {
    const meta = this.require(user, pieceId, pid);
    const fh = await open(join(this.pieceDir(meta.pid, meta.user, meta.pieceId), 'data.bin'), 'r+');
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
    this.log.warn({ pid: meta.pid, user, pieceId }, 'piece corrupted (fault injected)');
    return meta;
  }

  /** The piece a fault is injected into: stored for `pid` when given (else without a pid). */
  private require(user: Hex, pieceId: Hex, pid: Hex | undefined): PieceMeta {
    const meta = this.exact(user, pieceId, pid);
    if (!meta) {
      throw new ProviderError('PIECE_NOT_FOUND', `no piece ${pieceId} for user ${user}`, {
        kind: 'not_found',
        details: { user, pieceId, ...(pid ? { pid } : {}) },
      });
    }
    return meta;
  }

  /**
   * Proofs of the selected leaves of one piece, from disk. Indices out of
   * range are skipped (the keeper counts them as missing). Throws when the
   * piece's files are gone (lost while answering).
   */
  prove(meta: PieceMeta, indices: readonly number[]): challengeV1.LeafProof[] {
    const dir = this.pieceDir(meta.pid, meta.user, meta.pieceId);
    const data = this.fds.get(join(dir, 'data.bin'));
    const tree = this.fds.get(join(dir, 'tree.bin'));
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
      readSync(data, leaf, 0, len, index * meta.leafSize);
      const path = pathPositions(meta.leafCount, index).map(([level, node]) => {
        const buf = new Uint8Array(HASH_SIZE);
        readSync(tree, buf, 0, HASH_SIZE, offsets[level]! + node * HASH_SIZE);
        return buf;
      });
      out.push({ pieceId, leafIndex: BigInt(index), leaf, path });
    }
    return out;
  }

  /** Closes the files kept open. */
  close(): void {
    this.fds.close();
  }
}
