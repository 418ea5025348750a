import { createRegistry, rejectedCounter, silentLogger } from '@whitepay/base';
import { busIdentityOf, busSigner, connectBus, ensureStreams, subjects } from '@whitepay/bus';
import { startNats } from '@whitepay/testkit';
import type { NatsConnection } from 'nats';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentClient, type SubmitRequest } from './submit.js';

const KEY = generatePrivateKey();
const enc = new TextEncoder();
const tid = `0x${'ab'.repeat(32)}` as const;
const req: SubmitRequest = {
  upkeeping: `0x${'11'.repeat(20)}`,
  entries: `0x${'00'.repeat(68)}`,
  leaderId: 1,
  r: 1,
  group: '0x01',
  signers: [0],
  signature: `0x${'00'.repeat(256)}`,
  tid,
};

// The coordinator's side of the submit boundary on a real nats-server: its requests carry the
// keeper's bus signature (what the chain-submitter checks), and a payment result counts only
// when the keeper's chain-submitter signed it.
describe('PaymentClient on real NATS', () => {
  const stops: Array<() => Promise<void>> = [];
  let nc: NatsConnection;
  beforeAll(async () => {
    const nats = await startNats();
    stops.push(nats.stop);
    nc = await connectBus({ url: nats.url, name: 'payments', log: silentLogger() });
    stops.push(() => nc.close());
  });
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('signs its submit requests; ignores, and counts, a payment result the bus key did not sign', async () => {
    const s = subjects('pc1');
    await ensureStreams(await nc.jetstreamManager(), s);
    const bus = busIdentityOf({}, { accountKey: KEY, prefix: 'CONSENSUS_COORDINATOR' });
    const registry = createRegistry('coordinator');
    const rejected = rejectedCounter(registry);
    // A stand-in chain-submitter: checks the signature as the real one does, then publishes a
    // forged result first (another key) and the real one after.
    const signers: string[] = [];
    const sub = nc.subscribe(s.submit, {
      callback: (_err, m) => {
        signers.push(bus.verifier.verify(m));
        m.respond(
          enc.encode(JSON.stringify({ ok: true, result: { tid, status: 'queued', duplicate: false } })),
        );
        const result = (status: string) =>
          enc.encode(JSON.stringify({ tid, status, txHash: null, amount: null, errorCode: null }));
        const forged = result('failed');
        nc.publish(s.payments, forged, {
          headers: busSigner(generatePrivateKey()).headers(s.payments, forged),
        });
        nc.publish(s.payments, result('reverted'));
        const real = result('confirmed');
        setTimeout(
          () => nc.publish(s.payments, real, { headers: bus.signer!.headers(s.payments, real) }),
          100,
        );
      },
    });
    stops.push(async () => sub.unsubscribe());
    const client = new PaymentClient(nc, s, silentLogger(), 5_000, { ...bus, rejected }, 10_000);
    client.start();
    const out = await client.submitAndWait(req);
    client.stop();
    expect(out.status).toBe('confirmed');
    expect(signers).toEqual([bus.signer!.address]);
    const values = (await rejected.get()).values.filter((v) => v.labels.boundary === 'nats:payments');
    expect(Object.fromEntries(values.map((v) => [v.labels.reason, v.value]))).toEqual({
      BUS_SIGNER_FOREIGN: 1,
      BUS_MESSAGE_UNSIGNED: 1,
    });
  });
});
