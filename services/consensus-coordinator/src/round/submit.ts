import type { Counter, Logger } from '@whitepay/base';
import type { BusIdentity, Subjects, SubmitRequest } from '@whitepay/bus';
import type { BatchEntryJson } from '@whitepay/contracts';
import type { NatsConnection, Subscription } from 'nats';
import type { Hex } from 'viem';
import { CoordinatorError } from '../errors.js';

/** The `<ns>.submit` request, defined once in packages/bus: a round's list as `payBatch` takes it (a round of one too). */
export type { SubmitRequest };

/** One entry of a confirmed round, as the chain-submitter reports it. */
export type BatchEntryOutcome = BatchEntryJson;

export interface PaymentOutcome {
  status: 'confirmed' | 'reverted' | 'rejected' | 'failed';
  txHash: Hex | null;
  amount: string | null;
  errorCode: string | null;
  /** Every entry's outcome, once confirmed (absent when only the submit reply was seen). */
  entries?: BatchEntryOutcome[];
}

interface SubmitReplyJson {
  ok: boolean;
  result?: { tid: Hex; status: string; duplicate: boolean; txHash?: Hex | null };
  error?: { code: string; kind: string; message: string };
}

interface PaymentResultJson {
  tid: Hex;
  status: PaymentOutcome['status'];
  txHash: Hex | null;
  amount: string | null;
  errorCode: string | null;
  entries?: BatchEntryOutcome[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const FINAL = new Set(['confirmed', 'reverted', 'failed']);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The leader's way to the chain: NATS request/reply on `<ns>.submit` (the
 * chain-submitter queues the payment exactly once per tid, after a
 * simulation), then the final result from `<ns>.payments`. Re-sending the
 * same request is safe, so while waiting it re-asks every `pollMs` — a
 * result published while this replica was down is still found.
 *
 * Requests carry the keeper's bus signature (the chain-submitter refuses any
 * other), and a payment result counts only when it carries it too: a forged
 * result on `<ns>.payments` is counted (`nats:payments`) and ignored.
 */
export class PaymentClient {
  private readonly waiters = new Map<string, (r: PaymentOutcome) => void>();
  private sub: Subscription | undefined;
  private readonly log: Logger;

  constructor(
    private readonly nc: NatsConnection,
    private readonly s: Subjects,
    log: Logger,
    private readonly timeoutMs: number,
    private readonly bus: BusIdentity & { rejected: Counter<'boundary' | 'reason'> },
    private readonly pollMs = 2_000,
  ) {
    this.log = log.child({ component: 'payments' });
  }

  start(): void {
    this.sub = this.nc.subscribe(this.s.payments);
    void (async () => {
      for await (const m of this.sub!) {
        if (
          !this.bus.verifier.accept(m, {
            boundary: 'nats:payments',
            rejected: this.bus.rejected,
            log: this.log,
          })
        )
          continue;
        try {
          const r = JSON.parse(dec.decode(m.data)) as PaymentResultJson;
          this.waiters.get(String(r.tid).toLowerCase())?.({
            status: r.status,
            txHash: r.txHash ?? null,
            amount: r.amount ?? null,
            errorCode: r.errorCode ?? null,
            ...(r.entries ? { entries: r.entries } : {}),
          });
        } catch (err) {
          this.log.warn({ err }, 'unreadable payment result');
        }
      }
    })();
  }

  stop(): void {
    this.sub?.unsubscribe();
    for (const w of this.waiters.values())
      w({ status: 'failed', txHash: null, amount: null, errorCode: 'COORD_STOPPED' });
    this.waiters.clear();
  }

  private async request(req: SubmitRequest): Promise<SubmitReplyJson> {
    try {
      const signer = this.bus.signer;
      if (!signer) throw new Error('no bus key: submit requests cannot be signed');
      const data = enc.encode(JSON.stringify(req));
      const m = await this.nc.request(this.s.submit, data, {
        timeout: 10_000,
        headers: signer.headers(this.s.submit, data),
      });
      return JSON.parse(dec.decode(m.data)) as SubmitReplyJson;
    } catch (err) {
      throw new CoordinatorError('COORD_SUBMIT_FAILED', `submit request: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Submits and waits for the final result (or `timeoutMs`). */
  async submitAndWait(req: SubmitRequest): Promise<PaymentOutcome> {
    const key = req.tid.toLowerCase();
    let resolve!: (r: PaymentOutcome) => void;
    const published = new Promise<PaymentOutcome>((r) => {
      resolve = r;
    });
    this.waiters.set(key, resolve);
    const deadline = Date.now() + this.timeoutMs;
    try {
      while (Date.now() < deadline) {
        let reply: SubmitReplyJson | null = null;
        try {
          reply = await this.request(req);
        } catch (err) {
          this.log.warn({ tid: req.tid, err }, 'chain-submitter unreachable; retrying');
        }
        if (reply && !reply.ok) {
          const e = reply.error ?? { code: 'UNKNOWN', kind: 'internal', message: '' };
          if (e.kind !== 'unavailable' && e.kind !== 'internal') {
            return { status: 'rejected', txHash: null, amount: null, errorCode: e.code };
          }
          this.log.warn({ tid: req.tid, code: e.code }, 'submit failed; retrying');
        }
        const r = reply?.result;
        if (r && FINAL.has(r.status)) {
          return {
            status: r.status as PaymentOutcome['status'],
            txHash: r.txHash ?? null,
            amount: null,
            errorCode: null,
          };
        }
        const out = await Promise.race([published, sleep(this.pollMs).then(() => null)]);
        if (out) return out;
      }
      return { status: 'failed', txHash: null, amount: null, errorCode: 'COORD_SUBMIT_TIMEOUT' };
    } finally {
      this.waiters.delete(key);
    }
  }
}
