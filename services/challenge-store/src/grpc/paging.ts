import { RecordRejected } from '../errors.js';

/** Page tokens are opaque to clients: base64url of `block:keeperId`. */
export function encodePageToken(next: { block: bigint; keeperId: number } | undefined): string {
  return next ? Buffer.from(`${next.block}:${next.keeperId}`).toString('base64url') : '';
}

export function decodePageToken(token: string): { block: bigint; keeperId: number } | undefined {
  if (!token) return undefined;
  const m = /^(\d{1,19}):(\d{1,10})$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw new RecordRejected('BAD_PAGE_TOKEN', 'page token was not issued by this service');
  return { block: BigInt(m[1]!), keeperId: Number(m[2]) };
}
