import {
  asWhitePayError,
  type Counter,
  type Histogram,
  type Logger,
  type WhitePayError,
} from '@whitepay/base';
import { type BusSigner, type BusVerifier, WindowedPublisher } from '@whitepay/bus';
import type { CanonicalBlocks } from '@whitepay/chain';
import { CadenceSchedule, type RegisteredPiece } from '@whitepay/challenge';
import type { JetStreamClient, JsMsg } from 'nats';
import type { Hex } from 'viem';
import { BlockRefusedError } from '../errors.js';
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
  /** Checks that the keeper's bus key signed the header (the chain-submitter's). */
  verifier: BusVerifier;
  /** Signs the tasks (the workers check them like any bus message). */
  signer: BusSigner;
  /** This keeper's own chain node: a header is fanned out only when its hash is the node's. */
  chain: Pick<CanonicalBlocks, 'check'>;
  /** Deliveries a header the node does not have yet waits for it (the node may lag), default 30. */
  futureRetries?: number;
  /** Delay between those deliveries (ms), default 2,000. */
  futureDelayMs?: number;
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
 * `<block>:<hash>:<user>:<pid>` (a redelivered block re-publishes, the stream drops
 * the duplicates); the block is acked only once every task is stored.
 *
 * Registry reads per block: one ListAccounts and one ListPiecesBulk over the
 * due accounts (chunked), never one call per account; the pieces travel in
 * the task (up to `taskPiecesMax` per account), so workers do not ask again.
 * If the bulk read fails the tasks go out without pieces and each worker
 * reads its own (the old path). A malformed block is rejected, counted and
 * terminated, never retried.
 *
 * Before any of that a header must be the keeper's own (bus-signed) and its
 * hash the one this keeper's chain node has at that number: another hash
 * (forged, or reorganised away) is refused at once; a number the node does not
 * have yet is retried for a while (`futureRetries`), then refused. Tasks are
 * keyed by (number, hash), so a refused or earlier header of the same number
 * cannot shadow the real block's tasks.
 */
export function blockHandler(deps: FanoutDeps): (m: JsMsg) => Promise<void> {
  const log = deps.log.child({ component: 'fanout' });
  const schedule = new CadenceSchedule(deps.challengeEvery ?? 1);
  const piecesMax = deps.taskPiecesMax ?? 64;
  const futureRetries = deps.futureRetries ?? 30;
  const futureDelayMs = deps.futureDelayMs ?? 2_000;
  const refuse = (m: JsMsg, e: WhitePayError, extra: Record<string, unknown> = {}) => {
    deps.rejected.inc({ boundary: 'nats:blocks', reason: e.code });
    deps.blocks.inc({ outcome: 'rejected' });
    log.warn({ ...extra, code: e.code, reason: e.message, seq: m.seq }, 'block message rejected');
    settle(log, () => m.term());
  };
  return async (m) => {
    if (!deps.verifier.accept(m, { boundary: 'nats:blocks', rejected: deps.rejected, log })) {
      deps.blocks.inc({ outcome: 'rejected' });
      settle(log, () => m.term());
      return;
    }
    let block: Block;
    try {
      block = parseBlock(m.data);
    } catch (err) {
      refuse(m, asWhitePayError(err));
      return;
    }
    let onNode: Awaited<ReturnType<CanonicalBlocks['check']>>;
    try {
      onNode = await deps.chain.check(BigInt(block.number), block.hash as Hex);
    } catch (err) {
      deps.blocks.inc({ outcome: 'retried' });
      log.warn({ err, block: block.number }, 'chain node unavailable; block will be redelivered');
      settle(log, () => m.nak(1_000));
      return;
    }
    if (onNode === 'not_canonical') {
      refuse(
        m,
        new BlockRefusedError('BLOCK_NOT_CANONICAL', `block ${block.number} ${block.hash} is not the node's`),
        { block: block.number, hash: block.hash },
      );
      return;
    }
    if (onNode === 'future') {
      if (m.info.redeliveryCount <= futureRetries) {
        deps.blocks.inc({ outcome: 'waiting' });
        settle(log, () => m.nak(futureDelayMs));
        return;
      }
      refuse(
        m,
        new BlockRefusedError('BLOCK_UNKNOWN_TO_NODE', `the node has no block ${block.number}`, {
          deliveries: m.info.redeliveryCount,
        }),
        { block: block.number, hash: block.hash },
      );
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
        const subject = deps.c.taskFor(a.user, a.pid);
        const data = encodeTask(task);
        await pub.publish(
          subject,
          data,
          `${block.number}:${block.hash.toLowerCase()}:${a.user.toLowerCase()}:${a.pid.toLowerCase()}`,
          deps.signer.headers(subject, data),
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
