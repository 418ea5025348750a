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
  /** Batches written concurrently (each its own transaction; order does not matter). */
  writers: number;
  maxAckPending: number;
  ackWaitMs: number;
  lagPollMs: number;
  metrics: Metrics;
  log: Logger;
}

const BOUNDARY = 'nats:records';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Drains `<ns>.records.>` into `challenge_records` exactly once in effect:
 * a durable pull consumer (explicit acks, shared by the replicas) delivers
 * records; they are decoded, batched (up to `batchMax`, or what arrived
 * within `batchWaitMs`), written in one idempotent transaction, and only then
 * acknowledged. A crash before the ack redelivers them; the unique key makes
 * the second write a no-op. A record without this keeper's bus signature
 * (unsigned, signed by another key, moved to another subject or altered) is
 * terminated and counted before it is even decoded. A malformed record is terminated (never
 * redelivered) and counted; the rest of its batch goes on. While the
 * database is unavailable the batch is retried, its messages kept alive with
 * `working()`.
 */
export class Ingestor {
  private readonly log: Logger;
  private messages: ConsumerMessages | undefined;
  private blocksSub: Subscription | undefined;
  private buffer: JsMsg[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private lastBlock = -1n;
  private chainHead = -1n;

  constructor(private readonly o: IngestorOptions) {
    this.log = o.log.child({ component: 'ingest' });
  }

  /** Creates (or updates) the durable consumer and starts draining. */
  async start(): Promise<void> {
    const { nc, subjects: s } = this.o;
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

  /** Stops consuming, writes and acknowledges what was already received. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.blocksSub?.unsubscribe();
    this.messages?.stop();
    await this.loop;
    await this.flush();
    await this.drainWrites();
  }

  private async pump(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        this.buffer.push(m);
        if (this.buffer.length >= this.o.batchMax) await this.flush();
        else this.timer ??= setTimeout(() => void this.flush(), this.o.batchWaitMs);
      }
    } catch (err) {
      if (!this.stopping) this.log.error({ err }, 'consumer stopped');
    }
  }

  /**
   * Writes what is buffered as one batch. Up to `writers` batches are written
   * at once (the unique key makes their order irrelevant); beyond that the
   * caller waits, which stops the pump and so bounds memory.
   */
  private async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.inFlight.size >= this.o.writers) await Promise.race(this.inFlight);
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    const p: Promise<void> = this.writeBatch(batch)
      .catch((err: unknown) => this.log.error({ err }, 'batch write failed; left for redelivery'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async drainWrites(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private reject(m: JsMsg, err: WhitePayError): void {
    this.o.metrics.rejected.inc({ boundary: BOUNDARY, reason: err.code });
    this.log.warn({ subject: m.subject, seq: m.seq, code: err.code, reason: err.message }, 'record rejected');
    m.term();
  }

  private async writeBatch(batch: JsMsg[]): Promise<void> {
    const rows: RecordRow[] = [];
    const msgs: JsMsg[] = [];
    for (const m of batch) {
      if (
        !this.o.verifier.accept(m, { boundary: BOUNDARY, rejected: this.o.metrics.rejected, log: this.log })
      ) {
        m.term();
        continue;
      }
      try {
        rows.push(decodeRecord(m.data, this.o.keeperId));
        msgs.push(m);
      } catch (err) {
        this.reject(
          m,
          err instanceof WhitePayError ? err : new WhitePayError('RECORD_MALFORMED', String(err)),
        );
      }
    }
    if (rows.length === 0) return;
    const t0 = performance.now();
    const result = await this.insertWithRetry(rows, msgs);
    if (!result) return; // stopping while the database is down: left unacked, redelivered later
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
