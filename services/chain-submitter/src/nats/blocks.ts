import type { Subjects } from '@whitepay/bus';
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
 * reorganisation carries the header `WhitePay-Reorg: <ancestor number>`.
 */
export class BlockPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly s: Subjects,
  ) {}

  async block(h: BlockHeader, reorgAncestor?: number): Promise<void> {
    const opts: { msgID: string; headers?: ReturnType<typeof natsHeaders> } = {
      msgID: `block:${h.number}:${h.hash}`,
    };
    if (reorgAncestor !== undefined) {
      const hdrs = natsHeaders();
      hdrs.set('WhitePay-Reorg', String(reorgAncestor));
      opts.headers = hdrs;
    }
    const body = { number: h.number, hash: h.hash, parentHash: h.parentHash, timestamp: h.timestamp };
    await this.js.publish(this.s.blocks, enc.encode(JSON.stringify(body)), opts);
  }

  async reorg(n: ReorgNotice): Promise<void> {
    const first = n.removed[0];
    await this.js.publish(this.s.reorgs, enc.encode(JSON.stringify(n)), {
      msgID: `reorg:${n.ancestor?.number ?? 'none'}:${first?.hash ?? 'none'}`,
    });
  }
}
