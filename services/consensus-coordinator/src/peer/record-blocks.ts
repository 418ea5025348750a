import type { CanonicalBlocks } from '@whitepay/chain';
import type { challengeV1 } from '@whitepay/proto';
import { bytesToHex } from 'viem';

/** How far past this keeper's head a peer's record may be before it is refused at once (its node may lead ours). */
export const RECORD_LEAD_BLOCKS = 3n;
/** How long a record a few blocks ahead of our head waits for our node to see its block (ms). */
export const RECORD_LEAD_WAIT_MS = 3_000;

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
  const kept: challengeV1.SignedRecord[] = [];
  const refused: RecordBlockRefusal[] = [];
  const deadline = Date.now() + RECORD_LEAD_WAIT_MS;
  for (const s of records) {
    const r = s.record;
    if (!r) continue;
    const hash = bytesToHex(r.blockHash);
    let verdict = await d.blocks.check(r.block, hash);
    while (
      verdict === 'future' &&
      r.block <= (await d.head()) + RECORD_LEAD_BLOCKS &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      verdict = await d.blocks.check(r.block, hash);
    }
    if (verdict === 'canonical') kept.push(s);
    else refused.push(verdict === 'future' ? 'PEER_RECORD_FUTURE_BLOCK' : 'PEER_RECORD_NOT_CANONICAL');
  }
  return { kept, refused };
}
