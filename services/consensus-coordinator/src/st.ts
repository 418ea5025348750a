import type { RecordRef } from '@whitepay/core';
import { stV1 } from '@whitepay/proto';
import { call, clientOptions, type grpc, insecure } from '@whitepay/rpc';
import pLimit, { type LimitFunction } from 'p-limit';
import { type Address, hexToBytes } from 'viem';
import { CoordinatorError } from './errors.js';

/**
 * This keeper's own st (SPEC 4) for every entry of a round, and the records it can vouch for (SPEC 3
 * item 5) — the st-calculator's answers.
 */
export interface StSource {
  /**
   * The st of every entry (one user's round), in order; all or nothing. `deadline`: when the answer is
   * of no use any more (a follower's: the leader's deadline for the attempt); the calls end before it.
   */
  computeStBatch(q: {
    user: Address;
    entries: readonly { pid: Address; ts: bigint; te: bigint }[];
    includePeers: boolean;
    deadline?: Date | undefined;
  }): Promise<bigint[]>;
  /** Per entry, in order: the first verified record in [ts, te) this keeper holds of each of `keeperIds`. */
  listVouches(q: {
    user: Address;
    entries: readonly { pid: Address; ts: bigint; te: bigint }[];
    keeperIds: readonly number[];
    deadline?: Date | undefined;
  }): Promise<RecordRef[][]>;
  ready(): Promise<void>;
  close(): void;
}

function waitReady(client: grpc.Client, ms: number): Promise<void> {
  return new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + ms, (err) => (err ? reject(err) : resolve())),
  );
}

/** Entries per `ComputeStBatch` call; a larger batch is split into calls of this size, run in parallel. */
export const ST_BATCH_CHUNK = 250;
/** Deadline added per entry of a `ComputeStBatch` call (ms), on top of the per-call deadline. */
export const ST_BATCH_MS_PER_ENTRY = 10;
/**
 * Time kept back from a caller's deadline for what follows the st-calculator's answer (ms): the
 * follower stores its commitment and seals its reply before the leader's deadline.
 */
export const ST_REPLY_RESERVE_MS = 250;

/**
 * The deadline of one st-calculator call (ms from now): `configuredMs`, cut to what the caller's
 * `deadline` leaves after `ST_REPLY_RESERVE_MS`; `null` when that is nothing.
 */
export function stCallDeadlineMs(
  configuredMs: number,
  deadline: Date | undefined,
  now: number,
): number | null {
  if (!deadline) return configuredMs;
  const left = deadline.getTime() - now - ST_REPLY_RESERVE_MS;
  return left < 1 ? null : Math.min(configuredMs, left);
}

function decimal(st: string): bigint {
  if (!/^\d+$/.test(st)) throw new Error(`st-calculator answered a non-decimal st "${st}"`);
  return BigInt(st);
}

/**
 * The st-calculator over gRPC (`StCalculatorService.ComputeSt`) with a
 * deadline per call and at most `concurrency` calls in flight per process: a
 * batch round asks for every entry's st at once (hundreds), and unbounded that
 * queued them all on the calculator's few database connections until their
 * deadlines passed (seen at 10,000 providers). A call's deadline starts when
 * it is sent, not while it waits for a slot.
 */
export class GrpcStSource implements StSource {
  private readonly client: stV1.StCalculatorServiceClient;
  private readonly limit: LimitFunction;
  constructor(
    address: string,
    private readonly deadlineMs: number,
    concurrency = 16,
    /** The release's internal token, when the st-calculator requires one. */
    token?: string,
    /** The st-calculator's peer settle wait (ms): `ListVouches` deadlines allow for it. */
    private readonly peerSettleWaitMs = 0,
  ) {
    this.client = new stV1.StCalculatorServiceClient(address, insecure(), clientOptions({ token }));
    this.limit = pLimit(concurrency);
  }

  /**
   * One `ComputeStBatch` call per `ST_BATCH_CHUNK` entries (each takes one
   * slot of the concurrency limit), with the deadline grown by
   * `ST_BATCH_MS_PER_ENTRY` per entry.
   */
  async computeStBatch(q: {
    user: Address;
    entries: readonly { pid: Address; ts: bigint; te: bigint }[];
    includePeers: boolean;
    deadline?: Date | undefined;
  }): Promise<bigint[]> {
    return this.chunked(q.user, q.entries, 0, q.deadline, async (entries, deadlineMs) => {
      const res = await call(
        this.client,
        this.client.computeStBatch,
        { entries, includePeers: q.includePeers },
        { deadlineMs, name: 'ComputeStBatch' },
      );
      return res.results.map((r) => decimal(r.st));
    });
  }

  /** `ListVouches` per chunk, as `computeStBatch`; its deadline also covers the peer settle wait. */
  async listVouches(q: {
    user: Address;
    entries: readonly { pid: Address; ts: bigint; te: bigint }[];
    keeperIds: readonly number[];
    deadline?: Date | undefined;
  }): Promise<RecordRef[][]> {
    return this.chunked(q.user, q.entries, this.peerSettleWaitMs, q.deadline, async (entries, deadlineMs) => {
      const res = await call(
        this.client,
        this.client.listVouches,
        { entries, keeperIds: [...q.keeperIds] },
        { deadlineMs, name: 'ListVouches' },
      );
      return res.entries.map((e) => e.refs.map((r) => ({ keeperId: r.keeperId, block: r.block })));
    });
  }

  private async chunked<T>(
    userAddress: Address,
    all: readonly { pid: Address; ts: bigint; te: bigint }[],
    extraMs: number,
    callerDeadline: Date | undefined,
    run: (entries: stV1.StEntry[], deadlineMs: number) => Promise<T[]>,
  ): Promise<T[]> {
    const user = hexToBytes(userAddress);
    const chunks: (typeof all)[] = [];
    for (let i = 0; i < all.length; i += ST_BATCH_CHUNK) chunks.push(all.slice(i, i + ST_BATCH_CHUNK));
    const answers = await Promise.all(
      chunks.map((chunk) =>
        this.limit(async () => {
          // Taken when the chunk gets its slot: a chunk that waited for one has less of the caller's time.
          const deadlineMs = stCallDeadlineMs(
            this.deadlineMs + extraMs + chunk.length * ST_BATCH_MS_PER_ENTRY,
            callerDeadline,
            Date.now(),
          );
          if (deadlineMs === null)
            throw new CoordinatorError(
              'COORD_DEADLINE_PASSED',
              `the caller's deadline (${callerDeadline!.toISOString()}) leaves no time for the st-calculator`,
            );
          try {
            const out = await run(
              chunk.map((e) => ({ account: { user, pid: hexToBytes(e.pid) }, ts: e.ts, te: e.te })),
              deadlineMs,
            );
            if (out.length !== chunk.length)
              throw new Error(`st-calculator answered ${out.length} results for ${chunk.length} entries`);
            return out;
          } catch (err) {
            throw new CoordinatorError('COORD_ST_UNAVAILABLE', `st-calculator: ${(err as Error).message}`, {
              cause: err,
            });
          }
        }),
      ),
    );
    return answers.flat();
  }

  ready(): Promise<void> {
    return waitReady(this.client, 1_000);
  }

  close(): void {
    this.client.close();
  }
}
