import type { BlockCheck, CanonicalBlocks } from '@whitepay/chain';
import type { challengeV1 } from '@whitepay/proto';
import { bytesToHex } from 'viem';

/** How far past this keeper's head a peer's record may be before it is refused at once (its node may lead ours). */
export const RECORD_LEAD_BLOCKS = 3n;
/** How long a record a few blocks ahead of our head waits for our node to see its block (ms). */
export const RECORD_LEAD_WAIT_MS = 3_000;
/** Distinct blocks asked of the node at once. */
const CHECK_CONCURRENCY = 16;

export interface RecordBlockDeps {
  blocks: CanonicalBlocks;
  /** This keeper's chain head (at most a block old). */
  head(): Promise<bigint>;
}

export type RecordBlockRefusal = 'PEER_RECORD_FUTURE_BLOCK' | 'PEER_RECORD_NOT_CANONICAL';

/**
 * The records whose (block, hash) this keeper's own node has as canonical, and
 * the reason of each one refused (SPEC 3: the seed is the block's hash, which
 * neither side can choose): a block our node does not have yet is waited for
 * when it is at most `RECORD_LEAD_BLOCKS` ahead of our head (bounded by
 * `RECORD_LEAD_WAIT_MS`), refused at once when further; a block whose hash is
 * not the canonical one is refused. Unreachable chain: throws (the caller
 * answers unavailable and the sender retries), nothing is refused for it.
 */
export async function canonicalRecords(
  d: RecordBlockDeps,
  records: readonly challengeV1.SignedRecord[],
): Promise<{ kept: challengeV1.SignedRecord[]; refused: RecordBlockRefusal[] }> {
  // Each distinct (block, hash) asked once, CHECK_CONCURRENCY at a time: a full sync over hundreds of
  // blocks must not pay one round trip per block in sequence.
  const pairs = new Map<string, { block: bigint; hash: `0x${string}` }>();
  for (const s of records)
    if (s.record) {
      const hash = bytesToHex(s.record.blockHash);
      pairs.set(`${s.record.block}:${hash}`, { block: s.record.block, hash });
    }
  const verdicts = new Map<string, BlockCheck>();
  const all = [...pairs];
  for (let i = 0; i < all.length; i += CHECK_CONCURRENCY)
    await Promise.all(
      all
        .slice(i, i + CHECK_CONCURRENCY)
        .map(async ([key, p]) => verdicts.set(key, await d.blocks.check(p.block, p.hash))),
    );
  // Blocks our node does not have yet but at most RECORD_LEAD_BLOCKS past its head: wait for them, bounded.
  const deadline = Date.now() + RECORD_LEAD_WAIT_MS;
  for (const [key, p] of all) {
    while (
      verdicts.get(key) === 'future' &&
      p.block <= (await d.head()) + RECORD_LEAD_BLOCKS &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      verdicts.set(key, await d.blocks.check(p.block, p.hash));
    }
  }
  const kept: challengeV1.SignedRecord[] = [];
  const refused: RecordBlockRefusal[] = [];
  for (const s of records) {
    if (!s.record) continue;
    const verdict = verdicts.get(`${s.record.block}:${bytesToHex(s.record.blockHash)}`);
    if (verdict === 'canonical') kept.push(s);
    else refused.push(verdict === 'future' ? 'PEER_RECORD_FUTURE_BLOCK' : 'PEER_RECORD_NOT_CANONICAL');
  }
  return { kept, refused };
}
