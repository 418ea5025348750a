import { type Logger, WhitePayError } from '@whitepay/base';
import type { BusVerifier, Subjects } from '@whitepay/bus';
import { insertChallengeRecords, type Pool, type RecordRow, StoreError } from '@whitepay/store';
import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  type NatsConnection,
  type Subscription,
} from 'nats';
import type { Metrics } from '../metrics.js';
import { decodeRecord } from './decode.js';

export interface IngestorOptions {
  nc: NatsConnection;
  pool: Pool;
  subjects: Subjects;
  /** Records (and the headers of the head metric) must carry this keeper's bus signature. */
  verifier: BusVerifier;
  consumerName: string;
  keeperId: number;
  batchMax: number;
  batchWaitMs: number;
  /** Batches written concurrently (each its own transaction and connection; order does not matter). */
  writers: number;
  /** Sealed batches that wait for a free writer, at most (beyond those being written). */
  pipelineDepth: number;
  maxAckPending: number;
  ackWaitMs: number;
  lagPollMs: number;
  metrics: Metrics;
  log: Logger;
}

/** Decoded rows and the messages to acknowledge once they are committed (same order). */
interface Batch {
  rows: RecordRow[];
  msgs: JsMsg[];
}

const BOUNDARY = 'nats:records';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Drains `<ns>.records.>` into `challenge_records` exactly once in effect:
 * a durable pull consumer (explicit acks, shared by the replicas) delivers
 * records; they are decoded as they arrive, batched (up to `batchMax`, or
 * what arrived within `batchWaitMs`), written in one idempotent transaction,
 * and only then acknowledged. A crash before the ack redelivers them; the
 * unique key makes the second write a no-op. A record without this
 * keeper's bus signature (unsigned, signed by another key, moved to another
 * subject or altered) is terminated and counted before it is even decoded. A
 * malformed record is terminated (never redelivered) and counted; the rest of
 * its batch goes on.
 * While the database is unavailable the batch is retried, its messages (and
 * those of the batches queued behind it) kept alive with `working()`.
 *
 * The stages overlap: while `writers` batches are being written (each on its
 * own pooled connection), the consumer keeps filling the next batch and up
 * to `pipelineDepth` sealed batches wait for a writer. Only when that queue
 * is full does the consumer wait; what the server delivers meanwhile is
 * bounded by `maxAckPending` (which should exceed
 * `(writers + pipelineDepth + 1) × batchMax`, or the pipeline never fills).
 * The acks of a batch follow its COMMIT; batches commit in any order (the
 * unique key makes order irrelevant). Stopping drains the pipeline: the
 * batch being filled, the queued ones and those being written are written
 * and acked — unless the database is down, then they are left to redelivery.
 */
export class Ingestor {
  private readonly log: Logger;
  private messages: ConsumerMessages | undefined;
  private blocksSub: Subscription | undefined;
  private filling: Batch = { rows: [], msgs: [] };
  private timer: NodeJS.Timeout | undefined;
  /** Sealed batches waiting for a writer, oldest first. */
  private readonly queue: Batch[] = [];
  /** Wakes idle writers (a batch was queued, or stopping). */
  private wakeWriters: Array<() => void> = [];
  /** Wakes the consumer waiting for room in the queue. */
  private wakeConsumer: (() => void) | undefined;
  private writerLoops: Promise<void>[] = [];
  private loop: Promise<void> | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Stopping while the database is down: queued batches are nak'ed, not written. */
  private abandon = false;
  /** Set once nothing more will be queued: idle writers exit when the queue is empty. */
  private closed = false;
  private lastBlock = -1n;
  private chainHead = -1n;

  constructor(private readonly o: IngestorOptions) {
    this.log = o.log.child({ component: 'ingest' });
  }

