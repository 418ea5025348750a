import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { type BlockHeader, HeaderWindow } from './window.js';

const hash = (n: number, fork = 0): Hex => `0x${(fork * 1_000_000 + n).toString(16).padStart(64, '0')}`;
const header = (n: number, fork = 0, parentFork = fork): BlockHeader => ({
  number: n,
  hash: hash(n, fork),
  parentHash: hash(n - 1, parentFork),
  timestamp: n,
});

describe('HeaderWindow', () => {
  it('links contiguous headers and keeps only the capacity', () => {
    const w = new HeaderWindow(3);
    for (let n = 1; n <= 5; n++) expect(w.link(header(n))).toBe('linked');
    expect(w.size).toBe(3);
    expect(w.oldest()?.number).toBe(3);
    expect(w.tip()?.number).toBe(5);
    expect(w.get(4)?.hash).toBe(hash(4));
    expect(w.get(2)).toBeUndefined();
  });

  it('refuses a gap and a parent mismatch', () => {
    const w = new HeaderWindow(8);
    w.link(header(1));
    expect(w.link(header(3))).toBe('not_next');
    expect(w.link(header(2, 1, 1))).toBe('parent_mismatch');
    expect(w.size).toBe(1);
  });

  it('finds the common ancestor of a fork and truncates above it', async () => {
    const w = new HeaderWindow(16);
    for (let n = 1; n <= 10; n++) w.link(header(n));
    // canonical chain forked after 7: 8', 9', 10', 11'
    const canonical = (n: number) => (n <= 7 ? hash(n) : n <= 11 ? hash(n, 1) : undefined);
    const anc = await w.commonAncestor(async (n) => canonical(n));
    expect(anc?.number).toBe(7);
    const removed = w.truncateAbove(7);
    expect(removed.map((h) => h.number)).toEqual([8, 9, 10]);
    expect(w.check(header(8, 1, 0))).toBe('linked');
  });

  it('handles a shorter canonical chain and a reorg deeper than the window', async () => {
    const w = new HeaderWindow(4);
    for (let n = 1; n <= 10; n++) w.link(header(n));
    expect((await w.commonAncestor(async (n) => (n <= 8 ? hash(n) : undefined)))?.number).toBe(8);
    expect(await w.commonAncestor(async (n) => hash(n, 2))).toBeUndefined();
  });

  it('restores the newest linked run from stored headers', () => {
    const w = HeaderWindow.from(10, [header(5), header(3), header(4), header(7), header(8)]);
    expect(w.all().map((h) => h.number)).toEqual([7, 8]);
    expect(() => new HeaderWindow(1)).toThrow(RangeError);
  });
});
