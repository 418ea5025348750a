import { WhitePayError } from '@whitepay/base';
import type { UnaryContext } from './server.js';

/**
 * Bounds the heavy calls a server runs at once, in total and per client, and
 * shares the total fairly, so that one caller (a misbehaving peer, an attacker
 * inside the cluster) can neither take every database connection nor make the
 * others wait behind its calls:
 * - a client runs at most `perClient` calls; more wait in that client's own
 *   queue (at most `queuePerClient`), and one more is refused at once
 *   (`RPC_BUSY`, UNAVAILABLE: retry later);
 * - at most `total` run in all (size it to the database pool: a call admitted
 *   here never waits for a connection); a freed slot goes to the next waiting
 *   client in turn (round robin), not to whoever queued most;
 * - a call whose deadline passes while it waits ends with `DEADLINE_EXCEEDED`.
 */
export interface Admission {
  /** Runs `fn` when the bounds admit it (after waiting in the client's queue), else throws `RPC_BUSY`. */
  run<T>(client: string, fn: () => Promise<T>, deadline?: Date): Promise<T>;
  /** Calls running now, in total. */
  readonly running: number;
  /** Calls waiting now, in total. */
  readonly waiting: number;
}

export interface AdmissionOptions {
  name: string;
  total: number;
  perClient: number;
  /** Calls of one client that may wait for a slot (default 0: refuse at once). */
  queuePerClient?: number;
}

interface Waiter {
  start(): void;
}

interface ClientState {
  running: number;
  queue: Waiter[];
  /** When this client last started a call (a counter of starts; 0: never). */
  served: number;
}

export function createAdmission(opts: AdmissionOptions): Admission {
  const queueMax = opts.queuePerClient ?? 0;
  /** Clients with calls running or waiting. */
  const clients = new Map<string, ClientState>();
  let running = 0;
  let waiting = 0;
  let starts = 0;

  const busy = (client: string, st: ClientState, why: string) =>
    new WhitePayError('RPC_BUSY', `${opts.name}: ${why}; retry later`, {
      kind: 'unavailable',
      details: {
        running,
        client,
        clientRunning: st.running,
        clientWaiting: st.queue.length,
        total: opts.total,
        perClient: opts.perClient,
        queuePerClient: queueMax,
      },
    });

  /**
   * Hands free slots to waiting clients in turn: each goes to the eligible client served longest
   * ago (a client never served first), so one that queued many calls cannot starve the others.
   */
  const dispatch = () => {
    while (running < opts.total && waiting > 0) {
      let next: ClientState | undefined;
      for (const st of clients.values())
        if (st.queue.length > 0 && st.running < opts.perClient && (!next || st.served < next.served))
          next = st;
      if (!next) return;
      waiting--;
      next.queue.shift()!.start();
    }
  };

  return {
    get running() {
      return running;
    },
    get waiting() {
      return waiting;
    },
    async run(client, fn, deadline) {
      let st = clients.get(client);
      if (!st) {
        st = { running: 0, queue: [], served: 0 };
        clients.set(client, st);
      }
      const state = st;
      const acquire = () => {
        running++;
        state.running++;
        state.served = ++starts;
      };
      const free = running < opts.total && state.running < opts.perClient && state.queue.length === 0;
      if (!free) {
        if (state.queue.length >= queueMax) {
          if (state.running === 0 && state.queue.length === 0) clients.delete(client);
          throw busy(
            client,
            state,
            state.running >= opts.perClient
              ? `client ${client} runs ${state.running} calls and queues ${state.queue.length} already`
              : `${running} of ${opts.total} calls run already`,
          );
        }
        await new Promise<void>((resolve, reject) => {
          let timer: NodeJS.Timeout | undefined;
          const waiter: Waiter = {
            start: () => {
              if (timer) clearTimeout(timer);
              acquire(); // before `dispatch` looks at `running` again
              resolve();
            },
          };
          state.queue.push(waiter);
          waiting++;
          const ms = deadline ? deadline.getTime() - Date.now() : undefined;
          if (ms !== undefined)
            timer = setTimeout(
              () => {
                const i = state.queue.indexOf(waiter);
                if (i < 0) return;
                state.queue.splice(i, 1);
                waiting--;
                if (state.running === 0 && state.queue.length === 0) clients.delete(client);
                reject(
                  new WhitePayError(
                    'DEADLINE_EXCEEDED',
                    `${opts.name}: the caller's deadline passed while queued`,
                    {
                      kind: 'deadline_exceeded',
                    },
                  ),
                );
              },
              Math.max(0, ms),
            );
        });
      } else acquire();
      try {
        return await fn();
      } finally {
        running--;
        state.running--;
        if (state.running === 0 && state.queue.length === 0) clients.delete(client);
        dispatch();
      }
    },
  };
}

/**
 * Who a call comes from, for per-client bounds: the keeper its certificate
 * names on mTLS, else the peer's IP address (the port changes per connection).
 */
export function clientKeyOf(ctx: Pick<UnaryContext, 'peer' | 'security'>): string {
  if (ctx.security.identity) return `keeper:${ctx.security.identity.keeperId}`;
  const peer = ctx.peer;
  const v6 = /^ipv6:\[([^\]]+)\]:\d+$/.exec(peer);
  if (v6) return v6[1]!;
  const v4 = /^ipv4:([^:]+):\d+$/.exec(peer);
  return v4 ? v4[1]! : peer;
}

/** Throws DEADLINE_EXCEEDED once the call's deadline has passed (for loops that would run on uncancelled). */
export function checkDeadline(deadline: Date | undefined, what: string): void {
  if (deadline && Date.now() >= deadline.getTime())
    throw new WhitePayError('DEADLINE_EXCEEDED', `${what}: the caller's deadline passed`, {
      kind: 'deadline_exceeded',
    });
}
