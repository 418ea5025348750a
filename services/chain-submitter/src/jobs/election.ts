import type { Logger } from '@whitepay/base';
import { ELECTION_QUEUE, type ElectionCheckJob, electionJobId } from '@whitepay/bus';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BlockHeader } from '../chain/window.js';

/**
 * Producer of the BullMQ queue `election-check` (packages/bus's
 * `ELECTION_QUEUE`, which the consensus-coordinator works): one job per
 * confirmed block, jobId `block-<number>`. After a reorganisation a job still
 * waiting gets the new canonical hash.
 */
export class ElectionQueue {
  readonly queue: Queue<ElectionCheckJob>;

  constructor(
    connection: Redis,
    private readonly log: Logger,
    prefix?: string,
  ) {
    this.queue = new Queue<ElectionCheckJob>(ELECTION_QUEUE, {
      connection,
      ...(prefix === undefined ? {} : { prefix }),
      defaultJobOptions: {
        removeOnComplete: { count: 10_000 },
        removeOnFail: { count: 10_000 },
        attempts: 3,
        backoff: { type: 'exponential', delay: 500 },
      },
    });
  }

  async enqueue(h: BlockHeader): Promise<void> {
    const jobId = electionJobId(h.number);
    const existing = await this.queue.getJob(jobId);
    if (existing) {
      if (existing.data.hash !== h.hash) {
        const state = await existing.getState();
        if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
          await existing.updateData({ number: h.number, hash: h.hash });
          this.log.info({ jobId, hash: h.hash }, 'election job updated to the canonical block');
        }
      }
      return;
    }
    // Two replicas may race past getJob: the jobId makes the second add a no-op.
    await this.queue.add('block', { number: h.number, hash: h.hash }, { jobId });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
