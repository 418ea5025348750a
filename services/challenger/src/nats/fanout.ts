import { asWhitePayError, type Counter, type Logger } from '@whitepay/base';
import { WindowedPublisher } from '@whitepay/bus';
import type { JetStreamClient, JsMsg } from 'nats';
import type { PieceRegistry } from '../registry/registry.js';
import { type Block, encodeTask, parseBlock } from './messages.js';
import { settle } from './pull.js';
import type { ChallengerSubjects } from './streams.js';

export interface FanoutDeps {
  js: JetStreamClient;
  c: ChallengerSubjects;
  registry: PieceRegistry;
  log: Logger;
  rejected: Counter<'boundary' | 'reason'>;
  blocks: Counter<'outcome'>;
  tasks: Counter;
  onBlock?: (b: Block) => void;
}

/**
 * Handles one block from the shared blocks consumer: one task per (user, pid)
 * with live pieces, published to the work queue with Nats-Msg-Id
 * `<block>:<user>:<pid>` (a redelivered block re-publishes, the stream drops
 * the duplicates); the block is acked only once every task is stored.
 * A malformed block is rejected, counted and terminated, never retried.
 */
export function blockHandler(deps: FanoutDeps): (m: JsMsg) => Promise<void> {
  const log = deps.log.child({ component: 'fanout' });
  return async (m) => {
    let block: Block;
    try {
      block = parseBlock(m.data);
    } catch (err) {
      const e = asWhitePayError(err);
      deps.rejected.inc({ boundary: 'nats:blocks', reason: e.code });
      deps.blocks.inc({ outcome: 'rejected' });
      log.warn({ code: e.code, reason: e.message, seq: m.seq }, 'block message rejected');
      settle(log, () => m.term());
      return;
    }
    try {
      const accounts = await deps.registry.listAccounts();
      const pub = new WindowedPublisher(deps.js, 256);
      for (const a of accounts) {
        await pub.publish(
          deps.c.taskFor(a.user, a.pid),
          encodeTask({ block, user: a.user, pid: a.pid }),
          `${block.number}:${a.user.toLowerCase()}:${a.pid.toLowerCase()}`,
        );
      }
      await pub.flush();
      settle(log, () => m.ack());
      deps.tasks.inc(accounts.length);
      deps.blocks.inc({ outcome: 'fanned_out' });
      deps.onBlock?.(block);
      log.debug({ block: block.number, tasks: accounts.length }, 'block fanned out');
    } catch (err) {
      deps.blocks.inc({ outcome: 'retried' });
      log.warn({ err, block: block.number }, 'fan-out failed; block will be redelivered');
      settle(log, () => m.nak(1_000));
    }
  };
}
