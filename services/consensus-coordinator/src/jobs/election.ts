import type { Logger } from '@whitepay/base';
import { ELECTION_QUEUE, type ElectionCheckJob } from '@whitepay/bus';
import { groupByLeader, leaderAt, roundId } from '@whitepay/core';
import { type Job, type Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { encodeAbiParameters, type Hex, keccak256 } from 'viem';
import type { ChainView } from '../chain/view.js';
import type { Metrics } from '../metrics.js';
import type { RoundJob } from '../round/driver.js';
import type { RoundStore } from '../round/store.js';

/** The queue the chain-submitter fills (named in packages/bus): one job per confirmed block. */
export { ELECTION_QUEUE, type ElectionCheckJob };
/** The queue of rounds this keeper leads: jobId = round id, so replicas never run one round twice. */
export const ROUNDS_QUEUE = 'rounds';

export interface ElectionDeps {
  keeperId: number;
  chain: ChainView;
  store: RoundStore;
  rounds: Queue<RoundJob>;
  /** Most entries per round (`CONSENSUS_COORDINATOR_BATCH_MAX`, at most core's `MAX_ROUND_ENTRIES`): more are split. */
  batchMax: number;
  metrics: Metrics;
  log: Logger;
}

/** The value of the window claims of one round: `keccak256(upkeeping, block, position)`. */
export function roundClaimOf(upkeeping: Hex, block: bigint, position: number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'uint64' }, { type: 'uint8' }],
      [upkeeping, block, position],
    ),
  );
}

/**
 * SPEC 5 "on every new block, a job checks for each (user, pid) whether this
 * keeper leads now": for each served Upkeeping (read at the block), every
 * active provider this keeper leads at `te = block` (core's `groupByLeader`)
 * goes into one round per leader position — a list of `k >= 1` entries,
 * split into rounds of at most `batchMax`; each entry's window is claimed
 * (one round per window, entries whose window already has a round are left
 * out; a failed round releases its claims), and each round is queued with
 * jobId = its round id. One due provider is a round of one. Returns the
 * round ids started.
 */
export async function checkElection(block: bigint, d: ElectionDeps): Promise<string[]> {
  const started: string[] = [];
  let head: bigint | null = null;
  const views = await d.chain.served(block);
  // Overdue providers (the ProviderUnpaid alert): past ts + H + n*T, every keeper's first slot went by.
  d.metrics.providerOverdue.reset();
  for (const view of views) {
    const cycleEnd = view.H + BigInt(view.members.length) * view.T;
    for (const p of view.providers)
      if (block > p.ts + cycleEnd)
        d.metrics.providerOverdue.set(
          { upkeeping: view.upkeeping, pid: p.pid },
          Number(block - (p.ts + cycleEnd)),
        );
  }
  for (const view of views) {
    const keepers = view.members.map((m) => m.keeperId);
    const schedule = { user: view.user, keepers, H: view.H, T: view.T };
    // Only providers with a leader at this block (te >= ts + H): the ranking hashes are left for those.
    const candidates = view.providers
      .filter((p) => block >= p.ts + view.H && block > p.ts)
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
      const claim = roundClaimOf(view.upkeeping, block, position);
      const won = await d.store.claimLeads(
        list.map((e) => ({ upkeeping: view.upkeeping, pid: e.pid, ts: e.ts, cycle: e.cycle, position })),
        claim,
      );
      const claimedAll = list.filter((_, i) => won[i]);
      for (let from = 0; from < claimedAll.length; from += d.batchMax) {
        const claimed = claimedAll.slice(from, from + d.batchMax);
        const job: RoundJob = {
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
        const tid = roundId({
          user: view.user,
          leaderId: d.keeperId,
          r: position,
          items: claimed.map((e) => ({ pid: e.pid, ts: e.ts, te: block })),
        });
        await d.rounds.add('round', job, { jobId: tid });
        d.metrics.roundsStarted.inc();
        d.log.info({ tid, te: String(block), r: position, entries: claimed.length }, 'leading: round queued');
        started.push(tid);
      }
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
