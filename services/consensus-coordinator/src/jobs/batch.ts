import type { Logger } from '@whitepay/base';
import { batchId, groupByLeader, leaderAt } from '@whitepay/core';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { encodeAbiParameters, type Hex, keccak256 } from 'viem';
import type { ChainView } from '../chain/view.js';
import type { Metrics } from '../metrics.js';
import { type BatchJob, type BatchLeaderDeps, runBatchLeaderRound } from '../round/batch.js';
import type { RoundStore } from '../round/store.js';

/** The queue of batch rounds this keeper leads: jobId = batch id, so replicas never run one batch twice. */
export const BATCH_ROUNDS_QUEUE = 'batch-rounds';

export interface BatchElectionDeps {
  keeperId: number;
  chain: ChainView;
  store: RoundStore;
  batches: Queue<BatchJob>;
  /** Most entries per batch (`CONSENSUS_COORDINATOR_BATCH_MAX`): more are split into several batches. */
  batchMax: number;
  metrics: Metrics;
  log: Logger;
}

/** The value of the window claims of one batch: `keccak256(upkeeping, block, position)`. */
export function batchClaimOf(upkeeping: Hex, block: bigint, position: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'uint64' }, { type: 'uint8' }],
      [upkeeping, block, position],
    ),
  );
}

/**
 * The election with `CONSENSUS_COORDINATOR_BATCH=on`: for each served
 * Upkeeping, every (user, pid) this keeper leads at `te = block` (core's
 * `groupByLeader`) goes into one batch per leader position — split into
 * batches of at most `batchMax` entries; each entry's window is claimed as
 * for a single round (entries whose window already has a round are left
 * out), and each batch is queued with jobId = its batch id.
 * Returns the batch ids started.
 */
export async function checkBatchElection(block: bigint, d: BatchElectionDeps): Promise<string[]> {
  const started: string[] = [];
  let head: bigint | null = null;
  for (const view of await d.chain.served(block)) {
    const keepers = view.members.map((m) => m.keeperId);
    const schedule = { user: view.user, keepers, H: view.H, T: view.T };
    // Only providers with a leader at this block (te >= ts + H): the ranking hashes are left for those.
    const candidates = view.providers
      .filter((p) => block >= p.ts + view.H)
      .map((p) => ({ pid: p.pid, ts: p.ts, st: 0n }));
    if (candidates.length === 0) continue;
    const mine = groupByLeader(schedule, block, candidates).find((b) => b.leaderId === d.keeperId);
    if (!mine) continue;
    // A late job (this replica was down): entries whose ts has since been paid are not led any more.
    head ??= await d.chain.headBlock(250);
    let entries = mine.entries;
    if (block + 1n < head) {
      const now = new Map((await d.chain.current(view.upkeeping, true)).providers.map((q) => [q.pid, q.ts]));
      entries = entries.filter((e) => now.get(e.pid) === e.ts);
    }
    const byPosition = new Map<number, Array<{ pid: Hex; ts: bigint; cycle: bigint }>>();
    for (const e of entries) {
      const slot = leaderAt({ ...schedule, pid: e.pid, ts: e.ts }, block)!;
      const list = byPosition.get(slot.position) ?? [];
      list.push({ pid: e.pid, ts: e.ts, cycle: slot.cycle });
      byPosition.set(slot.position, list);
    }
    for (const [position, list] of byPosition) {
      const claim = batchClaimOf(view.upkeeping, block, position);
      const won = await d.store.claimLeads(
        list.map((e) => ({ upkeeping: view.upkeeping, pid: e.pid, ts: e.ts, cycle: e.cycle, position })),
        claim,
      );
      const claimedAll = list.filter((_, i) => won[i]);
      for (let from = 0; from < claimedAll.length; from += d.batchMax) {
        const claimed = claimedAll.slice(from, from + d.batchMax);
        const job: BatchJob = {
          upkeeping: view.upkeeping,
          user: view.user,
          leaderId: d.keeperId,
          r: position,
          items: claimed.map((e) => ({
            pid: e.pid,
            ts: e.ts.toString(),
            te: block.toString(),
            cycle: e.cycle.toString(),
          })),
          claim,
        };
        const bid = batchId({
          user: view.user,
          leaderId: d.keeperId,
          r: position,
          items: claimed.map((e) => ({ pid: e.pid, ts: e.ts, te: block })),
        });
        await d.batches.add('batch', job, { jobId: bid });
        d.metrics.roundsStarted.inc();
        d.log.info({ bid, te: String(block), r: position, entries: claimed.length }, 'leading: batch queued');
        started.push(bid);
      }
    }
  }
  return started;
}

export function batchRoundsQueue(connection: Redis, prefix: string): Queue<BatchJob> {
  return new Queue<BatchJob>(BATCH_ROUNDS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      removeOnComplete: { count: 10_000 },
      removeOnFail: { count: 10_000 },
      attempts: 3,
      backoff: { type: 'exponential', delay: 1_000 },
    },
  });
}

/** The BullMQ worker of `batch-rounds` (as `rounds`): a failed or rejected batch releases every entry's claim. */
export function batchRoundsWorker(
  connection: Redis,
  prefix: string,
  o: {
    lockMs: number;
    concurrency: number;
    store: RoundStore;
    metrics: Metrics;
    log: Logger;
    deps: () => BatchLeaderDeps;
  },
): Worker<BatchJob> {
  return new Worker<BatchJob>(
    BATCH_ROUNDS_QUEUE,
    async (job: Job<BatchJob>) => {
      o.metrics.roundsRunning.inc();
      try {
        const rec = await runBatchLeaderRound(job.data, o.deps());
        if (rec.outcome === 'failed' || rec.outcome === 'rejected') {
          for (const it of job.data.items) {
            await o.store.releaseLead(
              {
                upkeeping: job.data.upkeeping,
                pid: it.pid,
                ts: BigInt(it.ts),
                cycle: BigInt(it.cycle),
                position: job.data.r,
              },
              job.data.claim,
            );
          }
        }
        return { outcome: rec.outcome, txHash: rec.txHash ?? null, entries: rec.entries ?? null };
      } catch (err) {
        o.log.warn({ err, bid: job.id }, 'batch job failed; BullMQ retries it from the persisted state');
        throw err;
      } finally {
        o.metrics.roundsRunning.dec();
      }
    },
    {
      connection,
      prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: Math.max(500, Math.floor(o.lockMs / 2)),
      autorun: false,
    },
  );
}
