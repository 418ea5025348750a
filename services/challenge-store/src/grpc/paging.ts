import { cursorCodec } from '@whitepay/base';
import { RecordRejected } from '../errors.js';

/** The key of a records page: the (block, keeperId) of its last record. */
export interface RecordKey {
  block: bigint;
  keeperId: number;
}

/** Records cursors (HTTP `cursor`/`next`, gRPC page tokens): base's opaque cursor over `block:keeperId`. */
export const recordCursor = cursorCodec<RecordKey>({
  toParts: (k) => [k.block, k.keeperId],
  fromParts: ([block, keeperId, ...rest]) =>
    rest.length === 0 && /^\d{1,19}$/.test(block ?? '') && /^\d{1,10}$/.test(keeperId ?? '')
      ? { block: BigInt(block!), keeperId: Number(keeperId) }
      : undefined,
  error: (message) => new RecordRejected('BAD_PAGE_TOKEN', message),
});

/** gRPC page token: '' for the last page. */
export function encodePageToken(next: RecordKey | undefined): string {
  return next ? recordCursor.encode(next) : '';
}

export function decodePageToken(token: string): RecordKey | undefined {
  return recordCursor.decode(token);
}
