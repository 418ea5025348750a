import { asWhitePayError, type Counter, type Histogram, type Logger } from '@whitepay/base';
import { WindowedPublisher } from '@whitepay/bus';
import { CadenceSchedule, type RegisteredPiece } from '@whitepay/challenge';
import type { JetStreamClient, JsMsg } from 'nats';
import type { Account, PieceRegistry } from '../registry/registry.js';
import { type Block, encodeTask, parseBlock, type Task } from './messages.js';
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
  /** Seconds from a block's pickup to every task of it stored. */
  fanoutSeconds?: Histogram;
  /** Cadence K: each (user, pid) once every K blocks (`@whitepay/challenge` `isDue`). */
  challengeEvery?: number;
  /** Put the bulk-read pieces in the task when an account has at most this many; 0: never. */
  taskPiecesMax?: number;
  /** Task publishes awaiting their ack at once. */
  publishWindow?: number;
  onBlock?: (b: Block, tasks: number) => void;
}

/**
 * Handles one block from the shared blocks consumer: one task per (user, pid)
 * due at this block (cadence K), published to the work queue with Nats-Msg-Id
 * `<block>:<user>:<pid>` (a redelivered block re-publishes, the stream drops
 * the duplicates); the block is acked only once every task is stored.
 *
 * Registry reads per block: one ListAccounts and one ListPiecesBulk over the
 * due accounts (chunked), never one call per account; the pieces travel in
 * the task (up to `taskPiecesMax` per account), so workers do not ask again.
 * If the bulk read fails the tasks go out without pieces and each worker
 * reads its own (the old path). A malformed block is rejected, counted and
 * terminated, never retried.
 */
export function blockHandler(deps: FanoutDeps): (m: JsMsg) => Promise<void> {
  const log = deps.log.child({ component: 'fanout' });
  const schedule = new CadenceSchedule(deps.challengeEvery ?? 1);
  const piecesMax = deps.taskPiecesMax ?? 64;
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
    const t0 = performance.now();
    try {
      const b = BigInt(block.number);
      const due = (await deps.registry.listAccounts()).filter((a) => schedule.due(a.user, a.pid, b));
      const pieces = await bulkPieces(deps.registry, due, b, piecesMax, log);
      const tRegistry = performance.now();
      const pub = new WindowedPublisher(deps.js, deps.publishWindow ?? 1024);
      for (const [i, a] of due.entries()) {
        const task: Task = { block, user: a.user, pid: a.pid };
        const ps = pieces?.[i];
        if (ps && ps.length <= piecesMax) task.pieces = ps;
        await pub.publish(
          deps.c.taskFor(a.user, a.pid),
          encodeTask(task),
          `${block.number}:${a.user.toLowerCase()}:${a.pid.toLowerCase()}`,
        );
      }
      await pub.flush();
      settle(log, () => m.ack());
      const seconds = (performance.now() - t0) / 1000;
      deps.fanoutSeconds?.observe(seconds);
      deps.tasks.inc(due.length);
      deps.blocks.inc({ outcome: 'fanned_out' });
      deps.onBlock?.(block, due.length);
      log.debug(
        {
          block: block.number,
          tasks: due.length,
          registryMs: Math.round(tRegistry - t0),
          ms: Math.round(seconds * 1000),
        },
        'block fanned out',
      );
    } catch (err) {
      deps.blocks.inc({ outcome: 'retried' });
      log.warn({ err, block: block.number }, 'fan-out failed; block will be redelivered');
      settle(log, () => m.nak(1_000));
    }
  };
}

async function bulkPieces(
  registry: PieceRegistry,
  due: readonly Account[],
  block: bigint,
  piecesMax: number,
  log: Logger,
): Promise<RegisteredPiece[][] | undefined> {
  if (piecesMax === 0 || due.length === 0 || !registry.listPiecesBulk) return undefined;
  try {
    return await registry.listPiecesBulk(due, block);
  } catch (err) {
    log.warn({ err, block: String(block) }, 'bulk piece read failed; workers read their own');
    return undefined;
  }
}
