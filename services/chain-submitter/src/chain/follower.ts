import type { Logger } from '@whitepay/base';
import { BlockNotFoundError, type PublicClient } from 'viem';
import { ChainError, ReorgTooDeepError } from '../errors.js';
import type { ElectionQueue } from '../jobs/election.js';
import type { Metrics } from '../metrics.js';
import type { BlockPublisher } from '../nats/blocks.js';
import type { CursorStore } from './cursor.js';
import { withRetry } from './retry.js';
import { type BlockHeader, HeaderWindow } from './window.js';

export interface FollowerOptions {
  client: PublicClient;
  publisher: BlockPublisher;
  jobs: ElectionQueue;
  cursor: CursorStore;
  metrics: Metrics;
  log: Logger;
  confirmations: number;
  pollIntervalMs: number;
  reorgWindow: number;
  maxBlocksPerTick: number;
  rpcRetries: number;
  startBlock?: number | undefined;
}

export interface HeadState {
  head: number | null;
  lastPublished: BlockHeader | null;
  confirmations: number;
  reorgs: number;
}

/**
 * Follows the chain head by polling (`eth_blockNumber`, then every block in
 * order, so a gap is never skipped), and publishes each block once it has
 * `confirmations` blocks on top of it: on `<ns>.blocks`, as an
 * `election-check` job, then in the Redis cursor — in that order, so a crash
 * repeats a publication (deduplicated downstream) rather than skipping one.
 *
 * A block whose parent is not the last published block, or a published tip
 * that is no longer canonical, is a reorganisation: the follower walks back
 * to the common ancestor, publishes a notice on `<ns>.reorgs`, rewinds the
 * cursor and re-publishes the new canonical blocks.
 */
export class Follower {
  private window: HeaderWindow;
  private head: number | null = null;
  private reorgCount = 0;
  /** Blocks up to this height are re-publications after a reorg (carry the reorg header). */
  private reorgUntil = -1;
  private reorgAncestor = -1;
  /** Where to resume when a reorg emptied the window. */
  private resumeFrom: number | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  private readonly headListeners: Array<(head: number) => void> = [];

  constructor(private readonly o: FollowerOptions) {
    this.window = new HeaderWindow(o.reorgWindow);
    this.log = o.log.child({ component: 'follower' });
  }

  state(): HeadState {
    return {
      head: this.head,
      lastPublished: this.window.tip() ?? null,
      confirmations: this.o.confirmations,
      reorgs: this.reorgCount,
    };
  }

  onHead(fn: (head: number) => void): void {
    this.headListeners.push(fn);
  }

  async start(): Promise<void> {
    const stored = await this.o.cursor.load();
    this.window = HeaderWindow.from(this.o.reorgWindow, stored);
    const tip = this.window.tip();
    if (tip) this.o.metrics.lastPublished.set(tip.number);
    this.log.info({ resumeAfter: tip?.number ?? null, stored: stored.length }, 'follower starting');
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let again = false;
      try {
        again = await this.tick();
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        this.o.metrics.followerErrors.inc({ code: typeof code === 'string' ? code : 'INTERNAL' });
        this.log.warn({ err }, 'follower tick failed');
      }
      if (!this.running) break;
      if (again) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollIntervalMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, { retries: this.o.rpcRetries, log: this.log, what });
  }

  private async header(n: number): Promise<BlockHeader | undefined> {
    try {
      const b = await this.retry('getBlock', () => this.o.client.getBlock({ blockNumber: BigInt(n) }));
      if (b.hash === null || b.number === null) return undefined;
      return {
        number: Number(b.number),
        hash: b.hash,
        parentHash: b.parentHash,
        timestamp: Number(b.timestamp),
      };
    } catch (err) {
      if (err instanceof BlockNotFoundError) return undefined;
      if (err instanceof ChainError) throw err;
      throw new ChainError('CHAIN_RPC_FAILED', `getBlock ${n} failed`, { cause: err });
    }
  }

  /** One polling step; returns true when there is more to do right away. */
  async tick(): Promise<boolean> {
    const head = Number(
      await this.retry('getBlockNumber', () => this.o.client.getBlockNumber({ cacheTime: 0 })),
    );
    this.head = head;
    this.o.metrics.chainHead.set(head);
    for (const fn of this.headListeners) fn(head);
    const target = head - this.o.confirmations;
    const tip = this.window.tip();
    const next = tip ? tip.number + 1 : (this.resumeFrom ?? this.o.startBlock ?? Math.max(target, 0));
    if (target < next) {
      // Nothing new to publish: make sure the published tip is still canonical.
      if (tip) {
        const canonical = tip.number <= head ? await this.header(tip.number) : undefined;
        if (canonical?.hash !== tip.hash) {
          await this.reorg(head);
          return true;
        }
      }
      return false;
    }
    const end = Math.min(target, next + this.o.maxBlocksPerTick - 1);
    for (let n = next; n <= end && this.running; n++) {
      const h = await this.header(n);
      if (!h) return false; // the chain got shorter under us: the next tick sorts it out
      const fit = this.window.check(h);
      if (fit === 'parent_mismatch') {
        await this.reorg(head);
        return true;
      }
      if (fit === 'not_next')
        throw new ChainError('CHAIN_FOLLOWER_STATE', `block ${n} does not follow the window`);
      await this.publish(h);
    }
    return end < target;
  }

  private async publish(h: BlockHeader): Promise<void> {
    const reorg = h.number <= this.reorgUntil ? this.reorgAncestor : undefined;
    await this.o.publisher.block(h, reorg);
    await this.o.jobs.enqueue(h);
    await this.o.cursor.published(h);
    this.window.link(h);
    this.resumeFrom = undefined;
    this.o.metrics.lastPublished.set(h.number);
    this.o.metrics.blocksPublished.inc();
    this.log.debug({ block: h.number, hash: h.hash, reorg }, 'block published');
  }

  private async reorg(head: number): Promise<void> {
    const ancestor = await this.window.commonAncestor(async (n) =>
      n > head ? undefined : (await this.header(n))?.hash,
    );
    const tip = this.window.tip();
    const removed = this.window.all().filter((h) => h.number > (ancestor?.number ?? -1));
    const notice = {
      ancestor: ancestor ? { number: ancestor.number, hash: ancestor.hash } : null,
      removed: removed.map((h) => ({ number: h.number, hash: h.hash })),
      depth: removed.length,
      head,
    };
    if (!ancestor) {
      const err = new ReorgTooDeepError(
        'CHAIN_REORG_TOO_DEEP',
        `reorganisation deeper than the window of ${this.o.reorgWindow} published blocks`,
        { details: notice },
      );
      this.log.error({ err }, 'reorganisation deeper than the window; re-publishing from its oldest block');
    } else this.log.warn(notice, 'reorganisation detected');
    // Notice first, then the cursor: a crash in between repeats the notice (same msgID) instead of losing it.
    await this.o.publisher.reorg(notice);
    await this.o.cursor.rewind(ancestor, removed);
    this.window.truncateAbove(ancestor?.number ?? -1);
    if (!ancestor) this.resumeFrom = removed[0]?.number;
    this.reorgUntil = Math.max(this.reorgUntil, tip?.number ?? -1);
    this.reorgAncestor = ancestor?.number ?? -1;
    this.reorgCount++;
    this.o.metrics.reorgs.inc();
    this.o.metrics.reorgDepth.set(removed.length);
  }
}
