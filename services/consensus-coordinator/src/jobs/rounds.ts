import type { Logger } from '@whitepay/base';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Metrics } from '../metrics.js';
import { type LeaderDeps, type RoundJob, runLeaderRound } from '../round/driver.js';
import type { RoundStore } from '../round/store.js';
import { ROUNDS_QUEUE } from './election.js';

export function roundsQueue(connection: Redis, prefix: string): Queue<RoundJob> {
  return new Queue<RoundJob>(ROUNDS_QUEUE, {
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

/**
 * The BullMQ worker of `rounds`: runs a round as its leader. The job's lock
 * (`lockMs`) is renewed while it runs; when a replica crashes, BullMQ's
 * stalled-job check hands the job to another replica, which resumes the
 * round from its persisted state. A failed or rejected round releases every
 * entry's window claim, so a later block of the window may try again.
 */
export function roundsWorker(
  connection: Redis,
  prefix: string,
  o: {
    lockMs: number;
    concurrency: number;
    store: RoundStore;
    metrics: Metrics;
    log: Logger;
    deps: () => LeaderDeps;
  },
): Worker<RoundJob> {
  return new Worker<RoundJob>(
    ROUNDS_QUEUE,
    async (job: Job<RoundJob>) => {
      o.metrics.roundsRunning.inc();
      try {
        const rec = await runLeaderRound(job.data, o.deps());
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
        o.log.warn({ err, tid: job.id }, 'round job failed; BullMQ retries it from the persisted state');
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
