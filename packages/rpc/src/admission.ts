import { WhitePayError } from '@whitepay/base';
import type { UnaryContext } from './server.js';

/**
 * Bounds the heavy calls a server runs at once, in total and per client, so
 * that one caller (a misbehaving peer, an attacker inside the cluster) cannot
 * take every database connection from the others: a call over either bound is
 * refused at once (`RPC_BUSY`, UNAVAILABLE: retry later), never queued.
 */
export interface Admission {
  /** Runs `fn` when both bounds admit it, else throws `RPC_BUSY`. */
  run<T>(client: string, fn: () => Promise<T>): Promise<T>;
  /** Calls running now, in total. */
  readonly running: number;
}

export function createAdmission(opts: { name: string; total: number; perClient: number }): Admission {
  const byClient = new Map<string, number>();
  let running = 0;
  return {
    get running() {
      return running;
    },
    async run(client, fn) {
      const mine = byClient.get(client) ?? 0;
      if (running >= opts.total || mine >= opts.perClient) {
        throw new WhitePayError(
          'RPC_BUSY',
          `${opts.name}: ${running >= opts.total ? `${opts.total} calls run already` : `client ${client} runs ${mine} calls already`}; retry later`,
          {
            kind: 'unavailable',
            details: { running, client, clientRunning: mine, total: opts.total, perClient: opts.perClient },
          },
        );
      }
      running++;
      byClient.set(client, mine + 1);
      try {
        return await fn();
      } finally {
        running--;
        const left = (byClient.get(client) ?? 1) - 1;
        if (left === 0) byClient.delete(client);
        else byClient.set(client, left);
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
