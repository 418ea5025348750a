import { type Logger, WhitePayError } from '@whitepay/base';
import { connect, type NatsConnection } from 'nats';

export interface BusOptions {
  url: string;
  name: string;
  log: Logger;
}

/** Connects with unbounded reconnects (a NATS restart is survived, SPEC 10) and logs status changes. */
export async function connectBus(opts: BusOptions): Promise<NatsConnection> {
  const log = opts.log.child({ component: 'nats' });
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.url,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      timeout: 10_000,
    });
  } catch (err) {
    throw new WhitePayError('NATS_UNAVAILABLE', `cannot connect to NATS at ${opts.url}`, {
      kind: 'unavailable',
      cause: err,
    });
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect' || s.type === 'disconnect')
        log.warn({ status: s.type, data: s.data }, 'nats status');
    }
  })();
  return nc;
}

/** Readiness: the connection is open and the server answers a round trip. */
export async function natsReady(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) throw new Error('nats connection closed');
  await nc.flush();
}
