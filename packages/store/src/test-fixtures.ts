// Helpers for this package's tests (not exported from the package).
import { randomBytes } from 'node:crypto';
import type { RecordRow } from './record-rows.js';

export function rand(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n));
}

export function record(
  over: Partial<RecordRow> & { user: Uint8Array; pid: Uint8Array; block: bigint },
): RecordRow {
  return {
    keeperId: 1,
    blockHash: new Uint8Array(32).fill(Number(over.block % 251n)),
    space: 1000n + over.block,
    verdict: 1,
    proof: new Uint8Array([1, 2, 3, Number(over.block % 256n)]),
    observedAtMs: 1_700_000_000_000 + Number(over.block),
    ...over,
  };
}
