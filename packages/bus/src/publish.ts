import type { JetStreamClient, JetStreamPublishOptions, MsgHdrs, PubAck } from 'nats';

/**
 * Publishes to JetStream keeping up to `window` acks outstanding: far faster
 * than awaiting each publish, and still every message is acknowledged before
 * `flush` resolves. `msgID` sets Nats-Msg-Id so the server drops duplicates
 * of a retried publish inside the stream's duplicate window; `headers` (a bus
 * signature, `auth.ts`) travel with the message.
 */
export class WindowedPublisher {
  private readonly pending = new Set<Promise<PubAck>>();
  private failure: unknown;

  constructor(
    private readonly js: JetStreamClient,
    private readonly window = 256,
  ) {}

  async publish(subject: string, data: Uint8Array, msgID?: string, headers?: MsgHdrs): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.pending.size >= this.window) await Promise.race(this.pending);
    const opts: Partial<JetStreamPublishOptions> = {};
    if (msgID) opts.msgID = msgID;
    if (headers) opts.headers = headers;
    const p = this.js.publish(subject, data, msgID || headers ? opts : undefined);
    this.pending.add(p);
    p.then(
      () => this.pending.delete(p),
      (err: unknown) => {
        this.pending.delete(p);
        this.failure ??= err;
      },
    );
  }

  /** Resolves when every message so far is acknowledged; throws the first failure. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    if (this.failure) {
      const f = this.failure;
      this.failure = undefined;
      throw f;
    }
  }
}
