import { challengeV1 } from '@whitepay/proto';
import type { JetStreamClient } from 'nats';

/**
 * The seam to the keeper-to-keeper transport (SPEC 3 step 4): the challenger
 * hands every signed record to a broadcaster. The default publishes it on
 * `<ns>.peer-out` (stream `<NS>_PEER_OUT`); the peer API, built later,
 * consumes that stream and sends to the group. Publishing is idempotent
 * (same Nats-Msg-Id as the record).
 */
export interface PeerBroadcaster {
  broadcast(signed: challengeV1.SignedRecord, msgID: string): Promise<void>;
}

export class NatsPeerOut implements PeerBroadcaster {
  constructor(
    private readonly js: JetStreamClient,
    private readonly subject: string,
  ) {}

  async broadcast(signed: challengeV1.SignedRecord, msgID: string): Promise<void> {
    await this.js.publish(this.subject, challengeV1.SignedRecord.encode(signed).finish(), { msgID });
  }
}
