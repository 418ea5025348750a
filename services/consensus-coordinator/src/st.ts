import { stV1 } from '@whitepay/proto';
import { call, clientOptions, type grpc, insecure } from '@whitepay/rpc';
import pLimit, { type LimitFunction } from 'p-limit';
import { type Address, hexToBytes } from 'viem';
import { CoordinatorError } from './errors.js';

/** This keeper's own st (SPEC 4) — the st-calculator's answer. */
/** This keeper's own st (SPEC 4) — the st-calculator's answer — for every entry of a round. */
export interface StSource {
  /** The st of every entry (one user's round), in order; all or nothing. */
  computeStBatch(q: {
    user: Address;
    entries: readonly { pid: Address; ts: bigint; te: bigint }[];
    includePeers: boolean;
  }): Promise<bigint[]>;
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
  }): Promise<bigint[]> {
    const user = hexToBytes(q.user);
    const chunks: (typeof q.entries)[] = [];
    for (let i = 0; i < q.entries.length; i += ST_BATCH_CHUNK)
      chunks.push(q.entries.slice(i, i + ST_BATCH_CHUNK));
    const answers = await Promise.all(
      chunks.map((chunk) =>
        this.limit(async () => {
          try {
            const res = await call(
              this.client,
              this.client.computeStBatch,
              {
                entries: chunk.map((e) => ({
                  account: { user, pid: hexToBytes(e.pid) },
                  ts: e.ts,
                  te: e.te,
                })),
                includePeers: q.includePeers,
              },
              { deadlineMs: this.deadlineMs + chunk.length * ST_BATCH_MS_PER_ENTRY, name: 'ComputeStBatch' },
            );
            if (res.results.length !== chunk.length)
              throw new Error(
                `st-calculator answered ${res.results.length} results for ${chunk.length} entries`,
              );
            return res.results.map((r) => decimal(r.st));
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