  /** Creates (or updates) the durable consumer and starts draining. */
  async start(): Promise<void> {
    const { nc, subjects: s } = this.o;
    const held = (this.o.writers + this.o.pipelineDepth + 1) * this.o.batchMax;
    if (this.o.maxAckPending < held)
      this.log.warn(
        { maxAckPending: this.o.maxAckPending, held },
        'MAX_ACK_PENDING is below (WRITERS + PIPELINE_DEPTH + 1) × BATCH_MAX: the server stops delivering before the pipeline is full',
      );
    const jsm = await nc.jetstreamManager();
    const cfg = {
      durable_name: this.o.consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: s.records,
      max_ack_pending: this.o.maxAckPending,
      ack_wait: this.o.ackWaitMs * 1_000_000,
      max_deliver: -1,
    };
    try {
      await jsm.consumers.info(s.streams.records, this.o.consumerName);
      await jsm.consumers.update(s.streams.records, this.o.consumerName, {
        max_ack_pending: cfg.max_ack_pending,
        ack_wait: cfg.ack_wait,
      });
    } catch (err) {
      if (!/consumer not found/i.test(String(err)) && (err as { code?: string }).code !== '404') throw err;
      await jsm.consumers.add(s.streams.records, cfg);
    }
    const consumer = await nc.jetstream().consumers.get(s.streams.records, this.o.consumerName);
    this.writerLoops = Array.from({ length: this.o.writers }, () => this.writer());
    this.messages = await consumer.consume({
      max_messages: Math.min(this.o.maxAckPending, this.o.batchMax * 2),
    });
    this.loop = this.pump(this.messages);
    this.blocksSub = nc.subscribe(s.blocks, {
      callback: (err, m) => {
        if (err) return;
        if (
          !this.o.verifier.accept(m, {
            boundary: 'nats:blocks',
            rejected: this.o.metrics.rejected,
            log: this.log,
          })
        )
          return;
        try {
          const n = (JSON.parse(new TextDecoder().decode(m.data)) as { number?: unknown }).number;
          if (typeof n === 'number' || typeof n === 'string') this.observeHead(BigInt(n));
        } catch {
          // not a block header: ignore (the chain-submitter owns that subject)
        }
      },
    });
    this.lagTimer = setInterval(() => void this.pollLag(consumer), this.o.lagPollMs);
    this.lagTimer.unref();
  }

  /**
   * Stops consuming; what was already received is written and acknowledged
   * (the batch being filled, the queued ones and those being written).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.blocksSub?.unsubscribe();
    this.messages?.stop();
    this.wakeConsumer?.();
    await this.loop;
    this.seal();
    this.closed = true;
    for (const w of this.wakeWriters.splice(0)) w();
    await Promise.allSettled(this.writerLoops);
  }

  private async pump(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        this.add(m);
        if (this.filling.msgs.length >= this.o.batchMax) {
          // Room in the queue first: this is the only place the consumer waits.
          while (this.queue.length >= this.o.pipelineDepth && !this.stopping)
            await new Promise<void>((r) => {
              this.wakeConsumer = r;
            });
          this.seal();
        } else this.timer ??= setTimeout(this.sealOnTimer, this.o.batchWaitMs);
      }
    } catch (err) {
      if (!this.stopping) this.log.error({ err }, 'consumer stopped');
    }
  }

  /**
   * Checks one message's bus signature and decodes it into the batch being filled; an unsigned or
   * foreign one, or a malformed one, is terminated at once.
   */
  private add(m: JsMsg): void {
    if (
      !this.o.verifier.accept(m, { boundary: BOUNDARY, rejected: this.o.metrics.rejected, log: this.log })
    ) {
      m.term();
      return;
    }
    try {
      this.filling.rows.push(decodeRecord(m.data, this.o.keeperId));
      this.filling.msgs.push(m);
    } catch (err) {
      this.reject(m, err instanceof WhitePayError ? err : new WhitePayError('RECORD_MALFORMED', String(err)));
    }
  }

  /**
   * `batchWaitMs` after a batch's first record: seals it, partial, unless the
   * queue is full — then it waits another `batchWaitMs` (so the queue never
   * holds more than `pipelineDepth` batches).
   */
  private readonly sealOnTimer = (): void => {
    this.timer = undefined;
    if (this.queue.length >= this.o.pipelineDepth && !this.stopping)
      this.timer = setTimeout(this.sealOnTimer, this.o.batchWaitMs);
    else this.seal();
  };

