import type { Logger } from '@whitepay/base';
import type { JetStreamClient, JsMsg } from 'nats';

export interface PullLoop {
  done: Promise<void>;
  stop(): void;
}

/**
 * Pulls from a shared durable consumer in batches of `batch`, handling the
 * messages of a batch concurrently and waiting for all of them before the
 * next pull. `handle` must ack/nak/term itself and never throw. Connection
 * trouble is logged and retried; `stop` ends the loop after the running batch.
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
          const msgs = await consumer.fetch({ max_messages: opts.batch, expires: opts.expiresMs ?? 1_000 });
          current = msgs;
          const work: Array<Promise<void>> = [];
          for await (const m of msgs) work.push(opts.handle(m));
          current = undefined;
          await Promise.all(work);
        }
      } catch (err) {
        current = undefined;
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
