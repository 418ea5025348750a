import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WhitePayError } from './errors.js';
import { cursorCodec, pageOf } from './paging.js';

/** A list keyed by a monotonic id, listed newest first (like rounds and payments). */
const codec = cursorCodec<number>({
  toParts: (id) => [id],
  fromParts: ([id, ...rest]) => (rest.length === 0 && /^\d{1,15}$/.test(id ?? '') ? Number(id) : undefined),
});

function page(ids: readonly number[], limit: number, cursor?: string) {
  const after = codec.decode(cursor);
  const newestFirst = [...ids].sort((a, b) => b - a).filter((id) => after === undefined || id < after);
  return pageOf(newestFirst.slice(0, limit + 1), limit, (id) => id, codec);
}

describe('cursorCodec', () => {
  it('round-trips a key through an opaque base64url token', () => {
    const token = codec.encode(42);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode(token)).toBe(42);
    expect(codec.decode(undefined)).toBeUndefined();
    expect(codec.decode('')).toBeUndefined();
  });

  it('refuses a cursor it did not issue with a typed invalid_argument error', () => {
    for (const bad of ['zzz', Buffer.from('1:2').toString('base64url'), 'not base64!', 'a'.repeat(600)]) {
      let err: unknown;
      try {
        codec.decode(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WhitePayError);
      expect((err as WhitePayError).toJSON()).toMatchObject({ code: 'BAD_CURSOR', kind: 'invalid_argument' });
    }
  });

  it('takes the code of the list that uses it', () => {
    const own = cursorCodec<number>({
      toParts: (n) => [n],
      fromParts: () => undefined,
      code: 'BAD_PAGE_TOKEN',
    });
    expect(() => own.decode('eA')).toThrow(expect.objectContaining({ code: 'BAD_PAGE_TOKEN' }));
  });
});

describe('pageOf', () => {
  it('gives next only when more items follow', () => {
    expect(page([1, 2, 3], 3)).toEqual({ items: [3, 2, 1] });
    const first = page([1, 2, 3], 2);
    expect(first.items).toEqual([3, 2]);
    expect(page([1, 2, 3], 2, first.next)).toEqual({ items: [1] });
  });

  it('property: paging with random inserts between pages neither skips nor repeats an existing item', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 40 }),
        (initial, limit, insertsPerPage) => {
          let nextId = 1;
          const ids: number[] = [];
          for (let i = 0; i < initial; i++) ids.push(nextId++);
          const existing = new Set(ids);
          const seen: number[] = [];
          let cursor: string | undefined;
          for (let step = 0; ; step++) {
            const p = page(ids, limit, cursor);
            expect(p.items.length).toBeLessThanOrEqual(limit);
            seen.push(...p.items);
            if (p.next === undefined) break;
            cursor = p.next;
            // New items arrive between two requests (monotonic ids: newer than every page so far).
            for (let i = 0; i < (insertsPerPage[step % Math.max(1, insertsPerPage.length)] ?? 0); i++)
              ids.push(nextId++);
          }
          expect(new Set(seen).size).toBe(seen.length);
          for (const id of existing) expect(seen).toContain(id);
        },
      ),
    );
  });

  it('property: inserts anywhere in the order (late records) still neither skip nor repeat an existing item', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 4 }), { maxLength: 30 }),
        (initial, limit, inserts) => {
          const ids = [...initial];
          const existing = new Set(ids);
          const seen: number[] = [];
          let cursor: string | undefined;
          for (let step = 0; ; step++) {
            const p = page(ids, limit, cursor);
            seen.push(...p.items);
            if (p.next === undefined) break;
            cursor = p.next;
            for (const id of inserts[step] ?? []) if (!ids.includes(id)) ids.push(id);
          }
          expect(new Set(seen).size).toBe(seen.length);
          for (const id of existing) expect(seen).toContain(id);
        },
      ),
    );
  });
});
