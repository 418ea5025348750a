import type { Logger } from '@whitepay/base';
import type { JetStreamClient, JsMsg } from 'nats';

export interface PullLoop {
  done: Promise<void>;
  stop(): void;
}

/**
 * Pulls from a shared durable consumer keeping up to `batch` messages in
 * flight: the first pull asks for `batch`, and as soon as at least half of
 * them are done the loop pulls for the free room, so one slow message (a
 * provider answering at its deadline) does not hold up the rest of its pull.
 * With `batch` 1 the messages are handled one at a time. `handle` must
 * ack/nak/term itself and never throw. Connection trouble is logged and
 * retried; `stop` ends the loop once the messages in flight are done.
 */
export function pullLoop(opts: {
  js: JetStreamClient;
  stream: string;
  durable: string;
  batch: number;
  expiresMs?: number;
  log: Logger;
  handle: (m: JsMsg) => Promise<void>;
}): PullLoop {
  let stopped = false;
  let current: { stop(): void } | undefined;
  let wake: (() => void) | undefined;
  const inflight = new Set<Promise<void>>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const done = (async () => {
    while (!stopped) {
      try {
        const consumer = await opts.js.consumers.get(opts.stream, opts.durable);
        while (!stopped) {
          const room = opts.batch - inflight.size;
          if (room < Math.ceil(opts.batch / 2)) {
            await Promise.race(inflight);
            continue;
          }
          const msgs = await consumer.fetch({ max_messages: room, expires: opts.expiresMs ?? 1_000 });
          current = msgs;
          for await (const m of msgs) {
            const p: Promise<void> = opts.handle(m).finally(() => inflight.delete(p));
            inflight.add(p);
          }
          current = undefined;
        }
        await Promise.all(inflight);
      } catch (err) {
        current = undefined;
        await Promise.allSettled(inflight);
        if (stopped) break;
        opts.log.warn({ err, stream: opts.stream }, 'pull failed; retrying');
        await pause(500);
      }
    }
  })();
  return {
    done,
    stop() {
      stopped = true;
      current?.stop();
      wake?.();
    },
  };
}

/** Acks, naks or terms a message; on a closed connection that fails, and redelivery takes over. */
export function settle(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.warn({ err }, 'cannot settle message (connection closed?); it will be redelivered');
  }
}
