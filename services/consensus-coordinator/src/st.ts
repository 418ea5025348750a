import { stV1 } from '@whitepay/proto';
import { call, type grpc, insecure } from '@whitepay/rpc';
import pLimit, { type LimitFunction } from 'p-limit';
import { type Address, hexToBytes } from 'viem';
import { CoordinatorError } from './errors.js';

/** This keeper's own st (SPEC 4) — the st-calculator's answer. */
export interface StSource {
  computeSt(q: {
    user: Address;
    pid: Address;
    ts: bigint;
    te: bigint;
    includePeers: boolean;
  }): Promise<bigint>;
  ready(): Promise<void>;
  close(): void;
}

function waitReady(client: grpc.Client, ms: number): Promise<void> {
  return new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + ms, (err) => (err ? reject(err) : resolve())),
  );
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
  ) {
    this.client = new stV1.StCalculatorServiceClient(address, insecure());
    this.limit = pLimit(concurrency);
  }

  computeSt(q: { user: Address; pid: Address; ts: bigint; te: bigint; includePeers: boolean }) {
    return this.limit(() => this.computeNow(q));
  }

  private async computeNow(q: {
    user: Address;
    pid: Address;
    ts: bigint;
    te: bigint;
    includePeers: boolean;
  }) {
    try {
      const res = await call(
        this.client,
        this.client.computeSt,
        {
          account: { user: hexToBytes(q.user), pid: hexToBytes(q.pid) },
          ts: q.ts,
          te: q.te,
          includePeers: q.includePeers,
        },
        { deadlineMs: this.deadlineMs, name: 'ComputeSt' },
      );
      if (!/^\d+$/.test(res.st)) throw new Error(`st-calculator answered a non-decimal st "${res.st}"`);
      return BigInt(res.st);
    } catch (err) {
      throw new CoordinatorError('COORD_ST_UNAVAILABLE', `st-calculator: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  ready(): Promise<void> {
    return waitReady(this.client, 1_000);
  }

  close(): void {
    this.client.close();
  }
}
