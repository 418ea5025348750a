/**
 * The BullMQ queue between the chain-submitter (producer) and the
 * consensus-coordinator (worker), SPEC 5 "on every new block, a job checks
 * ...": one job per confirmed block, jobId `block-<number>`, so a block
 * enqueued twice (a restart, another replica, a re-publish after a
 * reorganisation) is one job.
 */
export const ELECTION_QUEUE = 'election-check';

/** Data of an `election-check` job: the coordinator checks, for this block, which rounds it leads. */
export interface ElectionCheckJob {
  number: number;
  hash: string;
}

/** The jobId of a block's `election-check` job. */
export const electionJobId = (n: number): string => `block-${n}`;

/**
 * The BullMQ key prefix every service of a keeper uses: the configured one,
 * else `whitepay:<namespace>:bull` (per keeper namespace, so keepers sharing
 * one Redis, as the local network does, keep apart queues).
 */
export function queuePrefix(ns: string, configured?: string): string {
  return configured ?? `whitepay:${ns}:bull`;
}