  /** Queues the batch being filled (when it holds anything) and wakes a writer. */
  private seal(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.filling.msgs.length === 0) return;
    this.queue.push(this.filling);
    this.filling = { rows: [], msgs: [] };
    this.wakeWriters.shift()?.();
  }

  /** One writer: takes the oldest queued batch, writes it, acks it; until stopped and the queue is empty. */
  private async writer(): Promise<void> {
    for (;;) {
      const batch = this.queue.shift();
      if (!batch) {
        if (this.closed) return;
        await new Promise<void>((r) => this.wakeWriters.push(r));
        continue;
      }
      const wake = this.wakeConsumer;
      this.wakeConsumer = undefined;
      wake?.();
      if (this.abandon) {
        for (const m of batch.msgs) m.nak();
        continue;
      }
      await this.writeBatch(batch).catch((err: unknown) =>
        this.log.error({ err }, 'batch write failed; left for redelivery'),
      );
    }
  }

  private reject(m: JsMsg, err: WhitePayError): void {
    this.o.metrics.rejected.inc({ boundary: BOUNDARY, reason: err.code });
    this.log.warn({ subject: m.subject, seq: m.seq, code: err.code, reason: err.message }, 'record rejected');
    m.term();
  }

  private async writeBatch({ rows, msgs }: Batch): Promise<void> {
    const t0 = performance.now();
    const result = await this.insertWithRetry(rows, msgs);
    if (!result) {
      // stopping while the database is down: left unacked, redelivered later (the queue too)
      this.abandon = true;
      return;
    }
    for (const m of result.ok) m.ack();
    this.o.metrics.batchSeconds.observe((performance.now() - t0) / 1000);
    this.o.metrics.batchSize.observe(rows.length);
    this.o.metrics.ingested.inc({ result: 'inserted' }, result.inserted);
    if (result.duplicates) this.o.metrics.ingested.inc({ result: 'duplicate' }, result.duplicates);
    let max = this.lastBlock;
    for (const r of rows) if (r.block > max) max = r.block;
    if (max > this.lastBlock) {
      this.lastBlock = max;
      this.o.metrics.lastBlock.set(Number(max));
      this.updateBlockLag();
    }
  }

  private async insertWithRetry(
    rows: RecordRow[],
    msgs: JsMsg[],
  ): Promise<{ ok: JsMsg[]; inserted: number; duplicates: number } | undefined> {
    let delay = 100;
    for (;;) {
      try {
        const r = await insertChallengeRecords(this.o.pool, rows);
        return { ok: msgs, ...r };
      } catch (err) {
        const e =
          err instanceof StoreError
            ? err
            : new StoreError('STORE_INTERNAL', String(err), { kind: 'internal' });
        if (e.kind !== 'unavailable') return this.isolate(rows, msgs, e);
        if (this.stopping) return undefined;
        this.o.metrics.writeRetries.inc();
        this.log.warn(
          { code: e.code, reason: e.message, rows: rows.length, retryInMs: delay },
          'database unavailable; retrying batch',
        );
        for (const m of msgs) m.working();
        for (const queued of this.queue) for (const m of queued.msgs) m.working();
        await sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  /** A batch failed for a reason other than availability: write row by row to isolate the bad ones. */
  private async isolate(
    rows: RecordRow[],
    msgs: JsMsg[],
    cause: StoreError,
  ): Promise<{ ok: JsMsg[]; inserted: number; duplicates: number } | undefined> {
    this.log.error(
      { code: cause.code, reason: cause.message },
      'batch refused; writing its records one by one',
    );
    const ok: JsMsg[] = [];
    let inserted = 0;
    let duplicates = 0;
    for (let i = 0; i < rows.length; i++) {
      const m = msgs[i]!;
      try {
        const r = await insertChallengeRecords(this.o.pool, [rows[i]!]);
        inserted += r.inserted;
        duplicates += r.duplicates;
        ok.push(m);
      } catch (err) {
        const e =
          err instanceof StoreError
            ? err
            : new StoreError('STORE_INTERNAL', String(err), { kind: 'internal' });
        if (e.kind === 'unavailable') {
          // leave the rest unacked: redelivered and retried
          for (const rest of msgs.slice(i)) rest.nak(1000);
          break;
        }
        this.reject(m, e);
      }
    }
    return { ok, inserted, duplicates };
  }

  private observeHead(n: bigint): void {
    if (n <= this.chainHead) return;
    this.chainHead = n;
    this.o.metrics.chainHead.set(Number(n));
    this.updateBlockLag();
  }

  private updateBlockLag(): void {
    if (this.chainHead >= 0n && this.lastBlock >= 0n)
      this.o.metrics.blockLag.set(
        Number(this.chainHead > this.lastBlock ? this.chainHead - this.lastBlock : 0n),
      );
  }

  private async pollLag(consumer: Consumer): Promise<void> {
    try {
      const info = await consumer.info(false);
      this.o.metrics.pending.set({ kind: 'pending' }, info.num_pending);
      this.o.metrics.pending.set({ kind: 'ack_pending' }, info.num_ack_pending);
    } catch (err) {
      this.log.debug({ err: String(err) }, 'consumer info failed');
    }
  }

  /** Pending messages (not yet delivered + delivered unacked), read now from the server. */
  async lag(): Promise<{ pending: number; ackPending: number }> {
    const info = await this.o.nc
      .jetstream()
      .consumers.get(this.o.subjects.streams.records, this.o.consumerName);
    const i = await info.info(false);
    return { pending: i.num_pending, ackPending: i.num_ack_pending };
  }
}
