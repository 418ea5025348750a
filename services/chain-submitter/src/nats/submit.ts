import { asWhitePayError, type Counter, type Logger } from '@whitepay/base';
import type { BusVerifier, Subjects } from '@whitepay/bus';
import type { NatsConnection, Subscription } from 'nats';
import type { Submitter } from '../chain/submitter.js';
import { SubmitRequestError } from '../errors.js';

export const SUBMIT_QUEUE_GROUP = 'chain-submitter';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The coordinator's entry: NATS request/reply on `<ns>.submit` (queue group
 * `chain-submitter`, so one replica answers). Request: the JSON of
 * packages/bus's `submitRequestSchema`, one `payBatch` keyed by its batch id
 * (a single payment is a batch of one); reply: packages/bus's `SubmitReply`
 * as `{ ok: true, result }`, or `{ ok: false, error: { code, kind, message,
 * details } }`. The reply says the batch is queued (or why it is not); the
 * final result, with every entry's outcome (paid, or skipped with its
 * reason), arrives on `<ns>.payments`. Re-sending the same request is safe.
 *
 * A request must carry the keeper's bus signature (the coordinator's): one
 * unsigned, signed by another key or altered is refused before it is parsed,
 * counted (`whitepay_rejected_messages_total{boundary="nats:submit"}`) and
 * answered with its `BUS_*` error.
 */
export function serveSubmit(
  nc: NatsConnection,
  s: Subjects,
  submitter: Submitter,
  log: Logger,
  auth: { verifier: BusVerifier; rejected: Counter<'boundary' | 'reason'> },
): Subscription {
  const l = log.child({ component: 'nats-submit' });
  const sub = nc.subscribe(s.submit, { queue: SUBMIT_QUEUE_GROUP });
  void (async () => {
    for await (const m of sub) {
      let body: unknown;
      try {
        try {
          auth.verifier.verify(m);
        } catch (err) {
          const e = asWhitePayError(err);
          auth.rejected.inc({ boundary: 'nats:submit', reason: e.code });
          l.warn({ code: e.code, reason: e.message }, 'submit request refused');
          throw e;
        }
        try {
          body = JSON.parse(dec.decode(m.data));
        } catch {
          throw new SubmitRequestError('request body is not JSON');
        }
        const result = await submitter.submit(body);
        m.respond(enc.encode(JSON.stringify({ ok: true, result })));
      } catch (err) {
        const e = asWhitePayError(err);
        if (e.kind === 'internal') l.error({ err }, 'submit failed');
        m.respond(enc.encode(JSON.stringify({ ok: false, error: e.toJSON() })));
      }
    }
  })();
  return sub;
}
