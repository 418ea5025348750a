import type { Logger } from '@whitepay/base';
import { subjects } from '@whitepay/bus';
import type { Group } from '@whitepay/peer';
import { challengeV1 } from '@whitepay/proto';
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import { bytesToHex } from 'viem';
import { type ChainView, groupOf } from '../chain/view.js';
import type { Metrics } from '../metrics.js';
import type { PeerClients } from './client.js';

/**
 * Where the challenger hands signed records for the peers (its
 * `PeerBroadcaster` seam): subject `<ns>.peer-out`, stream `<NS>_PEER_OUT`,
 * both named by packages/bus's `subjects`. The challenger creates the
 * stream; the forwarder only reads it.
 */
export function peerOutOf(ns: string): { subject: string; stream: string } {
  const s = subjects(ns);
  return { subject: s.peerOut, stream: s.streams.peerOut };
}

export const FORWARDER_CONSUMER = 'consensus-coordinator-forward';

/** The deadline of a PushRecords of `records` records (ms): a base plus an allowance per record. */
export function pushDeadlineMs(
  records: number,
  o: { deadlineMs: number; deadlinePerRecordMs: number },
): number {
  return o.deadlineMs + o.deadlinePerRecordMs * records;
}

export interface ForwarderOptions {
  nc: NatsConnection;
  ns: string;
  keeperId: number;
  chain: Pick<ChainView, 'served' | 'headBlock'>;
  peers: Pick<PeerClients, 'pushRecords'>;
  /** Base deadline of one PushRecords call (ms); `pushDeadlineMs` adds `deadlinePerRecordMs` per record. */
  deadlineMs: number;
  deadlinePerRecordMs: number;
  /** Messages fetched together, and the most records of one PushRecords. */
  batchMax: number;
  /** Byte budget of one PushRecords (encoded records). */
  batchMaxBytes: number;
  /** Longest a fetch waits for `batchMax` messages before the batch goes out (ms). */
  flushMs: number;
  /** First redelivery delay after a peer was unreachable or late; doubles per delivery up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Deliveries of one message before it is given up (the full sync of SPEC 6.4 still covers it). */
  maxDeliver: number;
  ackWaitMs: number;
  /** A peer lagging more blocks than this is reported by `lagging()` (the /readyz check). */
  lagMaxBlocks: number;
  /** How often the lag and pending gauges are refreshed (ms); default 2000. */
  lagPollMs?: number;
  metrics: Pick<
    Metrics,
    'forwarded' | 'rejected' | 'pushes' | 'pushWindow' | 'broadcastLag' | 'peerOutPending'
  >;
  log: Logger;
}

type PushOutcome = 'answered' | 'refused' | 'deadline_exceeded' | 'unavailable';

/** What this replica knows of one peer. */
interface PeerState {
  /** Most records of the next push (AIMD). */
  window: number;
  /** Consecutive pushes that failed (deadline or unavailable). */
  failures: number;
  /** No push before this time (ms since the epoch). */
  retryAt: number;
  /** What was last logged about it: a warn is written once per change. */
  health: 'ok' | 'late' | 'unreachable';
  /** Stream sequence → block of the records it has not answered, and when this replica last held each. */
  pending: Map<number, { block: bigint; seenMs: number }>;
  lag: bigint;
}

const BOUNDARY = 'nats:peer-out';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const notFound = (err: unknown) =>
  (err as { code?: string }).code === '404' || /not found/i.test(String(err));

/**
 * The record broadcast of SPEC 3 step 4. A durable pull consumer on
 * `<NS>_PEER_OUT` (shared by the replicas) delivers this keeper's signed
 * records, in batches of at most `batchMax` messages or what arrived within
 * `flushMs`; they are grouped by user, and each other member of that user's
 * group (read from the chain) gets them in signed `PushRecords` calls of at
 * most its window of records and `batchMaxBytes` bytes, each with a deadline
 * that follows its size (`pushDeadlineMs`). A message is acknowledged once
 * every peer has answered it definitively — accepted, duplicate, or refused
 * (a typed refusal is not retried).
 *
 * Backpressure, per peer: a push past its deadline halves that peer's window
 * (down to one record) and an answered one grows it back by `batchMax / 16`
 * (AIMD); a push that fails (deadline or unavailable) also holds that peer
 * back — no push to it before a delay doubling per consecutive failure from
 * `backoffMs` to `backoffMaxMs`, and the rest of its records in the batch
 * are not sent. Its messages are nak-ed with at least that delay and
 * redelivered, sent then only to the peers that still miss them, at most
 * `maxDeliver` times; beyond that the peer fills the gap through the full
 * sync's PullRecords. A redelivered record the peer already stored costs it
 * one key lookup (the challenge-store does not re-verify it). A peer turning
 * late or unreachable is logged at warn once, and its recovery at info.
 *
 * Lag, per peer: `whitepay_peer_broadcast_lag_blocks{peer}` is the head minus
 * the block of the oldest record it has not answered, as this replica sees
 * it (a message another replica took over is forgotten after
 * `backoffMaxMs + ackWaitMs` without a delivery here).
 */
