import type { Subjects } from '@whitepay/bus';
import type { JetStreamClient } from 'nats';
import type { PaymentResult } from '../chain/outbox.js';

const enc = new TextEncoder();

/** Publishes payment results on `<ns>.payments` (Nats-Msg-Id `payment:<tid>:<status>`). */
export class PaymentPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly s: Subjects,
  ) {}

  async publish(r: PaymentResult): Promise<void> {
    await this.js.publish(this.s.payments, enc.encode(JSON.stringify(r)), {
      msgID: `payment:${r.tid}:${r.status}:${r.txHash ?? r.errorCode ?? ''}`,
    });
  }
}
