import type { Counter, Logger } from '@whitepay/base';
import { subjects } from '@whitepay/bus';
import type { Group } from '@whitepay/peer';
import { challengeV1 } from '@whitepay/proto';
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import { bytesToHex } from 'viem';
import { type ChainView, groupOf } from '../chain/view.js';
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

export interface ForwarderOptions {
  nc: NatsConnection;
  ns: string;
  keeperId: number;
  chain: ChainView;
  peers: PeerClients;
  /** Deadline of one PushRecords call (ms). */
  deadlineMs: number;
  /** Messages fetched and forwarded together (one PushRecords per peer and group). */
  batchMax: number;
  /** First redelivery delay after a peer was unreachable; doubles per delivery up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /** Deliveries of one message before it is given up (the full sync of SPEC 6.4 still covers it). */
  maxDeliver: number;
  ackWaitMs: number;
  metrics: {
    forwarded: Counter<'outcome'>;
    rejected: Counter<'boundary' | 'reason'>;
  };
  log: Logger;
}

const BOUNDARY = 'nats:peer-out';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const notFound = (err: unknown) =>
  (err as { code?: string }).code === '404' || /not found/i.test(String(err));

/**
 * The record broadcast of SPEC 3 step 4. A durable pull consumer on
 * `<NS>_PEER_OUT` (shared by the replicas) delivers this keeper's signed
 * records; they are grouped by user, and each other member of that user's
 * group (read from the chain) gets them in one signed `PushRecords`. A
 * message is acknowledged once every peer has answered it definitively —
 * accepted, duplicate, or refused (a typed refusal is not retried). A peer
 * that is unreachable (or whose challenge-store is) gets it again: the
 * message is nak-ed with an exponential delay and redelivered, sent then only
 * to the peers that still miss it, at most `maxDeliver` times. Beyond that
 * the peer fills the gap through the full sync's PullRecords.
 */
export class RecordForwarder {
  private readonly log: Logger;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Stream sequence → peers that already answered it definitively (this replica). */
  private readonly done = new Map<number, Set<number>>();

  constructor(private readonly o: ForwarderOptions) {
    this.log = o.log.child({ component: 'forwarder' });
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
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
          const iter = await consumer.fetch({ max_messages: this.o.batchMax, expires: 1_000 });
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
        const failed = new Set<JsMsg>();
        await Promise.all(
          peers.map(async (peer) => {
            const todo = items.filter(({ m }) => !this.done.get(m.seq)?.has(peer));
            if (todo.length === 0) return;
            const outcome = await this.push(
              peer,
              group,
              todo.map((t) => t.rec),
            );
            for (const { m } of todo) {
              if (outcome === 'unreachable') failed.add(m);
              else {
                const set = this.done.get(m.seq) ?? new Set<number>();
                set.add(peer);
                this.done.set(m.seq, set);
              }
            }
          }),
        );
        for (const { m } of items) {
          if (!failed.has(m)) {
            m.ack();
            this.done.delete(m.seq);
          } else if (m.info.redeliveryCount + 1 >= this.o.maxDeliver) {
            this.o.metrics.forwarded.inc({ outcome: 'given_up' });
            this.log.warn(
              { seq: m.seq },
              'peers unreachable for every delivery: record left to the full sync',
            );
            m.term();
            this.done.delete(m.seq);
          } else {
            const delay = Math.min(this.o.backoffMaxMs, this.o.backoffMs * 2 ** m.info.redeliveryCount);
            m.nak(delay);
          }
        }
      }),
    );
  }

  private async push(
    peer: number,
    group: Group,
    records: challengeV1.SignedRecord[],
  ): Promise<'answered' | 'refused' | 'unreachable'> {
    try {
      const res = await this.o.peers.pushRecords(peer, group, records, this.o.deadlineMs);
      this.o.metrics.forwarded.inc({ outcome: 'accepted' }, res.accepted);
      this.o.metrics.forwarded.inc({ outcome: 'duplicate' }, res.duplicates);
      this.o.metrics.forwarded.inc({ outcome: 'rejected' }, res.rejected);
      return 'answered';
    } catch (err) {
      const e = err as { code?: string; kind?: string; message?: string };
      // Transport failures, deadlines and a peer whose challenge-store is down are retried; a typed refusal is final.
      if (e.kind === 'unavailable' || e.kind === 'deadline_exceeded' || e.code === 'COORD_PEER_UNAVAILABLE') {
        this.o.metrics.forwarded.inc({ outcome: 'unreachable' }, records.length);
        this.log.debug({ peer, code: e.code, reason: e.message }, 'peer unreachable; redelivery scheduled');
        return 'unreachable';
      }
      this.o.metrics.forwarded.inc({ outcome: 'refused' }, records.length);
      this.log.warn({ peer, code: e.code, reason: e.message }, 'peer refused records');
      return 'refused';
    }
  }
}
