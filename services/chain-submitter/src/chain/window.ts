import type { Hex } from 'viem';

/** The block header the chain-submitter publishes on `<ns>.blocks` (SPEC 9). */
export interface BlockHeader {
  number: number;
  hash: Hex;
  parentHash: Hex;
  /** Unix seconds. */
  timestamp: number;
}

export type LinkResult = 'linked' | 'parent_mismatch' | 'not_next';

/**
 * The last `capacity` published headers, contiguous and linked by
 * `parentHash`. Pure: the follower feeds it blocks and asks where a new
 * block fits; when a block does not link, it walks back comparing the
 * canonical chain against `hashAt` to find the common ancestor.
 */
export class HeaderWindow {
  private headers: BlockHeader[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('capacity must be an integer >= 2');
  }

  static from(capacity: number, headers: readonly BlockHeader[]): HeaderWindow {
    const w = new HeaderWindow(capacity);
    const sorted = [...headers].sort((a, b) => a.number - b.number);
    for (const h of sorted) {
      // Keep only the newest linked run: a gap or a broken link starts over.
      if (w.link(h) !== 'linked') {
        w.headers = [];
        w.link(h);
      }
    }
    return w;
  }

  get size(): number {
    return this.headers.length;
  }

  tip(): BlockHeader | undefined {
    return this.headers[this.headers.length - 1];
  }

  oldest(): BlockHeader | undefined {
    return this.headers[0];
  }

  get(number: number): BlockHeader | undefined {
    const first = this.headers[0];
    if (!first) return undefined;
    return this.headers[number - first.number];
  }

  all(): readonly BlockHeader[] {
    return this.headers;
  }

  /** Where `h` fits after the tip, without changing anything. */
  check(h: BlockHeader): LinkResult {
    const tip = this.tip();
    if (!tip) return 'linked';
    if (h.number !== tip.number + 1) return 'not_next';
    return h.parentHash.toLowerCase() === tip.hash.toLowerCase() ? 'linked' : 'parent_mismatch';
  }

  /** Appends `h` when it links to the tip; drops the oldest beyond capacity. */
  link(h: BlockHeader): LinkResult {
    const r = this.check(h);
    if (r !== 'linked') return r;
    this.headers.push(h);
    if (this.headers.length > this.capacity) this.headers.splice(0, this.headers.length - this.capacity);
    return r;
  }

  /** Removes every header above `number`; returns them, oldest first. */
  truncateAbove(number: number): BlockHeader[] {
    const idx = this.headers.findIndex((h) => h.number > number);
    if (idx < 0) return [];
    return this.headers.splice(idx);
  }

  /**
   * The newest header of the window that is still canonical, given the
   * canonical hash at each height (`undefined` when the chain is shorter).
   * Returns `undefined` when no header of the window is canonical (a
   * reorganisation deeper than the window).
   */
  async commonAncestor(hashAt: (n: number) => Promise<Hex | undefined>): Promise<BlockHeader | undefined> {
    for (let i = this.headers.length - 1; i >= 0; i--) {
      const h = this.headers[i]!;
      const canonical = await hashAt(h.number);
      if (canonical !== undefined && canonical.toLowerCase() === h.hash.toLowerCase()) return h;
    }
    return undefined;
  }
}
