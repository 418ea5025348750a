import type { Logger } from '@whitepay/base';
import type { Metrics } from '../metrics.js';

/**
 * What the single-payment and batch leaders share: answers arrive
 * concurrently and the reducer takes them one at a time (`eventQueue`); a
 * broadcast asks every member, the leader itself in-process, and ends when
 * every call has (`askMembers`); every broadcast is counted the same way
 * (`countBroadcast`). The rounds differ only in their messages and reducer.
 */

/** Events pushed from concurrent calls, taken in order by one consumer. */
export function eventQueue<E>(): { push(e: E): void; next(): Promise<E> } {
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
  };
}

/** An answer that moves a round: a commitment or a reveal (the rest are refusals and sync acks). */
export type Answer<A> = Extract<A, { readonly type: 'commit' | 'reveal' }>;

/**
 * Asks every member (`self` through `local`, the others through `remote`),
 * hands each commit and reveal (`DecodedReply` / `DecodedBatchReply`) to
 * `answer`, logs refusals and missing answers; resolves when every call has
 * ended (answered, refused or past its deadline), never rejects.
 */
export async function askMembers<A extends { readonly type: string }>(o: {
  members: readonly number[];
  self: number;
  local: () => Promise<A>;
  remote: (member: number) => Promise<A>;
  answer: (from: number, reply: Answer<A>) => void;
  log: Logger;
}): Promise<void> {
  await Promise.allSettled(
    o.members.map(async (m) => {
      try {
        const reply = m === o.self ? await o.local() : await o.remote(m);
        if (reply.type === 'commit' || reply.type === 'reveal') o.answer(m, reply as Answer<A>);
        else if (reply.type === 'error')
          o.log.debug({ member: m, code: (reply as { code?: string }).code }, 'member refused');
      } catch (err) {
        o.log.debug(
          { member: m, code: (err as { code?: string }).code, msg: (err as Error).message },
          'no answer',
        );
      }
    }),
  );
}

/** Counts a leader's broadcast: commit requests by attempt kind, proposals by kind, full syncs. */
export function countBroadcast(
  metrics: Metrics,
  msg:
    | { phase: 'commit'; attempt: number; synced: boolean }
    | { phase: 'propose'; median: boolean }
    | { phase: 'sync' },
): void {
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
