import { WhitePayError } from './errors.js';

/**
 * Keyset (cursor) pagination for every list route that can grow. A page is
 * the items strictly after the key of the last item of the previous page, in
 * one fixed order over a key that never changes for an item (a monotonic id,
 * `(block, keeperId)`, `(startedAt, tid)`): unlike an offset, an item
 * inserted between two requests cannot shift the next page, so paging through
 * neither skips nor repeats an item that existed when it began.
 *
 * The cursor is opaque to clients: base64url of the key's parts joined by `:`.
 * The answer is `{ <items>: [...], next?: string }`; `next` is absent on the
 * last page. A cursor this service did not issue answers 400 with the one
 * error shape and code `BAD_CURSOR` (or the list's own code).
 */
export interface CursorCodec<K> {
  encode(key: K): string;
  /** The key of `token`; undefined for no cursor (absent or empty: the first page). */
  decode(token: string | undefined): K | undefined;
}

export interface CursorSpec<K> {
  /** The key's parts, each free of `:`. */
  toParts: (key: K) => readonly (string | number | bigint)[];
  /** The key of the parts, or undefined when they are not one this list issues. */
  fromParts: (parts: readonly string[]) => K | undefined;
  /** Error code of a bad cursor (default `BAD_CURSOR`). */
  code?: string;
  /** The error thrown for a bad cursor (default: a `WhitePayError` of kind `invalid_argument`). */
  error?: (message: string) => Error;
}

export const BAD_CURSOR = 'BAD_CURSOR';

export function cursorCodec<K>(spec: CursorSpec<K>): CursorCodec<K> {
  const bad = (token: string): Error => {
    const message = 'cursor was not issued by this service';
    return spec.error
      ? spec.error(message)
      : new WhitePayError(spec.code ?? BAD_CURSOR, message, {
          kind: 'invalid_argument',
          details: { cursor: token.slice(0, 200) },
        });
  };
  return {
    encode: (key) => Buffer.from(spec.toParts(key).map(String).join(':')).toString('base64url'),
    decode: (token) => {
      if (token === undefined || token === '') return undefined;
      if (!/^[A-Za-z0-9_-]{1,512}$/.test(token)) throw bad(token);
      const key = spec.fromParts(Buffer.from(token, 'base64url').toString().split(':'));
      if (key === undefined) throw bad(token);
      return key;
    },
  };
}

/** The page of `fetched` (up to `limit + 1` items after the cursor, in order): `next` when there are more. */
export function pageOf<T, K>(
  fetched: readonly T[],
  limit: number,
  keyOf: (item: T) => K,
  codec: CursorCodec<K>,
): { items: T[]; next?: string } {
  if (fetched.length <= limit) return { items: [...fetched] };
  const items = fetched.slice(0, limit);
  return { items, next: codec.encode(keyOf(items[items.length - 1]!)) };
}

/** `limit` and `cursor` of a paged route's querystring (spread into its `properties`). */
export function pageQuerySchema(opts: { max: number; default: number }) {
  return {
    limit: { type: 'integer', minimum: 1, maximum: opts.max, default: opts.default },
    cursor: {
      type: 'string',
      description: 'the `next` of the previous page (opaque); absent: the first page',
    },
  } as const;
}

/** The `next` of a paged answer. */
export const NEXT_SCHEMA = {
  type: 'string',
  description: 'cursor of the next page (pass it as `cursor`); absent on the last page',
} as const;

/** A paged answer: `{ [key]: item[], next?: string }`. */
export function pageResponseSchema<Key extends string, S extends object>(
  key: Key,
  item: S,
  extra: Record<string, object> = {},
) {
  return {
    type: 'object',
    required: [key],
    properties: { ...extra, [key]: { type: 'array', items: item }, next: NEXT_SCHEMA },
  } as const;
}
