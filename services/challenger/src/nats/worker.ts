import { asWhitePayError, type Counter, type Histogram } from '@whitepay/base';
import type { BusSigner, BusVerifier, Subjects } from '@whitepay/bus';
import { ChallengeInputError, signRecord } from '@whitepay/challenge';
import { challengeV1 } from '@whitepay/proto';
import type { JetStreamClient, JsMsg } from 'nats';
import type { Hex } from 'viem';
import { type ChallengeDeps, runChallenge } from '../jobs/challenge.js';
import { parseTask, type Task } from './messages.js';
import type { PeerBroadcaster } from './peer-out.js';
import { settle } from './pull.js';

export interface WorkerDeps extends ChallengeDeps {
  js: JetStreamClient;
  s: Subjects;
  keeperKey: Hex | undefined;
  /** Checks that tasks come from this keeper's fan-out. */
  verifier: BusVerifier;
  /** Signs the records for the challenge-store. */
  signer: BusSigner;
  peers: PeerBroadcaster | undefined;
  rejected: Counter<'boundary' | 'reason'>;
  challenges: Counter<'verdict'>;
  duration: Histogram<'verdict'>;
  published: Counter<'duplicate'>;
  retries: Counter<'reason'>;
  onRecord?: (t: Task, r: challengeV1.ChallengeRecord) => void;
}

export const verdictLabel = (v: challengeV1.Verdict): string =>
  challengeV1
    .verdictToJSON(v)
    .replace(/^VERDICT_/, '')
    .toLowerCase();

/**
 * Handles one task (refused, counted and terminated unless the keeper's bus
 * key signed it): challenge, verify, publish the record, bus-signed, to
 * `<ns>.records.<user>.<pid>` with Nats-Msg-Id `<keeperId>:<user>:<pid>:<block>`,
 * sign it and hand it to the peer broadcaster, then ack. Anything failing
 * before the ack naks the task: it is redelivered (to any replica), and the
 * record stream drops the duplicate publish.
 */
export function taskHandler(deps: WorkerDeps): (m: JsMsg) => Promise<void> {
  const log = deps.log.child({ component: 'worker' });
  return async (m) => {
    if (!deps.verifier.accept(m, { boundary: 'nats:tasks', rejected: deps.rejected, log })) {
      settle(log, () => m.term());
      return;
    }
    let task: Task;
    try {
      task = parseTask(m.data);
    } catch (err) {
      const e = asWhitePayError(err);
      deps.rejected.inc({ boundary: 'nats:tasks', reason: e.code });
      log.warn({ code: e.code, reason: e.message, seq: m.seq }, 'task message rejected');
      settle(log, () => m.term());
      return;
    }
    const t0 = performance.now();
    const ctx = { block: task.block.number, user: task.user, pid: task.pid };
    try {
      const out = await runChallenge({ ...deps, log }, task);
      const msgID = `${deps.keeperId}:${task.user}:${task.pid}:${task.block.number}`;
      const subject = deps.s.recordsFor(task.user, task.pid);
      const data = challengeV1.ChallengeRecord.encode(out.record).finish();
      const ack = await deps.js.publish(subject, data, {
        msgID,
        headers: deps.signer.headers(subject, data),
      });
      deps.published.inc({ duplicate: String(ack.duplicate) });
      if (deps.keeperKey && deps.peers) {
        await deps.peers.broadcast(await signRecord(out.record, deps.keeperKey), msgID);
      }
      settle(log, () => m.ack());
      const verdict = verdictLabel(out.verdict);
      deps.challenges.inc({ verdict });
      deps.duration.observe({ verdict }, (performance.now() - t0) / 1000);
      deps.onRecord?.(task, out.record);
      log.debug({ ...ctx, verdict, space: String(out.space), duplicate: ack.duplicate }, 'record published');
    } catch (err) {
      if (err instanceof ChallengeInputError) {
        // The registry holds a piece the verifier cannot use: retrying cannot help.
        deps.rejected.inc({ boundary: 'registry', reason: err.code });
        log.error({ ...ctx, err }, 'registry entry unusable; task dropped');
        settle(log, () => m.term());
        return;
      }
      const e = asWhitePayError(err);
      deps.retries.inc({ reason: e.code });
      log.warn({ ...ctx, err }, 'task failed; it will be redelivered');
      settle(log, () => m.nak(1_000));
    }
  };
}
