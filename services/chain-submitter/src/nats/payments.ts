import type { BusSigner, Subjects } from '@whitepay/bus';
import type { JetStreamClient } from 'nats';
import type { PaymentResult } from '../chain/outbox.js';

const enc = new TextEncoder();

/** Publishes payment results on `<ns>.payments` (Nats-Msg-Id `payment:<tid>:<status>`), bus-signed. */
export class PaymentPublisher {
  constructor(
    private readonly js: JetStreamClient,
    private readonly s: Subjects,
    private readonly signer: BusSigner,
  ) {}

  async publish(r: PaymentResult): Promise<void> {
    const data = enc.encode(JSON.stringify(r));
    await this.js.publish(this.s.payments, data, {
      msgID: `payment:${r.tid}:${r.status}:${r.txHash ?? r.errorCode ?? ''}`,
      headers: this.signer.headers(this.s.payments, data),
    });
  }
}
