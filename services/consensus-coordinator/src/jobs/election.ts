import type { Logger } from '@whitepay/base';
import { ELECTION_QUEUE, type ElectionCheckJob } from '@whitepay/bus';
import { leaderAt, tid as tidOf } from '@whitepay/core';
import { type Job, type Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChainView } from '../chain/view.js';
import type { Metrics } from '../metrics.js';
import type { BatchJob } from '../round/batch.js';
import type { RoundJob } from '../round/leader.js';
import type { RoundStore } from '../round/store.js';
import { checkBatchElection } from './batch.js';

/** The queue the chain-submitter fills (named in packages/bus): one job per confirmed block. */
export { ELECTION_QUEUE, type ElectionCheckJob };
/** The queue of rounds this keeper leads: jobId = tid, so replicas never run one round twice. */
export const ROUNDS_QUEUE = 'rounds';

export interface ElectionDeps {
  keeperId: number;
  chain: ChainView;
  store: RoundStore;
  rounds: Queue<RoundJob>;
  metrics: Metrics;
  log: Logger;
  /** Set with `CONSENSUS_COORDINATOR_BATCH=on`: the election queues batch rounds instead (see `checkBatchElection`). */
  batches?: Queue<BatchJob> | undefined;
  /** Most entries per batch round (`CONSENSUS_COORDINATOR_BATCH_MAX`). */
  batchMax?: number | undefined;
}

/**
 * SPEC 5 "on every new block, a job checks for each (user, pid) whether this
 * keeper leads now": for each served Upkeeping (read at the block) and each
 * active provider, `leaderAt(..., te = block)`; when this keeper leads and
 * has not yet claimed this window (one round per window, a failed one
 * releases its claim), it adds a `rounds` job with jobId = tid. Returns the
 * tids started.
 */
export async function checkElection(block: bigint, d: ElectionDeps): Promise<string[]> {
  if (d.batches) return checkBatchElection(block, { ...d, batches: d.batches, batchMax: d.batchMax ?? 500 });
  const started: string[] = [];
  for (const view of await d.chain.served(block)) {
    const keepers = view.members.map((m) => m.keeperId);
    for (const p of view.providers) {
      if (block < p.ts + view.H) continue; // no leader before ts + H (SPEC 5)
      const slot = leaderAt({ user: view.user, pid: p.pid, ts: p.ts, keepers, H: view.H, T: view.T }, block);
      if (!slot || slot.keeperId !== d.keeperId || block <= p.ts) continue;
      // A late job (this replica was down) for a block whose ts has since been paid: nothing to lead.
      if (block + 1n < (await d.chain.headBlock(250))) {
        const now = await d.chain.current(view.upkeeping, true);
        if (now.providers.find((q) => q.pid === p.pid)?.ts !== p.ts) continue;
      }
      const job: RoundJob = {
        upkeeping: view.upkeeping,
        user: view.user,
        pid: p.pid,
        ts: p.ts.toString(),
        te: block.toString(),
        leaderId: d.keeperId,
        r: slot.position,
        cycle: slot.cycle.toString(),
      };
      const tid = tidOf({
        user: view.user,
        pid: p.pid,
        ts: p.ts,
        te: block,
        leaderId: d.keeperId,
        r: slot.position,
      });
      const claim = {
        upkeeping: view.upkeeping,
        pid: p.pid,
        ts: p.ts,
        cycle: slot.cycle,
        position: slot.position,
      };
      if (!(await d.store.claimLead(claim, tid))) continue;
      await d.rounds.add('round', job, { jobId: tid });
      d.metrics.roundsStarted.inc();
      d.log.info(
        { tid, pid: p.pid, ts: String(p.ts), te: String(block), r: slot.position },
        'leading: round queued',
      );
      started.push(tid);
    }
  }
  return started;
}

/** The BullMQ worker of `election-check`. */
export function electionWorker(connection: Redis, prefix: string, d: ElectionDeps): Worker<ElectionCheckJob> {
  const log = d.log.child({ component: 'election' });
  return new Worker<ElectionCheckJob>(
    ELECTION_QUEUE,
    async (job: Job<ElectionCheckJob>) => {
      try {
        const tids = await checkElection(BigInt(job.data.number), { ...d, log });
        d.metrics.electionBlocks.inc({ outcome: tids.length > 0 ? 'leading' : 'idle' });
        return { started: tids };
      } catch (err) {
        d.metrics.electionBlocks.inc({ outcome: 'error' });
        log.warn({ err, block: job.data.number }, 'election check failed');
        throw err;
      }
    },
    { connection, prefix, concurrency: 1, autorun: false },
  );
}
