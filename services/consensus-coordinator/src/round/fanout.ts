import type { Logger } from '@whitepay/base';
import type { Metrics } from '../metrics.js';

/**
 * What the single-payment and batch leaders share: answers arrive
 * concurrently and the reducer takes them one at a time (`eventQueue`); a
 * broadcast asks every member, the leader itself in-process, and ends when
 * every call has (`askMembers`); every broadcast is counted the same way
 * (`countBroadcast`). The rounds differ only in their messages and reducer.
 */

/**
 * Events pushed from concurrent calls, taken in order by one consumer;
 * `pending` shows the ones queued behind (the leaders verify the approval
 * shares queued together as one batch).
 */
export function eventQueue<E>(): { push(e: E): void; next(): Promise<E>; pending(): readonly E[] } {
  const events: E[] = [];
  let wake: (() => void) | null = null;
  return {
    push(e) {
      events.push(e);
      wake?.();
    },
    async next() {
      while (events.length === 0) await new Promise<void>((r) => (wake = r));
      wake = null;
      return events.shift()!;
    },
    pending: () => events,
  };
}

/** An answer that moves a round: a commitment or a reveal (the rest are refusals and sync acks). */
export type Answer<A> = Extract<A, { readonly type: 'commit' | 'reveal' }>;

/**
 * How long attempt `attempt` (from 1) of a round waits for its followers:
 * `firstMs × growth^(attempt−1)`, at most `maxMs` (never below `firstMs`).
 * A round whose followers missed the deadline retries with a longer one, so
 * slow-but-correct followers (a loaded keeper, a large batch) are eventually
 * waited for, as consensus protocols grow their timeouts per round.
 */
export function attemptDeadlineMs(firstMs: number, attempt: number, growth: number, maxMs: number): number {
  const grown = firstMs * growth ** Math.max(0, attempt - 1);
  return Math.round(Math.min(grown, Math.max(maxMs, firstMs)));
}

/**
 * Asks every member (`self` through `local`, the others through `remote`),
 * hands each commit and reveal (`DecodedReply`) to
 * `answer`, counts every answer, refusal and missing answer
 * (`whitepay_round_replies_total`, by `phase`) and logs the last two;
 * resolves when every call has ended (answered, refused or past its
 * deadline), never rejects.
 */
export async function askMembers<A extends { readonly type: string }>(o: {
  members: readonly number[];
  self: number;
  local: () => Promise<A>;
  remote: (member: number) => Promise<A>;
  answer: (from: number, reply: Answer<A>) => void;
  phase: Broadcast['phase'];
  metrics: Metrics;
  log: Logger;
}): Promise<void> {
  const count = (outcome: 'answered' | 'refused' | 'no_answer', code = '') =>
    o.metrics.replies.inc({ phase: o.phase, outcome, code });
  await Promise.allSettled(
    o.members.map(async (m) => {
      try {
        const reply = m === o.self ? await o.local() : await o.remote(m);
        if (reply.type === 'error') {
          const code = String((reply as { code?: string }).code ?? 'UNKNOWN');
          count('refused', code);
          o.log.debug({ member: m, code }, 'member refused');
          return;
        }
        count('answered');
        if (reply.type === 'commit' || reply.type === 'reveal') o.answer(m, reply as Answer<A>);
      } catch (err) {
        const code = String((err as { code?: string }).code ?? 'UNKNOWN');
        count('no_answer', code);
        o.log.debug({ member: m, code, reason: (err as Error).message }, 'no answer');
      }
    }),
  );
}

/** What a leader broadcasts, as counted (`countBroadcast`) and as its replies are labelled (`askMembers`). */
export type Broadcast =
  | { phase: 'commit'; attempt: number; synced: boolean }
  | { phase: 'propose'; median: boolean }
  | { phase: 'sync' };

/** Counts a leader's broadcast: commit requests by attempt kind, proposals by kind, full syncs. */
export function countBroadcast(metrics: Metrics, msg: Broadcast): void {
  switch (msg.phase) {
    case 'commit':
      metrics.attempts.inc({ kind: msg.attempt === 1 ? 'first' : msg.synced ? 'after_sync' : 'retry' });
      return;
    case 'propose':
      metrics.proposals.inc({ kind: msg.median ? 'median' : 'own' });
      return;
    case 'sync':
      metrics.fullSyncs.inc();
  }
}
