import type { BlockCheck } from '@whitepay/chain';
import type { challengeV1 } from '@whitepay/proto';
import { bytesToHex } from 'viem';
import { describe, expect, it } from 'vitest';
import { canonicalRecords } from './record-blocks.js';

const hash = (b: number, forged = false) => new Uint8Array(32).fill(forged ? 0xee : b);
const rec = (block: number, forged = false) =>
  ({
    record: { block: BigInt(block), blockHash: hash(block, forged) },
    signature: new Uint8Array(65),
  }) as unknown as challengeV1.SignedRecord;

describe('canonicalRecords', () => {
  it('asks each distinct block once, keeps the canonical, refuses chosen hashes and far blocks, waits for near ones', async () => {
    let head = 10n;
    const asked: string[] = [];
    const blocks = {
      async check(n: bigint, h: `0x${string}`): Promise<BlockCheck> {
        asked.push(`${n}`);
        if (n > head) return 'future';
        return h === bytesToHex(hash(Number(n))) ? 'canonical' : 'not_canonical';
      },
    };
    // Block 12 appears on our node 300 ms later (the sender's node was ahead of ours).
    setTimeout(() => {
      head = 12n;
    }, 300);
    const records = [rec(1), rec(1), rec(2), rec(3, true), rec(12), rec(100_000)];
    const { kept, refused } = await canonicalRecords({ blocks, head: async () => head }, records);
    expect(kept.map((r) => Number(r.record!.block))).toEqual([1, 1, 2, 12]);
    expect(refused.sort()).toEqual(['PEER_RECORD_FUTURE_BLOCK', 'PEER_RECORD_NOT_CANONICAL']);
    // Blocks 1, 2, 3, 12 and 100000 once each at first; then 12 again while it waited.
    expect(asked.slice(0, 5).sort()).toEqual(['1', '100000', '12', '2', '3']);
    expect(asked.filter((b) => b === '1')).toHaveLength(1);
    expect(asked.filter((b) => b === '100000')).toHaveLength(1);
  });
});
