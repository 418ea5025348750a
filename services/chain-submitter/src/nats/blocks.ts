import type { BusSigner, Subjects } from '@whitepay/bus';
import { type JetStreamClient, headers as natsHeaders } from 'nats';
import type { BlockHeader } from '../chain/window.js';

/** Published on `<ns>.reorgs` when blocks already published stop being canonical. */
export interface ReorgNotice {
  /** The newest published block that is still canonical (`null` when the reorg is deeper than the window). */
  ancestor: { number: number; hash: string } | null;
  /** The published blocks that are no longer canonical, oldest first. */
  removed: Array<{ number: number; hash: string }>;
  depth: number;
  /** Chain head when the reorganisation was detected. */
  head: number;
}

const enc = new TextEncoder();

/**
 * Publishes block headers on `<ns>.blocks` (Nats-Msg-Id `block:<number>:<hash>`,
 * so replicas and restarts publishing the same block are deduplicated by the
 * stream) and reorg notices on `<ns>.reorgs`. A block re-published after a
 * reorganisation carries the header `WhitePay-Reorg: <ancestor number>`. Both
 * are signed with the keeper's bus key (`WhitePay-Bus-Sig`): the challenger
 * takes no header without it.
 */
export class BlockPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly s: Subjects,
    private readonly signer: BusSigner,
  ) {}

  async block(h: BlockHeader, reorgAncestor?: number): Promise<void> {
    const hdrs = natsHeaders();
    if (reorgAncestor !== undefined) hdrs.set('WhitePay-Reorg', String(reorgAncestor));
    const body = { number: h.number, hash: h.hash, parentHash: h.parentHash, timestamp: h.timestamp };
    const data = enc.encode(JSON.stringify(body));
    await this.js.publish(this.s.blocks, data, {
      msgID: `block:${h.number}:${h.hash}`,
      headers: this.signer.headers(this.s.blocks, data, hdrs),
    });
  }

  async reorg(n: ReorgNotice): Promise<void> {
    const first = n.removed[0];
    const data = enc.encode(JSON.stringify(n));
    await this.js.publish(this.s.reorgs, data, {
      msgID: `reorg:${n.ancestor?.number ?? 'none'}:${first?.hash ?? 'none'}`,
      headers: this.signer.headers(this.s.reorgs, data),
    });
  }
}