export class RecordForwarder {
  private readonly log: Logger;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  /** Stream sequence → peers that already answered it definitively (this replica). */
  private readonly done = new Map<number, Set<number>>();
  private readonly peerState = new Map<number, PeerState>();
  private readonly step: number;

  constructor(private readonly o: ForwarderOptions) {
    this.log = o.log.child({ component: 'forwarder' });
    this.step = Math.max(1, Math.ceil(o.batchMax / 16));
  }

  start(): void {
    this.loop = this.run();
    this.lagTimer = setInterval(() => void this.refreshGauges(), this.o.lagPollMs ?? 2_000);
    this.lagTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.lagTimer);
    await this.loop;
  }

  /** Peers whose lag exceeds `lagMaxBlocks` at the last refresh (the /readyz `broadcast` check). */
  lagging(): Array<{ peer: number; lagBlocks: bigint }> {
    return [...this.peerState]
      .filter(([, st]) => st.lag > BigInt(this.o.lagMaxBlocks))
      .map(([peer, st]) => ({ peer, lagBlocks: st.lag }));
  }

  /** The /readyz check: throws naming the peers past `lagMaxBlocks`. */
  async checkLag(): Promise<void> {
    const behind = this.lagging();
    if (behind.length > 0)
      throw new Error(
        `record broadcast behind: ${behind.map((b) => `peer ${b.peer} ${b.lagBlocks} blocks`).join(', ')} (max ${this.o.lagMaxBlocks})`,
      );
  }

  private stateOf(peer: number): PeerState {
    let st = this.peerState.get(peer);
    if (!st) {
      st = { window: this.o.batchMax, failures: 0, retryAt: 0, health: 'ok', pending: new Map(), lag: 0n };
      this.peerState.set(peer, st);
      this.o.metrics.pushWindow.set({ peer: String(peer) }, st.window);
    }
    return st;
  }

  /** Recomputes every peer's lag from the head, and the consumer's pending counts. */
  async refreshGauges(): Promise<void> {
    let head: bigint;
    try {
      head = await this.o.chain.headBlock(1_000);
    } catch (err) {
      this.log.debug({ err }, 'lag not refreshed: no chain head');
      return;
    }
    const forgetBefore = Date.now() - (this.o.backoffMaxMs + this.o.ackWaitMs + this.o.flushMs);
    for (const [peer, st] of this.peerState) {
      let oldest: bigint | undefined;
      for (const [seq, p] of st.pending) {
        if (p.seenMs < forgetBefore) st.pending.delete(seq);
        else if (oldest === undefined || p.block < oldest) oldest = p.block;
      }
      st.lag = oldest === undefined || head <= oldest ? 0n : head - oldest;
      this.o.metrics.broadcastLag.set({ peer: String(peer) }, Number(st.lag));
    }
    try {
      const jsm = await this.o.nc.jetstreamManager();
      const info = await jsm.consumers.info(peerOutOf(this.o.ns).stream, FORWARDER_CONSUMER);
      this.o.metrics.peerOutPending.set({ kind: 'pending' }, info.num_pending);
      this.o.metrics.peerOutPending.set({ kind: 'ack_pending' }, info.num_ack_pending);
    } catch (err) {
      this.log.debug({ err }, 'peer-out consumer info unavailable');
    }
  }

  private async ensureConsumer(): Promise<boolean> {
    const { stream } = peerOutOf(this.o.ns);
    const jsm = await this.o.nc.jetstreamManager();
    try {
      await jsm.consumers.info(stream, FORWARDER_CONSUMER);
      return true;
    } catch (err) {
      if (!notFound(err)) throw err;
    }
    try {
      await jsm.consumers.add(stream, {
        durable_name: FORWARDER_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: this.o.ackWaitMs * 1_000_000,
        max_deliver: this.o.maxDeliver,
        max_ack_pending: 10_000,
      });
      return true;
    } catch (err) {
      // The stream does not exist yet (the challenger creates it), or another replica added the consumer.
      if (notFound(err)) return false;
      await jsm.consumers.info(stream, FORWARDER_CONSUMER);
      return true;
    }
  }

  private async run(): Promise<void> {
    let waiting = false;
    while (!this.stopping) {
      try {
        if (!(await this.ensureConsumer())) {
          if (!waiting)
            this.log.info({ stream: peerOutOf(this.o.ns).stream }, 'waiting for the peer-out stream');
          waiting = true;
          await sleep(1_000);
          continue;
        }
        const consumer = await this.o.nc
          .jetstream()
          .consumers.get(peerOutOf(this.o.ns).stream, FORWARDER_CONSUMER);
        this.log.info('forwarding records to the peers');
        while (!this.stopping) {
          const batch: JsMsg[] = [];
          const iter = await consumer.fetch({ max_messages: this.o.batchMax, expires: this.o.flushMs });
          for await (const m of iter) batch.push(m);
          if (batch.length > 0) await this.forward(batch);
        }
      } catch (err) {
        if (this.stopping) break;
        this.log.warn({ err }, 'peer-out consumer failed; retrying');
        await sleep(1_000);
      }
    }
  }

  /** Forwards one batch; every message ends acked, nak-ed with a delay, or terminated. */
  async forward(batch: JsMsg[]): Promise<void> {
    const byUser = new Map<string, Array<{ m: JsMsg; rec: challengeV1.SignedRecord }>>();
    for (const m of batch) {
      let rec: challengeV1.SignedRecord;
      try {
        rec = challengeV1.SignedRecord.decode(m.data);
        if (rec.record?.user.length !== 20) throw new Error('no record or bad user');
      } catch (err) {
        this.o.metrics.rejected.inc({ boundary: BOUNDARY, reason: 'RECORD_MALFORMED' });
        this.log.warn({ seq: m.seq, err: (err as Error).message }, 'malformed peer-out message dropped');
        m.term();
        continue;
      }
      const user = bytesToHex(rec.record.user).toLowerCase();
      const list = byUser.get(user) ?? [];
      list.push({ m, rec });
      byUser.set(user, list);
    }
    if (byUser.size === 0) return;
    const served = await this.o.chain.served(await this.o.chain.headBlock(1_000));
    await Promise.all(
      [...byUser].map(async ([user, items]) => {
        const view = served.find((v) => v.user.toLowerCase() === user);
        if (!view) {
          this.o.metrics.rejected.inc({ boundary: BOUNDARY, reason: 'ROUND_UNKNOWN_GROUP' });
          this.log.warn(
            { user, records: items.length },
            'no served Upkeeping for this user: records dropped',
          );
          for (const { m } of items) m.term();
          return;
        }
        const group = groupOf(view);
        const peers = view.members.map((k) => k.keeperId).filter((id) => id !== this.o.keeperId);
        /** Message → the peers it failed for this time. */
        const failed = new Map<JsMsg, number[]>();
        await Promise.all(
          peers.map(async (peer) => {
            const todo = items.filter(({ m }) => !this.done.get(m.seq)?.has(peer));
            for (const t of await this.sendTo(peer, group, todo, batch)) {
              const list = failed.get(t.m) ?? [];
              list.push(peer);
              failed.set(t.m, list);
            }
          }),
        );
        for (const { m } of items) {
          const missing = failed.get(m);
          if (!missing) {
            m.ack();
            this.settled(m.seq, peers);
          } else if (m.info.redeliveryCount + 1 >= this.o.maxDeliver) {
            this.o.metrics.forwarded.inc({ outcome: 'given_up' });
            this.log.warn(
              { seq: m.seq, peers: missing },
              'peers unreachable for every delivery: record left to the full sync',
            );
            m.term();
            this.settled(m.seq, peers);
          } else {
            // Not before the peers it failed for take pushes again.
            const held = Math.max(...missing.map((p) => this.stateOf(p).retryAt)) - Date.now();
            const backoff = this.o.backoffMs * 2 ** m.info.redeliveryCount;
            m.nak(Math.min(this.o.backoffMaxMs, Math.max(backoff, held)));
          }
        }
      }),
    );
  }

  /** A message is out of this replica's hands: acked or given up. */
  private settled(seq: number, peers: readonly number[]): void {
    this.done.delete(seq);
    for (const p of peers) this.peerState.get(p)?.pending.delete(seq);
  }

  /**
   * Pushes `todo` to one peer in chunks of its window and the byte budget, one
   * after the other; returns the items it did not answer (a failed push stops
   * the rest, and a peer held back after a failure gets none).
   */
  private async sendTo<T extends { m: JsMsg; rec: challengeV1.SignedRecord }>(
    peer: number,
    group: Group,
    todo: readonly T[],
    batch: readonly JsMsg[],
  ): Promise<T[]> {
    const st = this.stateOf(peer);
    const now = Date.now();
    for (const { m, rec } of todo) st.pending.set(m.seq, { block: rec.record!.block, seenMs: now });
    let i = 0;
    while (i < todo.length) {
      if (Date.now() < st.retryAt) break;
      const chunk: T[] = [];
      let bytes = 0;
      for (let j = i; j < todo.length && chunk.length < st.window; j++) {
        const size = todo[j]!.m.data.length;
        if (chunk.length > 0 && bytes + size > this.o.batchMaxBytes) break;
        chunk.push(todo[j]!);
        bytes += size;
      }
      // The batch stays this replica's while its pushes take their (grown) deadlines.
      for (const m of batch) m.working();
      const outcome = await this.push(
        peer,
        group,
        chunk.map((t) => t.rec),
        bytes,
      );
      if (outcome === 'deadline_exceeded' || outcome === 'unavailable') break;
      for (const { m } of chunk) {
        const set = this.done.get(m.seq) ?? new Set<number>();
        set.add(peer);
        this.done.set(m.seq, set);
        st.pending.delete(m.seq);
      }
      i += chunk.length;
    }
    return todo.slice(i);
  }

  private async push(
    peer: number,
    group: Group,
    records: challengeV1.SignedRecord[],
    bytes: number,
  ): Promise<PushOutcome> {
    const deadlineMs = pushDeadlineMs(records.length, this.o);
    let outcome: PushOutcome;
    try {
      const res = await this.o.peers.pushRecords(peer, group, records, deadlineMs);
      this.o.metrics.forwarded.inc({ outcome: 'accepted' }, res.accepted);
      this.o.metrics.forwarded.inc({ outcome: 'duplicate' }, res.duplicates);
      this.o.metrics.forwarded.inc({ outcome: 'rejected' }, res.rejected);
      outcome = 'answered';
    } catch (err) {
      const e = err as { code?: string; kind?: string; message?: string };
      // Transport failures, deadlines and a peer whose challenge-store is down are retried; a typed refusal is final.
      if (e.kind === 'deadline_exceeded') outcome = 'deadline_exceeded';
      else if (e.kind === 'unavailable' || e.code === 'COORD_PEER_UNAVAILABLE') outcome = 'unavailable';
      else {
        outcome = 'refused';
        this.log.warn({ peer, code: e.code, reason: e.message }, 'peer refused records');
      }
      if (outcome !== 'refused') {
        this.o.metrics.forwarded.inc({ outcome: 'unreachable' }, records.length);
        this.failed(peer, outcome, {
          records: records.length,
          bytes,
          deadlineMs,
          code: e.code,
          reason: e.message,
        });
      } else this.o.metrics.forwarded.inc({ outcome: 'refused' }, records.length);
    }
    this.o.metrics.pushes.inc({ peer: String(peer), outcome });
    if (outcome === 'answered' || outcome === 'refused') this.answered(peer);
    return outcome;
  }

  /** A push the peer answered: its window grows back, and it takes pushes again at once. */
  private answered(peer: number): void {
    const st = this.stateOf(peer);
    st.window = Math.min(this.o.batchMax, st.window + this.step);
    this.o.metrics.pushWindow.set({ peer: String(peer) }, st.window);
    if (st.health !== 'ok')
      this.log.info({ peer, window: st.window, failures: st.failures }, 'peer takes records again');
    st.health = 'ok';
    st.failures = 0;
    st.retryAt = 0;
  }

  /** A push past its deadline halves the window; either failure holds the peer back, doubling per failure. */
  private failed(
    peer: number,
    outcome: 'deadline_exceeded' | 'unavailable',
    details: {
      records: number;
      bytes: number;
      deadlineMs: number;
      code?: string | undefined;
      reason?: string | undefined;
    },
  ): void {
    const st = this.stateOf(peer);
    if (outcome === 'deadline_exceeded') st.window = Math.max(1, Math.floor(st.window / 2));
    this.o.metrics.pushWindow.set({ peer: String(peer) }, st.window);
    const holdMs = Math.min(this.o.backoffMaxMs, this.o.backoffMs * 2 ** st.failures);
    st.failures++;
    st.retryAt = Date.now() + holdMs;
    const health = outcome === 'deadline_exceeded' ? 'late' : 'unreachable';
    const line = { peer, ...details, window: st.window, holdMs, failures: st.failures };
    if (health !== st.health) {
      this.log.warn(
        line,
        health === 'late'
          ? 'peer did not answer PushRecords within its deadline: its batches shrink and its records are redelivered later'
          : 'peer unreachable for PushRecords: its records are redelivered later',
      );
      st.health = health;
    } else this.log.debug(line, 'peer still behind; redelivery scheduled');
  }
}
